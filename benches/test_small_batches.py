"""pytest-benchmark cases for small batches, sftmask against transformers in the same run.

    python -m pytest benches/test_small_batches.py --benchmark-enable --benchmark-group-by=param:size
"""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from bench_batch import SHARED, TEMPLATE, TOKENIZER

import sftmask

transformers = pytest.importorskip("transformers")
if not TOKENIZER.exists():
    pytest.skip("../shared is not available", allow_module_level=True)


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    with (SHARED / "data" / "chat" / "glaive_tools_en.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def masker() -> sftmask.Masker:
    return sftmask.Masker.from_pretrained(TOKENIZER, chat_template=TEMPLATE)


@pytest.mark.parametrize("size", [1, 16, 256])
def test_sftmask_encode_batch(benchmark, masker, rows, size):
    batch = rows[:size]
    result = benchmark(masker.encode_batch, batch)
    assert result.num_rows == size


@pytest.mark.parametrize("size", [1, 16, 256])
def test_sftmask_encode_batch_arrow(benchmark, masker, rows, size):
    table = pa.table({"messages": [json.dumps(r["messages"]) for r in rows[:size]],
                      "tools": [json.dumps(r["tools"]) if r.get("tools") else None for r in rows[:size]]})
    result = benchmark(masker.encode_batch, table)
    assert result.num_rows == size


@pytest.mark.parametrize("size", [1, 16, 256])
def test_transformers_apply_chat_template(benchmark, rows, size):
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(TOKENIZER))
    template = TEMPLATE.read_text(encoding="utf-8")

    def run():
        return [
            tokenizer.apply_chat_template(r["messages"], tools=r.get("tools"), chat_template=template,
                                          return_dict=True, return_assistant_tokens_mask=True)
            for r in rows[:size]
        ]

    assert len(benchmark(run)) == size
