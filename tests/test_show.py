"""`sftmask.show`: token pieces, the terminal view, the HTML page, row selection."""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser
from typing import ClassVar

import numpy as np
import pytest

import sftmask
from conftest import load_corpus, shared_path, trained_texts
from sftmask.show import (
    Piece,
    Section,
    format_terminal,
    html_page,
    parse_rows,
    show,
    token_pieces,
)

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def demo():
    masker = sftmask.Masker.from_pretrained(sftmask.DEMO_DIR)
    with (sftmask.DEMO_DIR / "conversations.jsonl").open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return masker, rows


@pytest.fixture(scope="module")
def qwen3():
    return sftmask.Masker.from_pretrained(shared_path("tokenizers", "qwen3"))


def pieces_of(masker, row):
    encoded = masker.encode(row)
    return encoded, token_pieces(masker, encoded["input_ids"], encoded["labels"])


def check_pieces(masker, encoded, pieces):
    """The invariants of `token_pieces`: exact text cover, every token once, flags matching labels."""
    ids, labels = encoded["input_ids"].tolist(), encoded["labels"].tolist()
    assert "".join(p.text for p in pieces) == masker.decode(ids)
    assert [i for p in pieces for i in p.ids] == ids
    assert [label for p in pieces for label in p.labels] == labels
    special = set(masker.special_tokens.values())
    for p in pieces:
        assert p.trained == any(label != sftmask.IGNORE_INDEX for label in p.labels)
        if not p.mixed:  # outside the rare merge across the boundary, a piece's tokens are all alike
            assert all((label != sftmask.IGNORE_INDEX) == p.trained for label in p.labels)
        assert p.special == (len(p.ids) == 1 and p.ids[0] in special)
        if len(p.ids) > 1:  # merged only to keep a character whole
            assert not p.special and "\ufffd" in masker.decode(p.ids[:1])


def test_demo_pieces(demo):
    masker, rows = demo
    for row in rows:
        encoded, pieces = pieces_of(masker, row)
        check_pieces(masker, encoded, pieces)
        # The demo tokenizer splits no character: one piece per token, the special ones flagged.
        assert len(pieces) == len(encoded["input_ids"])
        assert {p.text for p in pieces if p.special} <= {"<|im_start|>", "<|im_end|>", "<|endoftext|>"}
        assert sum(p.special for p in pieces) == 2 * len(row["messages"])


@pytest.mark.slow
@pytest.mark.parametrize("tokenizer", ["qwen3", "llama3_1"])
def test_chinese_pieces_cover_the_text(tokenizer):
    masker = sftmask.Masker.from_pretrained(shared_path("tokenizers", tokenizer))
    rows = [row for name, _, row in load_corpus() if name == "alpaca_zh.jsonl"]
    assert rows
    merged = 0
    for row in rows:
        encoded, pieces = pieces_of(masker, row)
        check_pieces(masker, encoded, pieces)
        assert not any("\ufffd" in p.text for p in pieces)
        merged += sum(len(p.ids) > 1 for p in pieces)
    assert merged > 0  # the corpus does split characters into byte tokens, so the merging was exercised


@pytest.mark.slow
def test_qwen3_whole_corpus_covers_the_text(qwen3):
    for _, _, row in load_corpus()[::7]:
        try:
            encoded, pieces = pieces_of(qwen3, row)
        except sftmask.SftmaskError:
            continue
        check_pieces(qwen3, encoded, pieces)


def test_split_characters_and_real_replacement_characters(qwen3):
    text = "𝄞 龘 ﷽ a real \ufffd here"
    encoded, pieces = pieces_of(qwen3, {"prompt": "hi", "completion": text})
    check_pieces(qwen3, encoded, pieces)
    texts = [p.text for p in pieces]
    assert "𝄞" in texts and " 龘" in texts
    # A U+FFFD written in the text is a whole character: its token is not merged with the next.
    real = [p for p in pieces if "\ufffd" in p.text]
    assert len(real) == 1 and real[0].text.strip() == "\ufffd"


def test_character_straddling_the_trained_boundary_is_marked_trained(qwen3):
    encoded = qwen3.encode({"prompt": "hi", "completion": "龘"})
    ids = encoded["input_ids"].tolist()
    pieces = token_pieces(qwen3, ids, [sftmask.IGNORE_INDEX] * len(ids))
    split = next(n for n, p in enumerate(pieces) if len(p.ids) > 1)
    start = sum(len(p.ids) for p in pieces[:split])
    labels = [sftmask.IGNORE_INDEX] * len(ids)
    labels[start + 1] = ids[start + 1]  # only the second token of the split character is trained
    piece = token_pieces(qwen3, ids, labels)[split]
    assert piece.trained and piece.mixed and piece.text.endswith("龘")


def test_sentencepiece_leading_spaces_are_kept():
    # SentencePiece decoders drop the leading space of what they decode alone; the pieces must keep it.
    masker = sftmask.Masker.from_pretrained(shared_path("tokenizers", "llama2"))
    encoded, pieces = pieces_of(masker, {"prompt": "Hello  world 中文\n", "completion": " 好 ok 𝄞 done"})
    check_pieces(masker, encoded, pieces)
    texts = [p.text for p in pieces]
    assert " Hello" in texts and " world" in texts and " done" in texts
    # Byte fallback: the four byte tokens of one character form one piece.
    assert [len(p.ids) for p in pieces if p.text == "𝄞"] == [4]


def test_lengths_must_match(demo):
    masker, _ = demo
    with pytest.raises(ValueError):
        token_pieces(masker, [1, 2, 3], [1, 2])


def test_plain_view_brackets_exactly_the_trained_text(demo):
    masker, rows = demo
    for row in rows[:10]:
        encoded, pieces = pieces_of(masker, row)
        text = format_terminal(pieces, color=False)
        assert "\x1b" not in text
        runs = re.findall(r"\[\[(.*?)\]\]", text, re.DOTALL)
        expected = [t.replace("\n", "↵\n") for t in trained_texts(masker, encoded)]
        assert runs == expected
        replies = [m for m in row["messages"] if m["role"] == "assistant"]
        assert len(runs) == len(replies)
        for run, reply in zip(runs, replies):
            if reply.get("tool_calls"):  # rendered by the template, then the content
                assert all(call["function"]["name"] in run for call in reply["tool_calls"])
                continue
            # The assistant's content, then only its end of turn.
            content = reply["content"]
            assert run.startswith(content)
            assert run[len(content) :].replace("<|im_end|>", "").strip("↵\n") == ""
        # Outside the brackets: the rest of the conversation, user text included.
        outside = re.sub(r"\[\[.*?\]\]", "", text, flags=re.DOTALL)
        for m in row["messages"]:
            if m["role"] != "assistant":
                assert m["content"] in outside


def test_show_plain_headers(demo):
    masker, rows = demo
    out = io.StringIO()
    assert show(masker, rows, indices=parse_rows("0:3"), color=False, out=out) == 3
    text = out.getvalue()
    assert "\x1b" not in text
    assert text.startswith("legend:")
    headers = re.findall(r"^row (\d+): (\d+) tokens, (\d+) trained \((\d+\.\d)%\)$", text, re.MULTILINE)
    assert [int(h[0]) for h in headers] == [0, 1, 2]
    for (_, tokens, trained, share), row in zip(headers, rows):
        encoded = masker.encode(row)
        assert int(tokens) == len(encoded["input_ids"])
        assert int(trained) == int(np.count_nonzero(encoded["labels"] != sftmask.IGNORE_INDEX))
        assert share == f"{100 * int(trained) / int(tokens):.1f}"


def test_color_view(demo, monkeypatch):
    masker, rows = demo
    encoded, pieces = pieces_of(masker, rows[0])
    text = format_terminal(pieces, color=True)
    assert "\x1b[1;32m" in text and "\x1b[35m<|im_start|>" in text
    plain = ANSI.sub("", text)
    # Only the visible-whitespace marks are added to the text.
    assert plain.replace("↵", "").replace("·", " ") == masker.decode(encoded["input_ids"])
    # Styles never run over a line break.
    assert all(line.endswith("\x1b[0m") or not line for line in text.split("\n"))
    # Color is chosen automatically: not for a StringIO, nor with NO_COLOR.
    out = io.StringIO()
    show(masker, rows, indices=[0], out=out)
    assert "\x1b" not in out.getvalue()

    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    show(masker, rows, indices=[0], out=tty)
    assert "\x1b[" in tty.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    tty = Tty()
    show(masker, rows, indices=[0], out=tty)
    assert "\x1b" not in tty.getvalue()


class PageParser(HTMLParser):
    """Collects the token spans (class, title, text) and checks that tags nest properly."""

    VOID: ClassVar[set[str]] = {"meta", "br"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.tokens, self.scripts, self.errors = [], [], 0, []
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.scripts += tag == "script"
        if tag in self.VOID:
            return
        self.stack.append(tag)
        if tag == "span" and "tok" in (attrs.get("class") or "").split():
            self.tokens.append([attrs["class"].split(), attrs.get("title"), ""])

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data):
        self.texts.append(data)
        if self.stack and self.stack[-1] == "span" and self.tokens and len(self.stack) >= 2 and self.stack[-2] == "pre":
            self.tokens[-1][2] += data


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    assert parser.stack == []
    return parser


def test_html_page(demo, tmp_path):
    masker, rows = demo
    hostile = {
        "messages": [
            {"role": "user", "content": "Say <script>alert(1)</script> & \"quote\""},
            {"role": "assistant", "content": "<script>alert(1)</script> done"},
        ]
    }
    rows = [rows[0], hostile, {"messages": [{"role": "user", "content": "nothing to train"}]}]
    path = tmp_path / "show.html"
    assert show(masker, rows, html=path, color=False, out=io.StringIO()) == 3
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    # The demo tokenizer splits "<script>" into several spans: each "<" is escaped, and no tag is left.
    assert "<script" not in page and "</script" not in page and "&lt;" in page
    assert not re.search(r"""(src|href)\s*=|@import|url\(""", page)  # self-contained
    parser = parse(page)
    assert parser.scripts == 0

    pieces = [pieces_of(masker, row)[1] for row in rows[:2]]
    assert len(parser.tokens) == sum(len(p) for p in pieces)
    for (classes, title, text), piece in zip(parser.tokens, [p for ps in pieces for p in ps]):
        assert ("trained" in classes) == piece.trained and ("masked" in classes) != piece.trained
        assert ("special" in classes) == piece.special
        assert text == piece.text.replace("\n", "↵\n")
        assert title == f"id {piece.ids[0]}, label {piece.labels[0]}"
    # Neighbouring tokens alternate shades.
    alternating = [("alt" in classes) for classes, _, _ in parser.tokens[: len(pieces[0])]]
    assert alternating == [n % 2 == 1 for n in range(len(pieces[0]))]

    body = "".join(parser.texts)
    # The hostile text arrives as text, whole, in the token spans.
    assert "".join(text for _, _, text in parser.tokens).count("<script>alert(1)</script>") == 2
    first = Section(0, pieces[0])
    assert first.header() in body and first.header().startswith(f"row 0: {first.tokens} tokens, ")
    assert "row 1: " in body
    assert "row 2: error" in body and "UntrainableError" in body
    with pytest.raises(sftmask.UntrainableError) as exc:
        masker.encode(rows[2])
    assert str(exc.value) in body


def test_html_merged_piece_tooltip():
    piece = Piece(text="龘", ids=(1, 2), labels=(-100, 2), trained=True, special=False)
    page = html_page([Section(5, [piece]), Section(6, error="InputError: <bad> row")], title="t<i>")
    parser = parse(page)
    assert parser.tokens == [[["tok", "trained"], "ids 1 2, labels -100 2", "龘"]]
    assert "<title>t&lt;i&gt;</title>" in page and "InputError: &lt;bad&gt; row" in page


def test_show_error_rows_in_place(demo):
    masker, rows = demo
    out = io.StringIO()
    bad = [rows[0], {"messages": [{"role": "user", "content": "x"}]}, {"messages": "oops"}, rows[1]]
    assert show(masker, bad, color=False, out=out) == 4
    text = out.getvalue()
    assert re.search(r"^row 1: error\nUntrainableError: ", text, re.MULTILINE)
    assert re.search(r"^row 2: error\n\w+Error: ", text, re.MULTILINE)
    assert re.search(r"^row 3: \d+ tokens", text, re.MULTILINE)


def test_show_selects_rows_from_a_stream(demo):
    masker, rows = demo
    consumed = []

    def stream():
        for n, row in enumerate(rows):
            consumed.append(n)
            yield row

    out = io.StringIO()
    assert show(masker, stream(), indices=parse_rows("4,1"), color=False, out=out) == 2
    assert re.findall(r"^row (\d+):", out.getvalue(), re.MULTILINE) == ["1", "4"]
    assert consumed == [0, 1, 2, 3, 4]  # stops reading after the last wanted row
    assert show(masker, rows, indices=parse_rows("45:"), color=False, out=io.StringIO()) == len(rows) - 45
    assert show(masker, rows, indices=parse_rows("100:101"), color=False, out=io.StringIO()) == 0


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("3", range(3)),  # the first 3 rows
        ("3:4", range(3, 4)),
        ("0:5", range(5)),
        (" 2 : 4 ", range(2, 4)),
        (":2", range(2)),
        ("1,4,7", [1, 4, 7]),
        ("7,1,1", [1, 7]),
        ("0:3,9", [0, 1, 2, 9]),
    ],
)
def test_parse_rows(spec, expected):
    assert parse_rows(spec) == expected


def test_parse_rows_open_end():
    rows = parse_rows("5:")
    assert 5 in rows and 10**9 in rows and 4 not in rows


@pytest.mark.parametrize("spec", ["", "a", "-1", "1,,2", "1:x", "3:,5", "1.5", ","])
def test_parse_rows_rejects(spec):
    with pytest.raises(ValueError):
        parse_rows(spec)


def test_runs_of_one_special_token_show_once_with_their_count():
    from sftmask.show import Piece, collapse_runs

    pad = Piece("<pad>", (9,), (-100,), False, special=True)
    text = Piece("hi", (5,), (5,), True, special=False)
    pieces = [text, *[pad] * 5, text, *[pad] * 3]
    shown = collapse_runs(pieces)
    assert [p.text for p in shown] == ["hi", "<pad>×5", "hi", "<pad>", "<pad>", "<pad>"]
    assert shown[1].ids == (9,) * 5 and shown[1].labels == (-100,) * 5
    assert sum(len(p.ids) for p in shown) == sum(len(p.ids) for p in pieces)
