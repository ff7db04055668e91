"""PyTorch collators over sftmask's outputs, for a `torch.utils.data.DataLoader`.

Keys and dtypes match transformers models and TRL's `DataCollatorForLanguageModeling`: `input_ids`, `labels`,
`attention_mask` (padded batches) or `position_ids` (padding-free batches), all int64. Requires torch.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from sftmask.constants import IGNORE_INDEX, PaddingSide


def _as_array(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.numpy()
    return np.asarray(value)


class PaddedCollator:
    """Pads rows (dicts with `input_ids` and `labels`) to the longest in the batch.

    `pad_to_multiple_of` rounds the length up (tensor cores like multiples of 8); `padding_side` is `"right"` or
    `"left"`. Padding gets `pad_token_id` in `input_ids`, 0 in `attention_mask` and -100 in `labels`.
    """

    def __init__(self, pad_token_id: int, *, pad_to_multiple_of: int | None = None, padding_side: PaddingSide = "right",
                 pin_memory: bool = False) -> None:
        if padding_side not in ("right", "left"):
            raise ValueError(f"padding_side must be 'right' or 'left', got {padding_side!r}")
        self.pad_token_id = pad_token_id
        self.pad_to_multiple_of = pad_to_multiple_of
        self.padding_side = padding_side
        self.pin_memory = pin_memory

    def __call__(self, rows: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        ids = [_as_array(r["input_ids"]) for r in rows]
        labels = [_as_array(r["labels"]) for r in rows]
        length = max((len(i) for i in ids), default=0)
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        input_ids = np.full((len(rows), length), self.pad_token_id, dtype=np.int64)
        out_labels = np.full((len(rows), length), IGNORE_INDEX, dtype=np.int64)
        attention = np.zeros((len(rows), length), dtype=np.int64)
        for row, (row_ids, row_labels) in enumerate(zip(ids, labels)):
            span = slice(0, len(row_ids)) if self.padding_side == "right" else slice(length - len(row_ids), length)
            input_ids[row, span], out_labels[row, span], attention[row, span] = row_ids, row_labels, 1
        batch = {
            "input_ids": torch.from_numpy(input_ids),
            "attention_mask": torch.from_numpy(attention),
            "labels": torch.from_numpy(out_labels),
        }
        return _pinned(batch) if self.pin_memory else batch


class PaddingFreeCollator:
    """Concatenates rows into one `(1, total)` row with `position_ids` restarting at 0 for every sequence and
    `cu_seqlens` (int32) for FlashAttention's varlen kernels, as TRL's `padding_free=True` does.

    Accepts encoded rows (`input_ids`, `labels`) or packed rows from `sftmask.pack` (which also carry
    `position_ids` and `seq_lengths`). The first label of every sequence is set to -100, as TRL does: the model
    predicts each token from the one before it, so otherwise the last token of one sequence would be trained to
    predict the first token of the next (`sftmask.pack` already writes its packs this way).
    """

    def __init__(self, *, pin_memory: bool = False) -> None:
        self.pin_memory = pin_memory

    def __call__(self, rows: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        ids = [_as_array(r["input_ids"]) for r in rows]
        lengths: list[int] = []
        for r, i in zip(rows, ids):
            lengths.extend(_as_array(r["seq_lengths"]).tolist() if "seq_lengths" in r else [len(i)])
        input_ids = np.concatenate(ids).astype(np.int64, copy=False) if ids else np.zeros(0, np.int64)
        labels = np.concatenate([_as_array(r["labels"]) for r in rows]).astype(np.int64, copy=False)
        if lengths:
            position_ids = np.concatenate([np.arange(n, dtype=np.int64) for n in lengths])
        else:
            position_ids = np.zeros(0, np.int64)
        cu_seqlens = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
        labels[cu_seqlens[:-1][np.asarray(lengths) > 0]] = IGNORE_INDEX
        batch = {
            "input_ids": torch.from_numpy(input_ids).unsqueeze(0),
            "labels": torch.from_numpy(labels).unsqueeze(0),
            "position_ids": torch.from_numpy(position_ids).unsqueeze(0),
            "cu_seqlens": torch.from_numpy(cu_seqlens),
            "max_length": int(max(lengths, default=0)),
        }
        return _pinned(batch) if self.pin_memory else batch


class VisionCollator:
    """Pads rows with images (`encode` / `encode_batch` output of a vision-language model) as `PaddedCollator`
    does, and adds what the model's own image processor makes of their images: `pixel_values` and, per family,
    `image_grid_thw`, `pixel_attention_mask`, `image_sizes`, ...

    `processor` is a transformers processor or the directory to load one from (`AutoProcessor`; transformers is
    needed). Each row's `images` (`{"bytes", "path"}` each, as sftmask writes them) are loaded as transformers'
    `load_image` loads them (EXIF orientation applied, RGB). For every row, the number of image tokens in its
    `input_ids` must equal the number the processor writes for its images, and its `image_grid_thw` the
    processor's grids; otherwise `ValueError` names the row: pixels that do not line up with the ids would train
    the model on the wrong features. Rows with videos are refused (their frames are not processed yet).
    """

    def __init__(self, processor: Any, *, pad_token_id: int | None = None, pad_to_multiple_of: int | None = None,
                 padding_side: PaddingSide = "right", pin_memory: bool = False) -> None:
        if isinstance(processor, (str, os.PathLike)):
            from transformers import AutoProcessor

            processor = AutoProcessor.from_pretrained(processor)
        self.processor = processor
        tokenizer = processor.tokenizer
        if pad_token_id is None:
            pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self._padded = PaddedCollator(pad_token_id, pad_to_multiple_of=pad_to_multiple_of, padding_side=padding_side)
        self.pin_memory = pin_memory
        self._image_ids = np.array([i for i in processor.image_token_ids if i is not None], dtype=np.int64)
        self._image_tokens = tokenizer.convert_ids_to_tokens(self._image_ids.tolist())

    def __call__(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        videos = next((row for row, data in enumerate(rows) if data.get("videos")), None)
        if videos is not None:
            raise ValueError(f"row {videos} has videos: VisionCollator processes images only, not yet videos")
        batch: dict[str, Any] = self._padded(rows)
        per_row = [list(row.get("images") or []) for row in rows]
        # Nested by row, as the processor takes a batch: the families that batch images per sample (Idefics3's tiles)
        # lay pixel_values out the same way.
        images = [[_load_image(source, row, k) for k, source in enumerate(sources)]
                  for row, sources in enumerate(per_row) if sources]
        if images:
            processor = self.processor
            kwargs = processor._merge_kwargs(tokenizer_init_kwargs=processor.tokenizer.init_kwargs, return_tensors="pt")
            processed, replacements = processor._process_images(images, **kwargs["images_kwargs"])
            self._check(rows, per_row, replacements, processed)
            batch.update(processed)
        return _pinned(batch) if self.pin_memory else batch

    def _check(self, rows: Sequence[dict[str, Any]], per_row: list[list[Any]], replacements: list[str],
               processed: Any) -> None:
        """Each row's image tokens (and grids) against what the processor made for its images."""
        grids = processed.get("image_grid_thw")
        first = 0
        for row, (data, sources) in enumerate(zip(rows, per_row)):
            mine = replacements[first:first + len(sources)]
            made = sum(text.count(token) for text in mine for token in self._image_tokens)
            ids = _as_array(data["input_ids"])
            found = int(np.isin(ids, self._image_ids).sum())
            if found != made:
                raise ValueError(
                    f"row {row}: its input_ids hold {found} image tokens, but the processor makes {made} for its "
                    f"{len(sources)} image(s): the pixel values would not line up with the ids"
                )
            if grids is not None and data.get("image_grid_thw") is not None:
                theirs = np.asarray(grids[first:first + len(sources)]).tolist()
                if np.asarray(data["image_grid_thw"]).reshape(-1, 3).tolist() != theirs:
                    raise ValueError(f"row {row}: its image_grid_thw differs from the processor's {theirs}")
            first += len(sources)


def _load_image(source: Any, row: int, index: int) -> Any:
    """An image from sftmask's `{"bytes", "path"}`, a path, or a PIL image, as transformers' `load_image` gives it."""
    import PIL.Image
    from transformers.image_utils import load_image

    if isinstance(source, dict):
        if source.get("bytes") is not None:
            source = PIL.Image.open(io.BytesIO(source["bytes"]))
        elif source.get("path") is not None:
            source = source["path"]
        else:
            raise ValueError(f"row {row}, image {index}: only its size was given, so it has no pixels to process")
    return load_image(source)


def _pinned(batch: dict[str, Any]) -> dict[str, Any]:
    """Page-locked copies for fast, asynchronous host-to-GPU transfer (needs a CUDA build of torch)."""
    pin = torch.cuda.is_available()
    return {k: v.pin_memory() if pin and isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def rows_of(batch: Any) -> list[dict[str, np.ndarray]]:
    """Rows of an `encode_batch` or `pack` result as numpy views into its buffers (no copy per row); also of a
    table read back from `prepare`'s Parquet file (chunked columns: one chunk at a time)."""
    if hasattr(batch, "to_batches"):  # a pyarrow.Table
        return [row for chunk in batch.to_batches() for row in rows_of(chunk)]
    names = [n for n in ("input_ids", "labels", "position_ids", "seq_lengths") if n in batch.schema.names]
    columns = {}
    for name in names:
        column = batch.column(name)
        values = column.values.to_numpy(zero_copy_only=True)
        offsets = column.offsets.to_numpy()
        columns[name] = (values, offsets)
    return [{n: v[o[i]:o[i + 1]] for n, (v, o) in columns.items()} for i in range(batch.num_rows)]
