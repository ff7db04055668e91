"""Throughput of `encode_batch` against its baselines, measured in the same run.

    python benches/bench_batch.py [--repeat 3] [--threads N] [--transformers-sample N]
    python benches/bench_batch.py --tokenizer qwen3 llama3_1 deepseek_v3 llama2 gemma_kind --no-transformers

On ../shared/data/chat (all conversations), for each tokenizer (default qwen3 with templates/qwen3_training.jinja):
  1. sftmask `encode_batch` over an Arrow table of every conversation (render + tokenize + mask),
  2. the floor: `tokenizers.Tokenizer.encode_batch` on the already rendered texts (tokenization alone; for a
     tokenizer transformers rebuilds, llama2, its backend tokenizer, whose ids sftmask gives),
  3. transformers `apply_chat_template(..., return_assistant_tokens_mask=True)`, one conversation a call
     (what TRL's SFTTrainer runs per example).
Prints conversations/s, tokens/s and the ratios, then a table of sftmask / floor per tokenizer. Templates: qwen3 and
llama3_1 their training templates, deepseek_v3 its own, llama2 a Llama-2 `[INST]` template, `gemma_kind` (Llama 2's
vocabulary with Gemma's configuration, built on the fly: no Gemma tokenizer is in ../shared) a Gemma template.
Rows a template cannot render are left out of both sides. Machines are noisy: compare ratios, not absolute times.
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
TESTS = Path(__file__).resolve().parent.parent / "tests"


def tokenizer_setup(name: str) -> tuple[Path, str | None, object]:
    """The tokenizer directory, the chat template (None: its own) and the floor's `tokenizers.Tokenizer`."""
    import sys
    import tempfile

    from tokenizers import Tokenizer

    sys.path.insert(0, str(TESTS))
    from test_tokenize import GEMMA_TEMPLATE, gemma_kind_dir, reference_for
    from test_tokenize_corpus import LLAMA2_TEMPLATE

    templates = {"qwen3": (SHARED / "templates" / "qwen3_training.jinja").read_text(encoding="utf-8"),
                 "llama3_1": (SHARED / "templates" / "llama3_training.jinja").read_text(encoding="utf-8"),
                 "llama2": LLAMA2_TEMPLATE, "gemma_kind": GEMMA_TEMPLATE}
    if name == "gemma_kind":
        path = gemma_kind_dir(Path(tempfile.mkdtemp()) / "gemma_kind")
    else:
        path = Path(name) if Path(name).is_dir() else SHARED / "tokenizers" / name
    if name in ("llama2", "gemma_kind"):
        floor = reference_for(name, path)
    else:
        floor = Tokenizer.from_file(str(path / "tokenizer.json"))
    return path, templates.get(name), floor


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
    tools = pa.array([json.dumps(r["tools"], ensure_ascii=False) if r.get("tools") else None for r in rows],
                     pa.string())
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
    parser.add_argument("--tokenizer", nargs="+", default=["qwen3"],
                        help="tokenizers in ../shared/tokenizers, 'gemma_kind', or directories (default: qwen3)")
    parser.add_argument("--no-transformers", action="store_true", help="leave out the transformers baseline")
    args = parser.parse_args()

    all_rows = load_rows()
    cores = os.cpu_count()
    print(f"{len(all_rows)} conversations, {cores} cores, sftmask threads={args.threads or cores}")
    ratios = []
    for name in args.tokenizer:
        print(f"\n== {name}")
        ratios.append((name, *bench_one(name, all_rows, args)))
    if len(ratios) > 1:
        print("\n| tokenizer | conversations | M tok/s | sftmask / floor |\n|---|---|---|---|")
        for name, rows, rate, ratio in ratios:
            print(f"| {name} | {rows:,} | {rate:.2f} | **{ratio:.2f}x** |")


def bench_one(name: str, all_rows: list[dict], args) -> tuple[int, float, float]:
    path, chat_template, tokenizer = tokenizer_setup(name)
    masker = sftmask.Masker.from_pretrained(path, chat_template=chat_template)
    # Rows the template renders and sftmask encodes: both sides work on the same conversations.
    encoded = masker.encode_batch(as_table(all_rows), on_error="null")
    rows = [r for r, ids in zip(all_rows, encoded["input_ids"].is_valid().to_pylist()) if ids]
    table = as_table(rows)

    s_min, s_med, batch = best_of(args.repeat, lambda: masker.encode_batch(table, threads=args.threads))
    tokens = int(pc.sum(batch["num_tokens"]).as_py())
    trained = int(pc.sum(batch["num_trained_tokens"]).as_py())

    texts = [masker.render(r) for r in rows]
    f_min, f_med, encodings = best_of(args.repeat, lambda: tokenizer.encode_batch(texts, add_special_tokens=False))
    assert sum(len(e.ids) for e in encodings) == tokens, "the floor tokenized a different number of tokens"

    def line(what: str, seconds: float, median: float, n: int) -> None:
        print(f"{what:<44} {n / seconds:>10,.0f} conv/s  {tokens * n / len(rows) / seconds / 1e6:>6.2f} M tok/s"
              f"  (best {seconds:.3f}s, median {median:.3f}s)")

    print(f"{len(rows):,} conversations, {tokens:,} tokens, {trained:,} trained ({trained / tokens:.1%})")
    line("sftmask encode_batch (render+tokenize+mask)", s_min, s_med, len(rows))
    line("floor: tokenizers encode_batch (tokenize)", f_min, f_med, len(rows))
    print(f"ratio sftmask / floor        = {f_min / s_min:.2f}x")
    if not args.no_transformers:
        bench_transformers(path, chat_template, rows, s_min, args, line)
    return len(rows), tokens / s_min / 1e6, f_min / s_min


def bench_transformers(path: Path, chat_template: str | None, rows: list[dict], s_min: float, args, line) -> None:
    import transformers

    reference = transformers.AutoTokenizer.from_pretrained(str(path))
    sample = rows[: args.transformers_sample] if args.transformers_sample else rows

    def run_transformers():
        for r in sample:
            reference.apply_chat_template(
                r["messages"], tools=r.get("tools"), chat_template=chat_template,
                return_dict=True, return_assistant_tokens_mask=True,
            )

    t_min, t_med, _ = best_of(1, run_transformers)
    t_rate = len(sample) / t_min
    line("transformers apply_chat_template per row", t_min, t_med, len(sample))
    print(f"ratio sftmask / transformers = {len(rows) / s_min / t_rate:.1f}x")


if __name__ == "__main__":
    main()
