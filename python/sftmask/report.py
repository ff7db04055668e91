"""What happened to each row of an `encode_batch` call, read back from the batch it returned."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pyarrow as pa

from sftmask._native import REPORT_KEY
from sftmask.constants import OnError


@dataclass(frozen=True)
class RowError:
    row: int
    """Index of the row in the input."""
    type: str
    """The exception class it would have raised: `TemplateError`, `InputError`, ..."""
    message: str


@dataclass(frozen=True)
class BatchReport:
    rows_in: int
    rows_out: int
    on_error: OnError
    errors: list[RowError] = field(default_factory=list)
    truncated: int = 0
    """Rows cut to `max_length`."""
    formats: dict[str, int] = field(default_factory=dict)
    """Rows encoded, by the dataset format they were read in (`messages`, `conversations`, `alpaca`, ...)."""

    @property
    def skipped(self) -> list[RowError]:
        """Rows left out of the output (`on_error="skip"`)."""
        return self.errors if self.on_error == "skip" else []

    @classmethod
    def of(cls, batch: pa.RecordBatch | pa.Table) -> BatchReport:
        """The report `encode_batch` stored in the schema metadata of `batch`, or `prepare` in its Parquet file
        (read back with `pyarrow.parquet.read_table`, `datasets`, ...)."""
        metadata = batch.schema.metadata or {}
        raw = metadata.get(REPORT_KEY.encode())
        if raw is None:
            raise ValueError(
                "this table carries no sftmask report: it was not made by encode_batch or written by prepare, or its "
                "schema metadata was dropped on the way"
            )
        data = json.loads(raw)
        errors = [RowError(**e) for e in data.pop("errors")]
        return cls(errors=errors, **data)
