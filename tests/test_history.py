"""`history`: multi-turn reasoning rows, trained as rendered or one row per turn in its own last-turn render.

The embedded tests use a small template that drops the reasoning of turns before the last user message, as Qwen3's
does; the differential ones compare per-turn rows with transformers prefix by prefix on the shared corpus's reasoning
rows (`scripts/history_sweep.py`) for Qwen3, gpt-oss, DeepSeek-R1-distill and Nemotron 3 nano.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sftmask
from conftest import REPORT, ROOT, shared_path, trained_texts
from sftmask.prepare import prepare

DEMO_DIR = ROOT / "python" / "sftmask" / "demo"
IGNORE = -100

# Qwen3's rule, in small: an assistant turn after the last user message shows its reasoning, an earlier one does not.
REWRITING = (
    "{%- set ns = namespace(last_query=-1) %}"
    "{%- for m in messages %}{%- if m.role == 'user' %}{%- set ns.last_query = loop.index0 %}{%- endif %}{%- endfor %}"
    "{%- for m in messages %}{{ '<|im_start|>' + m.role + '\\n' }}"
    "{%- if m.role == 'assistant' and m.reasoning_content and loop.index0 > ns.last_query %}"
    "{{ '<think>' + m.reasoning_content + '</think>' }}{%- endif %}"
    "{{ m.content + '<|im_end|>\\n' }}{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}"
)
REASONING = [
    {"role": "user", "content": "What is two plus two?"},
    {"role": "assistant", "content": "It is four.", "reasoning_content": "Two and two make four."},
    {"role": "user", "content": "And three plus three?"},
    {"role": "assistant", "content": "It is six.", "reasoning_content": "Three and three make six."},
]
PLAIN = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]


@pytest.fixture(scope="module")
def masker() -> sftmask.Masker:
    return sftmask.Masker.from_pretrained(DEMO_DIR, chat_template=REWRITING)


def rows_of(batch) -> list[tuple[int | None, int | None, list[int], list[int]]]:
    sources = batch.schema.names
    rows = batch.column("source_row").to_pylist() if "source_row" in sources else [None] * batch.num_rows
    messages = batch.column("source_message").to_pylist() if "source_message" in sources else [None] * batch.num_rows
    return list(zip(rows, messages, batch.column("input_ids").to_pylist(), batch.column("labels").to_pylist()))


def trained(masker, ids, labels) -> str:
    return masker.decode([i for i, label in zip(ids, labels) if label != IGNORE])


def with_only(messages: list[dict], k: int) -> list[dict]:
    """The messages with a `train` field that selects message k alone."""
    return [{**m, "train": i == k} for i, m in enumerate(messages)]


def test_as_rendered_trains_the_render_and_counts_what_it_leaves_out(masker):
    batch = masker.encode_batch([{"messages": REASONING}, {"messages": PLAIN}])
    assert batch.schema.names == ["input_ids", "labels", "num_tokens", "num_trained_tokens"]  # unchanged
    (_, _, ids, labels), _ = rows_of(batch)
    assert trained(masker, ids, labels) == "It is four.<|im_end|>\n<think>Three and three make six.</think>It is six.<|im_end|>\n"
    report = sftmask.BatchReport.of(batch)
    assert (report.rows_in, report.rows_out, report.rows_expanded) == (2, 2, 0)
    assert report.tokens_out == report.tokens_as_rendered == sum(batch["num_tokens"].to_pylist())
    # Message 1 loses its reasoning: the tokens of '<think>Two and two make four.</think>' in its own render.
    own = masker.encode(with_only(REASONING[:2], 1))
    rendered = masker.encode(with_only(REASONING, 1))
    lost = int((own["labels"] != IGNORE).sum() - (rendered["labels"] != IGNORE).sum())
    assert lost > 0
    assert (report.left_out_messages, report.left_out_tokens) == (1, lost)


def test_per_turn_gives_each_trained_turn_its_own_last_turn_render(masker):
    batch = masker.encode_batch([{"messages": PLAIN}, {"messages": REASONING}], history="per_turn")
    rows = rows_of(batch)
    assert [(r, m) for r, m, _, _ in rows] == [(0, 1), (1, 1), (1, 3)]
    for row, k, ids, labels in rows:
        messages = [PLAIN, REASONING][row][: k + 1]
        # The ids of the prefix as the template renders it, only its last turn trained.
        assert ids == masker.encode(with_only(messages, k))["input_ids"].tolist()
        assert labels == masker.encode(with_only(messages, k))["labels"].tolist()
    assert trained(masker, *rows[1][2:]) == "<think>Two and two make four.</think>It is four.<|im_end|>\n"
    report = sftmask.BatchReport.of(batch)
    assert (report.rows_in, report.rows_out, report.rows_expanded) == (2, 3, 2)
    assert report.tokens_out == sum(batch["num_tokens"].to_pylist())
    as_rendered = masker.encode_batch([{"messages": PLAIN}, {"messages": REASONING}])
    assert report.tokens_as_rendered == sum(as_rendered["num_tokens"].to_pylist()) < report.tokens_out
    assert (report.left_out_messages, report.left_out_tokens) == (0, 0)


def test_auto_expands_exactly_the_rows_that_lose_trained_text(masker):
    rows = [{"messages": PLAIN}, {"messages": REASONING}, {"messages": REASONING[:2]}, {"messages": REASONING}]
    auto = masker.encode_batch(rows, history="auto")
    as_rendered = masker.encode_batch(rows)
    per_turn = rows_of(masker.encode_batch(rows, history="per_turn"))
    expected = []
    for i, (_, _, ids, labels) in enumerate(rows_of(as_rendered)):
        if i in (1, 3):  # reasoning on a turn before the last user message
            expected += [(i, m, ids_k, labels_k) for r, m, ids_k, labels_k in per_turn if r == i]
        else:
            expected.append((i, None, ids, labels))
    assert rows_of(auto) == expected
    assert sftmask.BatchReport.of(auto).rows_expanded == 2


def test_the_source_columns_survive_packing(masker):
    batch = masker.encode_batch([{"messages": REASONING}, {"messages": PLAIN}], history="per_turn")
    packed = sftmask.pack(batch, 256)
    by_source = {(r, m): ids for r, m, ids, _ in rows_of(batch)}
    seen = []
    for pack in packed.to_pylist():
        start = 0
        for length, row, message in zip(pack["seq_lengths"], pack["source_row"], pack["source_message"]):
            assert pack["input_ids"][start : start + length] == by_source[(row, message)]
            seen.append((row, message))
            start += length
    assert sorted(seen) == sorted(by_source)


def test_prepare_and_datasets_map_keep_the_rows_and_their_sources(masker, tmp_path):
    source = tmp_path / "rows.jsonl"
    rows = [{"messages": PLAIN}, {"messages": REASONING}, {"messages": [{"role": "user", "content": "x"}]}]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    summary = prepare(masker, [source, source], tmp_path / "out.parquet", history="per_turn", progress=False)
    table = pq.read_table(tmp_path / "out.parquet")
    direct = masker.encode_batch(rows[:2], history="per_turn")
    # The same rows twice; the source row counts every row read (the untrainable third one of each file too).
    assert table["source_row"].to_pylist() == [0, 1, 1, 3, 4, 4]
    assert table["source_message"].to_pylist() == direct["source_message"].to_pylist() * 2
    assert table["labels"].to_pylist() == direct["labels"].to_pylist() * 2
    assert (summary.rows_in, summary.rows_out, summary.rows_expanded, summary.errors) == (6, 6, 4, 2)
    assert summary.tokens_as_rendered < summary.tokens == summary.tokens_encoded
    assert "per-turn rows:  4 rows in written as one row per trained turn" in summary.format()
    report = sftmask.BatchReport.of(table)
    assert (report.rows_out, report.tokens_out, report.history) == (6, summary.tokens, "per_turn")

    datasets = pytest.importorskip("datasets")
    dataset = datasets.Dataset.from_list(rows[:2])
    mapped = dataset.with_format("arrow").map(
        masker, batched=True, remove_columns=dataset.column_names, fn_kwargs={"history": "per_turn"}
    ).with_format(None)
    assert mapped["labels"] == direct["labels"].to_pylist()
    assert mapped["source_row"] == [0, 1, 1]


def test_prepare_summary_and_check_name_the_left_out_reasoning(masker, tmp_path):
    source = tmp_path / "rows.jsonl"
    source.write_text("".join(json.dumps({"messages": m}) + "\n" for m in (PLAIN, REASONING)), encoding="utf-8")
    summary = prepare(masker, [source], tmp_path / "out.parquet", progress=False)
    assert (summary.left_out_messages, summary.rows_expanded) == (1, 0)
    assert summary.left_out_tokens > 0
    assert "left out:       1 trained messages whose reasoning the template drops" in summary.format()
    report = masker.check(source, progress=False)
    finding = report.finding("history_leaves_out_text")
    assert (finding.count, finding.tokens, finding.severity) == (1, summary.left_out_tokens, "problem")
    assert finding.examples[0].endswith("rows.jsonl: row 1")
    assert not report.ok
    assert masker.check(source, progress=False, history="auto").ok


def test_encode_gives_the_row_as_rendered_and_refuses_a_per_turn_call(masker):
    assert masker.encode(REASONING)["labels"].tolist() == rows_of(masker.encode_batch([{"messages": REASONING}]))[0][3]
    with pytest.raises(sftmask.InputError, match="use encode_batch"):
        masker.encode(REASONING, history="per_turn")
    with pytest.raises(sftmask.InputError, match="history"):
        masker.encode_batch([{"messages": REASONING}], history="each_turn")


def test_a_failing_turn_names_its_message_and_on_error_applies_to_the_input_row(masker):
    rows = [{"messages": REASONING}, {"messages": [{"role": "user", "content": "x"}]}, {"messages": PLAIN}]
    batch = masker.encode_batch(rows, history="per_turn", on_error="null")
    assert batch["source_row"].to_pylist() == [0, 0, 1, 2]
    assert batch["labels"].is_null().to_pylist() == [False, False, True, False]
    with pytest.raises(sftmask.UntrainableError, match="row 1"):
        masker.encode_batch(rows, history="per_turn")


# Differential: per-turn rows against transformers, prefix by prefix (scripts/history_sweep.py).


def _sweep():
    pytest.importorskip("transformers")
    sys.path.insert(0, str(ROOT / "scripts"))
    import family_sweep
    import history_sweep

    if family_sweep.trl_templates_dir() is None:
        pytest.skip("trl (its chat_templates) is not installed")
    shared_path("tokenizers", "qwen3")
    return history_sweep


@pytest.fixture(scope="module")
def reasoning_rows():
    hs = _sweep()
    from conftest import load_corpus

    corpus = load_corpus()
    return {inline: hs.reasoning_rows(corpus, inline) for inline in (False, True)}


@pytest.mark.slow
@pytest.mark.parametrize("inline", [False, True], ids=["reasoning_content", "think_in_content"])
@pytest.mark.parametrize("family", ["qwen3", "gptoss", "deepseek_r1_distill", "nemotron_3_nano"])
def test_per_turn_rows_equal_transformers_prefix_by_prefix(reasoning_rows, family, inline):
    hs = _sweep()
    rows = reasoning_rows[inline]
    result = hs.sweep(family, rows, hs.templates(), shared_path("tokenizers", "qwen3"))
    REPORT.append(
        f"history='per_turn' vs transformers per prefix, {family}, {'think in content' if inline else 'reasoning_content'}:"
        f" {result['turns']} turns, {result['exact']} exact, {result['rule']} equal up to the header rule, "
        f"{result['render_differs']} where the reference renders the turn differently"
    )
    assert result["ids_differ"] == 0, result["first"]
    assert result["labels_differ"] == 0, result["first"]
    assert result["exact"] + result["rule"] + result["render_differs"] == result["turns"] > 100
    # DeepSeek-R1-distill's own template splits off everything before a '</think>' in any turn's content, the last
    # included; its variant keeps it. So those turns render differently, and only there.
    split = sum(m["role"] == "assistant" and "</think>" in m.get("content", "") for r in rows for m in r["messages"])
    assert result["render_differs"] <= (split if family == "deepseek_r1_distill" else 0), result.get("first_render")


@pytest.mark.parametrize("inline", [False, True], ids=["reasoning_content", "think_in_content"])
def test_qwen3_left_out_counts_equal_a_direct_computation(reasoning_rows, inline):
    """The reports' counts, against the definition computed with the public API: the assistant messages, but the
    last, whose reasoning shows in the turn their own last-turn render trains and not in their turn of the full
    render, and the tokens the former trains beyond the latter."""
    hs = _sweep()
    masker = sftmask.Masker.from_pretrained(shared_path("tokenizers", "qwen3"), chat_template=hs.templates()["qwen3"])
    rows = reasoning_rows[inline][:20]
    messages, tokens, losing = 0, 0, set()

    def turn(m) -> tuple[int, str]:
        """The trained tokens of the one selected turn: how many, and their text."""
        try:
            encoded = masker.encode(m, tools=row.get("tools"), mode="turns")
        except sftmask.UntrainableError:
            return 0, ""
        return int((encoded["labels"] != IGNORE).sum()), "".join(trained_texts(masker, encoded))

    for r, row in enumerate(rows):
        ms = row["messages"]
        for k, message in enumerate(ms[:-1]):
            content = message.get("content") or ""
            inlined = content.split("</think>")[0].split("<think>")[-1] if "</think>" in content else ""
            reasoning = (message.get("reasoning_content") or inlined).strip()
            if message["role"] == "assistant" and reasoning:
                (own, own_text), (rendered, rendered_text) = turn(with_only(ms[: k + 1], k)), turn(with_only(ms, k))
                if reasoning in own_text and reasoning not in rendered_text:
                    messages, tokens = messages + 1, tokens + own - rendered
                    losing.add(r)
    report = sftmask.BatchReport.of(masker.encode_batch(rows))
    assert (report.left_out_messages, report.left_out_tokens) == (messages, tokens)
    assert messages > 10
    auto = masker.encode_batch(rows, history="auto")
    expanded = {r for r, m in zip(auto["source_row"].to_pylist(), auto["source_message"].to_pylist()) if m is not None}
    assert expanded == losing
    REPORT.append(f"Qwen3, {len(rows)} multi-turn reasoning rows ({'think in content' if inline else 'reasoning_content'}) as rendered: {messages} trained messages lose "
                  f"{tokens} tokens of reasoning; history='auto' expands exactly the {len(losing)} rows that lose any")


def test_per_turn_on_a_template_that_keeps_history_renders_each_prefix_as_transformers(corpus):
    """Llama 3.1's template does not rewrite history: each per-turn row is transformers' render of its prefix, and
    auto expands nothing."""
    transformers = pytest.importorskip("transformers")
    path = shared_path("tokenizers", "llama3_1")
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    masker = sftmask.Masker.from_pretrained(path)
    rows = [row for _, _, row in corpus if sum(m["role"] == "assistant" for m in row["messages"]) > 1][:30]
    batch = masker.encode_batch(rows, history="per_turn")
    for r, k, ids, _ in rows_of(batch):
        prefix = rows[r]["messages"][: k + 1]
        expected = tokenizer.apply_chat_template(prefix, tools=rows[r].get("tools"), tokenize=True, return_dict=True)
        assert ids == list(expected["input_ids"]), (r, k)
    assert len({r for r, *_ in rows_of(batch)}) == len(rows)
    assert batch.num_rows == sum(m["role"] == "assistant" for row in rows for m in row["messages"])
    auto = masker.encode_batch(rows, history="auto")
    assert sftmask.BatchReport.of(auto).rows_expanded == 0
    assert auto["labels"].to_pylist() == masker.encode_batch(rows)["labels"].to_pylist()


def test_a_policy_and_the_command_line_take_history(tmp_path):
    policy = sftmask.Policy(history="auto")
    assert policy.as_native()["history"] == "auto"
    with pytest.raises(sftmask.InputError, match="option history"):
        sftmask.Policy(history="sometimes")
    from sftmask.cli import main

    source = tmp_path / "rows.jsonl"
    source.write_text(json.dumps({"messages": REASONING}) + "\n", encoding="utf-8")
    template = tmp_path / "t.jinja"
    template.write_text(REWRITING, encoding="utf-8")
    out = tmp_path / "out.parquet"
    args = ["prepare", str(source), "-o", str(out), "--tokenizer", str(DEMO_DIR), "--chat-template", str(template)]
    assert main([*args, "--history", "per_turn"]) == 0
    assert pq.read_table(out)["source_message"].to_pylist() == [1, 3]
    assert np.array_equal(pa.array([1]).to_numpy(), [1])


def test_qwen3_per_turn_rows_are_the_same_through_prepare_and_datasets_map(reasoning_rows, tmp_path):
    """The rows checked against transformers above (`encode_batch`), written by `prepare` and by `datasets.map`."""
    hs = _sweep()
    datasets = pytest.importorskip("datasets")
    masker = sftmask.Masker.from_pretrained(shared_path("tokenizers", "qwen3"), chat_template=hs.templates()["qwen3"])
    rows = reasoning_rows[False][:12]
    direct = masker.encode_batch(rows, history="per_turn")
    source = tmp_path / "rows.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    prepare(masker, [source], tmp_path / "out.parquet", history="per_turn", progress=False)
    written = pq.read_table(tmp_path / "out.parquet")
    # As JSON text: the tools' argument schemas differ from row to row, which `datasets` cannot type.
    as_text = [{"messages": json.dumps(r["messages"]), "tools": json.dumps(r.get("tools"))} for r in rows]
    mapped = datasets.Dataset.from_list(as_text).map(
        masker, batched=True, batch_size=5, remove_columns=["messages", "tools"], fn_kwargs={"history": "per_turn"}
    )
    for name in ("input_ids", "labels", "source_message"):
        assert written[name].to_pylist() == direct[name].to_pylist() == mapped[name]
    # datasets.map numbers rows within each batch it passes; prepare across the whole input.
    assert written["source_row"].to_pylist() == direct["source_row"].to_pylist()
