"""Throughput of `encode_batch` against its baselines, measured in the same run.

    python benches/bench_batch.py [--repeat 3] [--threads N] [--transformers-sample N]

On ../shared/data/chat (all conversations) with the qwen3 tokenizer and templates/qwen3_training.jinja:
  1. sftmask `encode_batch` over an Arrow table of every conversation (render + tokenize + mask),
  2. the floor: `tokenizers.Tokenizer.encode_batch` on the already rendered texts (tokenization alone),
  3. transformers `apply_chat_template(..., return_assistant_tokens_mask=True)`, one conversation a call
     (what TRL's SFTTrainer runs per example).
Prints conversations/s, tokens/s and the ratios. Machines are noisy: compare ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

import sftmask

SHARED = Path(os.environ.get("SFTMASK_SHARED", Path(__file__).resolve().parent.parent.parent / "shared"))
TOKENIZER = SHARED / "tokenizers" / "qwen3"
TEMPLATE = SHARED / "templates" / "qwen3_training.jinja"


def load_rows() -> list[dict]:
    rows = []
    for file in sorted((SHARED / "data" / "chat").glob("*.jsonl")):
        with file.open(encoding="utf-8") as f:
            rows.extend(json.loads(line) for line in f)
    return rows


def as_table(rows: list[dict]) -> pa.Table:
    """Messages and tools as JSON text: the shared corpus mixes types (arguments as text or objects) that no single
    Arrow struct type holds."""
    messages = pa.array([json.dumps(r["messages"], ensure_ascii=False) for r in rows], pa.string())
    tools = pa.array([json.dumps(r["tools"], ensure_ascii=False) if r.get("tools") else None for r in rows], pa.string())
    return pa.table({"messages": messages, "tools": tools})


def best_of(repeat: int, run) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="sftmask threads (default: every core)")
    parser.add_argument("--transformers-sample", type=int, default=0, help="rows for transformers (0 = all)")
    args = parser.parse_args()

    rows = load_rows()
    table = as_table(rows)
    masker = sftmask.Masker.from_pretrained(TOKENIZER, chat_template=TEMPLATE)
    cores = os.cpu_count()
    print(f"{len(rows)} conversations, {cores} cores, sftmask threads={args.threads or cores}")

    s_min, s_med, batch = best_of(args.repeat, lambda: masker.encode_batch(table, threads=args.threads))
    tokens = int(pc.sum(batch["num_tokens"]).as_py())
    trained = int(pc.sum(batch["num_trained_tokens"]).as_py())

    from tokenizers import Tokenizer

    texts = [masker.render(r) for r in rows]
    tokenizer = Tokenizer.from_file(str(TOKENIZER / "tokenizer.json"))
    f_min, f_med, encodings = best_of(args.repeat, lambda: tokenizer.encode_batch(texts, add_special_tokens=False))
    assert sum(len(e.ids) for e in encodings) == tokens, "the floor tokenized a different number of tokens"

    import transformers

    reference = transformers.AutoTokenizer.from_pretrained(str(TOKENIZER))
    chat_template = TEMPLATE.read_text(encoding="utf-8")
    sample = rows[: args.transformers_sample] if args.transformers_sample else rows

    def run_transformers():
        for r in sample:
            reference.apply_chat_template(
                r["messages"], tools=r.get("tools"), chat_template=chat_template,
                return_dict=True, return_assistant_tokens_mask=True,
            )

    t_min, t_med, _ = best_of(1, run_transformers)
    t_rate = len(sample) / t_min

    def line(name: str, seconds: float, median: float, n: int) -> None:
        print(f"{name:<44} {n / seconds:>10,.0f} conv/s  {tokens * n / len(rows) / seconds / 1e6:>6.2f} M tok/s"
              f"  (best {seconds:.3f}s, median {median:.3f}s)")

    print(f"{tokens:,} tokens, {trained:,} trained ({trained / tokens:.1%})")
    line("sftmask encode_batch (render+tokenize+mask)", s_min, s_med, len(rows))
    line("floor: tokenizers encode_batch (tokenize)", f_min, f_med, len(rows))
    line("transformers apply_chat_template per row", t_min, t_med, len(sample))
    print(f"ratio sftmask / floor        = {f_min / s_min:.2f}x")
    print(f"ratio sftmask / transformers = {len(rows) / s_min / t_rate:.1f}x")


if __name__ == "__main__":
    main()
