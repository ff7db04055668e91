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
    tokens_out: int = 0
    """Tokens in the output rows."""
    history: str = "as_rendered"
    """The policy's `history` option."""
    rows_expanded: int = 0
    """Input rows written as one row per trained turn (`history="per_turn"` or `"auto"`)."""
    tokens_as_rendered: int = 0
    """Tokens the encoded input rows have rendered once: `tokens_out - tokens_as_rendered` is what the per-turn rows
    cost."""
    left_out_messages: int = 0
    """Trained messages whose text (reasoning) the render of their row leaves out while their own last-turn render
    trains it: a template that rewrites history, in rows written as rendered."""
    left_out_tokens: int = 0
    """The tokens those messages' own last-turn renders train beyond what their row trains."""
    image_tokens: int | None = None
    """Image and video tokens in the output rows (never trained), for a vision-language model; None otherwise."""

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
