"""Integrations: TRL's SFTTrainer taking sftmask's output as already tokenized, and Ray Data at cluster scale
(a local runtime with 2 CPUs). Each skips when its library is not installed."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sftmask
from sftmask import DEMO_DIR


def demo_rows() -> list[dict]:
    return [json.loads(line) for line in (DEMO_DIR / "conversations.jsonl").open(encoding="utf-8")]


def test_trl_sft_trainer_takes_the_encoded_dataset_without_retokenizing(tmp_path):
    torch = pytest.importorskip("torch")
    trl = pytest.importorskip("trl")
    datasets = pytest.importorskip("datasets")
    transformers = pytest.importorskip("transformers")

    masker = sftmask.Masker.from_pretrained(DEMO_DIR)
    dataset = datasets.Dataset.from_list([{"messages": r["messages"]} for r in demo_rows()])
    # The recipe: encode with sftmask, hand the result to SFTTrainer.
    encoded = dataset.with_format("arrow").map(masker, batched=True, remove_columns=dataset.column_names)
    encoded = encoded.with_format(None)

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(DEMO_DIR))
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512,
    )
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config)
    args = trl.SFTConfig(
        output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=4, report_to=[], logging_steps=1,
        save_strategy="no", use_cpu=True, max_length=None,
    )
    trainer = trl.SFTTrainer(model=model, args=args, train_dataset=encoded, processing_class=tokenizer)
    prepared = trainer.train_dataset
    assert prepared["input_ids"] == encoded["input_ids"]
    assert prepared["labels"] == encoded["labels"]
    trainer.train()
    assert trainer.state.global_step == 2


@pytest.fixture(scope="module")
def ray_runtime():
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield ray
    ray.shutdown()


def test_ray_data_pipeline_equals_encode_batch(ray_runtime, tmp_path):
    from sftmask.ray_data import EncodeBatch

    rows = demo_rows()
    table = pa.table({"id": list(range(len(rows))), "messages": [r["messages"] for r in rows]})
    pq.write_table(table, tmp_path / "input.parquet", row_group_size=10)

    dataset = ray_runtime.data.read_parquet(str(tmp_path / "input.parquet"), override_num_blocks=4)
    encoded = dataset.map_batches(
        EncodeBatch,
        fn_constructor_kwargs={"tokenizer": str(DEMO_DIR), "keep_columns": ("id",)},
        batch_format="pyarrow",
        batch_size=16,
        concurrency=2,
        num_cpus=0.5,  # two workers on one CPU, leaving the other to Ray's readers and writers

    )
    encoded.write_parquet(str(tmp_path / "output"))

    result = pq.read_table(tmp_path / "output").sort_by("id")
    expected = sftmask.Masker.from_pretrained(DEMO_DIR).encode_batch(table)
    assert result["id"].to_pylist() == list(range(len(rows)))
    assert result["input_ids"].to_pylist() == expected["input_ids"].to_pylist()
    assert result["labels"].to_pylist() == expected["labels"].to_pylist()
