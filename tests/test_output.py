"""`prepare`'s output written safely: renamed into place only when complete, signals handled, shards resumable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sftmask
from sftmask.cli import main
from sftmask.output import MANIFEST, partial_name
from sftmask.prepare import prepare

DEMO_ROWS = (sftmask.DEMO_DIR / "conversations.jsonl").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def big_input(tmp_path_factory) -> Path:
    """About 100,000 demo conversations: a few seconds of `prepare`, long enough to interrupt."""
    path = tmp_path_factory.mktemp("input") / "rows.jsonl"
    path.write_text(DEMO_ROWS * 2000, encoding="utf-8")
    return path


def start(*args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "sftmask", "prepare", *args, "--tokenizer", str(sftmask.DEMO_DIR)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(condition, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"prepare ended before the test could interrupt it: {process.communicate()}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def shards_written(directory: Path) -> int:
    try:
        return len(json.loads((directory / MANIFEST).read_text(encoding="utf-8"))["shards"])
    except (OSError, ValueError):
        return 0


@pytest.mark.parametrize(("signum", "code", "word"), [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                                      (signal.SIGINT, 130, "interrupted")])
def test_a_signal_stops_prepare_with_one_line_and_no_file_at_the_target(big_input, tmp_path, signum, code, word):
    output = tmp_path / "out.parquet"
    process = start(str(big_input), "-o", str(output), "--chunk-rows", "1000")
    wait_until(partial_name(output).exists, process)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code
    assert stderr.strip().splitlines() == [f"sftmask: {word}: nothing was written to {output}"]
    assert not output.exists() and not partial_name(output).exists()


def test_sigkill_never_leaves_a_file_that_looks_finished(big_input, tmp_path):
    output = tmp_path / "out.parquet"
    output.write_bytes(b"an earlier run's output")
    process = start(str(big_input), "-o", str(output), "--chunk-rows", "1000")
    wait_until(partial_name(output).exists, process)
    process.kill()
    process.wait()
    assert output.read_bytes() == b"an earlier run's output"  # untouched: the new file was never renamed into place
    assert partial_name(output).name.startswith(".")  # what is left is hidden and named partial


def read_shards(directory: Path) -> pa.Table:
    return pa.concat_tables(pq.read_table(path) for path in sorted(directory.glob("part-*.parquet")))


def test_sharded_output_resumes_after_a_kill_into_what_an_uninterrupted_run_writes(big_input, tmp_path):
    args = ["--chunk-rows", "2000", "--shard-rows", "10000", "--max-length", "64"]
    reference = tmp_path / "reference"
    assert main(["prepare", str(big_input), "-o", str(reference), "--tokenizer",
                             str(sftmask.DEMO_DIR), *args]) == 0
    interrupted = tmp_path / "interrupted"
    process = start(str(big_input), "-o", str(interrupted), *args)
    wait_until(lambda: shards_written(interrupted) >= 2, process)
    process.kill()
    process.wait()
    done = shards_written(interrupted)
    assert 2 <= done < shards_written(reference)
    for path in sorted(interrupted.glob("part-*.parquet")):  # every shard under its final name reads back whole
        assert pq.read_table(path).num_rows > 0
    assert len(list(interrupted.glob("part-*.parquet"))) == done

    process = start(str(big_input), "-o", str(interrupted), *args, "--resume")
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert read_shards(interrupted).equals(read_shards(reference))
    manifest = json.loads((interrupted / MANIFEST).read_text(encoding="utf-8"))
    expected = json.loads((reference / MANIFEST).read_text(encoding="utf-8"))
    assert manifest == expected  # the same shards, rows, tokens and settings
    assert manifest["complete"] and manifest["rows_in"] == 2000 * 48
    assert not list(interrupted.glob(".*.partial"))  # no partial file left


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_keeps_the_complete_shards_and_resume_finishes_the_job(big_input, tmp_path, signum, code):
    args = ["--chunk-rows", "1000", "--shard-rows", "5000"]
    output = tmp_path / "shards"
    process = start(str(big_input), "-o", str(output), *args)
    wait_until(lambda: shards_written(output) >= 1, process)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code
    assert "the complete shards in" in stderr and "--resume continues" in stderr and "Traceback" not in stderr
    assert len(list(output.glob("part-*.parquet"))) == shards_written(output) >= 1
    assert not list(output.glob(".*.partial"))
    for path in output.glob("part-*.parquet"):
        assert pq.read_table(path).num_rows > 0
    process = start(str(big_input), "-o", str(output), *args, "--resume")
    assert process.wait(timeout=300) == 0
    single = tmp_path / "single.parquet"
    assert main(["prepare", str(big_input), "-o", str(single), "--tokenizer", str(sftmask.DEMO_DIR)]) == 0
    assert read_shards(output)["labels"].equals(pq.read_table(single)["labels"])


def test_resume_refuses_a_different_job_and_a_new_job_refuses_an_old_directory(tmp_path):
    source = tmp_path / "rows.jsonl"
    source.write_text(DEMO_ROWS, encoding="utf-8")
    masker = sftmask.Masker.from_pretrained(sftmask.DEMO_DIR)
    output = tmp_path / "shards"
    prepare(masker, [source], output, shard_rows=20, chunk_rows=10, progress=False)
    with pytest.raises(ValueError, match="pass --resume"):
        prepare(masker, [source], output, shard_rows=20, chunk_rows=10, progress=False)
    with pytest.raises(ValueError, match="--resume: policy: this job has"):
        prepare(masker, [source], output, shard_rows=20, chunk_rows=10, progress=False, resume=True, max_length=8)
    other = sftmask.Masker.from_pretrained(sftmask.DEMO_DIR, chat_template="{{ messages[0].content }}")
    with pytest.raises(ValueError, match="--resume: tokenizer: this job has"):
        prepare(other, [source], output, shard_rows=20, chunk_rows=10, progress=False, resume=True)
    source.write_text(DEMO_ROWS + DEMO_ROWS, encoding="utf-8")
    with pytest.raises(ValueError, match="--resume: inputs: this job has"):
        prepare(masker, [source], output, shard_rows=20, chunk_rows=10, progress=False, resume=True)


def test_shards_load_with_datasets_and_carry_their_reports(tmp_path):
    datasets = pytest.importorskip("datasets")
    source = tmp_path / "rows.jsonl"
    source.write_text(DEMO_ROWS, encoding="utf-8")
    masker = sftmask.Masker.from_pretrained(sftmask.DEMO_DIR)
    output = tmp_path / "shards"
    summary = prepare(masker, [source], output, shard_rows=20, chunk_rows=10, progress=False)
    partial_name(output / "part-00009.parquet").write_bytes(b"what a killed job leaves")  # hidden: not read
    loaded = datasets.load_dataset("parquet", data_dir=str(output), split="train")
    single = tmp_path / "single.parquet"
    prepare(masker, [source], single, progress=False)
    assert loaded["labels"] == pq.read_table(single)["labels"].to_pylist()
    assert summary.rows_in == 48 and len(list(output.glob("part-*.parquet"))) == 3
    reports = [sftmask.BatchReport.of(pq.read_table(path)) for path in sorted(output.glob("part-*.parquet"))]
    assert [r.rows_in for r in reports] == [20, 20, 8]
    assert sum(r.rows_out for r in reports) == summary.rows_out == loaded.num_rows


def test_an_empty_input_still_writes_one_readable_shard(tmp_path):
    source = tmp_path / "rows.jsonl"
    source.write_text("", encoding="utf-8")
    masker = sftmask.Masker.from_pretrained(sftmask.DEMO_DIR)
    prepare(masker, [source], tmp_path / "shards", shard_rows=20, progress=False)
    table = pq.read_table(tmp_path / "shards" / "part-00000.parquet")
    assert table.num_rows == 0 and "labels" in table.column_names
    assert json.loads((tmp_path / "shards" / MANIFEST).read_text(encoding="utf-8"))["complete"]


def test_the_python_api_removes_its_partial_file_when_interrupted(tmp_path, monkeypatch):
    source = tmp_path / "rows.jsonl"
    source.write_text(DEMO_ROWS * 3, encoding="utf-8")
    masker = sftmask.Masker.from_pretrained(sftmask.DEMO_DIR)
    calls = []

    def interrupt_second_chunk(data, **options):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(data, **options)

    original = masker.encode_batch
    monkeypatch.setattr(masker, "encode_batch", interrupt_second_chunk)
    output = tmp_path / "out.parquet"
    with pytest.raises(KeyboardInterrupt):
        prepare(masker, [source], output, chunk_rows=50, progress=False)
    assert sorted(os.listdir(tmp_path)) == ["rows.jsonl"]  # neither the output nor its partial file


def test_shards_by_size(tmp_path):
    source = tmp_path / "rows.jsonl"
    source.write_text(DEMO_ROWS * 20, encoding="utf-8")
    output = tmp_path / "shards"
    assert main(["prepare", str(source), "-o", str(output), "--tokenizer", str(sftmask.DEMO_DIR),
                 "--chunk-rows", "100", "--shard-size", "20K"]) == 0
    shards = sorted(output.glob("part-*.parquet"))
    assert len(shards) >= 2
    assert all(path.stat().st_size >= 20 * 1024 for path in shards[:-1])
    single = tmp_path / "single.parquet"
    assert main(["prepare", str(source), "-o", str(single), "--tokenizer", str(sftmask.DEMO_DIR)]) == 0
    assert read_shards(output)["labels"].to_pylist() == pq.read_table(single)["labels"].to_pylist()
