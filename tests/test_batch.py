"""encode_batch: every input form, row-by-row equality, error policies, zero-copy outputs."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pyarrow as pa
import pytest

import sftmask
from conftest import shared_path
from sftmask import DEMO_DIR


@pytest.fixture(scope="module")
def masker() -> sftmask.Masker:
    return sftmask.Masker.from_pretrained(DEMO_DIR)


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    with (DEMO_DIR / "conversations.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def rows_of(batch: pa.RecordBatch) -> list[tuple[list[int], list[int]]]:
    return list(zip(batch["input_ids"].to_pylist(), batch["labels"].to_pylist()))


def expected_rows(masker, rows) -> list[tuple[list[int], list[int]]]:
    return [(e["input_ids"].tolist(), e["labels"].tolist()) for e in map(masker.encode, rows)]


def test_schema_and_per_row_counts(masker, rows):
    batch = masker.encode_batch(rows)
    assert isinstance(batch, pa.RecordBatch)
    assert batch.schema.field("input_ids").type == pa.list_(pa.field("item", pa.int32(), nullable=False))
    assert batch.schema.field("labels").type == batch.schema.field("input_ids").type
    assert batch["num_tokens"].to_pylist() == [len(ids) for ids in batch["input_ids"].to_pylist()]
    assert batch["num_trained_tokens"].to_pylist() == [sum(label != -100 for label in ls) for ls in batch["labels"].to_pylist()]
    report = sftmask.BatchReport.of(batch)
    assert (report.rows_in, report.rows_out, report.errors) == (len(rows), len(rows), [])


def test_every_input_form_gives_the_row_by_row_result(masker, rows):
    expected = expected_rows(masker, rows)
    table = pa.Table.from_pylist(rows)
    json_table = pa.table({"messages": [json.dumps(r["messages"]) for r in rows]})
    forms = {
        "list of dicts": rows,
        "datasets batch (dict of columns)": {"messages": [r["messages"] for r in rows]},
        "pyarrow Table": table,
        "pyarrow RecordBatch": table.combine_chunks().to_batches()[0],
        "chunked Table": pa.concat_tables([table.slice(0, 10), table.slice(10)]),
        "JSON text column": json_table,
    }
    for name, data in forms.items():
        assert rows_of(masker.encode_batch(data)) == expected, name


def test_polars_dataframe_through_the_arrow_capsule(masker, rows):
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({"messages": [json.dumps(r["messages"]) for r in rows]})
    assert rows_of(masker.encode_batch(frame)) == expected_rows(masker, rows)


def test_custom_column_names_and_tools(masker):
    template = "{% for t in tools or [] %}{{ t.function.name }};{% endfor %}{% for m in messages %}{% generation %}{{ m.content }}{% endgeneration %}{% endfor %}"
    tooled = sftmask.Masker.from_pretrained(DEMO_DIR, chat_template=template)
    tools = [{"type": "function", "function": {"name": "lookup"}}]
    data = pa.table({"conv": [[{"role": "assistant", "content": "x"}]] * 2, "fns": [json.dumps(tools), None]})
    batch = tooled.encode_batch(data, messages_column="conv", tools_column="fns")
    first, second = rows_of(batch)
    assert tooled.decode(first[0]) == "lookup;x" and tooled.decode(second[0]) == "x"


def test_thread_counts_do_not_change_results(masker, rows):
    one = masker.encode_batch(rows, threads=1)
    assert all(masker.encode_batch(rows, threads=n).equals(one) for n in (2, 3))


def test_flat_buffers_are_zero_copy_numpy_views(masker, rows):
    batch = masker.encode_batch(rows)
    labels = batch["labels"]
    values = labels.values.to_numpy(zero_copy_only=True)
    offsets = labels.offsets.to_numpy(zero_copy_only=True)
    assert values.ctypes.data == labels.values.buffers()[1].address
    assert np.shares_memory(values, labels.values.to_numpy(zero_copy_only=True))
    assert offsets[-1] == len(values) == sum(batch["num_tokens"].to_pylist())


BAD_ROWS = {
    2: {"messages": [{"content": "no role"}]},
    5: {"messages": []},
    7: {"messages": [{"role": "user", "content": 42}]},
}


def with_bad_rows(rows):
    data = [dict(r) for r in rows[:10]]
    for index, row in BAD_ROWS.items():
        data[index] = row
    return data


def test_on_error_raise_names_the_row(masker, rows):
    with pytest.raises(sftmask.InputError, match=r"^row 2: message 0: field 'role' is missing"):
        masker.encode_batch(with_bad_rows(rows))


def test_on_error_skip_leaves_rows_out_and_reports_them(masker, rows):
    data = with_bad_rows(rows)
    batch = masker.encode_batch(data, on_error="skip")
    good = [r for i, r in enumerate(data) if i not in BAD_ROWS]
    assert rows_of(batch) == expected_rows(masker, good)
    report = sftmask.BatchReport.of(batch)
    assert (report.rows_in, report.rows_out) == (10, 7)
    assert [(e.row, e.type) for e in report.skipped] == [(2, "InputError"), (5, "InputError"), (7, "InputError")]
    assert "empty" in report.errors[1].message


def test_on_error_null_keeps_rows_with_null_outputs(masker, rows):
    data = with_bad_rows(rows)
    batch = masker.encode_batch(data, on_error="null")
    assert batch.num_rows == 10
    assert [i for i, v in enumerate(batch["labels"].is_valid().to_pylist()) if not v] == sorted(BAD_ROWS)
    expected = expected_rows(masker, [r for i, r in enumerate(data) if i not in BAD_ROWS])
    assert [r for i, r in enumerate(rows_of(batch)) if i not in BAD_ROWS] == expected
    assert [e.row for e in sftmask.BatchReport.of(batch).errors] == sorted(BAD_ROWS)


def test_template_errors_are_reported_per_row(rows):
    strict = sftmask.Masker.from_pretrained(
        DEMO_DIR,
        chat_template="{% if messages[0].role == 'system' %}{{ raise_exception('no system role') }}{% endif %}"
        "{% for m in messages %}{% generation %}{{ m.content }}{% endgeneration %}{% endfor %}",
    )
    batch = strict.encode_batch(rows[:6], on_error="skip")
    report = sftmask.BatchReport.of(batch)
    assert {e.type for e in report.errors} == {"TemplateError"}
    assert [e.row for e in report.errors] == [i for i, r in enumerate(rows[:6]) if r["messages"][0]["role"] == "system"]


def test_bad_arguments_are_clear(masker, rows):
    with pytest.raises(ValueError, match="on_error"):
        masker.encode_batch(rows, on_error="ignore")
    with pytest.raises(sftmask.InputError, match="column 'conversations' not found"):
        masker.encode_batch(pa.Table.from_pylist(rows), messages_column="conversations")
    with pytest.raises(sftmask.InputError, match="has type Int64"):
        masker.encode_batch(pa.table({"messages": [1, 2]}))


def test_masker_pickles_and_keeps_working(masker, rows):
    clone = pickle.loads(pickle.dumps(masker))
    assert rows_of(clone.encode_batch(rows[:5])) == rows_of(masker.encode_batch(rows[:5]))


def test_datasets_map_with_arrow_batches_and_num_proc(masker, rows):
    datasets = pytest.importorskip("datasets")
    dataset = datasets.Dataset.from_list([{"messages": r["messages"]} for r in rows])
    # The documented one-liner:
    encoded = dataset.with_format("arrow").map(masker, batched=True, num_proc=2, remove_columns=dataset.column_names)
    encoded = encoded.with_format(None)
    assert [(r["input_ids"], r["labels"]) for r in encoded] == expected_rows(masker, rows)


@pytest.mark.slow
def test_batch_equals_row_by_row_on_the_shared_corpus():
    tokenizer = shared_path("tokenizers", "qwen3")
    template = shared_path("templates", "qwen3_training.jinja")
    from conftest import load_corpus

    corpus = [row for _, _, row in load_corpus()]
    masker = sftmask.Masker.from_pretrained(tokenizer, chat_template=template)
    table = pa.table(
        {
            "messages": [json.dumps(r["messages"], ensure_ascii=False) for r in corpus],
            "tools": [json.dumps(r["tools"], ensure_ascii=False) if r.get("tools") else None for r in corpus],
        }
    )
    batch = masker.encode_batch(table)
    assert batch.num_rows == len(corpus)
    ids, labels = batch["input_ids"], batch["labels"]
    for i, row in enumerate(corpus):
        single = masker.encode(row)
        assert ids[i].values.to_numpy().tolist() == single["input_ids"].tolist(), i
        assert labels[i].values.to_numpy().tolist() == single["labels"].tolist(), i
