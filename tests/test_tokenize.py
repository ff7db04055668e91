"""sftmask's fast tokenization path against the reference: the same ids for any text.

The reference is the `tokenizers` library on `tokenizer.json`, except where transformers' `AutoTokenizer` builds
the tokenizer differently from the file (a `LlamaTokenizer`: Llama 2, Mistral), where it is transformers' own
backend tokenizer, since TRL tokenizes with transformers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sftmask
from conftest import SHARED
from sftmask import DEMO_DIR

tokenizers = pytest.importorskip("tokenizers")

TOKENIZER_DIRS = {
    "demo": DEMO_DIR,
    **{name: SHARED / "tokenizers" / name for name in ("qwen3", "llama3_1", "deepseek_v3", "llama2")},
}
AVAILABLE = {name: path for name, path in TOKENIZER_DIRS.items() if (path / "tokenizer.json").exists()}
# Tokenizers transformers rebuilds from their vocabulary and merges instead of loading the file as it is.
TRANSFORMERS_BUILT = {"llama2"}

GEMMA_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% set role = 'model' if message['role'] == 'assistant' else 'user' %}"
    "{{ '<start_of_turn>' + role + '\n' + (message['content'] or '') | trim + '<end_of_turn>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)


def gemma_kind_dir(directory: Path) -> Path | None:
    """A tokenizer of Gemma's kind (no Gemma tokenizer is in ../shared): Llama 2's vocabulary and merges with
    Gemma's configuration: spaces replaced by "▁" with no prefix, a no-op `Split(" ")`, byte fallback, its turn
    tokens added, `GemmaTokenizer` as the class."""
    llama2 = SHARED / "tokenizers" / "llama2" / "tokenizer.json"
    if not llama2.exists():
        return None
    config = json.loads(llama2.read_text(encoding="utf-8"))
    config["normalizer"] = {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}
    config["pre_tokenizer"] = {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": False}
    config["decoder"] = {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                                                          {"type": "ByteFallback"}, {"type": "Fuse"}]}
    for i, content in enumerate(["<start_of_turn>", "<end_of_turn>"]):
        config["added_tokens"].append({"id": 32000 + i, "content": content, "single_word": False, "lstrip": False,
                                       "rstrip": False, "normalized": False, "special": True})
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tokenizer.json").write_text(json.dumps(config), encoding="utf-8")
    tokenizer_config = {"tokenizer_class": "GemmaTokenizer", "bos_token": "<s>", "eos_token": "<end_of_turn>",
                        "chat_template": GEMMA_TEMPLATE}
    (directory / "tokenizer_config.json").write_text(json.dumps(tokenizer_config), encoding="utf-8")
    return directory


def reference_for(name: str, path: Path):
    """The `tokenizers.Tokenizer` whose ids sftmask must give."""
    if name in TRANSFORMERS_BUILT:
        transformers = pytest.importorskip("transformers")
        return transformers.AutoTokenizer.from_pretrained(str(path)).backend_tokenizer
    return tokenizers.Tokenizer.from_file(str(path / "tokenizer.json"))

# Text that stresses the pre-tokenizer and normalizer: contractions, digits, whitespace runs, line breaks,
# special-token spellings, combining marks (not NFC), CJK, emoji, and any other code point.
FRAGMENTS = [
    "'s", "'LL", "'re", " ", "  ", "\t", "\n", "\r\n", "\n\n ", "123456", "x", "Hello", " world", "?!", "(",
    "<|im_start|>", "<|im_end|>", "<|eot_id|>", "<think>", "e\u0301", "\u00e9", "潮汐", "😀", "\u00a0", "\u2028", "ſ",
    "\u2581", "\u2581\u2581", "<s>", "</s>", "[INST]", " [/INST]", "<start_of_turn>", "<｜User｜>", "<｜Assistant｜>",
    "<｜end▁of▁sentence｜>", "ひらがな", "1234567890", ".x", " .", "\x00", "\x7f",
]
texts = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=5)), max_size=25).map("".join)


@pytest.fixture(scope="module", params=sorted(AVAILABLE) + ["gemma_kind"])
def pair(request, tmp_path_factory):
    if request.param == "gemma_kind":
        path = gemma_kind_dir(tmp_path_factory.mktemp("gemma_kind"))
        if path is None:
            pytest.skip("../shared is not available")
    else:
        path = AVAILABLE[request.param]
    masker = sftmask.Masker.from_pretrained(path, chat_template="{{ messages[0]['content'] }}")
    return masker._native, reference_for(request.param, path)


def test_real_tokenizers_take_the_fast_path(pair):
    native, _ = pair
    assert native.has_fast_tokenizer()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts)
def test_fast_path_ids_equal_tokenizers(pair, text):
    native, reference = pair
    expected = reference.encode(text, add_special_tokens=False).ids
    assert native.token_ids(text) == expected
    assert native.token_ids(text, full_pipeline=True) == expected


def test_llama2_ids_are_transformers_ids():
    """transformers 5 rebuilds a `LlamaTokenizer` with a `Metaspace` pre-tokenizer: the "▁" prefix only where the
    text does not start with a space, never again after a special token (the file's own `Prepend` normalizer
    would add it after every special token)."""
    transformers = pytest.importorskip("transformers")
    path = SHARED / "tokenizers" / "llama2"
    if not path.exists():
        pytest.skip("../shared is not available")
    native = sftmask.Masker.from_pretrained(path, chat_template="{{ messages[0].content }}")._native
    reference = transformers.AutoTokenizer.from_pretrained(str(path))
    assert native.token_ids("</s> x") == [2, 1318] and native.token_ids(" lead") == [1736]
    texts = ["Hello world", " leading space", "[INST] hi [/INST]", "</s>x", "</s> x", "<s>[INST] a [/INST] b </s><s>[INST] c",
             "  two spaces", "\nnewline first", "", " ", "\u2581lead"]
    for text in texts:
        expected = reference(text, add_special_tokens=False).input_ids
        assert native.token_ids(text) == expected, text
        assert native.token_ids(text, full_pipeline=True) == expected, text


def test_added_token_ids_are_the_loaded_tokenizers(tmp_path):
    """An added token already in the vocabulary keeps its vocabulary id, whatever id the JSON gives it, as
    `tokenizers` assigns it; an added token with empty content is skipped."""
    path = SHARED / "tokenizers" / "qwen3"
    if not path.exists():
        pytest.skip("../shared is not available")
    config = json.loads((path / "tokenizer.json").read_text(encoding="utf-8"))
    vocab_id = config["model"]["vocab"]["hello"]
    for i, content in enumerate(["hello", ""]):
        config["added_tokens"].append({"id": 151669 + i, "content": content, "single_word": False, "lstrip": False,
                                       "rstrip": False, "normalized": False, "special": False})
    (tmp_path / "tokenizer.json").write_text(json.dumps(config), encoding="utf-8")
    reference = tokenizers.Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    native = sftmask.Masker.from_pretrained(tmp_path, chat_template="{{ messages[0].content }}")._native
    assert native.has_fast_tokenizer()
    for text in ["hello", "say hello<|im_end|>hello world"]:
        assert native.token_ids(text) == reference.encode(text, add_special_tokens=False).ids
    assert native.token_ids("hello") == [vocab_id]


def test_long_digit_runs_give_the_reference_ids():
    """200,000 digits: each digit group used to scan to the end of the run (quadratic); now linear."""
    for name in ("qwen3", "llama3_1", "deepseek_v3"):
        if name not in AVAILABLE:
            continue
        native = sftmask.Masker.from_pretrained(AVAILABLE[name], chat_template="{{ messages[0].content }}")._native
        reference = tokenizers.Tokenizer.from_file(str(AVAILABLE[name] / "tokenizer.json"))
        text = "x " + "1234567890" * 20_000 + " y"
        assert native.token_ids(text) == reference.encode(text, add_special_tokens=False).ids
