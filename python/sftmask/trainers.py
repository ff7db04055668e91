"""What each trainer loads as it is (`prepare --for`): its columns, its file form, its packed form, and the settings
that keep sftmask's labels intact, printed as a snippet for its configuration.

Read from each trainer's own loading code:

- TRL's `SFTTrainer` treats a dataset with `input_ids` as tokenized; it keeps `input_ids`, `labels` and (packed)
  `seq_lengths`, truncates to `max_length=1024` unless told `max_length=None`, and with `padding_free=True` builds
  each packed sequence's positions from `seq_lengths`, its first label -100.
- Axolotl treats a dataset as tokenized when it has `input_ids`, `attention_mask` and `labels` and its entry has no
  `type:`; it drops rows longer than `sequence_len` (and shorter than `min_sample_len`, 2), and packs by itself:
  one conversation a row.
- LLaMA-Factory loads tokenized data only from a `datasets` `save_to_disk` directory given as `tokenized_path`,
  with `input_ids`, `attention_mask`, `labels`; its packed form (`neat_packing: true`) holds the document index
  1..k in `attention_mask` and positions restarting per document; its collator pads to multiples of 8 but not
  `position_ids`, so packs are written padded to the pack length.
- Unsloth takes `input_ids` + `labels` with a seq2seq collator; its `train_on_responses_only` re-derives the
  labels from marker strings and must not run on this data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sftmask.constants import IGNORE_INDEX

TrainerName = Literal["trl", "axolotl", "llama-factory", "unsloth"]


@dataclass(frozen=True)
class Trainer:
    name: TrainerName
    columns: tuple[str, ...]
    """The columns written, unpacked."""
    packed_columns: tuple[str, ...] | None
    """The columns written with `--pack`; None where the trainer packs by itself or takes no packed data."""
    save_to_disk: bool = False
    """A `datasets` `save_to_disk` directory rather than Parquet."""
    why_not_packed: str = ""
    min_length: int = 0
    """Rows shorter than this the trainer drops (Axolotl's `min_sample_len`)."""

    def parquet_options(self, pack_length: int | None) -> dict:
        """How its Parquet file is written: an `attention_mask` of 1s delta-encoded, not dictionary-encoded (which
        costs as much as writing the ids again)."""
        columns = self.packed_columns if pack_length else self.columns
        if "attention_mask" not in columns or pack_length:
            return {}
        return {"use_dictionary": [c for c in columns if c != "attention_mask"],
                "column_encoding": {"attention_mask": "DELTA_BINARY_PACKED"}}

    def drops(self, lengths: pa.Array) -> int:
        """How many rows of these lengths the trainer would drop, told the settings of `snippet`."""
        return int(pc.sum(pc.less(lengths, self.min_length).cast(pa.int32())).as_py() or 0)

    def check(self, pack_length: int | None) -> None:
        if pack_length and self.packed_columns is None:
            raise ValueError(f"--for {self.name} takes no packed rows: {self.why_not_packed}; leave out --pack")
        if pack_length and self.name == "llama-factory" and pack_length % 8:
            raise ValueError(
                f"--for llama-factory --pack {pack_length}: the pack length must be a multiple of 8 (LLaMA-Factory's "
                "collator pads input_ids to multiples of 8 but not position_ids)"
            )

    def convert(self, batch: pa.RecordBatch, pack_length: int | None) -> pa.RecordBatch:
        """An encoded (or packed) batch in the columns this trainer loads."""
        if "num_image_tokens" in batch.schema.names and pc.sum(batch["num_image_tokens"]).as_py():
            # The trainers' tokenized-dataset paths feed no pixel values: the image tokens would train on nothing.
            raise ValueError(
                f"--for {self.name} writes text-only columns, and these rows have images: write them without --for "
                "and train with sftmask.torch.VisionCollator, which adds their pixel values"
            )
        if pack_length and self.name == "llama-factory":
            return _llama_factory_packs(batch, pack_length)
        names = self.packed_columns if pack_length else self.columns
        columns = {}
        for name in names:
            columns[name] = _ones_like(batch["input_ids"]) if name == "attention_mask" else batch[name]
        return pa.RecordBatch.from_pydict(columns)

    def snippet(self, output: str, longest: int, pack_length: int | None) -> str:
        """The configuration that loads `output` with the labels as written; `longest` is the longest row."""
        length = longest
        if self.name == "trl":
            packing = (
                "    padding_free=True,  # sftmask's packs: positions restart at each of their seq_lengths\n"
                if pack_length else "    packing=False,  # or True: TRL packs the tokenized rows itself\n"
            )
            return (
                "from datasets import load_dataset\nimport trl\n"
                f'dataset = load_dataset("parquet", data_files="{output}", split="train")\n'
                "args = trl.SFTConfig(\n"
                f"    max_length=None,  # TRL truncates to 1024 by default; the longest row here is {length:,} tokens\n"
                f"{packing}    ...,\n)\n"
                "trainer = trl.SFTTrainer(model=..., args=args, train_dataset=dataset, processing_class=tokenizer)\n"
                "# TRL before 1.7 drops `labels` when packing: use TRL >= 1.7."
            )
        if self.name == "axolotl":
            return (
                "datasets:\n"
                f"  - path: {output}\n"
                "    ds_type: parquet\n"
                "    # no `type:` -- Axolotl then takes input_ids, attention_mask and labels as they are\n"
                f"sequence_len: {length}  # at least the longest row: Axolotl drops longer rows\n"
                "dataset_prepared_path: ./axolotl-prepared-<new>  # its cache key ignores the file's contents: "
                "use a fresh directory for new data\n"
                "sample_packing: true  # optional: Axolotl packs one conversation a row by itself"
            )
        if self.name == "llama-factory":
            lines = [
                f"tokenized_path: {output}  # a save_to_disk directory: loaded as is, the dataset keys are ignored",
                f"cutoff_len: {length}",
            ]
            if pack_length:
                lines.append("neat_packing: true  # documents in a pack do not attend to each other")
            return "\n".join(lines)
        return (
            "from datasets import load_dataset\nfrom transformers import DataCollatorForSeq2Seq\n"
            f'dataset = load_dataset("parquet", data_files="{output}", split="train")\n'
            "trainer = SFTTrainer(model=model, train_dataset=dataset, tokenizer=tokenizer,\n"
            "    data_collator=DataCollatorForSeq2Seq(tokenizer),  # pads labels with -100\n"
            f"    args=SFTConfig(max_length={length}, ...))  # at least the longest row\n"
            "# Never run unsloth's train_on_responses_only on this dataset: it re-derives the labels from marker text."
        )


TRAINERS: dict[str, Trainer] = {
    "trl": Trainer("trl", ("input_ids", "labels"), ("input_ids", "labels", "seq_lengths")),
    "axolotl": Trainer(
        "axolotl", ("input_ids", "attention_mask", "labels"), None,
        why_not_packed="Axolotl packs by itself (sample_packing) and overwrites position_ids; give it one "
                       "conversation a row",
        min_length=2,
    ),
    "llama-factory": Trainer(
        "llama-factory", ("input_ids", "attention_mask", "labels"),
        ("input_ids", "attention_mask", "position_ids", "labels"), save_to_disk=True,
    ),
    "unsloth": Trainer(
        "unsloth", ("input_ids", "attention_mask", "labels"), None,
        why_not_packed="its seq2seq collator pads rows and knows no packed sequences",
    ),
}


def for_trainer(data: pa.RecordBatch | pa.Table, name: str, pack_length: int | None = None) -> pa.Table:
    """`encode_batch`'s output (or, with `pack_length`, `pack`'s) in the columns trainer `name` loads as they are:
    what `prepare --for` writes, for data encoded in a notebook (`datasets.map(masker, ...)`). LLaMA-Factory then
    takes it through `datasets.Dataset(table).save_to_disk(path)`."""
    target = trainer(name)
    target.check(pack_length)
    batches = data.to_batches() if isinstance(data, pa.Table) else [data]
    if not batches:  # an empty table
        batches = [pa.RecordBatch.from_pylist([], schema=data.schema)]
    return pa.Table.from_batches([target.convert(batch, pack_length) for batch in batches])


def trainer(name: str) -> Trainer:
    try:
        return TRAINERS[name]
    except KeyError:
        raise ValueError(f"unknown trainer {name!r}: one of {', '.join(TRAINERS)}") from None


def _ones_like(lists: pa.ListArray) -> pa.ListArray:
    """A list column of 1s shaped as `lists`."""
    ones = pa.array(np.ones(lists.offsets[-1].as_py(), dtype=np.int32))
    return pa.ListArray.from_arrays(lists.offsets, ones)


def _llama_factory_packs(packed: pa.RecordBatch, pack_length: int) -> pa.RecordBatch:
    """sftmask's packs in LLaMA-Factory's `neat_packing` form: each pack padded to `pack_length` (pad id 0, label -100,
    position 0, mask 0), `attention_mask` holding the document index 1..k."""
    lengths = np.diff(packed["input_ids"].offsets.to_numpy())
    filled = np.arange(pack_length) < lengths[:, None]  # the real tokens of each padded row

    def padded(values: np.ndarray, pad: int) -> pa.ListArray:
        rows = np.full((len(lengths), pack_length), pad, dtype=np.int32)
        rows[filled] = values  # row by row, in order
        offsets = pa.array(np.arange(0, rows.size + 1, pack_length, dtype=np.int32))
        return pa.ListArray.from_arrays(offsets, pa.array(rows.ravel()))

    def flat(name: str) -> np.ndarray:
        return pc.list_flatten(packed[name]).to_numpy(zero_copy_only=False)

    seq_lengths, seq_offsets = flat("seq_lengths"), packed["seq_lengths"].offsets.to_numpy()
    # Each sequence's index in its pack, 1-based, repeated over its tokens.
    first = np.repeat(seq_offsets[:-1], np.diff(seq_offsets))
    documents = np.repeat(np.arange(len(seq_lengths)) - (first - seq_offsets[0]) + 1, seq_lengths)
    return pa.RecordBatch.from_pydict({
        "input_ids": padded(flat("input_ids"), 0), "attention_mask": padded(documents, 0),
        "position_ids": padded(flat("position_ids"), 0), "labels": padded(flat("labels"), IGNORE_INDEX),
    })
