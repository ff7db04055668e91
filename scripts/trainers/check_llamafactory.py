"""Runs LLaMA-Factory's own loading and collating code on `sftmask prepare --for llama-factory` output and checks
that the labels reaching the loss are sftmask's. Run with a Python that has `llamafactory` installed (its pins
conflict with sftmask's test environment: scripts/trainers/install.sh makes a virtualenv for it):

    python scripts/trainers/check_llamafactory.py OUTPUT_DIR EXPECTED.json TOKENIZER_DIR [--packed]

EXPECTED.json: the rows sftmask wrote, `{"input_ids": [...], "labels": [...]}` (packed: the padded packs). Prints
`ok: N rows` or exits 1 naming the first row whose labels differ.
"""

import json
import sys

import torch
from llamafactory.data import SFTDataCollatorWith4DAttentionMask, get_dataset, get_template_and_fix_tokenizer
from llamafactory.extras.constants import IGNORE_INDEX
from llamafactory.hparams import DataArguments
from transformers import AutoTokenizer


def main() -> int:
    output, expected_path, tokenizer_dir = sys.argv[1:4]
    packed = "--packed" in sys.argv
    expected = json.load(open(expected_path, encoding="utf-8"))
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    # As LLaMA-Factory's train/sft/workflow.py builds them for `tokenized_path: OUTPUT` (and `neat_packing: true`).
    data_args = DataArguments(template="empty", tokenized_path=output, neat_packing=packed, cutoff_len=1 << 20)
    template = get_template_and_fix_tokenizer(tokenizer, data_args)
    train = get_dataset(template, None, data_args, None, stage="sft", tokenizer=tokenizer)["train_dataset"]
    collator = SFTDataCollatorWith4DAttentionMask(
        template=template, model=None, pad_to_multiple_of=8, label_pad_token_id=IGNORE_INDEX,
        block_diag_attn=packed, neat_packing=packed, attn_implementation="sdpa", compute_dtype=torch.float32,
        tokenizer=tokenizer, processor=None,
    )
    rows = [dict(train[i]) for i in range(len(train))]
    if len(rows) != len(expected["labels"]):
        print(f"LLaMA-Factory loaded {len(rows)} rows, sftmask wrote {len(expected['labels'])}")
        return 1
    for start in range(0, len(rows), 4):  # batches of 4, as a data loader makes them
        batch = collator(rows[start : start + 4])
        for offset, (ids, labels) in enumerate(zip(batch["input_ids"].tolist(), batch["labels"].tolist())):
            row = start + offset
            want_ids, want = expected["input_ids"][row], expected["labels"][row]
            pad = len(labels) - len(want)
            if ids[: len(want_ids)] != want_ids or labels != want + [IGNORE_INDEX] * pad:
                print(f"row {row}: labels reaching the loss differ from sftmask's\n  {labels}\n  {want}")
                return 1
        if packed:
            mask = batch["attention_mask"]
            assert mask.dim() == 4, "neat_packing gives a 4D block-diagonal attention mask"
    print(f"ok: {len(rows)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
