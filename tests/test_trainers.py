"""`prepare --for TRAINER`: what each trainer loads as it is, checked with the trainer's own loading and collating
code where it installs on a CPU machine: the labels reaching the loss are sftmask's, row for row.

TRL runs in the test environment (the integrations extra). LLaMA-Factory and Axolotl pin other versions of
transformers, TRL and datasets: they run in virtualenvs of their own (`scripts/trainers/install.sh`, which CI runs),
named by SFTMASK_LLAMAFACTORY_PYTHON and SFTMASK_AXOLOTL_PYTHON, through `scripts/trainers/check_*.py`; without
them those tests skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sftmask
from sftmask.cli import main
from sftmask.prepare import prepare
from sftmask.trainers import TRAINERS

DEMO_DATA = sftmask.DEMO_DIR / "conversations.jsonl"
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts" / "trainers"))
from fed import fed_sequences  # noqa: E402

IGNORE = -100


@pytest.fixture(scope="module")
def masker() -> sftmask.Masker:
    return sftmask.Masker.from_pretrained(sftmask.DEMO_DIR)


def written(path: Path) -> dict[str, list]:
    if path.is_dir():
        datasets = pytest.importorskip("datasets")
        table = datasets.load_from_disk(str(path)).data.table
    else:
        table = pq.read_table(path)
    return {name: table[name].to_pylist() for name in table.column_names}


@pytest.mark.parametrize("name", sorted(TRAINERS))
def test_each_trainer_gets_its_columns_and_the_labels_as_encoded(masker, tmp_path, name):
    if name == "llama-factory":
        pytest.importorskip("datasets")
    out = tmp_path / "out"
    summary = prepare(masker, [DEMO_DATA], out, for_trainer=name, progress=False)
    rows = written(out)
    assert tuple(rows) == TRAINERS[name].columns
    plain = masker.encode_batch(sftmask.sources.JsonLines(DEMO_DATA.read_bytes(), 48))
    assert rows["input_ids"] == plain["input_ids"].to_pylist()
    assert rows["labels"] == plain["labels"].to_pylist()
    if "attention_mask" in rows:
        assert rows["attention_mask"] == [[1] * len(ids) for ids in rows["input_ids"]]
    longest = max(len(ids) for ids in rows["input_ids"])
    assert summary.longest == longest and f"{longest}" in summary.trainer_config and str(out) in summary.trainer_config


def test_llama_factory_packs_hold_document_indices_and_restarting_positions(masker, tmp_path):
    pytest.importorskip("datasets")
    prepare(masker, [DEMO_DATA], tmp_path / "lf", for_trainer="llama-factory", pack_length=256, progress=False)
    packs = written(tmp_path / "lf")
    reference = sftmask.pack(masker.encode_batch(sftmask.sources.JsonLines(DEMO_DATA.read_bytes(), 48)), 256)
    for row, pack in enumerate(reference.to_pylist()):
        n, pad = len(pack["input_ids"]), 256 - len(pack["input_ids"])
        assert len(packs["input_ids"][row]) == 256  # padded to the pack length: LLaMA-Factory pads no position_ids
        assert packs["labels"][row] == pack["labels"] + [IGNORE] * pad
        assert packs["position_ids"][row] == pack["position_ids"] + [0] * pad
        documents = [i + 1 for i, length in enumerate(pack["seq_lengths"]) for _ in range(length)]
        assert packs["attention_mask"][row] == documents + [0] * pad
        assert packs["input_ids"][row][:n] == pack["input_ids"]


def test_forms_a_trainer_does_not_take_are_refused(masker, tmp_path):
    for name in ("axolotl", "unsloth"):
        with pytest.raises(ValueError, match=f"--for {name} takes no packed rows"):
            prepare(masker, [DEMO_DATA], tmp_path / "x", for_trainer=name, pack_length=256, progress=False)
    with pytest.raises(ValueError, match="multiple of 8"):
        prepare(masker, [DEMO_DATA], tmp_path / "x", for_trainer="llama-factory", pack_length=250, progress=False)
    with pytest.raises(ValueError, match="one save_to_disk directory"):
        prepare(masker, [DEMO_DATA], tmp_path / "x", for_trainer="llama-factory", shard_rows=10, progress=False)
    assert not list(tmp_path.iterdir())


def test_the_command_line_prints_the_settings_that_keep_the_labels(tmp_path, capsys):
    out = tmp_path / "train.parquet"
    assert main(["prepare", "--demo", "-o", str(out), "--for", "axolotl"]) == 0
    printed = capsys.readouterr().out
    assert "to train with axolotl, keeping these labels:" in printed
    assert f"  - path: {out}" in printed and "sequence_len: 132" in printed and "type:" in printed


# The trainers' own code.


@pytest.mark.parametrize("packed", [False, True], ids=["rows", "packed"])
def test_trl_sft_trainer_feeds_the_loss_sftmasks_labels(masker, tmp_path, packed):
    torch = pytest.importorskip("torch")
    trl = pytest.importorskip("trl")
    datasets = pytest.importorskip("datasets")
    transformers = pytest.importorskip("transformers")
    out = tmp_path / "train.parquet"
    prepare(masker, [DEMO_DATA], out, for_trainer="trl", pack_length=256 if packed else None, progress=False)
    rows = written(out)
    # What the loss should see, a sequence at a time: packs cut at their seq_lengths.
    expected, sequences = {}, 0
    for ids, labels, lengths in zip(rows["input_ids"], rows["labels"], rows.get("seq_lengths") or [None] * 99):
        start = 0
        for length in lengths or [len(ids)]:
            expected[tuple(ids[start : start + length])] = labels[start : start + length]
            start, sequences = start + length, sequences + 1
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(sftmask.DEMO_DIR))
    config = transformers.LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32,
                                      num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2)
    torch.manual_seed(0)
    args = trl.SFTConfig(output_dir=str(tmp_path / "trl"), max_length=None, padding_free=packed,
                         per_device_train_batch_size=4, report_to=[], use_cpu=True, save_strategy="no")
    dataset = datasets.load_dataset("parquet", data_files=str(out), split="train")
    trainer = trl.SFTTrainer(model=transformers.LlamaForCausalLM(config), args=args, train_dataset=dataset,
                             processing_class=tokenizer)
    seen = 0
    for batch in trainer.get_train_dataloader():
        assert ("position_ids" in batch) == packed  # padding-free: one row of sequences, each from position 0
        for piece_ids, piece_labels in fed_sequences(batch):
            assert piece_labels == expected[tuple(piece_ids)]
            seen += 1
    assert seen == sequences


def run_checker(variable: str, script: str, *args: str) -> str:
    python = os.environ.get(variable)
    if not python:
        pytest.skip(f"{variable} names no Python with the trainer installed (bash scripts/trainers/install.sh)")
    result = subprocess.run([python, str(ROOT / "scripts" / "trainers" / script), *args], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("packed", [False, True], ids=["rows", "packed"])
def test_llama_factory_feeds_the_loss_sftmasks_labels(masker, tmp_path, packed):
    pytest.importorskip("datasets")
    out = tmp_path / "lf"
    prepare(masker, [DEMO_DATA], out, for_trainer="llama-factory", pack_length=256 if packed else None, progress=False)
    rows = written(out)
    expected = tmp_path / "expected.json"
    expected.write_text(json.dumps({"input_ids": rows["input_ids"], "labels": rows["labels"]}), encoding="utf-8")
    flag = ["--packed"] if packed else []
    line = run_checker("SFTMASK_LLAMAFACTORY_PYTHON", "check_llamafactory.py", str(out), str(expected),
                       str(sftmask.DEMO_DIR), *flag)
    assert line == f"ok: {len(rows['labels'])} rows"


@pytest.mark.parametrize("packing", [False, True], ids=["rows", "sample_packing"])
def test_axolotl_feeds_the_loss_sftmasks_labels(masker, tmp_path, packing):
    out = tmp_path / "train.parquet"
    summary = prepare(masker, [DEMO_DATA], out, for_trainer="axolotl", progress=False)
    rows = written(out)
    expected = tmp_path / "expected.json"
    expected.write_text(json.dumps({"input_ids": rows["input_ids"], "labels": rows["labels"]}), encoding="utf-8")
    flag = ["--sample-packing"] if packing else []
    line = run_checker("SFTMASK_AXOLOTL_PYTHON", "check_axolotl.py", str(out), str(expected), str(sftmask.DEMO_DIR),
                       str(summary.longest), *flag)
    assert line.startswith("ok: ")
    if not packing:
        assert line == f"ok: {len(rows['labels'])} rows"


def test_an_empty_input_gives_an_empty_llama_factory_directory(masker, tmp_path):
    datasets = pytest.importorskip("datasets")
    source = tmp_path / "rows.jsonl"
    source.write_text("", encoding="utf-8")
    prepare(masker, [source], tmp_path / "lf", for_trainer="llama-factory", progress=False)
    loaded = datasets.load_from_disk(str(tmp_path / "lf"))
    assert loaded.num_rows == 0 and loaded.column_names == ["input_ids", "attention_mask", "labels"]


@pytest.mark.parametrize("name", sorted(TRAINERS))
def test_for_trainer_converts_what_a_notebook_encoded_as_prepare_writes(masker, tmp_path, name):
    if name == "llama-factory":
        pytest.importorskip("datasets")
    encoded = masker.encode_batch(sftmask.sources.JsonLines(DEMO_DATA.read_bytes(), 48))
    table = sftmask.for_trainer(pa.Table.from_batches([encoded]), name)
    prepare(masker, [DEMO_DATA], tmp_path / "out", for_trainer=name, progress=False)
    assert table.to_pydict() == written(tmp_path / "out")
    if name == "trl":
        packed = sftmask.pack(encoded, 256)
        assert sftmask.for_trainer(packed, name, 256).column_names == ["input_ids", "labels", "seq_lengths"]
    empty = sftmask.for_trainer(pa.Table.from_batches([encoded]).slice(0, 0), name)
    assert empty.num_rows == 0 and empty.column_names == list(TRAINERS[name].columns)
