"""Preparing whole datasets: inputs streamed chunk by chunk through `encode_batch` (and `pack`) into Parquet.

The Parquet file carries what happened in its metadata, as `encode_batch` and `pack` results do:
`BatchReport.of(table)` (rows in and out, every failed row, formats read) and, when packed, `PackReport.of(table)`
work on the table read back.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

import sftmask
from sftmask import _native
from sftmask.constants import IGNORE_INDEX, Overflow, PrepareOnError
from sftmask.masker import READ_OPTIONS, Masker, read_options
from sftmask.output import DatasetsDirectoryOutput, Manifest, ParquetOutput
from sftmask.packing import PACK_REPORT_KEY, PackReport, pack
from sftmask.policy import split_options
from sftmask.progress import Progress
from sftmask.report import BatchReport
from sftmask.sources import Chunk, input_size, read_chunks
from sftmask.trainers import Trainer, trainer

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
    image_tokens: int = 0
    """Image and video tokens written (a vision-language model's), never trained."""
    longest: int = 0
    """Tokens of the longest row written (with packing, of the longest pack)."""
    trainer: str | None = None
    """The trainer the output was written for (`--for`), and the configuration that loads it as written."""
    trainer_config: str = ""
    trainer_drops: int = 0
    """Rows the trainer would drop with that configuration (Axolotl: shorter than its `min_sample_len`)."""

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

    def add(self, other: PrepareSummary) -> None:
        """Adds the counts of `other` (a later part of the same job) to these."""
        for f in dataclasses.fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if f.name == "first_errors":
                self.first_errors += theirs[: SHOWN_ERRORS - len(mine)]
            elif f.name == "formats":
                for name, count in theirs.items():
                    mine[name] = mine.get(name, 0) + count
            elif f.name == "longest":
                self.longest = max(mine, theirs)
            elif f.name == "packs":
                self.packs = None if mine is None and theirs is None else (mine or 0) + (theirs or 0)
            elif isinstance(mine, (int, float)) and not isinstance(mine, bool):
                setattr(self, f.name, mine + theirs)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PrepareSummary:
        return cls(**{**data, "first_errors": [FailedRow(**e) for e in data.get("first_errors", [])]})

    def format(self) -> str:
        rate = self.rows_in / self.seconds if self.seconds else 0.0
        formats = ", ".join(f"{name} ({count:,} rows)" for name, count in self.formats.items()) or "none"
        lines = [
            f"format:         {formats}",
            f"rows in:        {self.rows_in:,}",
            f"rows out:       {self.rows_out:,}" + (f" in {self.packs:,} packs" if self.packs is not None else ""),
            f"tokens:         {self.tokens:,}",
            f"trained tokens: {self.trained_tokens:,} ({self.trained_share:.1%})",
            *([f"image tokens:   {self.image_tokens:,} (never trained)"] if self.image_tokens else []),
            f"truncated:      {self.truncated:,}",
            f"dropped:        {self.dropped:,}",
            f"errors:         {self.errors:,}",
        ]
        lines += [f"  {error}" for error in self.first_errors]
        if self.errors > len(self.first_errors):
            lines.append(f"  ... and {self.errors - len(self.first_errors):,} more")
        lines += self._history_lines()
        if self.trainer:
            lines.append(f"trainer:        {self.trainer}, rows of at most {self.longest:,} tokens; "
                         f"{self.trainer_drops:,} rows it would drop")
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
    masker: Masker, chunk: Chunk, first_row: int, on_error: PrepareOnError, **options
) -> tuple[pa.RecordBatch, PrepareSummary, list[dict]]:
    """Encodes one chunk whose first row is row `first_row` of the job: the batch, its counts and its failed rows
    (raised instead, under `on_error="raise"`), each named by its number in its source."""
    # Always "skip" here, so that a failure is reported by its row number in the file, not in the chunk.
    batch = masker.encode_batch(chunk.data, on_error="skip", **options)
    report = BatchReport.of(batch)
    summary = PrepareSummary(
        rows_in=report.rows_in, truncated=report.truncated, formats=dict(report.formats), history=report.history,
        rows_encoded=report.rows_out, rows_expanded=report.rows_expanded, tokens_encoded=report.tokens_out,
        tokens_as_rendered=report.tokens_as_rendered, left_out_messages=report.left_out_messages,
        left_out_tokens=report.left_out_tokens, image_tokens=report.image_tokens or 0,
    )
    errors = []
    for error in report.errors:
        failed = FailedRow(chunk.source, chunk.row_numbers[error.row], error.type, error.message)
        if on_error == "raise":
            _raise_row_error(failed)
        summary.add_error(failed)
        errors.append({"row": first_row + error.row, "type": error.type,
                       "message": f"{failed.source}: row {failed.row}: {error.message}"})
    if "source_row" in batch.schema.names:  # the row's index among all rows read, not within the chunk
        index = batch.schema.get_field_index("source_row")
        batch = batch.set_column(index, "source_row", pc.add(batch["source_row"], pa.scalar(first_row, pa.int32())))
    return batch.replace_schema_metadata(None), summary, errors


@dataclass
class _Part:
    """What goes into one output file: its counts, failed rows and packing totals."""

    summary: PrepareSummary
    errors: list[dict] = field(default_factory=list)
    pack_totals: dict[str, int] = field(default_factory=dict)

    def add(self, summary: PrepareSummary, errors: list[dict], pack_totals: dict[str, int]) -> None:
        self.summary.add(summary)
        self.errors += errors
        for name, count in pack_totals.items():
            self.pack_totals[name] = self.pack_totals.get(name, 0) + count


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
    shard_rows: int | None = None,
    shard_size: int | None = None,
    resume: bool = False,
    for_trainer: str | None = None,
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

    The file is written under a hidden temporary name beside `output` and renamed into place when complete: an
    interruption (an exception, Ctrl-C, SIGTERM, even SIGKILL) never leaves a file at `output` that looks finished.

    `shard_rows`: `output` is a directory of shards, `part-00000.parquet`, ..., each holding the rows encoded from
    about `shard_rows` input rows (whole chunks), each with its own reports, and a hidden `.sftmask-manifest.json`
    of the shards, their rows and tokens, and the job's settings. `shard_size` (bytes) closes a shard once its
    file is that large, with or without `shard_rows`. `resume=True` continues such a job after its last
    complete shard, refusing one whose input files, tokenizer, template or options differ; the result is the one
    an uninterrupted run writes. `datasets.load_dataset("parquet", data_dir=output)` reads the shards.
    """
    if on_error not in ("skip", "raise"):
        raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
    if pack_length is not None and pack_length < 1:
        raise ValueError(f"pack_length must be a positive number of tokens, got {pack_length}")
    for name, value in (("shard_rows", shard_rows), ("shard_size", shard_size)):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be a positive number, got {value}")
    sharded = shard_rows is not None or shard_size is not None
    if resume and not sharded:
        raise ValueError("resume continues a sharded job: give shard_rows or shard_size (--shard-rows, --shard-size) "
                         "as the job did")
    target = trainer(for_trainer) if for_trainer else None
    if target is not None:
        target.check(pack_length)
        if target.save_to_disk and sharded:
            raise ValueError("--for llama-factory writes one save_to_disk directory (tokenized_path): leave out "
                             "--shard-rows / --shard-size")
    paths = [Path(p) for p in inputs]
    columns = _native.format_columns(read_options(**{k: v for k, v in options.items() if k in READ_OPTIONS})["columns"])
    history = options.get("history", masker.policy.history)
    new_part = lambda: _Part(PrepareSummary(packs=0 if pack_length else None, history=history))  # noqa: E731
    output_class = DatasetsDirectoryOutput if target is not None and target.save_to_disk else ParquetOutput
    writer_options = target.parquet_options(pack_length) if target is not None else {}

    def output_kind(path: Path) -> ParquetOutput | DatasetsDirectoryOutput:
        return output_class(path, writer_options)

    total = new_part()
    manifest = None
    if sharded:
        sharding = {"shard_rows": shard_rows, "shard_size": shard_size}
        settings = _job_settings(masker, paths, pack_length, overflow, on_error, chunk_rows, split, sharding, options)
        manifest = Manifest.start(Path(output), settings, resume)
        for shard in manifest.shards:
            total.summary.add(PrepareSummary.from_dict(shard["summary"]))
    bar = Progress(input_size(paths), enabled=progress)
    part, current = new_part(), None
    rows_read, bytes_done = 0, 0

    def finish_file() -> None:
        nonlocal part, current
        if current is None:  # no rows at all: still a valid, empty file with the columns
            current = output_kind(manifest.next_file() if manifest else Path(output))
            empty = masker.encode_batch([], on_error="skip", history=history).replace_schema_metadata(None)
            empty = _pack(empty, pack_length, overflow, part.summary)[0] if pack_length else empty
            current.write(target.convert(empty, pack_length) if target else empty)
        current.commit(_file_reports(part.summary, part.errors, pack_length, part.pack_totals))
        if manifest is not None:
            manifest.add({"file": current.path.name, "input_rows_end": rows_read, "rows_in": part.summary.rows_in,
                          "rows_out": part.summary.rows_out, "tokens": part.summary.tokens,
                          "summary": part.summary.to_dict()})
        total.add(part.summary, part.errors, part.pack_totals)
        part, current = new_part(), None

    try:
        if manifest is None or not manifest.complete:
            for chunk in read_chunks(paths, chunk_rows, columns=columns, split=split):
                first_row, rows_read = rows_read, rows_read + len(chunk.row_numbers)
                bytes_done = chunk.bytes_done
                if manifest is not None and rows_read <= manifest.rows_done:  # in a complete shard already
                    bar.update(len(chunk.row_numbers), 0, bytes_done)
                    continue
                batch, summary, errors = _encode_chunk(masker, chunk, first_row, on_error, threads=threads, **options)
                batch, pack_totals = _to_output(batch, summary, pack_length, overflow, target)
                part.add(summary, errors, pack_totals)
                current = current or output_kind(manifest.next_file() if manifest else Path(output))
                current.write(batch)
                bar.update(len(chunk.row_numbers), summary.tokens_encoded, bytes_done)
                if manifest is not None and _shard_full(current, part.summary, shard_rows, shard_size):
                    finish_file()
            if current is not None or manifest is None or not manifest.shards:
                finish_file()
            if manifest is not None:
                manifest.complete = True
                manifest.save()
    except BaseException:
        if current is not None:  # leave no half-written output behind
            current.abort()
        raise
    finally:
        bar.close(bytes_done)
    summary = total.summary
    summary.seconds = bar.elapsed
    if target is not None:
        summary.trainer = target.name
        summary.trainer_config = target.snippet(str(output), summary.longest, pack_length)
    return summary


def _to_output(
    batch: pa.RecordBatch, summary: PrepareSummary, pack_length: int | None, overflow: Overflow, target: Trainer | None
) -> tuple[pa.RecordBatch, dict[str, int]]:
    """An encoded chunk as written (packed, in a trainer's columns), what is written counted into `summary`, and the
    packing totals."""
    pack_totals: dict[str, int] = {}
    if pack_length:
        batch, pack_totals = _pack(batch, pack_length, overflow, summary)
    else:
        summary.rows_out, summary.tokens = batch.num_rows, summary.tokens_encoded
        summary.trained_tokens = int(pc.sum(batch["num_trained_tokens"]).as_py() or 0)
    lengths = pc.list_value_length(batch["input_ids"])
    summary.longest = int(pc.max(lengths).as_py() or 0)
    if target is not None:
        summary.trainer_drops = target.drops(lengths)
        batch = target.convert(batch, pack_length)
    return batch, pack_totals


def _shard_full(current: ParquetOutput, summary: PrepareSummary, shard_rows: int | None, shard_size: int | None):
    """Whether the shard being written has its input rows or its bytes."""
    if shard_rows is not None and summary.rows_in >= shard_rows:
        return True
    return shard_size is not None and current.partial.stat().st_size >= shard_size


def _job_settings(masker: Masker, paths, pack_length, overflow, on_error, chunk_rows, split, sharding, options):
    """What a resumed job must share with the one it continues: each input file (its size and modification time),
    the tokenizer and template (a hash of their files), the policy and every option."""
    inputs = []
    for path in paths:
        stat = path.stat() if path.exists() else None
        inputs.append({"path": str(path.resolve()) if stat else str(path),
                       "bytes": stat.st_size if stat else None, "mtime_ns": stat.st_mtime_ns if stat else None})
    policy = masker.policy.replace(**split_options(dict(options))).as_native()
    other = {k: v for k, v in options.items() if k not in policy}
    return {
        "inputs": inputs, "tokenizer": masker.fingerprint(), "policy": policy,
        "options": json.loads(json.dumps(other, default=str)), "pack_length": pack_length, "overflow": overflow,
        "on_error": on_error, "chunk_rows": chunk_rows, "split": split, **sharding,
        "sftmask": sftmask.__version__,
    }


def _file_reports(summary: PrepareSummary, errors: list[dict], pack_length, pack_totals) -> dict[str, str]:
    """The reports stored in the Parquet file's metadata, in the form `BatchReport.of` / `PackReport.of` read."""
    report = dict(
        rows_in=summary.rows_in, rows_out=summary.rows_encoded, tokens_out=summary.tokens_encoded,
        history=summary.history, rows_expanded=summary.rows_expanded, tokens_as_rendered=summary.tokens_as_rendered,
        left_out_messages=summary.left_out_messages, left_out_tokens=summary.left_out_tokens,
        truncated=summary.truncated, formats=summary.formats, on_error="skip", errors=errors,
        image_tokens=summary.image_tokens or None,
    )
    reports = {_native.REPORT_KEY: json.dumps(report)}
    if pack_length:
        reports[PACK_REPORT_KEY.decode()] = json.dumps(
            {"max_length": pack_length, "strategy": "bfd", **pack_totals}
        )
    return reports


def _pack(
    batch: pa.RecordBatch, pack_length: int, overflow: Overflow, summary: PrepareSummary
) -> tuple[pa.RecordBatch, dict[str, int]]:
    """The batch packed, its counts added to `summary`, and the packing totals."""
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
    names = ("packs", "sequences", "tokens", "truncated", "split", "dropped", "tokens_dropped", "null_rows")
    return packed.replace_schema_metadata(None), {name: getattr(report, name) for name in names}
