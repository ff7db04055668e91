"""`sftmask show`: each conversation with its trained tokens highlighted, for the terminal or a shareable HTML page."""

from __future__ import annotations

import html as _html
import itertools
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sftmask._native import SftmaskError
from sftmask.constants import IGNORE_INDEX
from sftmask.report import BatchReport
from sftmask.sources import JsonLines

_REPLACEMENT = "\ufffd"
# A UTF-8 character has at most 4 bytes and every token at least 1, so 3 more tokens always complete a split one.
_LOOKAHEAD = 3


@dataclass(frozen=True)
class Piece:
    """One displayed unit: a token, or a few tokens merged because they split a UTF-8 character between them."""

    text: str
    ids: tuple[int, ...]
    labels: tuple[int, ...]
    trained: bool  # any of its tokens is trained (a merged piece can be partly trained: see `mixed`)
    special: bool  # a special token of the tokenizer (`<|im_end|>`, `</s>`, ...); never merged

    @property
    def mixed(self) -> bool:
        """A merged piece whose tokens are partly trained: rare, a character straddling the trained boundary."""
        return len({label != IGNORE_INDEX for label in self.labels}) > 1


@dataclass
class Section:
    """One selected row: its pieces, or the error its encoding raised."""

    row: int
    pieces: list[Piece] = field(default_factory=list)
    error: str | None = None

    @property
    def tokens(self) -> int:
        return sum(len(p.ids) for p in self.pieces)

    @property
    def trained(self) -> int:
        return sum(label != IGNORE_INDEX for p in self.pieces for label in p.labels)

    def header(self) -> str:
        if self.error is not None:
            return f"row {self.row}: error"
        share = self.trained / self.tokens if self.tokens else 0.0
        return f"row {self.row}: {self.tokens} tokens, {self.trained} trained ({share:.1%})"


def token_pieces(masker: Any, input_ids: Sequence[int], labels: Sequence[int]) -> list[Piece]:
    """Splits an encoded row into displayable pieces whose texts concatenate to `masker.decode(input_ids)`.

    Tokens are decoded one by one, except that a boundary inside a UTF-8 character (byte-level BPE splits rare
    characters into byte tokens) is not a boundary: those tokens form one piece. Each piece's text is decoded
    together with the previous piece and that text cut off, because some decoders (SentencePiece's) drop the
    leading space of whatever they decode alone.
    """
    ids = [int(i) for i in input_ids]
    labels = [int(label) for label in labels]
    if len(ids) != len(labels):
        raise ValueError(f"{len(ids)} input_ids but {len(labels)} labels")
    special = set(masker.special_tokens.values())
    decode = masker.decode

    def clean_boundary(j: int) -> bool:
        # The boundary before token j splits no character when the text up to it is unchanged by what follows:
        # a partial character decodes to U+FFFD and is replaced once completed. A real U+FFFD stays a prefix.
        if ids[j] in special or ids[j - 1] in special:
            return True
        start = max(0, j - _LOOKAHEAD)
        before = decode(ids[start:j])
        return not before.endswith(_REPLACEMENT) or decode(ids[start : j + _LOOKAHEAD]).startswith(before)

    bounds = [0] + [j for j in range(1, len(ids)) if clean_boundary(j)] + [len(ids)]
    pieces: list[Piece] = []
    prev_start = 0
    for start, end in itertools.pairwise(bounds):
        text = decode(ids[start:end])
        if start > 0:
            context, full = decode(ids[prev_start:start]), decode(ids[prev_start:end])
            if full.startswith(context):
                text = full[len(context) :]
        group = tuple(labels[start:end])
        pieces.append(
            Piece(
                text=text,
                ids=tuple(ids[start:end]),
                labels=group,
                trained=any(label != IGNORE_INDEX for label in group),
                special=end - start == 1 and ids[start] in special,
            )
        )
        prev_start = start
    return pieces


def _visible(text: str) -> str:
    """Whitespace a reader must see to know where tokens end: newlines (kept as line breaks), tabs, returns."""
    return text.replace("\r", "␍").replace("\t", "⇥").replace("\n", "↵\n")


# ANSI styles: (even token, odd token); alternating shades show the token boundaries.
_STYLE_TRAINED = ("1;32", "1;92")  # bold green / bold bright green
_STYLE_MASKED = ("2", "90")  # dim / grey
_STYLE_SPECIAL = "35"  # magenta
_STYLE_SPECIAL_TRAINED = "1;7;35"  # inverse bold magenta


def _ansi(style: str, text: str) -> str:
    # Styled line by line, so that a line break never carries a style into the next line's start.
    return "\n".join(f"\x1b[{style}m{line}\x1b[0m" if line else "" for line in text.split("\n"))


def legend(*, color: bool) -> str:
    """One line explaining the marks `format_terminal` uses."""
    if not color:
        return "legend: [[trained]] masked, special tokens as written, ↵ newline, ⇥ tab"
    return (
        f"legend: {_ansi(_STYLE_TRAINED[0], 'trained')} {_ansi(_STYLE_MASKED[0], 'masked')} "
        f"{_ansi(_STYLE_SPECIAL, '<special>')} {_ansi(_STYLE_SPECIAL_TRAINED, '<special trained>')}, "
        "tokens alternate shades, · space-only token, ↵ newline, ⇥ tab"
    )


def format_terminal(pieces: Sequence[Piece], *, color: bool) -> str:
    """The conversation as text: trained runs in `[[...]]` without color, highlighted with it."""
    out: list[str] = []
    if not color:
        inside = False
        for piece in pieces:
            if piece.trained != inside:
                out.append("[[" if piece.trained else "]]")
                inside = piece.trained
            out.append(_visible(piece.text))
        return "".join(out) + ("]]" if inside else "")
    for n, piece in enumerate(pieces):
        text = piece.text
        if text and text.strip(" ") == "":
            text = "·" * len(text)  # a space-only token would be invisible
        if piece.special:
            style = _STYLE_SPECIAL_TRAINED if piece.trained else _STYLE_SPECIAL
        else:
            style = (_STYLE_TRAINED if piece.trained else _STYLE_MASKED)[n % 2]
        out.append(_ansi(style, _visible(text)))
    return "".join(out)


def format_section(section: Section, *, color: bool) -> str:
    """A row's header line followed by its conversation, or by its error."""
    header = _ansi("1", section.header()) if color else section.header()
    if section.error is not None:
        return f"{header}\n{_ansi('31', section.error) if color else section.error}"
    return f"{header}\n{format_terminal(section.pieces, color=color)}"


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; background: #fff; }
h1 { font-size: 1.3em; } h2 { font-size: 1em; margin: 0 0 .4em; }
.row { border: 1px solid #ddd; border-radius: 6px; padding: .8em; margin: 1em 0; }
.row.error { border-color: #d33; background: #fff3f3; }
pre { white-space: pre-wrap; word-break: break-all; font: 13px/1.5 ui-monospace, Menlo, Consolas, monospace;
      margin: 0; }
.tok { border-radius: 2px; }
.tok.masked { color: #888; background: #f6f6f6; } .tok.masked.alt { background: #e9e9e9; }
.tok.trained { color: #064; background: #d4f5d4; font-weight: 600; } .tok.trained.alt { background: #b9ebb9; }
.tok.special { color: #909; background: #f7e3f7; } .tok.special.trained { background: #eab8ea; font-weight: 600; }
.legend span { padding: 0 .3em; margin-right: .6em; }
.err { color: #b00; }
"""


def _piece_html(n: int, piece: Piece) -> str:
    classes = ["tok", "trained" if piece.trained else "masked"]
    if piece.special:
        classes.append("special")
    if n % 2:
        classes.append("alt")
    if len(piece.ids) == 1:
        tip = f"id {piece.ids[0]}, label {piece.labels[0]}"
    else:  # a character split between tokens
        tip = f"ids {' '.join(map(str, piece.ids))}, labels {' '.join(map(str, piece.labels))}"
    text = piece.text.replace("\n", "↵\n").replace("\t", "⇥\t")
    return f'<span class="{" ".join(classes)}" title="{_html.escape(tip)}">{_html.escape(text)}</span>'


def html_page(sections: Iterable[Section], *, title: str = "sftmask show") -> str:
    """A self-contained page (inline CSS, no external resources): one block per row, one span per piece."""
    sections = list(sections)
    ok = [s for s in sections if s.error is None]
    tokens, trained = sum(s.tokens for s in ok), sum(s.trained for s in ok)
    summary = f"{len(sections)} rows, {tokens} tokens, {trained} trained ({trained / tokens if tokens else 0:.1%})"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_html.escape(title)}</h1><p>{_html.escape(summary)}</p>",
        (
            '<p class="legend"><span style="color:#064;background:#d4f5d4;font-weight:600">trained</span>'
            '<span style="color:#888;background:#f6f6f6">masked</span>'
            '<span style="color:#909;background:#f7e3f7">special token</span>'
            "alternating shades mark token boundaries; hover a token for its id and label; ↵ newline</p>"
        ),
    ]
    for s in sections:
        if s.error is not None:
            parts.append(
                f'<div class="row error" id="row-{s.row}"><h2>{_html.escape(s.header())}</h2>'
                f'<pre class="err">{_html.escape(s.error)}</pre></div>'
            )
            continue
        body = "".join(_piece_html(n, p) for n, p in enumerate(s.pieces))
        parts.append(f'<div class="row" id="row-{s.row}"><h2>{_html.escape(s.header())}</h2><pre>{body}</pre></div>')
    parts.append("</body></html>\n")
    return "\n".join(parts)


def parse_rows(spec: str) -> range | list[int]:
    """Which rows to show: `N` (the first N rows), `A:B` (B excluded), `A:`, `:B`, or a comma list of row numbers
    and ranges (`1,4,7`, `0:3,9`)."""
    parts = [p.strip() for p in spec.split(",")]
    if not spec.strip() or "" in parts:
        raise ValueError(f"invalid rows {spec!r}: expected N, A:B, A:, :B or a comma list like 1,4,7")

    def number(text: str, default: int) -> int:
        if text == "":
            return default
        if not text.isdigit():
            raise ValueError(f"invalid rows {spec!r}: {text!r} is not a row number")
        return int(text)

    if len(parts) == 1 and ":" not in parts[0]:
        return range(number(parts[0], 0))
    ranges = []
    for part in parts:
        if ":" in part:
            low, _, high = part.partition(":")
            ranges.append(range(number(low.strip(), 0), number(high.strip(), sys.maxsize)))
        else:
            n = number(part, 0)
            ranges.append(range(n, n + 1))
    if len(ranges) == 1:
        return ranges[0]
    if any(r.stop == sys.maxsize for r in ranges):
        raise ValueError(f"invalid rows {spec!r}: an open range A: cannot be part of a list")
    return sorted({n for r in ranges for n in r})


def _selected(rows: Iterable[Any], indices: range | Sequence[int] | None) -> Iterator[tuple[int, Any]]:
    """The wanted rows in file order; stops reading past the last wanted one (rows may be a stream)."""
    if indices is None:
        yield from enumerate(rows)
        return
    wanted = indices if isinstance(indices, range) else set(indices)
    if not wanted:
        return
    last = wanted[-1] if isinstance(wanted, range) else max(wanted)  # max() would walk an open range
    for n, row in enumerate(rows):
        if n in wanted:
            yield n, row
        if n >= last:
            return


def _use_color(out: TextIO) -> bool:
    """Color only for a terminal, and never when NO_COLOR is set (https://no-color.org) or TERM is dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return out.isatty()


def encode_section(masker: Any, row_number: int, row: Any, **options: Any) -> Section:
    """Encodes one row into a `Section`; an encoding error becomes the section's error instead of stopping.

    The row is read as `encode_batch` reads rows (any format; `options` are its options): a mapping, a one-row
    table, one line of JSON Lines, or a list of messages.
    """
    if isinstance(row, Mapping):
        data = [row]
    elif isinstance(row, JsonLines) or hasattr(row, "__arrow_c_stream__") or hasattr(row, "__arrow_c_array__"):
        data = row
    else:
        data = [{"messages": row}]
    try:
        batch = masker.encode_batch(data, on_error="null", **options)
    except (SftmaskError, TypeError, ValueError) as exc:  # TypeError/ValueError: a row of the wrong shape
        return Section(row_number, error=f"{type(exc).__name__}: {exc}")
    errors = BatchReport.of(batch).errors
    if errors:
        return Section(row_number, error=f"{errors[0].type}: {errors[0].message}")
    ids, labels = (batch[name][0].values.to_numpy() for name in ("input_ids", "labels"))
    return Section(row_number, collapse_runs(token_pieces(masker, ids, labels)))


#: Runs of one special token at least this long are shown as the token and its count (an image's hundreds of pads).
_RUN = 4


def collapse_runs(pieces: list[Piece]) -> list[Piece]:
    """`pieces` with each run of one special token repeated (`<|image_pad|>` x 391) shown once, with its count."""
    out: list[Piece] = []
    for _, group in itertools.groupby(pieces, key=lambda p: (p.ids, p.trained) if p.special else id(p)):
        run = list(group)
        if len(run) < _RUN:
            out.extend(run)
            continue
        ids = tuple(i for p in run for i in p.ids)
        labels = tuple(label for p in run for label in p.labels)
        out.append(Piece(f"{run[0].text}×{len(run)}", ids, labels, run[0].trained, special=True))
    return out


def show(
    masker: Any,
    rows: Iterable[Any],
    *,
    indices: range | Sequence[int] | None = None,
    html: str | os.PathLike | None = None,
    color: bool | None = None,
    out: TextIO | None = None,
    title: str = "sftmask show",
    **options: Any,
) -> int:
    """Prints the selected rows (all when `indices` is None) and writes them as an HTML page to `html` if given
    (titled `title`). `options` are those of `encode_batch` (how rows are read, template variables).

    `color=None` decides from `out` (a terminal, and no NO_COLOR). Returns the number of rows shown, errors
    included.
    """
    out = sys.stdout if out is None else out
    color = _use_color(out) if color is None else color
    sections: list[Section] = []  # kept only for the page; the terminal output streams
    shown = 0
    print(legend(color=color), file=out)
    for row_number, row in _selected(rows, indices):
        section = encode_section(masker, row_number, row, **options)
        print(file=out)
        print(format_section(section, color=color), file=out)
        shown += 1
        if html is not None:
            sections.append(section)
    if html is not None:
        Path(html).write_text(html_page(sections, title=title), encoding="utf-8")
    return shown
