"""Reading datasets in bounded chunks: JSONL, JSON, Parquet files, saved `datasets` directories and (with `datasets`
installed) Hugging Face Hub dataset ids, streamed.

Each chunk carries its rows (an Arrow table or a dict of columns, what `Masker.encode_batch` takes), the number of
each row in its file, and how far through the input the reader is, for progress bars. Only one chunk is held at a
time, so memory stays bounded however large the input.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sftmask import _native

#: Columns sftmask reads with the default column names (those of every format); other columns are left on disk.
ROW_COLUMNS = tuple(
    _native.format_columns(dict(messages="messages", tools="tools", prompt="prompt", completion="completion"))
)


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
    """Total bytes of the inputs, the denominator of progress (a hub dataset counts 0: it is streamed)."""
    return sum(_size(path) for path in paths if path.exists())


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


def read_chunks(
    paths: list[Path], chunk_rows: int, *, columns: Iterable[str] = ROW_COLUMNS, split: str | None = None
) -> Iterator[Chunk]:
    """Every row of every input, `chunk_rows` at a time (a chunk never spans two sources). Only `columns` are read
    from files that store columns. `split` picks a split of a saved `DatasetDict` or of a hub dataset."""
    done = 0
    columns = tuple(columns)
    for path in paths:
        if not path.exists():
            if _is_hub_id(path):
                yield from _read_hub(str(path), chunk_rows, columns, split)
                continue
            raise FileNotFoundError(f"input {str(path)!r} does not exist")
        size = _size(path)
        for chunk in _reader_for(path)(path, chunk_rows, columns, split):
            chunk.bytes_done += done
            yield chunk
        done += size


def _is_hub_id(path: Path) -> bool:
    """`owner/name` (or `name`) that is no local file: a Hugging Face Hub dataset id."""
    parts = str(path).split("/")
    return (not path.is_absolute() and 1 <= len(parts) <= 2 and all(p and not p.startswith(".") for p in parts)
            and not path.suffix)


def _read_hub(name: str, chunk_rows: int, columns: tuple[str, ...], split: str | None) -> Iterator[Chunk]:
    """A Hugging Face Hub dataset, streamed through `datasets` (which shows its own download progress) as Arrow
    batches, so that its columns read as any Arrow table's."""
    try:
        import datasets
    except ImportError as exc:
        raise FileNotFoundError(
            f"input {name!r} does not exist; to stream it from the Hugging Face Hub, install datasets"
        ) from exc
    try:
        dataset = datasets.load_dataset(name, split=split or "train", streaming=True)
    except Exception as exc:  # noqa: BLE001 - network, authentication, unknown dataset or split
        raise FileNotFoundError(
            f"input {name!r} is no local file, and datasets could not load it from the Hub: {exc}"
        ) from exc
    wanted = [c for c in columns if c in (dataset.column_names or columns)]
    if dataset.column_names is not None and wanted:
        dataset = dataset.select_columns(wanted)
    start = 0
    for batch in dataset.with_format("arrow").iter(batch_size=chunk_rows):
        table = batch if isinstance(batch, pa.Table) else pa.table(batch)
        yield Chunk(f"{name} ({split or 'train'})", table, range(start, start + len(table)), 0)
        start += len(table)


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


def _read_jsonl(path: Path, chunk_rows: int, columns: tuple[str, ...], split: str | None) -> Iterator[Chunk]:
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


def _read_json(path: Path, chunk_rows: int, columns: tuple[str, ...], split: str | None) -> Iterator[Chunk]:
    """A JSON array of rows (or `{"data": [...]}`), each row read in its own format. The file is parsed whole: use
    JSONL for large data."""
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
        yield Chunk(str(path), rows, range(start, start + len(rows)), done)


def _read_parquet(path: Path, chunk_rows: int, columns: tuple[str, ...], split: str | None) -> Iterator[Chunk]:
    parquet = pq.ParquetFile(path)
    columns = [c for c in columns if c in parquet.schema_arrow.names]
    total_rows = max(parquet.metadata.num_rows, 1)
    size, start = _size(path), 0
    for batch in parquet.iter_batches(batch_size=chunk_rows, columns=columns or None):
        table = pa.Table.from_batches([batch])
        yield Chunk(str(path), table, range(start, start + len(table)), size * (start + len(table)) // total_rows)
        start += len(table)


def _read_datasets_directory(
    path: Path, chunk_rows: int, columns: tuple[str, ...], split: str | None
) -> Iterator[Chunk]:
    """A directory written by `datasets.Dataset.save_to_disk` (Arrow stream files listed in `state.json`), or by
    `DatasetDict.save_to_disk` (one such directory per split): `split` names the split to read, which may be left
    out when there is only one. Splits are never merged."""
    if (path / "dataset_dict.json").is_file():
        splits = json.loads((path / "dataset_dict.json").read_text())["splits"]
        if split is None and len(splits) == 1:
            split = splits[0]
        if split not in splits:
            raise ValueError(
                f"{path} is a DatasetDict with the splits {', '.join(splits)}: choose one with --split (split=); "
                "splits are never merged" + (f" (no split {split!r})" if split is not None else "")
            )
        for chunk in _read_datasets_directory(path / split, chunk_rows, columns, None):
            chunk.source = f"{path} ({split})"
            yield chunk
        return
    state_file = path / "state.json"
    if not state_file.is_file():
        raise ValueError(f"{path}: a directory input must be a saved datasets directory (no state.json found)")
    files = [path / f["filename"] for f in json.loads(state_file.read_text())["_data_files"]]
    done, start, pending = 0, 0, []
    for file in files:
        # Not closed explicitly: pending batches still point into the mapping, which lives as long as they do.
        reader = pa.ipc.open_stream(pa.memory_map(str(file)))
        selected = [c for c in columns if c in reader.schema.names]
        for batch in reader:
            pending.append(batch.select(selected) if selected else batch)
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
