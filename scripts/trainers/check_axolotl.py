"""Runs Axolotl's own dataset preparation, trainer and data loader on `sftmask prepare --for axolotl` output and
checks that the labels reaching the loss are sftmask's, row for row. Run with a Python that has `axolotl` installed
(its pins conflict with sftmask's test environment: scripts/trainers/install.sh makes a virtualenv for it):

    python scripts/trainers/check_axolotl.py OUTPUT.parquet EXPECTED.json TOKENIZER_DIR SEQUENCE_LEN [--sample-packing]

EXPECTED.json: the rows sftmask wrote, `{"input_ids": [...], "labels": [...]}`. Axolotl shuffles the rows and, with
`sample_packing`, concatenates them and leaves out its last incomplete batch: each sequence it feeds the loss is
matched to sftmask's row by its ids. Prints `ok: N rows` or exits 1 naming the first row whose labels differ.
"""

import json
import os
import sys
import tempfile

os.environ.setdefault("AXOLOTL_DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_DISABLED", "true")

from fed import fed_sequences  # noqa: E402 - beside this script


def main() -> int:
    from axolotl.cli.config import load_cfg
    from axolotl.common.datasets import load_datasets
    from axolotl.train import setup_model_and_trainer
    from axolotl.utils.dict import DictDefault
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    output, expected_path, tokenizer_dir, sequence_len = sys.argv[1:5]
    packing = "--sample-packing" in sys.argv
    expected = json.load(open(expected_path, encoding="utf-8"))
    by_ids = {tuple(ids): labels for ids, labels in zip(expected["input_ids"], expected["labels"])}
    work = tempfile.mkdtemp(prefix="sftmask-axolotl-")
    model_dir = os.path.join(work, "tiny-llama")  # a local base model: the demo tokenizer and a tiny random Llama
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    tokenizer.save_pretrained(model_dir)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=4096)
    LlamaForCausalLM(config).save_pretrained(model_dir)
    # The snippet `prepare --for axolotl` prints: the dataset with no `type:`, sequence_len the longest row.
    raw = DictDefault(
        base_model=model_dir, datasets=[{"path": output, "ds_type": "parquet"}], sequence_len=int(sequence_len),
        dataset_prepared_path=os.path.join(work, "prepared"), sample_packing=packing, eval_sample_packing=False,
        micro_batch_size=2, gradient_accumulation_steps=1, num_epochs=1, learning_rate=1e-4, optimizer="adamw_torch",
        output_dir=os.path.join(work, "out"), val_set_size=0, dataset_num_proc=1, save_strategy="no", seed=0,
    )
    if packing:  # concatenated packs on CPU (sdpa), documents told apart by their position_ids
        raw.attn_implementation, raw.multipack_real_batches = "sdpa", False
    cfg = load_cfg(raw)
    meta = load_datasets(cfg=cfg)
    trainer, *_ = setup_model_and_trainer(cfg, meta)
    seen = 0
    for batch in trainer.get_train_dataloader():
        for piece_ids, piece_labels in fed_sequences(batch):
            want = by_ids.get(tuple(piece_ids))
            if want is None:
                if all(label == -100 for label in piece_labels):
                    continue  # the padding that fills a pack
                print(f"a sequence Axolotl feeds the loss is no row sftmask wrote: {piece_ids[:20]}...")
                return 1
            if piece_labels != want:
                print(f"labels reaching the loss differ from sftmask's\n  {piece_labels}\n  {want}")
                return 1
            seen += 1
    left_out = len(expected["labels"]) - seen
    # With sample_packing, Axolotl's multipack sampler drops its last incomplete batch of packs (drop_last=True).
    if left_out < 0 or (left_out and not packing):
        print(f"Axolotl fed {seen} of the {len(expected['labels'])} rows sftmask wrote to the loss")
        return 1
    print(f"ok: {seen} rows" + (f" ({left_out} left out by the multipack sampler's drop_last)" if left_out else ""))
    return 0


if __name__ == "__main__":  # datasets' save_to_disk starts a spawn pool: the guard is required
    sys.exit(main())
