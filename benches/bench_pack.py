"""Packing on the shared corpus: efficiency and pack count against TRL's `pack_dataset(..., "bfd")` on the same
sequences, and throughput of the packing step alone (one core), in the same run.

    python benches/bench_pack.py [--max-length 4096] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time

import pyarrow.compute as pc
from bench_batch import TEMPLATE, TOKENIZER, as_table, load_rows

import sftmask


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-length", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    masker = sftmask.Masker.from_pretrained(TOKENIZER, chat_template=TEMPLATE)
    encoded = masker.encode_batch(as_table(load_rows()))
    tokens = int(pc.sum(encoded["num_tokens"]).as_py())

    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        packed = sftmask.pack(encoded, args.max_length)
        times.append(time.perf_counter() - start)
    report = sftmask.PackReport.of(packed)
    print(f"{encoded.num_rows} sequences, {tokens:,} tokens, max_length={args.max_length}")
    print(f"sftmask bfd: {report.packs} packs, efficiency {report.efficiency:.4f}, truncated {report.truncated}, "
          f"{tokens / min(times) / 1e6:.0f} M tokens/s (best of {args.repeat}: {min(times) * 1e3:.1f} ms, one core)")

    try:
        import datasets
        from trl.data_utils import pack_dataset
    except ImportError:
        print("TRL is not installed: pip install --no-deps trl (its pack_dataset needs only datasets and pyarrow)")
        return
    dataset = datasets.Dataset(datasets.table.InMemoryTable(pa_table(encoded)))
    start = time.perf_counter()
    trl_packed = pack_dataset(dataset, args.max_length, strategy="bfd")
    trl_seconds = time.perf_counter() - start
    trl_tokens = sum(len(ids) for ids in trl_packed["input_ids"])
    print(f"TRL 'bfd':   {len(trl_packed)} packs, efficiency {trl_tokens / (len(trl_packed) * args.max_length):.4f}, "
          f"{trl_tokens / trl_seconds / 1e6:.1f} M tokens/s")
    print(f"packs: sftmask {report.packs} vs TRL {len(trl_packed)}; "
          f"packing speed ratio sftmask / TRL = {trl_seconds / min(times):.0f}x")


def pa_table(batch):
    import pyarrow as pa

    return pa.Table.from_batches([batch.select(["input_ids", "labels"])])


if __name__ == "__main__":
    main()
