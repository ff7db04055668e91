"""Time and peak memory of `sftmask prepare` on a generated JSONL of 1,000,000 conversations (bounded: one chunk at
a time), written as one file and as shards, against `encode_batch` alone on the same chunks, in the same run.

    python benches/bench_prepare_memory.py [--rows 1000000] [--shard-rows 100000] [--trainers trl ...] [--keep]

Conversations are the shared corpus (qwen3 tokenizer) repeated to `--rows`, or, without ../shared, the demo
conversations. Each command runs as a child process; its peak RSS is the kernel's `ru_maxrss` for it.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def source_rows() -> tuple[list[str], str]:
    corpus = sorted((SHARED / "data" / "chat").glob("*.jsonl"))
    if corpus:
        lines = [line for path in corpus for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
        return lines, str(SHARED / "tokenizers" / "qwen3")
    import sftmask

    return (sftmask.DEMO_DIR / "conversations.jsonl").read_text().splitlines(), str(sftmask.DEMO_DIR)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--shard-rows", type=int, default=100_000)
    parser.add_argument("--trainers", nargs="*", default=["trl", "axolotl", "llama-factory"],
                        help="also time `prepare --for` each of these")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()

    lines, tokenizer = source_rows()
    workdir = Path(tempfile.mkdtemp(prefix="sftmask-bench-"))
    data, output = workdir / "conversations.jsonl", workdir / "prepared.parquet"
    with data.open("w", encoding="utf-8") as f:
        for line in itertools.islice(itertools.cycle(lines), args.rows):
            f.write(line + "\n")
    size_mb = data.stat().st_size / 2**20

    prepare = [sys.executable, "-m", "sftmask", "prepare", str(data), "--tokenizer", tokenizer]
    # `encode_batch` alone: the same chunks read and encoded, nothing written.
    encode_only = (
        "import sys, sftmask; from sftmask.sources import read_chunks; from pathlib import Path\n"
        "m = sftmask.Masker.from_pretrained(sys.argv[2])\n"
        "for c in read_chunks([Path(sys.argv[1])], 8192): m.encode_batch(c.data, on_error='skip')"
    )
    variants = {
        "prepare, one file": [*prepare, "-o", str(output)],
        f"prepare, shards of {args.shard_rows:,} rows": [*prepare, "-o", str(workdir / "shards"),
                                                       "--shard-rows", str(args.shard_rows)],
        "encode_batch alone": [sys.executable, "-c", encode_only, str(data), tokenizer],
    }
    for trainer in args.trainers:
        variants[f"prepare --for {trainer}"] = [*prepare, "-o", str(workdir / f"for-{trainer}"), "--for", trainer]
    print(f"input: {args.rows:,} conversations, {size_mb:,.0f} MiB of JSONL ({Path(tokenizer).name} tokenizer)")
    seconds = {}
    for name, command in variants.items():
        seconds[name], peak_mib, out = run(command)
        print(f"{name}: {seconds[name]:.1f}s ({args.rows / seconds[name]:,.0f} rows/s), peak RSS {peak_mib:,.0f} MiB")
    print(f"output: {pq.ParquetFile(output).metadata.num_rows:,} rows, {output.stat().st_size / 2**20:,.0f} MiB")
    one, sharded, alone, *for_trainers = seconds.values()
    print(f"sharded / one file: {sharded / one:.2f}x the time; encode_batch alone / prepare: {alone / one:.2f}x "
          f"(one file), {alone / sharded:.2f}x (shards)")
    for trainer, time_for in zip(args.trainers, for_trainers):
        print(f"--for {trainer} / one file: {time_for / one:.2f}x the time; encode_batch alone / it: "
              f"{alone / time_for:.2f}x")
    if not args.keep:
        shutil.rmtree(workdir)


# Runs its arguments as a child and prints the child's peak RSS (KiB): a fresh parent per command, so that
# RUSAGE_CHILDREN covers that command alone.
PEAK_RSS = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)"
)


def run(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and standard output of a child process."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", PEAK_RSS, *command], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode:
        sys.exit(result.stderr)
    return seconds, int(result.stderr.strip().splitlines()[-1]) / 1024, result.stdout


if __name__ == "__main__":
    main()
