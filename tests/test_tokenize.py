"""sftmask's fast tokenization path against the `tokenizers` library: the same ids for any text."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sftmask
from conftest import SHARED
from sftmask import DEMO_DIR

tokenizers = pytest.importorskip("tokenizers")

TOKENIZER_DIRS = {"demo": DEMO_DIR, "qwen3": SHARED / "tokenizers" / "qwen3", "llama3_1": SHARED / "tokenizers" / "llama3_1"}
AVAILABLE = {name: path for name, path in TOKENIZER_DIRS.items() if (path / "tokenizer.json").exists()}

# Text that stresses the pre-tokenizer and normalizer: contractions, digits, whitespace runs, line breaks,
# special-token spellings, combining marks (not NFC), CJK, emoji, and any other code point.
FRAGMENTS = [
    "'s", "'LL", "'re", " ", "  ", "\t", "\n", "\r\n", "\n\n ", "123456", "x", "Hello", " world", "?!", "(",
    "<|im_start|>", "<|im_end|>", "<|eot_id|>", "<think>", "e\u0301", "\u00e9", "潮汐", "😀", "\u00a0", "\u2028", "ſ",
]
texts = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=5)), max_size=25).map("".join)


@pytest.fixture(scope="module", params=sorted(AVAILABLE))
def pair(request):
    path = AVAILABLE[request.param]
    return sftmask.Masker.from_pretrained(path)._native, tokenizers.Tokenizer.from_file(str(path / "tokenizer.json"))


def test_real_byte_level_tokenizers_take_the_fast_path(pair):
    native, _ = pair
    assert native.has_fast_tokenizer()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts)
def test_fast_path_ids_equal_tokenizers(pair, text):
    native, reference = pair
    expected = reference.encode(text, add_special_tokens=False).ids
    assert native.token_ids(text) == expected
    assert native.token_ids(text, full_pipeline=True) == expected


def test_sentencepiece_tokenizer_uses_the_full_pipeline():
    path = SHARED / "tokenizers" / "llama2"
    if not path.exists():
        pytest.skip("../shared is not available")
    native = sftmask.Masker.from_pretrained(path, chat_template="{{ messages[0].content }}")._native
    assert not native.has_fast_tokenizer()
    reference = tokenizers.Tokenizer.from_file(str(path / "tokenizer.json"))
    for text in ["Hello world", " leading space", "[INST] hi [/INST]", "</s>x"]:
        assert native.token_ids(text) == reference.encode(text, add_special_tokens=False).ids
