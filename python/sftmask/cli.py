"""The `sftmask` command line."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

import sftmask


def _demo(args: argparse.Namespace) -> int:
    """Encodes the conversations shipped with the package and shows what is trained."""
    masker = sftmask.Masker.from_pretrained(sftmask.DEMO_DIR)
    with (sftmask.DEMO_DIR / "conversations.jsonl").open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    encoded = [masker.encode(row) for row in rows]
    tokens = sum(len(e["input_ids"]) for e in encoded)
    trained = sum(int(np.count_nonzero(e["labels"] != sftmask.IGNORE_INDEX)) for e in encoded)
    print(f"demo: {len(rows)} conversations, {tokens} tokens, {trained} trained ({trained / tokens:.1%})")
    first = encoded[args.row]
    print(f"conversation {args.row}, trained text in [[...]]:")
    out, inside = [], False
    for token_id, label in zip(first["input_ids"].tolist(), first["labels"].tolist()):
        trained_now = label != sftmask.IGNORE_INDEX
        if trained_now != inside:
            out.append("[[" if trained_now else "]]")
            inside = trained_now
        out.append(masker.decode([token_id]))
    print("".join(out) + ("]]" if inside else ""))
    return 0


def _masker(args: argparse.Namespace) -> sftmask.Masker:
    policy = {"max_length": args.max_length} if getattr(args, "max_length", None) else {}
    if getattr(args, "truncation", None):
        policy["truncation"] = args.truncation
    return sftmask.Masker.from_pretrained(args.tokenizer, chat_template=args.chat_template, **policy)


def _prepare(args: argparse.Namespace) -> int:
    from sftmask.prepare import prepare

    if args.demo:
        args.tokenizer = args.tokenizer or str(sftmask.DEMO_DIR)
        args.inputs = args.inputs or [str(sftmask.DEMO_DIR / "conversations.jsonl")]
    if not args.inputs or not args.tokenizer:
        raise _UsageError("prepare needs INPUT files and --tokenizer (or --demo)")
    output = args.output or ("demo.parquet" if args.demo else None)
    if output is None:
        raise _UsageError("prepare needs -o OUTPUT")
    masker = _masker(args)
    summary = prepare(
        masker, args.inputs, output, pack_length=args.pack, on_error=args.on_error, chunk_rows=args.chunk_rows,
        threads=args.threads,
    )
    print(summary.format())
    print(f"wrote {output}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from sftmask.show import parse_rows, show

    masker = _masker(args)
    rows = _read_rows(args.input, args.rows)
    show(masker, rows, indices=parse_rows(args.rows), html=args.html)
    if args.html:
        print(f"wrote {args.html}", file=sys.stderr)
    return 0


def _check(args: argparse.Namespace) -> int:
    from sftmask.check import check

    masker = _masker(args)
    report = check(masker, args.inputs, limit=args.limit, threads=args.threads)
    print(report.format())
    if args.html:
        with open(args.html, "w", encoding="utf-8") as f:
            f.write(report.to_html())
        print(f"wrote {args.html}")
    return 0 if report.ok else 1


def _read_rows(path: str, rows: str) -> list:
    """The rows `show` needs: every row up to the last one asked for."""
    from pathlib import Path

    from sftmask.show import parse_rows
    from sftmask.sources import read_chunks

    wanted = parse_rows(rows)
    last = max(wanted) if wanted else 0
    out: list = []
    for chunk in read_chunks([Path(path)], 1024):
        data = chunk.data
        if isinstance(data, dict):
            names = list(data)
            out += [{n: data[n][i] for n in names} for i in range(len(data[names[0]]))]
        else:
            out += data.to_pylist()
        if len(out) > last:
            break
    return out


class _UsageError(Exception):
    pass


def _add_masker_options(parser: argparse.ArgumentParser, *, tokenizer_required: bool = True) -> None:
    parser.add_argument("--tokenizer", required=tokenizer_required, help="tokenizer directory or hub id")
    parser.add_argument("--chat-template", help="a .jinja file (or template text) replacing the tokenizer's")
    parser.add_argument("--max-length", type=int, help="at most this many tokens per row")
    parser.add_argument("--truncation", choices=["keep_start", "keep_end", "drop"], help="how --max-length cuts")
    parser.add_argument("--threads", type=int, help="encoding threads (default: every core)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sftmask", description="Assistant-only loss masking for SFT.")
    parser.add_argument("--version", action="version", version=f"sftmask {sftmask.__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    prepare = commands.add_parser("prepare", help="encode datasets into a Parquet file of input_ids and labels")
    prepare.add_argument("inputs", nargs="*", metavar="INPUT", help="JSONL, JSON, Parquet files or saved datasets directories")
    prepare.add_argument("-o", "--output", help="the Parquet file to write")
    _add_masker_options(prepare, tokenizer_required=False)
    prepare.add_argument("--pack", type=int, metavar="N", help="pack rows into sequences of N tokens (best-fit decreasing)")
    prepare.add_argument("--on-error", choices=["skip", "raise"], default="skip", help="what a bad row does (default: skip, counted)")
    prepare.add_argument("--chunk-rows", type=int, default=8192, help="rows per chunk and Parquet row group")
    prepare.add_argument("--demo", action="store_true", help="use the tokenizer and conversations shipped with sftmask")
    prepare.set_defaults(run=_prepare)

    show = commands.add_parser("show", help="print conversations with their trained tokens highlighted")
    show.add_argument("input", metavar="INPUT")
    _add_masker_options(show)
    show.add_argument("--rows", default="0:3", help="rows to show: N, A:B or a comma list (default 0:3)")
    show.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page")
    show.set_defaults(run=_show)

    check = commands.add_parser("check", help="find masking bugs; exit code 1 when one is found")
    check.add_argument("inputs", nargs="+", metavar="INPUT")
    _add_masker_options(check)
    check.add_argument("--limit", type=int, help="check only the first N rows")
    check.add_argument("--html", metavar="FILE", help="also write the report as a self-contained HTML page")
    check.set_defaults(run=_check)

    demo = commands.add_parser("demo", help="encode the demo conversations shipped with sftmask")
    demo.add_argument("--row", type=int, default=0, help="which conversation to show")
    demo.set_defaults(run=_demo)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except _UsageError as exc:
        parser.error(str(exc))
    except (OSError, ValueError) as exc:  # sftmask errors are ValueErrors
        print(f"sftmask: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
