"""The `sftmask` command line."""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import threading
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, get_args

import sftmask
from sftmask.constants import Overflow, PrepareOnError
from sftmask.masker import FORMATS
from sftmask.policy import Policy
from sftmask.prepare import MAX_ERROR_RATE
from sftmask.trainers import TRAINERS

DEMO_DATA = sftmask.DEMO_DIR / "conversations.jsonl"


def _use_demo(args: argparse.Namespace) -> None:
    """`--demo`: the tokenizer and conversations shipped with sftmask stand in for those not given."""
    if args.demo:
        args.tokenizer = args.tokenizer or str(sftmask.DEMO_DIR)
        args.inputs = args.inputs or [str(DEMO_DATA)]
    if not args.inputs or not args.tokenizer:
        raise _UsageError(f"{args.command} needs INPUT files and --tokenizer (or --demo)")


def _masker(args: argparse.Namespace) -> sftmask.Masker:
    policy = {name: getattr(args, name) for name in Policy.option_names() if getattr(args, name, None) is not None}
    return sftmask.Masker.from_pretrained(args.tokenizer, chat_template=args.chat_template, **policy)


def _row_options(args: argparse.Namespace) -> dict:
    """How rows are read, and the template variables: options of `encode_batch` (and `check`, `prepare`)."""
    options = dict(format=args.format, role_map=args.role_map, keep_nulls=args.keep_nulls,
                   messages_column=args.messages_column)
    return {**options, **dict(args.template_var)}


def _prepare(args: argparse.Namespace) -> int:
    from sftmask.prepare import prepare

    _use_demo(args)
    output = args.output or ("demo.parquet" if args.demo else None)
    if output is None:
        raise _UsageError("prepare needs -o OUTPUT")
    masker = _masker(args)
    try:
        summary = prepare(
            masker, args.inputs, output, pack_length=args.pack, overflow=args.overflow, on_error=args.on_error,
            chunk_rows=args.chunk_rows, threads=args.threads, split=args.split, shard_rows=args.shard_rows,
            shard_size=args.shard_size, resume=args.resume, for_trainer=args.for_trainer, **_row_options(args),
        )
    except (KeyboardInterrupt, _Terminated) as exc:
        what, code = ("terminated (SIGTERM)", 143) if isinstance(exc, _Terminated) else ("interrupted", 130)
        if args.shard_rows or args.shard_size:
            raise _Stopped(f"{what}: the complete shards in {output} are kept; --resume continues", code) from None
        raise _Stopped(f"{what}: nothing was written to {output}", code) from None
    print(summary.format())
    print(f"wrote {output}" + (" (shards and .sftmask-manifest.json)" if args.shard_rows or args.shard_size else ""))
    if summary.trainer_config:
        print(f"\nto train with {summary.trainer}, keeping these labels:\n{summary.trainer_config}")
    failure = summary.failure(args.max_error_rate)
    if failure:
        print(f"sftmask: prepare failed: {failure}", file=sys.stderr)
        return 1
    return 0


def _show(args: argparse.Namespace) -> int:
    from sftmask.show import parse_rows, show

    _use_demo(args)
    if len(args.inputs) != 1:
        raise _UsageError("show reads one INPUT")
    masker = _masker(args)
    indices = parse_rows(args.rows)
    shown = show(masker, _iter_rows(args.inputs[0], args.split), indices=indices, html=args.html, **_row_options(args))
    if args.html:
        print(f"wrote {args.html}", file=sys.stderr)
    wanted = len(indices) if not isinstance(indices, range) or indices.stop != sys.maxsize else None
    if wanted is not None and shown < wanted:
        print(f"sftmask: showed {shown} of the {wanted} rows asked for: {args.inputs[0]} has fewer rows",
              file=sys.stderr)
        return 0 if shown else 1
    return 0


def _check(args: argparse.Namespace) -> int:
    from sftmask.doctor import check

    _use_demo(args)
    masker = _masker(args)
    report = check(masker, args.inputs, limit=args.limit, threads=args.threads, split=args.split, **_row_options(args))
    print(report.format())
    if args.html:
        with open(args.html, "w", encoding="utf-8") as f:
            f.write(report.to_html())
        print(f"wrote {args.html}")
    return 0 if report.ok else 1


def _iter_rows(path: str, split: str | None = None) -> Iterator[Any]:
    """The rows of a file, one at a time, each as `encode_batch` reads it (`show` stops reading after the last row
    it shows): a JSON Lines line, a one-row table, or a row mapping."""
    from sftmask.sources import JsonLines, read_chunks

    for chunk in read_chunks([Path(path)], 1024, split=split):
        data = chunk.data
        if isinstance(data, JsonLines):
            yield from (JsonLines(line, 1) for line in data.lines())
        elif isinstance(data, list):
            yield from data
        else:
            yield from (data.slice(i, 1) for i in range(data.num_rows))


class _UsageError(Exception):
    pass


class _Terminated(BaseException):
    """Raised by SIGTERM in the main thread, so that a job stops and cleans up as on Ctrl-C."""


def _raise_terminated(signum, frame) -> None:
    raise _Terminated()


class _Stopped(Exception):
    """A job stopped by a signal: one line for the user, and the exit code of that signal."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value} (leave the option out to turn it off)")
    return value


def _size(text: str) -> int:
    """Bytes, with an optional K, M or G (powers of 1024): `512M`."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    number, unit = (text[:-1], units[text[-1].upper()]) if text[-1:].upper() in units else (text, 1)
    try:
        value = int(float(number) * unit)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size such as 512M or 2G, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 byte, got {text!r}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {value}")
    return value


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _template_var(text: str) -> tuple[str, Any]:
    """KEY=VALUE, the value read as JSON when it is JSON (`false`, `3`, `["a"]`), else as a string."""
    key, value = _pair(text)
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _add_masker_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tokenizer", help="tokenizer directory or hub id")
    parser.add_argument("--chat-template", help="a .jinja file (or template text) replacing the tokenizer's")
    parser.add_argument("--threads", type=_positive, help="encoding threads (default: every core)")
    parser.add_argument("--demo", action="store_true", help="use the tokenizer and conversations shipped with sftmask")
    rows = parser.add_argument_group("reading rows")
    rows.add_argument("--format", choices=FORMATS,
                      help="force a dataset format (default: recognised by the columns, tried in this order)")
    rows.add_argument("--role-map", type=_pair, action="append", default=[], metavar="FROM=TO",
                      help="map a role name (repeatable); human, gpt, model, bot, observation are mapped already")
    rows.add_argument("--messages-column", default="messages", help="the column of messages (default: messages)")
    rows.add_argument("--keep-nulls", action="store_true",
                      help="keep null fields of Arrow structs as None (default: dropped as absent)")
    rows.add_argument("--split", help="the split of a saved DatasetDict or hub dataset (splits are never merged)")
    rows.add_argument("--template-var", type=_template_var, action="append", default=[], metavar="KEY=VALUE",
                      help="a template variable (repeatable; VALUE read as JSON when it is, "
                           "e.g. enable_thinking=false)")
    _add_policy_options(parser.add_argument_group("training policy (default: the masker's)"))


def _add_policy_options(group: argparse._ArgumentGroup) -> None:
    """A flag for each field of `Policy` (`max_length` is `--max-length`), typed by the field; a flag left out is
    None, and the masker's default applies."""
    hints = typing.get_type_hints(Policy)
    for option in dataclasses.fields(Policy):
        flag, kind = "--" + option.name.replace("_", "-"), hints[option.name]
        default = ",".join(option.default) if isinstance(option.default, tuple) else option.default
        help = f"{option.metadata['help']} (default: {default})"
        kinds = typing.get_args(kind)
        words = [word for k in kinds if typing.get_origin(k) is typing.Literal for word in typing.get_args(k)]
        if kind is bool or (bool in kinds and words):  # `--x`, `--no-x`, and `--x WORD` where a word is allowed
            group.add_argument(flag, action=_FlagOrWord, words=words, default=None, help=help)
        elif typing.get_origin(kind) is typing.Literal:
            group.add_argument(flag, choices=kinds, help=help)
        elif int in kinds:
            group.add_argument(flag, type=_positive, metavar="N", help=help)
        else:  # names: roles, fields
            group.add_argument(flag, type=_names, metavar="NAMES", help=f"{help}; comma-separated, '' for none")


class _FlagOrWord(argparse.BooleanOptionalAction):
    """A yes/no flag (`--x` is True, `--no-x` False) whose positive form may also take one of `words` (`--x WORD`)."""

    def __init__(self, option_strings: list[str], dest: str, words: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.words = list(words)
        if self.words:
            self.nargs, self.metavar = "?", "{" + ",".join(self.words) + "}"

    def __call__(self, parser, namespace, value=None, option_string=None) -> None:
        if value is None or not self.words:  # a plain flag (argparse passes [] for no value)
            return super().__call__(parser, namespace, value, option_string)
        if option_string.startswith("--no-") or value not in self.words:
            allowed = "no value" if option_string.startswith("--no-") else f"no value or one of {', '.join(self.words)}"
            parser.error(f"{option_string} takes {allowed}, got {value!r} (give input files before the options)")
        setattr(namespace, self.dest, value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sftmask", description="Assistant-only loss masking for SFT.")
    parser.add_argument("--version", action="version", version=f"sftmask {sftmask.__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    prepare = commands.add_parser("prepare", help="encode datasets into a Parquet file of input_ids and labels")
    prepare.add_argument("inputs", nargs="*", metavar="INPUT",
                         help="JSONL, JSON, Parquet files or saved datasets directories")
    prepare.add_argument("-o", "--output", help="the Parquet file to write")
    _add_masker_options(prepare)
    prepare.add_argument("--for", dest="for_trainer", choices=sorted(TRAINERS),
                         help="write what this trainer loads as it is (its columns, file form and packed form) and "
                              "print the settings that keep the labels")
    prepare.add_argument("--pack", type=_positive, metavar="N",
                         help="pack rows into sequences of N tokens (best-fit decreasing)")
    prepare.add_argument("--overflow", choices=get_args(Overflow), default="truncate",
                         help="with --pack, a sequence longer than N is cut, split or dropped (default: truncate)")
    prepare.add_argument("--on-error", choices=get_args(PrepareOnError), default="skip",
                         help="what a bad row does (default: skip, counted)")
    prepare.add_argument("--max-error-rate", type=_rate, default=MAX_ERROR_RATE, metavar="SHARE",
                         help=f"exit with 1 when more than this share of rows fail (default: {MAX_ERROR_RATE})")
    prepare.add_argument("--chunk-rows", type=_positive, default=8192, help="rows per chunk and Parquet row group")
    prepare.add_argument("--shard-rows", type=_positive, metavar="N",
                         help="write OUTPUT as a directory of shards (part-00000.parquet, ...) of about N input rows "
                              "each, with a .sftmask-manifest.json")
    prepare.add_argument("--shard-size", type=_size, metavar="SIZE",
                         help="write OUTPUT as a directory of shards closed once a file is SIZE bytes (512M, 2G, ...)")
    prepare.add_argument("--resume", action="store_true",
                         help="continue a sharded job after its last complete shard (same input, tokenizer, "
                              "template and options)")
    prepare.set_defaults(run=_prepare)

    show = commands.add_parser("show", help="print conversations with their trained tokens highlighted")
    show.add_argument("inputs", nargs="*", metavar="INPUT")
    _add_masker_options(show)
    show.add_argument("--rows", default="3",
                      help="rows to show: N (the first N), A:B (rows A to B-1), or a comma list of row numbers "
                           "(default 3)")
    show.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page")
    show.set_defaults(run=_show)

    check = commands.add_parser("check", help="find masking bugs; exit code 1 when one is found")
    check.add_argument("inputs", nargs="*", metavar="INPUT")
    _add_masker_options(check)
    check.add_argument("--limit", type=_positive, help="check only the first N rows")
    check.add_argument("--html", metavar="FILE", help="also write the report as a self-contained HTML page")
    check.set_defaults(run=_check)

    args = parser.parse_args(argv)
    # SIGTERM (a scheduler's preemption) stops the job as Ctrl-C does: partial output removed, one line, no traceback.
    on_main_thread = threading.current_thread() is threading.main_thread()  # where Python takes signal handlers
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if on_main_thread else None
    try:
        return args.run(args)
    except _UsageError as exc:
        parser.error(str(exc))
    except _Stopped as exc:
        print(f"sftmask: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("sftmask: interrupted", file=sys.stderr)
        return 130
    except _Terminated:
        print("sftmask: terminated (SIGTERM)", file=sys.stderr)
        return 143
    except BrokenPipeError:  # output piped into `head`: stop quietly
        sys.stderr.close()
        return 141
    except (OSError, ValueError) as exc:  # sftmask errors are ValueErrors
        print(f"sftmask: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if on_main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
