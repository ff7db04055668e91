"""Packing encoded rows into fixed-size rows for padding-free training."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sftmask import _native
from sftmask.constants import Overflow, PackStrategy

PACK_REPORT_KEY = _native.PACK_REPORT_KEY.encode()
#: The columns that say where each encoded row came from (`history="per_turn"` or `"auto"`), kept through packing.
SOURCE_COLUMNS = ("source_row", "source_message")
#: A vision-language batch's per-row lists of images and videos: a pack holds its sequences' lists, joined in order.
VISION_COLUMNS = ("images", "image_sizes", "image_grid_thw", "videos", "video_grid_thw")


def _combined(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _flat(column: pa.ListArray) -> tuple[np.ndarray, np.ndarray]:
    """The flat int32 values of a list column and offsets starting at 0 (no copy when the column is not sliced)."""
    offsets = column.offsets.to_numpy()
    values = pc.list_flatten(column).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    return values, (offsets - offsets[0]).astype(np.int32, copy=False)


def pack(
    batch: pa.RecordBatch | pa.Table,
    max_length: int,
    *,
    strategy: PackStrategy = "bfd",
    overflow: Overflow = "truncate",
) -> pa.RecordBatch:
    """Packs the rows of an `encode_batch` result into rows of at most `max_length` tokens.

    `strategy="bfd"` (best-fit decreasing: longest sequences first, each into the pack it fills best) or
    `"wrapped"` (concatenate in order and cut every `max_length` tokens). With BFD, a sequence longer than
    `max_length` is cut to its first `max_length` tokens (`overflow="truncate"`), cut into consecutive pieces
    (`"split"`) or left out (`"drop"`). Rows with null outputs (`on_error="null"`) are left out and counted.

    Returns a `pyarrow.RecordBatch` with `input_ids`, `labels`, `position_ids` (restarting at 0 for every sequence),
    `seq_lengths` and `cu_seqlens` (int32, FlashAttention's varlen layout), one row per pack; where `batch` has
    the `source_row` and `source_message` columns of `history="per_turn"` or `"auto"`, also those of each
    sequence, laid out as `seq_lengths`. A vision-language batch's `images`, `image_sizes`, `image_grid_thw`,
    `videos` and `video_grid_thw` are kept per pack, its sequences' lists joined in order (and `num_image_tokens`
    summed); a row with images is never cut (`strategy="wrapped"`, or a row longer than `max_length` unless
    `overflow="drop"`, raises). `PackReport.of(packed)` gives the counts.
    """
    if isinstance(batch, pa.Table):
        batch = batch.combine_chunks()
    sources = [name for name in SOURCE_COLUMNS if name in batch.schema.names]
    vision = [name for name in (*VISION_COLUMNS, "num_image_tokens") if name in batch.schema.names]
    if vision:
        _check_images_whole(batch, max_length, strategy, overflow)
    columns = [_combined(batch.column(name)) for name in ("input_ids", "labels", *sources, *vision)]
    null_rows = columns[0].null_count
    if null_rows:
        valid = columns[0].is_valid()
        columns = [column.filter(valid) for column in columns]
    ids, labels, *kept = columns
    ids_values, offsets = _flat(ids)
    labels_values, label_offsets = _flat(labels)
    if not np.array_equal(offsets, label_offsets):
        raise ValueError("input_ids and labels have different row lengths")
    seq_rows = bool(sources or vision)
    packed = _native.pack_tokens(ids_values, labels_values, offsets, max_length, strategy, overflow, seq_rows)
    if seq_rows:
        rows = packed.column("seq_rows")
        packed = packed.drop_columns(["seq_rows"])
        for name, column in zip((*sources, *vision), kept):
            values = column.take(pc.list_flatten(rows))
            if name in SOURCE_COLUMNS:
                packed = packed.append_column(name, pa.ListArray.from_arrays(rows.offsets, values))
            else:
                packed = packed.append_column(name, _per_pack(values, rows.offsets.to_numpy()))
    if null_rows:
        report = json.loads(packed.schema.metadata[PACK_REPORT_KEY])
        report["null_rows"] = null_rows
        packed = packed.replace_schema_metadata({PACK_REPORT_KEY: json.dumps(report)})
    return packed


def _per_pack(values: pa.Array, seq_offsets: np.ndarray) -> pa.Array:
    """Per pack, its sequences' `values` joined: the lists concatenated in order, the counts summed."""
    if not pa.types.is_list(values.type):
        sums = np.add.reduceat(values.to_numpy(), seq_offsets[:-1]) if len(values) else np.zeros(0, np.int64)
        sums[np.diff(seq_offsets) == 0] = 0
        return pa.array(sums.astype(np.int32))
    ends = values.offsets.to_numpy()
    return pa.ListArray.from_arrays(pa.array(ends[seq_offsets] - ends[0], pa.int32()), pc.list_flatten(values))


def _check_images_whole(batch: pa.RecordBatch, max_length: int, strategy: str, overflow: str) -> None:
    """Refuses a packing that would cut through a row's image tokens: its images would no longer match its ids."""
    if strategy == "wrapped":
        raise ValueError("strategy='wrapped' cuts rows anywhere, through their images: use strategy='bfd'")
    if overflow == "drop":
        return
    lengths = batch.column("num_tokens").to_numpy(zero_copy_only=False)
    images = batch.column("num_image_tokens").to_numpy(zero_copy_only=False)
    long = np.flatnonzero((lengths > max_length) & (images > 0))
    if len(long):
        raise ValueError(
            f"row {int(long[0])} has images and {int(lengths[long[0]])} tokens, more than max_length={max_length}: "
            f"{len(long)} such row(s) would be cut through their images; use overflow='drop' or a larger max_length"
        )


@dataclass(frozen=True)
class PackReport:
    max_length: int
    strategy: PackStrategy
    packs: int
    sequences: int
    tokens: int
    truncated: int
    split: int
    dropped: int
    tokens_dropped: int
    null_rows: int = 0

    @property
    def efficiency(self) -> float:
        """Real tokens over the slots of all packs."""
        return self.tokens / (self.packs * self.max_length) if self.packs else 0.0

    @classmethod
    def of(cls, packed: Any) -> PackReport:
        """The report `pack` stored in the schema metadata of `packed`, or `prepare --pack` in its Parquet file."""
        raw = (packed.schema.metadata or {}).get(PACK_REPORT_KEY)
        if raw is None:
            raise ValueError(
                "this table carries no pack report: it was not made by sftmask.pack or written by prepare --pack, or "
                "its schema metadata was dropped on the way"
            )
        return cls(**json.loads(raw))
