"""The `sftmask` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import sftmask

DEMO_DATA = sftmask.DEMO_DIR / "conversations.jsonl"


def _use_demo(args: argparse.Namespace) -> None:
    """`--demo`: the tokenizer and conversations shipped with sftmask stand in for those not given."""
    if args.demo:
        args.tokenizer = args.tokenizer or str(sftmask.DEMO_DIR)
        args.inputs = args.inputs or [str(DEMO_DATA)]
    if not args.inputs or not args.tokenizer:
        raise _UsageError(f"{args.command} needs INPUT files and --tokenizer (or --demo)")


def _masker(args: argparse.Namespace) -> sftmask.Masker:
    policy = {"max_length": args.max_length} if getattr(args, "max_length", None) else {}
    if getattr(args, "truncation", None):
        policy["truncation"] = args.truncation
    return sftmask.Masker.from_pretrained(args.tokenizer, chat_template=args.chat_template, **policy)


def _prepare(args: argparse.Namespace) -> int:
    from sftmask.prepare import prepare

    _use_demo(args)
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

    _use_demo(args)
    if len(args.inputs) != 1:
        raise _UsageError("show reads one INPUT")
    masker = _masker(args)
    show(masker, _iter_rows(args.inputs[0]), indices=parse_rows(args.rows), html=args.html)
    if args.html:
        print(f"wrote {args.html}", file=sys.stderr)
    return 0


def _check(args: argparse.Namespace) -> int:
    from sftmask.doctor import check

    _use_demo(args)
    masker = _masker(args)
    report = check(masker, args.inputs, limit=args.limit, threads=args.threads)
    print(report.format())
    if args.html:
        with open(args.html, "w", encoding="utf-8") as f:
            f.write(report.to_html())
        print(f"wrote {args.html}")
    return 0 if report.ok else 1


def _iter_rows(path: str) -> Iterator[dict]:
    """The rows of a file, one at a time (`show` stops reading after the last row it shows)."""
    from sftmask.sources import JsonLines, read_chunks

    for chunk in read_chunks([Path(path)], 1024):
        data = chunk.data
        if isinstance(data, dict):
            yield from (dict(zip(data, values)) for values in zip(*data.values()))
        elif isinstance(data, JsonLines):
            yield from data  # a line that is not JSON comes as None, which `show` reports as that row's error
        else:
            yield from data.to_pylist()


class _UsageError(Exception):
    pass


def _add_masker_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tokenizer", help="tokenizer directory or hub id")
    parser.add_argument("--chat-template", help="a .jinja file (or template text) replacing the tokenizer's")
    parser.add_argument("--max-length", type=int, help="at most this many tokens per row")
    parser.add_argument("--truncation", choices=["keep_start", "keep_end", "drop"], help="how --max-length cuts")
    parser.add_argument("--threads", type=int, help="encoding threads (default: every core)")
    parser.add_argument("--demo", action="store_true", help="use the tokenizer and conversations shipped with sftmask")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sftmask", description="Assistant-only loss masking for SFT.")
    parser.add_argument("--version", action="version", version=f"sftmask {sftmask.__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    prepare = commands.add_parser("prepare", help="encode datasets into a Parquet file of input_ids and labels")
    prepare.add_argument("inputs", nargs="*", metavar="INPUT", help="JSONL, JSON, Parquet files or saved datasets directories")
    prepare.add_argument("-o", "--output", help="the Parquet file to write")
    _add_masker_options(prepare)
    prepare.add_argument("--pack", type=int, metavar="N", help="pack rows into sequences of N tokens (best-fit decreasing)")
    prepare.add_argument("--on-error", choices=["skip", "raise"], default="skip", help="what a bad row does (default: skip, counted)")
    prepare.add_argument("--chunk-rows", type=int, default=8192, help="rows per chunk and Parquet row group")
    prepare.set_defaults(run=_prepare)

    show = commands.add_parser("show", help="print conversations with their trained tokens highlighted")
    show.add_argument("inputs", nargs="*", metavar="INPUT")
    _add_masker_options(show)
    show.add_argument("--rows", default="0:3", help="rows to show: N, A:B or a comma list (default 0:3)")
    show.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page")
    show.set_defaults(run=_show)

    check = commands.add_parser("check", help="find masking bugs; exit code 1 when one is found")
    check.add_argument("inputs", nargs="*", metavar="INPUT")
    _add_masker_options(check)
    check.add_argument("--limit", type=int, help="check only the first N rows")
    check.add_argument("--html", metavar="FILE", help="also write the report as a self-contained HTML page")
    check.set_defaults(run=_check)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except _UsageError as exc:
        parser.error(str(exc))
    except BrokenPipeError:  # output piped into `head`: stop quietly
        sys.stderr.close()
        return 141
    except (OSError, ValueError) as exc:  # sftmask errors are ValueErrors
        print(f"sftmask: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
