"""Preparing whole datasets: inputs streamed chunk by chunk through `encode_batch` (and `pack`) into Parquet.

The Parquet file carries what happened in its metadata, as `encode_batch` and `pack` results do:
`BatchReport.of(table)` (rows in and out, every failed row, formats read) and, when packed, `PackReport.of(table)`
work on the table read back.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import sftmask
from sftmask import _native
from sftmask.constants import IGNORE_INDEX, Overflow, PrepareOnError
from sftmask.masker import READ_OPTIONS, Masker, read_options
from sftmask.packing import PACK_REPORT_KEY, PackReport, pack
from sftmask.progress import Progress
from sftmask.report import BatchReport
from sftmask.sources import Chunk, input_size, read_chunks

#: How many failed rows a summary lists.
SHOWN_ERRORS = 5
#: The share of failed rows above which `prepare` fails (exit code 1), unless told otherwise.
MAX_ERROR_RATE = 0.01


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
    """Rows written: encoded rows, or with packing the sequences in the packs."""
    tokens: int = 0
    """Tokens written (after packing cut or dropped any)."""
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
    formats: dict[str, int] = field(default_factory=dict)
    """Rows encoded, by the dataset format they were read in."""
    history: str = "as_rendered"
    """The policy's `history` option."""
    rows_encoded: int = 0
    """Rows `encode_batch` wrote (one per trained turn for the expanded rows), before any packing."""
    rows_expanded: int = 0
    """Input rows written as one row per trained turn."""
    tokens_encoded: int = 0
    """Tokens of the encoded rows, before any packing."""
    tokens_as_rendered: int = 0
    """Tokens the same rows have rendered once: `tokens_encoded - tokens_as_rendered` is what per-turn rows cost."""
    left_out_messages: int = 0
    """Trained messages whose text (reasoning) the render of their row leaves out, in rows written as rendered."""
    left_out_tokens: int = 0

    def failure(self, max_error_rate: float = MAX_ERROR_RATE) -> str | None:
        """Why this run should count as failed (exit code 1), or None: no row written, or more failed rows than
        `max_error_rate` of those read."""
        if self.rows_out == 0:
            return "no row was written" + (" (the input has no rows)" if self.rows_in == 0 else "")
        if self.rows_in and self.errors / self.rows_in > max_error_rate:
            return (
                f"{self.errors:,} of {self.rows_in:,} rows failed ({self.errors / self.rows_in:.1%}), more than "
                f"--max-error-rate {max_error_rate:g}"
            )
        return None

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
        formats = ", ".join(f"{name} ({count:,} rows)" for name, count in self.formats.items()) or "none"
        lines = [
            f"format:         {formats}",
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
        lines += self._history_lines()
        lines.append(f"time:           {self.seconds:.1f}s ({rate:,.0f} rows/s)")
        return "\n".join(lines)


    def _history_lines(self) -> list[str]:
        """What `history` did: the per-turn rows and their cost, and the trained text left out."""
        lines = []
        if self.history != "as_rendered":
            extra = self.tokens_encoded - self.tokens_as_rendered
            share = f" ({extra / self.tokens_as_rendered:+.1%})" if self.tokens_as_rendered else ""
            lines.append(
                f"per-turn rows:  {self.rows_expanded:,} rows in written as one row per trained turn "
                f"(history={self.history}), {extra:+,} tokens{share}"
            )
        if self.left_out_messages:
            lines.append(
                f"left out:       {self.left_out_messages:,} trained messages whose reasoning the template drops "
                f"from later turns ({self.left_out_tokens:,} tokens); --history auto trains them as written"
            )
        return lines


def _raise_row_error(error: FailedRow) -> None:
    """Raises the row's error as the exception class encoding gave it, naming the file and the row."""
    kind = getattr(sftmask, error.type, None)
    if not (isinstance(kind, type) and issubclass(kind, sftmask.SftmaskError)):
        kind = sftmask.SftmaskError
    raise kind(f"{error.source}: row {error.row}: {error.message}")


def _encode_chunk(
    masker: Masker, chunk: Chunk, summary: PrepareSummary, all_errors: list[dict], on_error: PrepareOnError, **options
) -> pa.RecordBatch:
    """Encodes one chunk, counting (or raising, under `on_error="raise"`) the rows that fail, by their number in
    the source."""
    # Always "skip" here, so that a failure is reported by its row number in the file, not in the chunk.
    batch = masker.encode_batch(chunk.data, on_error="skip", **options)
    report = BatchReport.of(batch)
    first_row = summary.rows_in
    summary.rows_in += report.rows_in
    summary.truncated += report.truncated
    summary.rows_encoded += report.rows_out
    summary.rows_expanded += report.rows_expanded
    summary.tokens_encoded += report.tokens_out
    summary.tokens_as_rendered += report.tokens_as_rendered
    summary.left_out_messages += report.left_out_messages
    summary.left_out_tokens += report.left_out_tokens
    for name, count in report.formats.items():
        summary.formats[name] = summary.formats.get(name, 0) + count
    for error in report.errors:
        failed = FailedRow(chunk.source, chunk.row_numbers[error.row], error.type, error.message)
        if on_error == "raise":
            _raise_row_error(failed)
        summary.add_error(failed)
        all_errors.append({"row": first_row + error.row, "type": error.type,
                           "message": f"{failed.source}: row {failed.row}: {error.message}"})
    if "source_row" in batch.schema.names:  # the row's index among all rows read, not within the chunk
        index = batch.schema.get_field_index("source_row")
        batch = batch.set_column(index, "source_row", pc.add(batch["source_row"], pa.scalar(first_row, pa.int32())))
    return batch.replace_schema_metadata(None)


def prepare(
    masker: Masker,
    inputs: Sequence[str | Path],
    output: str | Path,
    *,
    pack_length: int | None = None,
    overflow: Overflow = "truncate",
    on_error: PrepareOnError = "skip",
    chunk_rows: int = 8192,
    threads: int | None = None,
    progress: bool | None = None,
    split: str | None = None,
    **options,
) -> PrepareSummary:
    """Encodes every row of `inputs` (JSONL, JSON, Parquet files, saved `datasets` directories, hub dataset ids) into
    a Parquet file at `output`, one row group per chunk of `chunk_rows` rows, holding one chunk in memory at a time.

    Columns: `input_ids`, `labels`, `num_tokens`, `num_trained_tokens`; or, with `pack_length`, the packed rows of
    `sftmask.pack` (packed chunk by chunk, best-fit decreasing, sequences over `pack_length` handled by
    `overflow`). `on_error="skip"` leaves failing rows out and counts them; `"raise"` stops at the first, naming
    its file and row. `split` picks the split of a saved `DatasetDict` (required when it has several) or of a hub
    dataset. `options` go to `encode_batch`: how rows are read (`format`, `role_map`, column names, ...), policy
    options such as `max_length`, template variables. `progress` defaults to a bar when standard error is a
    terminal. The file's metadata carries the reports (`BatchReport.of`, `PackReport.of` on the table read back).
    """
    if on_error not in ("skip", "raise"):
        raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
    if pack_length is not None and pack_length < 1:
        raise ValueError(f"pack_length must be a positive number of tokens, got {pack_length}")
    paths = [Path(p) for p in inputs]
    columns = _native.format_columns(read_options(**{k: v for k, v in options.items() if k in READ_OPTIONS})["columns"])
    bar = Progress(input_size(paths), enabled=progress)
    summary = PrepareSummary(packs=0 if pack_length else None, history=options.get("history", masker.policy.history))
    pack_totals: dict[str, int] = {}
    all_errors: list[dict] = []
    writer: pq.ParquetWriter | None = None
    bytes_done = 0
    try:
        for chunk in read_chunks(paths, chunk_rows, columns=columns, split=split):
            batch = _encode_chunk(masker, chunk, summary, all_errors, on_error, threads=threads, **options)
            tokens = int(pc.sum(batch["num_tokens"]).as_py() or 0)
            if pack_length:
                batch = _pack(batch, pack_length, overflow, summary, pack_totals)
            else:
                summary.rows_out += batch.num_rows
                summary.tokens += tokens
                summary.trained_tokens += int(pc.sum(batch["num_trained_tokens"]).as_py() or 0)
            writer = writer or pq.ParquetWriter(str(output), batch.schema)
            writer.write_batch(batch)
            bytes_done = chunk.bytes_done
            bar.update(len(chunk.row_numbers), tokens, bytes_done)
        if writer is None:  # no input rows at all: still write a valid, empty file
            empty = masker.encode_batch([], on_error="skip", history=summary.history).replace_schema_metadata(None)
            if pack_length:
                empty = _pack(empty, pack_length, overflow, summary, pack_totals)
            writer = pq.ParquetWriter(str(output), empty.schema)
        _add_reports(writer, _file_reports(summary, all_errors, pack_length, pack_totals))
    except BaseException:
        if writer is not None:  # leave no half-written output behind
            writer.close()
            Path(output).unlink(missing_ok=True)
        raise
    finally:
        bar.close(bytes_done)
    writer.close()
    summary.seconds = bar.elapsed
    return summary


def _add_reports(writer: pq.ParquetWriter, reports: dict[str, str]) -> None:
    """Stores the reports in the file's metadata, and in the Arrow schema pyarrow (and `datasets`) read back: that
    schema is only written when the file is closed, as the `ARROW:schema` entry, so it is replaced by the same
    schema with the reports in its metadata."""
    schema = writer.schema.with_metadata({**(writer.schema.metadata or {}), **reports})
    arrow_schema = base64.b64encode(schema.serialize().to_pybytes()).decode()
    writer.add_key_value_metadata({**reports, "ARROW:schema": arrow_schema})


def _file_reports(summary: PrepareSummary, errors: list[dict], pack_length, pack_totals) -> dict[str, str]:
    """The reports stored in the Parquet file's metadata, in the form `BatchReport.of` / `PackReport.of` read."""
    report = dict(
        rows_in=summary.rows_in, rows_out=summary.rows_encoded, tokens_out=summary.tokens_encoded,
        history=summary.history, rows_expanded=summary.rows_expanded, tokens_as_rendered=summary.tokens_as_rendered,
        left_out_messages=summary.left_out_messages, left_out_tokens=summary.left_out_tokens,
        truncated=summary.truncated, formats=summary.formats, on_error="skip", errors=errors,
    )
    reports = {_native.REPORT_KEY: json.dumps(report)}
    if pack_length:
        reports[PACK_REPORT_KEY.decode()] = json.dumps(
            {"max_length": pack_length, "strategy": "bfd", **pack_totals}
        )
    return reports


def _pack(
    batch: pa.RecordBatch, pack_length: int, overflow: Overflow, summary: PrepareSummary, totals: dict[str, int]
) -> pa.RecordBatch:
    packed = pack(batch, pack_length, overflow=overflow)
    report = PackReport.of(packed)
    summary.packs = (summary.packs or 0) + report.packs
    summary.truncated += report.truncated + report.split
    summary.dropped += report.dropped
    # What is written: the sequences in the packs and their tokens, after cutting and dropping.
    summary.rows_out += report.sequences
    summary.tokens += report.tokens
    labels = pc.list_flatten(packed.column("labels"))
    summary.trained_tokens += int(pc.sum(pc.not_equal(labels, IGNORE_INDEX)).as_py() or 0)
    for name in ("packs", "sequences", "tokens", "truncated", "split", "dropped", "tokens_dropped", "null_rows"):
        totals[name] = totals.get(name, 0) + getattr(report, name)
    return packed.replace_schema_metadata(None)
