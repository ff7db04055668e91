"""Ray Data: preparing a corpus that outgrows one machine, one `Masker` per worker.

    import ray
    from sftmask.ray_data import EncodeBatch

    dataset = ray.data.read_parquet("s3://bucket/conversations/")
    encoded = dataset.map_batches(
        EncodeBatch,
        fn_constructor_kwargs={"tokenizer": "Qwen/Qwen3-8B"},
        batch_format="pyarrow",
        concurrency=8,            # workers, each holding one Masker
    )
    encoded.write_parquet("s3://bucket/encoded/")
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from sftmask.masker import Masker


class EncodeBatch:
    """A callable class for `ray.data.Dataset.map_batches(..., batch_format="pyarrow")`.

    Built once per worker (loading the tokenizer and template once); each call encodes one Arrow batch with
    `Masker.encode_batch`. Options (`on_error`, `messages_column`, template keywords, ...) pass through.
    `threads` defaults to 1, since Ray already runs one worker per CPU. `keep_columns` copies input columns (ids,
    sources) into the output; it needs `on_error` other than `"skip"`, which would misalign rows.
    """

    def __init__(
        self,
        tokenizer: str,
        *,
        chat_template: str | None = None,
        keep_columns: tuple[str, ...] = (),
        threads: int = 1,
        **options: Any,
    ) -> None:
        self.masker = Masker.from_pretrained(tokenizer, chat_template=chat_template)
        self.keep_columns = tuple(keep_columns)
        if self.keep_columns and options.get("on_error") == "skip":
            raise ValueError("keep_columns cannot be used with on_error='skip': rows would no longer line up")
        self.options = dict(options, threads=threads)

    def __call__(self, batch: pa.Table) -> pa.Table:
        encoded = pa.Table.from_batches([self.masker.encode_batch(batch, **self.options)])
        for name in self.keep_columns:
            encoded = encoded.append_column(name, batch.column(name))
        # The per-batch report lives in the schema metadata; blocks with different metadata cannot be concatenated.
        return encoded.replace_schema_metadata(None)
