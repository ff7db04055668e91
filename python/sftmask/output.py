"""Writing `prepare`'s output (Parquet, or a `datasets` directory) so that no interruption leaves one that looks
finished.

A file is written under a hidden temporary name beside its target (`.out.parquet.partial`) and renamed into place
only once complete, so a kill at any moment (SIGKILL included) leaves the target as it was. Sharded output is a
directory of such files (`part-00000.parquet`, ...) and a hidden `.sftmask-manifest.json`, rewritten the same way
after each shard, that records the shards, their rows and tokens, and the settings of the job: `resume` continues
after the last complete shard, and refuses a job whose input, tokenizer, template or options differ.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

# Hidden, as the partial files are: `datasets.load_dataset("parquet", data_dir=...)` reads every other file.
MANIFEST = ".sftmask-manifest.json"
MANIFEST_VERSION = 1


def partial_name(path: Path) -> Path:
    """The temporary name a file is written under: hidden, beside it, so that readers of the directory skip it."""
    return path.with_name(f".{path.name}.partial")


class ParquetOutput:
    """One Parquet file, written under `partial_name(path)` and renamed to `path` by `commit`; `options` go to
    `pyarrow.parquet.ParquetWriter`."""

    def __init__(self, path: Path, options: Mapping[str, Any] | None = None) -> None:
        self.path = path
        self.partial = partial_name(path)
        self.options = dict(options or {})
        self.writer: pq.ParquetWriter | None = None

    def write(self, batch: pa.RecordBatch) -> None:
        if self.writer is None:
            self.writer = pq.ParquetWriter(str(self.partial), batch.schema, **self.options)
        self.writer.write_batch(batch)

    def commit(self, reports: Mapping[str, str]) -> None:
        """Stores `reports` in the file's metadata, closes it and renames it into place."""
        assert self.writer is not None, "commit after at least one write"
        _add_reports(self.writer, reports)
        self.writer.close()
        os.replace(self.partial, self.path)

    def abort(self) -> None:
        """Closes and removes the partial file; the target is left as it was."""
        _close(self)
        self.partial.unlink(missing_ok=True)


class DatasetsDirectoryOutput:
    """A `datasets` `save_to_disk` directory (LLaMA-Factory's `tokenized_path`), written as `datasets` writes one: the
    rows as one Arrow stream file, one batch at a time, in a hidden partial directory renamed into place when
    complete. Its two small metadata files come from `datasets` itself (one of the rows saved as a dataset), so
    they match the installed version."""

    DATA_FILE = "data-00000-of-00001.arrow"

    def __init__(self, path: Path, options: Mapping[str, Any] | None = None) -> None:  # no options: an Arrow stream
        try:
            import datasets  # noqa: F401 - needed at commit; fail before any work
        except ImportError as exc:
            raise ValueError("a save_to_disk directory needs the datasets package: pip install datasets") from exc
        self.path = path
        self.partial = partial_name(path)
        self.writer: pa.ipc.RecordBatchStreamWriter | None = None
        self.sample: pa.Table | None = None
        """A row of the data (none when there is none), which `datasets` saves to make the metadata."""

    def write(self, batch: pa.RecordBatch) -> None:
        if self.writer is None:
            shutil.rmtree(self.partial, ignore_errors=True)
            self.partial.mkdir(parents=True)
            self.writer = pa.ipc.new_stream(str(self.partial / self.DATA_FILE), batch.schema)
            self.sample = batch.schema.empty_table()
        if batch.num_rows and not self.sample.num_rows:
            self.sample = pa.Table.from_batches([batch.slice(0, 1)])
        self.writer.write_batch(batch)

    def commit(self, reports: Mapping[str, str]) -> None:
        """Closes the data file, adds the metadata files, and renames the directory into place (`reports` are not
        kept: the directory has no place for them)."""
        import tempfile

        import datasets

        assert self.writer is not None, "commit after at least one write"
        self.writer.close()
        with tempfile.TemporaryDirectory(dir=self.partial.parent, prefix=".sftmask-") as saved:
            datasets.Dataset(self.sample).save_to_disk(saved)
            state = json.loads((Path(saved) / "state.json").read_text(encoding="utf-8"))
            files = [f["filename"] for f in state["_data_files"]]
            if files == [] and not self.sample.num_rows:  # no rows: datasets writes no data file, and cannot load that
                state["_data_files"] = [{"filename": self.DATA_FILE}]
                (Path(saved) / "state.json").write_text(json.dumps(state), encoding="utf-8")
            elif files != [self.DATA_FILE]:
                raise ValueError(f"this version of datasets names its data files {files}, not {self.DATA_FILE}")
            for name in ("state.json", "dataset_info.json"):
                shutil.copyfile(Path(saved) / name, self.partial / name)
        if self.path.exists():  # an earlier output: replaced only now that the new one is complete
            shutil.rmtree(self.path) if self.path.is_dir() else self.path.unlink()
        os.replace(self.partial, self.path)

    def abort(self) -> None:
        """Closes and removes the partial directory; the target is left as it was."""
        _close(self)
        shutil.rmtree(self.partial, ignore_errors=True)


def _close(output: ParquetOutput | DatasetsDirectoryOutput) -> None:
    """Closes an output's writer, if it has one open."""
    writer, output.writer = output.writer, None
    if writer is not None:
        writer.close()


def _add_reports(writer: pq.ParquetWriter, reports: Mapping[str, str]) -> None:
    """Stores the reports in the file's metadata, and in the Arrow schema pyarrow (and `datasets`) read back: that
    schema is only written when the file is closed, as the `ARROW:schema` entry, so it is replaced by the same
    schema with the reports in its metadata."""
    schema = writer.schema.with_metadata({**(writer.schema.metadata or {}), **reports})
    arrow_schema = base64.b64encode(schema.serialize().to_pybytes()).decode()
    writer.add_key_value_metadata({**reports, "ARROW:schema": arrow_schema})


def write_json(path: Path, data: Any) -> None:
    """Writes JSON through a temporary file and a rename: the file is the old one or the new one, never half."""
    partial = partial_name(path)
    partial.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(partial, path)


class Manifest:
    """The manifest of a sharded output directory: the job's settings and its complete shards."""

    def __init__(self, directory: Path, settings: dict[str, Any], shards: list[dict[str, Any]] | None = None) -> None:
        self.directory = directory
        self.settings = settings
        self.shards = shards or []
        self.complete = False

    @classmethod
    def start(cls, directory: Path, settings: dict[str, Any], resume: bool) -> Manifest:
        """A new job's manifest, or with `resume` the manifest of the job in `directory` to continue, checked to have
        the same settings. A directory holding another job is refused unless resumed."""
        path = directory / MANIFEST
        if not path.exists():
            if directory.exists() and any(directory.glob("part-*.parquet")):
                raise ValueError(f"{directory} holds shards but no {MANIFEST}: write to an empty directory")
            directory.mkdir(parents=True, exist_ok=True)
            return cls(directory, settings)
        if not resume:
            raise ValueError(
                f"{directory} holds the shards of an earlier job ({MANIFEST}): pass --resume (resume=True) to continue "
                "it, or write to another directory"
            )
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved.get("version") != MANIFEST_VERSION:
            raise ValueError(f"{path}: unknown manifest version {saved.get('version')!r}")
        for key in sorted(set(settings) | set(saved["settings"])):
            if settings.get(key) != saved["settings"].get(key):
                raise ValueError(
                    f"--resume: {key}: this job has {settings.get(key)!r}, the one in {path} had "
                    f"{saved['settings'].get(key)!r}; a resumed job must read the same input with the same tokenizer, "
                    "template and options"
                )
        manifest = cls(directory, settings, saved["shards"])
        manifest.complete = saved.get("complete", False)
        # Partial files of the interrupted shard, and any shard written after the last one recorded.
        recorded = {shard["file"] for shard in manifest.shards}
        for stray in [*directory.glob(".part-*.partial"), *directory.glob("part-*.parquet")]:
            if stray.name not in recorded:
                stray.unlink()
        return manifest

    @property
    def rows_done(self) -> int:
        """Input rows encoded into the complete shards."""
        return self.shards[-1]["input_rows_end"] if self.shards else 0

    def next_file(self) -> Path:
        return self.directory / f"part-{len(self.shards):05d}.parquet"

    def add(self, shard: dict[str, Any]) -> None:
        self.shards.append(shard)
        self.save()

    def save(self) -> None:
        totals = {key: sum(shard[key] for shard in self.shards) for key in ("rows_in", "rows_out", "tokens")}
        write_json(
            self.directory / MANIFEST,
            {"version": MANIFEST_VERSION, "complete": self.complete, **totals, "settings": self.settings,
             "shards": self.shards},
        )
