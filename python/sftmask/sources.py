"""Reading datasets in bounded chunks: JSONL, JSON, Parquet files and saved `datasets` directories.

Each chunk carries its rows (an Arrow table or a dict of columns, what `Masker.encode_batch` takes), the number of
each row in its file, and how far through the input the reader is, for progress bars. Only one chunk is held at a
time, so memory stays bounded however large the input.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

#: Columns sftmask reads; other columns are left on disk.
ROW_COLUMNS = ("messages", "tools", "prompt", "completion")


@dataclass(frozen=True)
class JsonLines:
    """Rows as JSON Lines text, one JSON object a line: `Masker.encode_batch` parses them in Rust."""

    text: bytes
    rows: int

    def __len__(self) -> int:
        return self.rows

    def lines(self) -> list[bytes]:
        """The lines, split as the Rust side splits them: on `\n` only."""
        text = self.text.removesuffix(b"\n")
        return text.split(b"\n") if text else []

    def __iter__(self) -> Iterator[Any]:
        """Each line parsed in Python, or None where it is not JSON (encoding reports those lines)."""
        for line in self.lines():
            try:
                yield json.loads(line)
            except ValueError:
                yield None

    def head(self, n: int) -> JsonLines:
        lines = self.lines()[:n]
        return JsonLines(b"\n".join(lines), len(lines))


@dataclass
class Chunk:
    source: str
    """The file (or `datasets` directory) the rows come from."""
    data: Any
    """The rows: a `pyarrow.Table`, a dict of columns, or `JsonLines`."""
    row_numbers: list[int] | range
    """The number of each row in its source (0-based; a JSONL file counts lines)."""
    bytes_done: int
    """Bytes of the whole input read so far (for progress)."""


def input_size(paths: list[Path]) -> int:
    """Total bytes of the inputs, the denominator of progress."""
    return sum(_size(path) for path in paths)


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


def read_chunks(paths: list[Path], chunk_rows: int) -> Iterator[Chunk]:
    """Every row of every input, `chunk_rows` at a time (a chunk never spans two sources)."""
    done = 0
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"input {str(path)!r} does not exist")
        reader = _reader_for(path)
        size = _size(path)
        for chunk in reader(path, chunk_rows):
            chunk.bytes_done += done
            yield chunk
        done += size


def _reader_for(path: Path):
    if path.is_dir():
        return _read_datasets_directory
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        return _read_jsonl
    if name.endswith(".json"):
        return _read_json
    if name.endswith((".parquet", ".pq")):
        return _read_parquet
    raise ValueError(f"{path}: unknown input format; expected .jsonl, .json, .parquet or a saved datasets directory")


def _rows_to_columns(rows: list[Any]) -> dict[str, list[Any]]:
    """Rows (dicts) as columns. A row missing a column gets None there, which encoding reports as that row's error."""
    present = [c for c in ROW_COLUMNS if any(isinstance(r, dict) and c in r for r in rows)]
    if "messages" in present:
        present = [c for c in present if c not in ("prompt", "completion")]
    return {c: [r.get(c) if isinstance(r, dict) else None for r in rows] for c in present or ["messages"]}


def _read_jsonl(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    """Lines are handed to `encode_batch` as they are and parsed in Rust, on its threads."""
    opener = _open_gzip if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as f:
        start = 0
        while lines := list(itertools.islice(f, chunk_rows)):
            yield Chunk(str(path), JsonLines(b"".join(lines), len(lines)), range(start, start + len(lines)), _tell(f))
            start += len(lines)


def _open_gzip(path: Path, mode: str):
    import gzip

    return gzip.open(path, mode)


def _tell(f) -> int:
    """Bytes read from the file on disk (for gzip, of the compressed file, which `input_size` also counts)."""
    try:
        return (f.fileobj if hasattr(f, "fileobj") else f).tell()
    except (OSError, ValueError):
        return 0


def _read_json(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    """A JSON array of rows (or `{"data": [...]}`). The file is parsed whole: use JSONL for large data."""
    with open(path, "rb") as f:
        data = json.load(f)
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON array of rows")
    size = _size(path)
    for start in range(0, len(data), chunk_rows):
        rows = data[start : start + chunk_rows]
        done = size if start + chunk_rows >= len(data) else size * (start + len(rows)) // len(data)
        yield Chunk(str(path), _rows_to_columns(rows), range(start, start + len(rows)), done)


def _read_parquet(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    parquet = pq.ParquetFile(path)
    columns = [c for c in ROW_COLUMNS if c in parquet.schema_arrow.names]
    total_rows = max(parquet.metadata.num_rows, 1)
    size, start = _size(path), 0
    for batch in parquet.iter_batches(batch_size=chunk_rows, columns=columns or None):
        table = pa.Table.from_batches([batch])
        yield Chunk(str(path), table, range(start, start + len(table)), size * (start + len(table)) // total_rows)
        start += len(table)


def _read_datasets_directory(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    """A directory written by `datasets.Dataset.save_to_disk` (Arrow stream files listed in `state.json`), or by
    `DatasetDict.save_to_disk` (one such directory per split, each read in turn)."""
    if (path / "dataset_dict.json").is_file():
        splits = json.loads((path / "dataset_dict.json").read_text())["splits"]
        for split in splits:
            yield from _read_datasets_directory(path / split, chunk_rows)
        return
    state_file = path / "state.json"
    if not state_file.is_file():
        raise ValueError(f"{path}: a directory input must be a saved datasets directory (no state.json found)")
    files = [path / f["filename"] for f in json.loads(state_file.read_text())["_data_files"]]
    done, start, pending = 0, 0, []
    for file in files:
        # Not closed explicitly: pending batches still point into the mapping, which lives as long as they do.
        reader = pa.ipc.open_stream(pa.memory_map(str(file)))
        columns = [c for c in ROW_COLUMNS if c in reader.schema.names]
        for batch in reader:
            pending.append(batch.select(columns) if columns else batch)
            while sum(len(b) for b in pending) >= chunk_rows:
                table = pa.Table.from_batches(pending)
                head, rest = table.slice(0, chunk_rows), table.slice(chunk_rows)
                yield Chunk(str(path), head, range(start, start + len(head)), done)
                start += len(head)
                pending = rest.to_batches()
        done += os.path.getsize(file)
    if pending:
        table = pa.Table.from_batches(pending)
        yield Chunk(str(path), table, range(start, start + len(table)), done)
