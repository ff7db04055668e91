"""Acceptance against transformers on held-out conversations of the shared corpus: `sftmask prepare FILE` with no
format flag equals `apply_chat_template(return_assistant_tokens_mask=True)` on the conversations' messages form, for
files written by `datasets` 5 (Parquet and a saved directory, with tool calls and tool schemas), the `datasets.map`
recipe on them, ShareGPT, OpenAI weights and Alpaca. Skips without ../shared."""

from __future__ import annotations

import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sftmask
from conftest import REPORT, ROOT, load_corpus, shared_path, with_generation_tags_qwen3
from sftmask.cli import main

transformers = pytest.importorskip("transformers")
datasets = pytest.importorskip("datasets")

TEMPLATE = "qwen3_training.jinja"
SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt"}


@pytest.fixture(scope="module")
def setup():
    tokenizer_dir = shared_path("tokenizers", "qwen3")
    template = shared_path("templates", TEMPLATE)
    reference = transformers.AutoTokenizer.from_pretrained(str(tokenizer_dir))
    corpus = load_corpus()
    by_file: dict[str, list[dict]] = {}
    for file, _, row in corpus:
        by_file.setdefault(file, []).append({k: v for k, v in row.items() if k != "source"})
    # Held out: the last rows of each file (the first ones are what the other tests look at most).
    tools = by_file["glaive_tools_en.jsonl"][-60:] + by_file["reason_tool_use.jsonl"][-20:]
    plain = [r for name in ("vicuna_multiturn.jsonl", "alpaca_en.jsonl", "gsm8k.jsonl") for r in by_file[name][-30:]]
    args = ["--tokenizer", str(tokenizer_dir), "--chat-template", str(template)]
    masker = sftmask.Masker.from_pretrained(tokenizer_dir, chat_template=template)
    return reference, template.read_text(encoding="utf-8"), tools, plain, args, masker


def reference_rows(reference, template: str, rows: list[dict]) -> list[tuple[list[int], list[int]]]:
    out = []
    for row in rows:
        encoded = reference.apply_chat_template(
            row["messages"], tools=row.get("tools"), chat_template=template, return_dict=True,
            return_assistant_tokens_mask=True,
        )
        labels = [t if m else -100 for t, m in zip(encoded["input_ids"], encoded["assistant_masks"])]
        out.append((list(encoded["input_ids"]), labels))
    return out


def written(path) -> list[tuple[list[int], list[int]]]:
    table = pq.read_table(path)
    return list(zip(table["input_ids"].to_pylist(), table["labels"].to_pylist()))


def prepare(args, source, out) -> None:
    assert main(["prepare", str(source), "-o", str(out), *args]) == 0


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_datasets_files_with_tool_calls_equal_transformers(setup, tmp_path):
    reference, template, rows, _, args, masker = setup
    expected = reference_rows(reference, template, rows)
    dataset = datasets.load_dataset("json", data_files=str(write_jsonl(tmp_path / "tools.jsonl", rows)), split="train")
    dataset.to_parquet(str(tmp_path / "tools.parquet"))
    dataset.save_to_disk(str(tmp_path / "saved"))
    schema = pq.read_schema(tmp_path / "tools.parquet")
    json_columns = [f.name for f in schema if "arrow.json" in str(f.type) or "json" in str(f.type).lower()]
    REPORT.append(f"datasets {datasets.__version__} stores {json_columns} as arrow.json: {schema.field('messages').type}")
    for source in (tmp_path / "tools.parquet", tmp_path / "saved"):
        prepare(args, source, tmp_path / "out.parquet")
        assert written(tmp_path / "out.parquet") == expected, source
    # The datasets.map recipe on both.
    for loaded in (datasets.load_dataset("parquet", data_files=str(tmp_path / "tools.parquet"), split="train"),
                   datasets.load_from_disk(str(tmp_path / "saved"))):
        encoded = loaded.with_format("arrow").map(masker, batched=True, remove_columns=loaded.column_names)
        assert [(r["input_ids"], r["labels"]) for r in encoded.with_format(None)] == expected
    REPORT.append(f"datasets 5 files with tool calls (qwen3, {TEMPLATE}): {len(rows)}/{len(rows)} identical")


def test_sharegpt_and_conversations_equal_transformers(setup, tmp_path):
    reference, template, tools, plain, args, _ = setup
    sharegpt = [{"conversations": [{"from": SHAREGPT_ROLES[m["role"]], "value": m["content"]} for m in r["messages"]]}
                for r in plain]
    prepare(args, write_jsonl(tmp_path / "sharegpt.jsonl", sharegpt), tmp_path / "out.parquet")
    assert written(tmp_path / "out.parquet") == reference_rows(reference, template, plain)
    # OpenAI-style messages under `conversations`, with tool calls, as Parquet.
    table = pa.table({"conversations": [json.dumps(r["messages"]) for r in tools],
                      "tools": [json.dumps(r.get("tools")) if r.get("tools") else None for r in tools]})
    pq.write_table(table, tmp_path / "conversations.parquet")
    prepare(args, tmp_path / "conversations.parquet", tmp_path / "out.parquet")
    assert written(tmp_path / "out.parquet") == reference_rows(reference, template, tools)


def test_alpaca_equals_transformers(setup, tmp_path):
    reference, template, _, plain, args, _ = setup
    rows, alpaca = [], []
    for row in plain:
        messages = row["messages"]
        system = messages[0]["content"] if messages[0]["role"] == "system" else None
        turns = messages[1:] if system is not None else messages
        roles = [m["role"] for m in turns]
        if len(turns) % 2 or roles != ["user", "assistant"] * (len(turns) // 2):
            continue
        pairs = [[turns[i]["content"], turns[i + 1]["content"]] for i in range(0, len(turns), 2)]
        item = {"instruction": pairs[-1][0], "input": "", "output": pairs[-1][1], "history": pairs[:-1]}
        alpaca.append({**item, "system": system} if system else item)
        rows.append(row)
    assert len(rows) > 40
    prepare(args, write_jsonl(tmp_path / "alpaca.jsonl", alpaca), tmp_path / "out.parquet")
    assert written(tmp_path / "out.parquet") == reference_rows(reference, template, rows)


def test_openai_weights_leave_a_turn_untrained_and_the_rest_unchanged(setup, tmp_path):
    reference, template, tools, plain, args, _ = setup
    weighted, expected = [], []
    for row, (ids, labels) in zip(tools + plain, reference_rows(reference, template, tools + plain)):
        assistants = [i for i, m in enumerate(row["messages"]) if m["role"] == "assistant"]
        runs = trained_runs(labels)  # the trained runs of the reference: one per assistant message, in order
        if len(assistants) < 2 or len(runs) != len(assistants):
            continue
        messages = [dict(m) for m in row["messages"]]
        for n, index in enumerate(assistants):
            messages[index]["weight"] = 0 if n == 0 else 1
        weighted.append({**row, "messages": messages})
        first = runs[0]
        expected.append((ids, [-100 if first[0] <= k < first[1] else label for k, label in enumerate(labels)]))
    assert len(weighted) > 20
    prepare(args, write_jsonl(tmp_path / "weighted.jsonl", weighted), tmp_path / "out.parquet")
    assert written(tmp_path / "out.parquet") == expected
    REPORT.append(f"OpenAI weights (first assistant turn weight 0): {len(weighted)}/{len(weighted)} identical")


def test_openai_weights_on_qwen3_own_template_where_messages_share_text(setup, tmp_path):
    """The same weights through `prepare` on Qwen3's own template (located turns), on held-out rows and the same rows
    mutated so that messages share text (a user answers with the assistant's words, quotes or echoes it): labels equal
    transformers' assistant mask of the own template with generation tags added, first assistant turn untrained."""
    reference, _, tools, plain, _, _ = setup
    sys.path.insert(0, str(ROOT / "scripts"))
    import family_sweep as fs

    tagged_own = with_generation_tags_qwen3(reference.chat_template)
    items = [("held-out", i, row) for i, row in enumerate(tools + plain)]
    mutated = [item[2] for item in fs.mutate_rows(items, kinds=("short_reply", "echo", "quote", "common_reply"))]
    rows = tools + plain + mutated
    weighted, expected, from_mutated = [], [], 0
    for n, (row, (ids, labels)) in enumerate(zip(rows, reference_rows(reference, tagged_own, rows))):
        assistants = [i for i, m in enumerate(row["messages"]) if m["role"] == "assistant"]
        runs = trained_runs(labels)
        if len(assistants) < 2 or len(runs) != len(assistants):
            continue
        messages = [{**m, "weight": 1} if m["role"] == "assistant" else m for m in row["messages"]]
        messages[assistants[0]]["weight"] = 0
        weighted.append({**row, "messages": messages})
        from_mutated += n >= len(tools + plain)
        first = runs[0]
        expected.append((ids, [-100 if first[0] <= k < first[1] else label for k, label in enumerate(labels)]))
    assert len(weighted) > 40 and from_mutated > 20
    tokenizer_dir = shared_path("tokenizers", "qwen3")
    source = write_jsonl(tmp_path / "weighted.jsonl", weighted)
    assert main(["prepare", str(source), "-o", str(tmp_path / "out.parquet"), "--tokenizer", str(tokenizer_dir)]) == 0
    got = written(tmp_path / "out.parquet")
    assert len(got) == len(expected)
    differ = [i for i, (a, b) in enumerate(zip(got, expected)) if a != b]
    assert not differ, [weighted[i]["messages"] for i in differ[:3]]
    REPORT.append(
        f"OpenAI weights on Qwen3's own template: {len(weighted)}/{len(weighted)} identical ({from_mutated} of them "
        "mutated so that messages share text)"
    )


def trained_runs(labels: list[int]) -> list[tuple[int, int]]:
    """The (start, end) token ranges of consecutive trained labels."""
    runs, start = [], None
    for k, label in enumerate(labels + [-100]):
        if label != -100 and start is None:
            start = k
        elif label == -100 and start is not None:
            runs.append((start, k))
            start = None
    return runs


def test_a_file_with_no_conversation_fails(setup, tmp_path):
    *_, args, _ = setup
    rows = [{"text": "just text", "label": 1}] * 3
    assert main(["prepare", str(write_jsonl(tmp_path / "text.jsonl", rows)), "-o", str(tmp_path / "o.parquet"), *args]) == 1
