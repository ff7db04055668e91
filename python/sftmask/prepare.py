"""Preparing whole datasets: inputs streamed chunk by chunk through `encode_batch` (and `pack`) into Parquet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import sftmask
from sftmask.masker import Masker
from sftmask.packing import PackReport, pack
from sftmask.progress import Progress
from sftmask.report import BatchReport
from sftmask.sources import Chunk, input_size, read_chunks

#: How many failed rows a summary lists.
SHOWN_ERRORS = 5


@dataclass(frozen=True)
class FailedRow:
    source: str
    row: int
    type: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: row {self.row}: {self.type}: {self.message}"


@dataclass
class PrepareSummary:
    """What `prepare` did: rows in and out, tokens, and every row it could not use (counted; the first few kept)."""

    rows_in: int = 0
    rows_out: int = 0
    tokens: int = 0
    trained_tokens: int = 0
    truncated: int = 0
    """Rows cut to `max_length` (and, when packing, sequences cut or split to fit a pack)."""
    errors: int = 0
    """Rows that could not be encoded (malformed, template errors, nothing to train), left out."""
    dropped: int = 0
    """Rows left out of the output: the failed ones, and sequences packing dropped."""
    first_errors: list[FailedRow] = field(default_factory=list)
    packs: int | None = None
    seconds: float = 0.0

    @property
    def trained_share(self) -> float:
        return self.trained_tokens / self.tokens if self.tokens else 0.0

    def add_error(self, error: FailedRow) -> None:
        self.errors += 1
        self.dropped += 1
        if len(self.first_errors) < SHOWN_ERRORS:
            self.first_errors.append(error)

    def format(self) -> str:
        rate = self.rows_in / self.seconds if self.seconds else 0.0
        lines = [
            f"rows in:        {self.rows_in:,}",
            f"rows out:       {self.rows_out:,}" + (f" in {self.packs:,} packs" if self.packs is not None else ""),
            f"tokens:         {self.tokens:,}",
            f"trained tokens: {self.trained_tokens:,} ({self.trained_share:.1%})",
            f"truncated:      {self.truncated:,}",
            f"dropped:        {self.dropped:,}",
            f"errors:         {self.errors:,}",
        ]
        lines += [f"  {error}" for error in self.first_errors]
        if self.errors > len(self.first_errors):
            lines.append(f"  ... and {self.errors - len(self.first_errors):,} more")
        lines.append(f"time:           {self.seconds:.1f}s ({rate:,.0f} rows/s)")
        return "\n".join(lines)


def _raise_row_error(error: FailedRow) -> None:
    """Raises the row's error as the exception class encoding gave it, naming the file and the row."""
    kind = getattr(sftmask, error.type, None)
    if not (isinstance(kind, type) and issubclass(kind, sftmask.SftmaskError)):
        kind = sftmask.SftmaskError
    raise kind(f"{error.source}: row {error.row}: {error.message}")


def _encode_chunk(masker: Masker, chunk: Chunk, summary: PrepareSummary, on_error: str, **options) -> pa.RecordBatch:
    """Encodes one chunk, counting (or raising, under `on_error="raise"`) the rows that fail, by their number in
    the source."""
    # Always "skip" here, so that a failure is reported by its row number in the file, not in the chunk.
    batch = masker.encode_batch(chunk.data, on_error="skip", **options)
    report = BatchReport.of(batch)
    summary.rows_in += report.rows_in
    summary.truncated += report.truncated
    for error in report.errors:
        failed = FailedRow(chunk.source, chunk.row_numbers[error.row], error.type, error.message)
        if on_error == "raise":
            _raise_row_error(failed)
        summary.add_error(failed)
    return batch.replace_schema_metadata(None)


def prepare(
    masker: Masker,
    inputs: Sequence[str | Path],
    output: str | Path,
    *,
    pack_length: int | None = None,
    on_error: str = "skip",
    chunk_rows: int = 8192,
    threads: int | None = None,
    progress: bool | None = None,
    **options,
) -> PrepareSummary:
    """Encodes every row of `inputs` (JSONL, JSON, Parquet files, saved `datasets` directories) into a Parquet file
    at `output`, one row group per chunk of `chunk_rows` rows, holding one chunk in memory at a time.

    Columns: `input_ids`, `labels`, `num_tokens`, `num_trained_tokens`; or, with `pack_length`, the packed rows of
    `sftmask.pack` (packed chunk by chunk, best-fit decreasing). `on_error="skip"` leaves failing rows out and
    counts them; `"raise"` stops at the first, naming its file and row. `options` go to `encode_batch` (policy
    options such as `max_length`, template variables). `progress` defaults to a bar when standard error is a
    terminal.
    """
    if on_error not in ("skip", "raise"):
        raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
    paths = [Path(p) for p in inputs]
    bar = Progress(input_size(paths), enabled=progress)
    summary = PrepareSummary(packs=0 if pack_length else None)
    writer: pq.ParquetWriter | None = None
    bytes_done = 0
    try:
        for chunk in read_chunks(paths, chunk_rows):
            batch = _encode_chunk(masker, chunk, summary, on_error, threads=threads, **options)
            tokens = int(pc.sum(batch["num_tokens"]).as_py() or 0)
            summary.tokens += tokens
            summary.trained_tokens += int(pc.sum(batch["num_trained_tokens"]).as_py() or 0)
            summary.rows_out += batch.num_rows
            if pack_length:
                batch = _pack(batch, pack_length, summary)
            writer = writer or pq.ParquetWriter(str(output), batch.schema)
            writer.write_batch(batch)
            bytes_done = chunk.bytes_done
            bar.update(len(chunk.row_numbers), tokens, bytes_done)
    except BaseException:
        if writer is not None:  # leave no half-written output behind
            writer.close()
            Path(output).unlink(missing_ok=True)
        raise
    finally:
        bar.close(bytes_done)
    if writer is None:  # no input rows at all: still write a valid, empty file
        empty = masker.encode_batch([], on_error="skip").replace_schema_metadata(None)
        writer = pq.ParquetWriter(str(output), (_pack(empty, pack_length, summary) if pack_length else empty).schema)
    writer.close()
    summary.seconds = bar.elapsed
    return summary


def _pack(batch: pa.RecordBatch, pack_length: int, summary: PrepareSummary) -> pa.RecordBatch:
    packed = pack(batch, pack_length)
    report = PackReport.of(packed)
    summary.packs = (summary.packs or 0) + report.packs
    summary.truncated += report.truncated + report.split
    summary.dropped += report.dropped
    return packed.replace_schema_metadata(None)
