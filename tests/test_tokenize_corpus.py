"""The fast tokenization path against the reference over the whole shared corpus: the rendered text of every
conversation, with one tokenizer of each kind the fast path takes (byte-level BPE: qwen3, llama3_1; DeepSeek-V3's
sequence of split regexes and normalized added tokens; SentencePiece style: llama2 as transformers builds it and
a tokenizer of Gemma's kind), and llama2's ids against transformers' on a Llama-2 `[INST]` template.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

import sftmask
from conftest import REPORT, shared_path
from test_tokenize import GEMMA_TEMPLATE, gemma_kind_dir, reference_for

# Sweeps the whole corpus: `pytest -m "not slow"` leaves this module out of a quick run.
pytestmark = pytest.mark.slow

# Llama 2's chat format; roles other than the assistant's are written as user turns so that every row renders.
LLAMA2_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set system = messages[0]['content'] %}{% set messages = messages[1:] %}"
    "{% else %}{% set system = none %}{% endif %}"
    "{% for message in messages %}{% set content = message['content'] or '' %}"
    "{% if loop.first and system %}{% set content = '<<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' + content %}{% endif %}"
    "{% if message['role'] == 'assistant' %}{{ ' ' + content.strip() + ' ' + eos_token }}"
    "{% else %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% endif %}{% endfor %}"
)
# Tokenizer -> the template its texts are rendered with (None: its own).
TEMPLATES = {"qwen3": None, "llama3_1": None, "deepseek_v3": None, "llama2": LLAMA2_TEMPLATE, "gemma_kind": GEMMA_TEMPLATE}


def tokenizer_dir(name: str, tmp_path_factory) -> object:
    if name == "gemma_kind":
        return gemma_kind_dir(tmp_path_factory.mktemp("gemma_kind")) or shared_path("tokenizers", "llama2")
    return shared_path("tokenizers", name)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_fast_path_ids_equal_the_reference_on_the_corpus(name, corpus, tmp_path_factory):
    path = tokenizer_dir(name, tmp_path_factory)
    masker = sftmask.Masker.from_pretrained(path, chat_template=TEMPLATES[name])
    assert masker._native.has_fast_tokenizer()
    texts = []
    for _, _, row in corpus:
        try:
            texts.append(masker.render(row["messages"], tools=row.get("tools")))
        except sftmask.TemplateError:
            pass
    assert len(texts) > 0.9 * len(corpus)
    expected = reference_for(name, path).encode_batch(texts, add_special_tokens=False)
    mismatches = [i for i, (text, e) in enumerate(zip(texts, expected)) if masker._native.token_ids(text) != e.ids]
    REPORT.append(f"fast path ids, {name}: {len(texts) - len(mismatches)}/{len(texts)} rendered texts identical")
    assert not mismatches, [texts[i][:200] for i in mismatches[:5]]


def test_llama2_ids_equal_transformers_on_the_corpus(corpus):
    """`encode_batch` on a Llama-2 template gives the ids transformers gives the text it renders (what TRL trains on)."""
    transformers = pytest.importorskip("transformers")
    path = shared_path("tokenizers", "llama2")
    reference = transformers.AutoTokenizer.from_pretrained(str(path))
    masker = sftmask.Masker.from_pretrained(path, chat_template=LLAMA2_TEMPLATE)
    rows = [row for _, _, row in corpus if any(m["role"] == "assistant" for m in row["messages"])]
    texts = [reference.apply_chat_template(row["messages"], chat_template=LLAMA2_TEMPLATE, tokenize=False) for row in rows]
    expected = reference(texts, add_special_tokens=False).input_ids
    batch = masker.encode_batch(pa.table({"messages": [json.dumps(row["messages"]) for row in rows]}), on_error="null")
    encoded = batch["input_ids"].to_pylist()
    compared = [(e, a) for e, a in zip(expected, encoded) if a is not None]
    mismatches = sum(e != a for e, a in compared)
    REPORT.append(f"llama2 input_ids vs transformers, Llama-2 template: {len(compared) - mismatches}/{len(rows)} identical")
    assert len(compared) > 0.95 * len(rows) and mismatches == 0
