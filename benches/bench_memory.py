"""Peak memory of `encode_batch` over the whole shared corpus, against the size of the output buffers.

    python benches/bench_memory.py [--threads N]

The corpus is written to an Arrow IPC file first and memory-mapped, so the process's baseline holds no copy of it.
A sampler thread reads the resident set size every millisecond while `encode_batch` runs; the report is the peak
above the baseline (measured right before the call), as a multiple of the output's buffers (`batch.nbytes`).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import pyarrow as pa
from bench_batch import TEMPLATE, TOKENIZER, as_table, load_rows

import sftmask

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp()) / "corpus.arrow"
    table = as_table(load_rows())
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    del table

    table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
    masker = sftmask.Masker.from_pretrained(TOKENIZER, chat_template=TEMPLATE)
    masker.encode_batch(table.slice(0, 8), threads=args.threads)  # start the thread pool
    baseline = rss()
    peak, running = baseline, True

    def sample():
        nonlocal peak
        while running:
            peak = max(peak, rss())
            time.sleep(0.001)

    sampler = threading.Thread(target=sample)
    sampler.start()
    batch = masker.encode_batch(table, threads=args.threads)
    running = False
    sampler.join()
    output = batch.nbytes
    print(f"{batch.num_rows} conversations, {int(pa.compute.sum(batch['num_tokens']).as_py()):,} tokens")
    print(f"output buffers {output / 2**20:.1f} MiB; peak above baseline {(peak - baseline) / 2**20:.1f} MiB "
          f"= {(peak - baseline) / output:.2f}x the output (limit 3x)")


if __name__ == "__main__":
    main()
