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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sftmask", description="Assistant-only loss masking for SFT.")
    parser.add_argument("--version", action="version", version=f"sftmask {sftmask.__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="encode the demo conversations shipped with sftmask")
    demo.add_argument("--row", type=int, default=0, help="which conversation to show")
    demo.set_defaults(run=_demo)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except sftmask.SftmaskError as exc:
        print(f"sftmask: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
