"""Packing: invariants of packs, overflow policies, efficiency on the shared corpus, and the torch collators."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest

import sftmask
from conftest import shared_path
from sftmask import DEMO_DIR


@pytest.fixture(scope="module")
def encoded() -> pa.RecordBatch:
    masker = sftmask.Masker.from_pretrained(DEMO_DIR)
    rows = [json.loads(line) for line in (DEMO_DIR / "conversations.jsonl").open(encoding="utf-8")]
    return masker.encode_batch(rows)


def sequences_of(batch) -> Counter:
    """The multiset of encoded sequences as they are packed: the first label of each is never trained."""
    rows = zip(batch["input_ids"].to_pylist(), batch["labels"].to_pylist())
    return Counter(tuple(zip(ids, [-100] + labels[1:])) for ids, labels in rows)


def unpack(packed) -> Counter:
    """The multiset of sequences inside the packs, cut by `cu_seqlens`."""
    out = Counter()
    for ids, labels, positions, lengths, cu in zip(*(packed[c].to_pylist() for c in packed.schema.names)):
        assert cu[0] == 0 and cu[-1] == len(ids) and np.diff(cu).tolist() == lengths
        for start, end in zip(cu, cu[1:]):
            assert positions[start:end] == list(range(end - start))
            out[tuple(zip(ids[start:end], labels[start:end]))] += 1
    return out


@pytest.mark.parametrize("strategy", ["bfd", "wrapped"])
def test_packs_keep_every_sequence_and_label(encoded, strategy):
    packed = sftmask.pack(encoded, 256, strategy=strategy)
    assert packed.schema.names == ["input_ids", "labels", "position_ids", "seq_lengths", "cu_seqlens"]
    assert all(len(ids) <= 256 for ids in packed["input_ids"].to_pylist())
    report = sftmask.PackReport.of(packed)
    assert report.tokens == sum(encoded["num_tokens"].to_pylist())
    if strategy == "bfd":
        assert unpack(packed) == sequences_of(encoded)
    else:  # wrapped keeps the token stream in order
        flat = [t for row in encoded["input_ids"].to_pylist() for t in row]
        assert [t for row in packed["input_ids"].to_pylist() for t in row] == flat


def test_overflow_policies_are_counted(encoded):
    longest = max(encoded["num_tokens"].to_pylist())
    limit = longest - 10
    over = sum(n > limit for n in encoded["num_tokens"].to_pylist())
    truncated = sftmask.PackReport.of(sftmask.pack(encoded, limit))
    assert (truncated.truncated, truncated.dropped) == (over, 0) and truncated.tokens_dropped > 0
    dropped = sftmask.PackReport.of(sftmask.pack(encoded, limit, overflow="drop"))
    assert dropped.dropped == over
    split = sftmask.pack(encoded, limit, overflow="split")
    assert sftmask.PackReport.of(split).tokens == sum(encoded["num_tokens"].to_pylist())
    with pytest.raises(sftmask.InputError, match="overflow"):
        sftmask.pack(encoded, limit, overflow="wrap")


def test_null_rows_are_left_out_and_counted():
    masker = sftmask.Masker.from_pretrained(DEMO_DIR)
    batch = masker.encode_batch(
        [{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}, {"messages": []}],
        on_error="null",
    )
    report = sftmask.PackReport.of(sftmask.pack(batch, 64))
    assert (report.null_rows, report.sequences) == (1, 1)


@pytest.fixture(scope="module")
def completions() -> pa.RecordBatch:
    """Plain-text completions with no prompt: every token is trained, the first one too."""
    masker = sftmask.Masker.from_pretrained(DEMO_DIR)
    texts = ["The moon pulls the sea.", "Tides rise twice a day, and fall twice.", "Sourdough needs time."] * 3
    batch = masker.encode_batch(pa.table({"completion": texts}))
    assert all(labels[0] != -100 for labels in batch["labels"].to_pylist())
    return batch


@pytest.mark.parametrize("strategy,overflow", [("bfd", "truncate"), ("bfd", "split"), ("wrapped", "truncate")])
def test_first_label_of_every_packed_sequence_is_ignored(completions, strategy, overflow):
    packed = sftmask.pack(completions, 8, strategy=strategy, overflow=overflow)
    if overflow == "split" or strategy == "wrapped":
        assert sftmask.PackReport.of(packed).sequences > completions.num_rows  # sequences cut into pieces
    for ids, labels, positions in zip(*(packed[c].to_pylist() for c in ("input_ids", "labels", "position_ids"))):
        # Every token of a completion is trained except where a sequence (or a piece of one) starts.
        assert labels == [-100 if p == 0 else i for i, p in zip(ids, positions)]


def test_padding_free_collator_ignores_each_first_label(completions):
    pytest.importorskip("torch")
    from sftmask.torch import PaddingFreeCollator, rows_of

    rows = rows_of(completions)[:3]
    batch = PaddingFreeCollator()(rows)
    ids = [t for r in rows for t in r["input_ids"].tolist()]
    starts = {0, len(rows[0]["input_ids"]), len(rows[0]["input_ids"]) + len(rows[1]["input_ids"])}
    assert batch["labels"][0].tolist() == [-100 if k in starts else t for k, t in enumerate(ids)]
    assert rows[0]["labels"][0] != -100  # the rows themselves are left as they are
    packed = PaddingFreeCollator()(rows_of(sftmask.pack(completions, 8, overflow="split")))
    assert (packed["labels"][0][packed["position_ids"][0] == 0] == -100).all()


@pytest.mark.slow
def test_bfd_efficiency_on_the_shared_corpus():
    tokenizer = shared_path("tokenizers", "qwen3")
    from conftest import load_corpus

    masker = sftmask.Masker.from_pretrained(tokenizer, chat_template=shared_path("templates", "qwen3_training.jinja"))
    rows = [r for _, _, r in load_corpus()]
    table = pa.table({"messages": [json.dumps(r["messages"]) for r in rows],
                      "tools": [json.dumps(r["tools"]) if r.get("tools") else None for r in rows]})
    report = sftmask.PackReport.of(sftmask.pack(masker.encode_batch(table), 4096))
    assert report.efficiency >= 0.98, report




def test_padded_collator_matches_the_hand_computed_batch():
    torch = pytest.importorskip("torch")
    from sftmask.torch import PaddedCollator

    rows = [{"input_ids": np.array([5, 6, 7], np.int32), "labels": np.array([-100, 6, 7], np.int32)},
            {"input_ids": np.array([8], np.int32), "labels": np.array([8], np.int32)}]
    right = PaddedCollator(pad_token_id=0, pad_to_multiple_of=4)(rows)
    assert right["input_ids"].tolist() == [[5, 6, 7, 0], [8, 0, 0, 0]]
    assert right["attention_mask"].tolist() == [[1, 1, 1, 0], [1, 0, 0, 0]]
    assert right["labels"].tolist() == [[-100, 6, 7, -100], [8, -100, -100, -100]]
    assert all(t.dtype == torch.int64 for t in right.values())
    left = PaddedCollator(pad_token_id=0, padding_side="left")(rows)
    assert left["input_ids"].tolist() == [[5, 6, 7], [0, 0, 8]]


def test_padding_free_collator_on_packs(encoded):
    pytest.importorskip("torch")
    from sftmask.torch import PaddingFreeCollator, rows_of

    packed = sftmask.pack(encoded, 256)
    rows = rows_of(packed)
    assert np.shares_memory(rows[0]["input_ids"], packed["input_ids"].values.to_numpy(zero_copy_only=True))
    batch = PaddingFreeCollator()(rows[:2])
    lengths = [n for r in rows[:2] for n in r["seq_lengths"].tolist()]
    assert batch["input_ids"].shape == (1, sum(lengths))
    assert batch["cu_seqlens"].tolist() == np.concatenate([[0], np.cumsum(lengths)]).tolist()
    assert batch["position_ids"][0].tolist() == [p for n in lengths for p in range(n)]
