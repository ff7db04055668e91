"""Dataset formats recognised by their columns (messages, ShareGPT, Alpaca, prompt-completion), role names, OpenAI's
per-message weights, per-row template variables, and Arrow as `datasets` writes it (arrow.json columns, structs
whose missing fields are null). On the demo tokenizer: they run anywhere."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sftmask
from conftest import trained_texts as trained
from sftmask import DEMO_DIR

CHAT = [
    {"role": "system", "content": "Be kind."},
    {"role": "user", "content": "Hi there"},
    {"role": "assistant", "content": "Hello friend"},
    {"role": "user", "content": "Tell a joke"},
    {"role": "assistant", "content": "No jokes today"},
]
SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt", "tool": "observation"}


@pytest.fixture(scope="module")
def masker() -> sftmask.Masker:
    return sftmask.Masker.from_pretrained(DEMO_DIR)


def sharegpt(messages: list[dict]) -> dict:
    return {"conversations": [{"from": SHAREGPT_ROLES[m["role"]], "value": m["content"]} for m in messages]}


def alpaca(messages: list[dict]) -> dict:
    """A conversation of [system,] (user, assistant) pairs as an Alpaca row: the last pair is the instruction and
    output, the earlier ones the history."""
    system = messages[0]["content"] if messages[0]["role"] == "system" else None
    turns = messages[1:] if system is not None else messages
    pairs = [(turns[i]["content"], turns[i + 1]["content"]) for i in range(0, len(turns), 2)]
    row = {"instruction": pairs[-1][0], "input": "", "output": pairs[-1][1], "history": [list(p) for p in pairs[:-1]]}
    return {**row, "system": system} if system is not None else row


def rows_of(batch) -> list[tuple[list[int], list[int]]]:
    return list(zip(batch["input_ids"].to_pylist(), batch["labels"].to_pylist()))


def expected(masker, rows) -> list[tuple[list[int], list[int]]]:
    return [(e["input_ids"].tolist(), e["labels"].tolist()) for e in map(masker.encode, rows)]


def input_forms(rows: list[dict]) -> dict:
    names = list(dict.fromkeys(name for row in rows for name in row))
    table = pa.table({name: [r.get(name) for r in rows] for name in names})  # from_pylist takes the first row's keys
    jsonl = sftmask.sources.JsonLines("".join(json.dumps(r) + "\n" for r in rows).encode(), len(rows))
    return {
        "list of dicts": rows,
        "dict of columns": {name: [r.get(name) for r in rows] for name in names},
        "pyarrow Table": table,
        "JSON Lines": jsonl,
    }


def test_every_format_encodes_as_its_messages_form(masker):
    chats = [CHAT, CHAT[1:3], CHAT[:3]]
    expect = expected(masker, chats)
    formats = {
        "sharegpt": [sharegpt(c) for c in chats],
        "openai under conversations": [{"conversations": c} for c in chats],
        "alpaca": [alpaca(c) for c in chats],
        "prompt-completion": None,
    }
    for name, rows in formats.items():
        if rows is None:
            continue
        for form, data in input_forms(rows).items():
            batch = masker.encode_batch(data)
            assert rows_of(batch) == expect, (name, form)
        for row, want in zip(rows, expect):
            got = masker.encode(row)
            assert (got["input_ids"].tolist(), got["labels"].tolist()) == want, name
    report = sftmask.BatchReport.of(masker.encode_batch([alpaca(c) for c in chats]))
    assert report.formats == {"alpaca": 3}


def test_alpaca_joins_instruction_and_input_with_a_newline(masker):
    row = {"instruction": "Translate to French", "input": "cat", "output": "chat"}
    messages = [{"role": "user", "content": "Translate to French\ncat"}, {"role": "assistant", "content": "chat"}]
    assert masker.render(row) == masker.render(messages)
    without_input = {"instruction": "Say hi", "input": None, "output": "hi"}
    assert masker.render(without_input) == masker.render([{"role": "user", "content": "Say hi"}, {"role": "assistant", "content": "hi"}])


def test_sharegpt_system_column_and_role_names(masker):
    row = {"system": "Be kind.", "conversations": [{"from": "human", "value": "Hi there"}, {"from": "bot", "value": "Hello friend"}]}
    assert masker.render(row) == masker.render(CHAT[:3])
    # A message written with `role` keeps the roles templates know; `human`/`model` are mapped anywhere.
    row = {"messages": [{"role": "human", "content": "Hi there"}, {"role": "model", "content": "Hello friend"}]}
    assert masker.render(row) == masker.render(CHAT[1:3])
    custom = [{"conversations": [{"from": "asker", "value": "Hi there"}, {"from": "gpt", "value": "Hello friend"}]}]
    assert "<|im_start|>asker" in masker.decode(masker.encode_batch(custom)["input_ids"][0].values.to_numpy())
    assert rows_of(masker.encode_batch(custom, role_map={"asker": "user"})) == expected(masker, [CHAT[1:3]])


def test_openai_weight_zero_leaves_a_turn_untrained(masker):
    weighted = [dict(m) for m in CHAT]
    weighted[2]["weight"] = 0
    weighted[4]["weight"] = 1
    assert trained(masker, masker.encode(weighted)) == trained(masker, masker.encode(CHAT))[1:]
    assert trained(masker, masker.encode(weighted, train_field="train")) == trained(masker, masker.encode(CHAT))
    # `train` comes first when both are given.
    weighted[2]["train"] = True
    assert trained(masker, masker.encode(weighted)) == trained(masker, masker.encode(CHAT))
    weighted[4]["weight"] = 0.5
    with pytest.raises(sftmask.InputError, match="message 4: field 'weight': must be true/false or a weight of 0 or 1"):
        masker.encode(weighted)
    # From an Arrow table too (weight null where a message has none); a row left with nothing to train is refused.
    rows = [{"messages": [{**m, "weight": 0} if m["role"] == "assistant" else m for m in CHAT]}, {"messages": CHAT}]
    batch = masker.encode_batch(pa.Table.from_pylist(rows), on_error="skip")
    assert rows_of(batch) == expected(masker, [CHAT])
    assert [e.type for e in sftmask.BatchReport.of(batch).errors] == ["UntrainableError"]


def test_a_row_in_no_known_format_names_the_formats_and_its_columns(masker):
    for data in ([{"text": "a", "id": 1}], pa.table({"text": ["a"], "id": [1]}), {"text": ["a"], "id": [1]}):
        with pytest.raises(sftmask.InputError) as info:
            masker.encode_batch(data)
        message = str(info.value)
        for fragment in ("'messages'", "'completion'", "'conversations' (ShareGPT)", "'instruction' and 'output' (Alpaca)"):
            assert fragment in message
        assert message.endswith(": text, id"), message
    with pytest.raises(sftmask.InputError, match="format 'alpaca' needs a 'instruction' column"):
        masker.encode_batch(pa.table({"messages": [CHAT]}), format="alpaca")
    with pytest.raises(ValueError, match="format must be one of"):
        masker.encode_batch([{"messages": CHAT}], format="sharegpt")


def test_a_format_can_be_forced(masker):
    rows = [{"messages": "not used", "instruction": "Hi there", "output": "Hello friend"}]
    assert rows_of(masker.encode_batch(rows, format="alpaca")) == expected(masker, [CHAT[1:3]])


def test_per_row_template_variables(masker):
    template = "{{ greeting }}{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    m = sftmask.Masker.from_pretrained(DEMO_DIR, chat_template=template)
    rows = [{"messages": CHAT[1:3], "chat_template_kwargs": {"greeting": "Hey "}}, {"messages": CHAT[1:3]}]
    for form, data in input_forms(rows).items():
        batch = m.encode_batch(data, greeting="Yo ")
        want = [m.encode(CHAT[1:3], greeting="Hey "), m.encode(CHAT[1:3], greeting="Yo ")]
        assert rows_of(batch) == [(w["input_ids"].tolist(), w["labels"].tolist()) for w in want], form
    assert m.render(rows[0]) == m.render(CHAT[1:3], greeting="Hey ")


TOOL_ROWS = [
    {"messages": [
        {"role": "user", "content": "Move"},
        {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "move", "arguments": {"x": 0}}}]},
        {"role": "tool", "content": "moved"},
        {"role": "assistant", "content": "Done"},
    ]},
    {"messages": [
        {"role": "user", "content": "Turn"},
        {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "turn", "arguments": {"theta": 1.5, "message": "go"}}}]},
        {"role": "tool", "content": "turned"},
        {"role": "assistant", "content": "Done"},
    ]},
]


def test_struct_nulls_are_dropped_at_every_depth(masker):
    table = pa.Table.from_pylist(TOOL_ROWS)  # arguments: struct<x, theta, message>, nulls where a row has none
    assert "null" not in masker.render(TOOL_ROWS[0])
    batch = masker.encode_batch(table)
    assert rows_of(batch) == expected(masker, TOOL_ROWS)
    kept = masker.encode_batch(table, keep_nulls=True)
    assert rows_of(kept) != rows_of(batch)
    text = masker.decode(kept["input_ids"][0].values.to_numpy())
    assert '"theta": null' in text or "'theta': None" in text


def json_array(texts: list[str]) -> pa.Array:
    """JSON texts as an `arrow.json` extension array (`datasets` 5 stores data of no fixed type in it), built
    directly so that the test needs no particular `datasets` version."""
    if not hasattr(pa, "json_"):
        pytest.skip("pyarrow < 19 has no arrow.json type")
    return pa.ExtensionArray.from_storage(pa.json_(pa.string()), pa.array(texts, pa.string()))


def list_array(lists: list[list | None], values: pa.Array) -> pa.Array:
    offsets, end = [0], 0
    for items in lists:
        end += len(items or [])
        offsets.append(end)
    mask = pa.array([items is None for items in lists])
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values, mask=mask)


def datasets_style_table(rows: list[dict]) -> pa.Table:
    """Rows as `datasets` 5 writes conversations with tool calls: messages `list<extension<arrow.json>>`, tools
    `list<struct<type, function: extension<arrow.json>>>`."""
    messages = [[json.dumps(m) for m in r["messages"]] for r in rows]
    tools = [r.get("tools") for r in rows]
    flat_tools = [t for ts in tools if ts for t in ts]
    tool_structs = pa.StructArray.from_arrays(
        [pa.array([t["type"] for t in flat_tools], pa.string()), json_array([json.dumps(t["function"]) for t in flat_tools])],
        names=["type", "function"],
    )
    return pa.table({
        "messages": list_array(messages, json_array([m for ms in messages for m in ms])),
        "tools": list_array(tools, tool_structs),
    })


def test_arrow_json_columns_are_read_as_json(masker, tmp_path):
    tools = [{"type": "function", "function": {"name": "move", "parameters": {"type": "object", "properties": {"x": {"type": "number"}}}}}]
    rows = [{**r, "tools": tools} for r in TOOL_ROWS] + [{"messages": CHAT}]
    table = datasets_style_table(rows)
    want = expected(masker, rows)
    assert rows_of(masker.encode_batch(table)) == want
    assert rows_of(masker(table).combine_chunks().to_batches()[0]) == want  # datasets.map's form
    # Through a Parquet file, as `Dataset.to_parquet` writes one.
    import pyarrow.parquet as pq

    pq.write_table(table, tmp_path / "d.parquet")
    assert rows_of(masker.encode_batch(pq.read_table(tmp_path / "d.parquet"))) == want


def test_datasets_json_features_through_map(masker, tmp_path):
    datasets = pytest.importorskip("datasets")
    tools = [{"type": "function", "function": {"name": "move", "parameters": {"type": "object"}}}]
    rows = [{**r, "tools": tools} for r in TOOL_ROWS]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    dataset = datasets.load_dataset("json", data_files=str(path), split="train")
    encoded = dataset.with_format("arrow").map(masker, batched=True, remove_columns=dataset.column_names)
    assert [(r["input_ids"], r["labels"]) for r in encoded.with_format(None)] == expected(masker, rows)


# --- every format encodes as its messages form, on generated conversations ------------------------------------

text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="<>|"), max_size=30)


@st.composite
def conversations(draw) -> list[dict]:
    turns = draw(st.integers(1, 4))
    messages = [{"role": "system", "content": draw(text.filter(bool))}] if draw(st.booleans()) else []
    for _ in range(turns):
        messages += [{"role": "user", "content": draw(text)}, {"role": "assistant", "content": draw(text.filter(str.strip))}]
    return messages


FORMS = {
    "sharegpt": sharegpt,
    "conversations": lambda m: {"conversations": m},
    "alpaca": alpaca,
    "weighted": lambda m: {"messages": [{**x, "weight": 1} if x["role"] == "assistant" else x for x in m]},
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chats=st.lists(conversations(), min_size=1, max_size=4), form=st.sampled_from(sorted(FORMS)))
def test_a_conversation_in_any_format_encodes_as_its_messages_form(masker, chats, form):
    rows = [FORMS[form](c) for c in chats]
    want = masker.encode_batch([{"messages": c} for c in chats], on_error="null")
    for name, data in input_forms(rows).items():
        assert rows_of(masker.encode_batch(data, on_error="null")) == rows_of(want), name


def test_check_honours_weights_and_reads_every_format(masker):
    weighted = [{"messages": [{**m, "weight": 0} if i == 2 else m for i, m in enumerate(CHAT)]}]
    report = masker.check(weighted)
    assert report.ok, report.format()
    report = masker.check([sharegpt(CHAT), alpaca(CHAT)])
    assert report.ok and report.rows == 2, report.format()
