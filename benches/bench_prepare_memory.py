"""Peak memory of `sftmask prepare` on a generated JSONL of 1,000,000 conversations (bounded: one chunk at a time).

    python benches/bench_prepare_memory.py [--rows 1000000] [--keep]

Conversations are the shared corpus (qwen3 tokenizer) repeated to `--rows`, or, without ../shared, the demo
conversations. The command runs as a child process; its peak RSS is the kernel's `ru_maxrss` for it.
"""

from __future__ import annotations

import argparse
import itertools
import resource
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
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()

    lines, tokenizer = source_rows()
    workdir = Path(tempfile.mkdtemp(prefix="sftmask-bench-"))
    data, output = workdir / "conversations.jsonl", workdir / "prepared.parquet"
    with data.open("w", encoding="utf-8") as f:
        for line in itertools.islice(itertools.cycle(lines), args.rows):
            f.write(line + "\n")
    size_mb = data.stat().st_size / 2**20

    command = [sys.executable, "-m", "sftmask", "prepare", str(data), "-o", str(output), "--tokenizer", tokenizer]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux reports KiB
    if result.returncode != 0:
        sys.exit(result.stderr)
    print(result.stdout)
    print(f"input: {args.rows:,} conversations, {size_mb:,.0f} MiB of JSONL ({Path(tokenizer).name} tokenizer)")
    print(f"output: {pq.ParquetFile(output).metadata.num_rows:,} rows, {output.stat().st_size / 2**20:,.0f} MiB")
    print(f"wall time: {seconds:.1f}s ({args.rows / seconds:,.0f} rows/s)")
    print(f"peak RSS of the prepare process: {peak_mib:,.0f} MiB")
    if not args.keep:
        data.unlink()
        output.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
