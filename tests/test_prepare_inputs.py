"""The command line on data as people have it: every format without a flag, honest exit codes, splits, reports
that survive the Parquet file, the policy options and template variables. On the demo tokenizer: they run anywhere."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sftmask
from sftmask import DEMO_DIR
from sftmask.cli import main

DEMO_ROWS = [json.loads(line) for line in (DEMO_DIR / "conversations.jsonl").open(encoding="utf-8")]
TOKENIZER = ["--tokenizer", str(DEMO_DIR)]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def output(path) -> list[tuple[list[int], list[int]]]:
    table = pq.read_table(path)
    return list(zip(table["input_ids"].to_pylist(), table["labels"].to_pylist()))


def expected(rows, **options) -> list[tuple[list[int], list[int]]]:
    batch = sftmask.Masker.from_pretrained(DEMO_DIR, **options).encode_batch(rows)
    return list(zip(batch["input_ids"].to_pylist(), batch["labels"].to_pylist()))


def plain(rows):
    """Rows without tool calls (the ones every format can hold)."""
    return [r for r in rows if all(set(m) == {"role", "content"} for m in r["messages"])]


def test_prepare_reads_sharegpt_and_names_the_format(tmp_path, capsys):
    rows = plain(DEMO_ROWS)
    names = {"system": "system", "user": "human", "assistant": "gpt"}
    sharegpt = [{"conversations": [{"from": names[m["role"]], "value": m["content"]} for m in r["messages"]]} for r in rows]
    out = tmp_path / "out.parquet"
    assert main(["prepare", str(write_jsonl(tmp_path / "sharegpt.jsonl", sharegpt)), "-o", str(out), *TOKENIZER]) == 0
    assert output(out) == expected(rows)
    assert f"format:         conversations ({len(rows)} rows)" in capsys.readouterr().out


def test_prepare_fails_when_no_row_is_a_conversation(tmp_path, capsys):
    out = tmp_path / "out.parquet"
    source = write_jsonl(tmp_path / "text.jsonl", [{"text": "hello"}, {"text": "world"}])
    assert main(["prepare", str(source), "-o", str(out), *TOKENIZER]) == 1
    captured = capsys.readouterr()
    assert "rows out:       0" in captured.out and "errors:         2" in captured.out
    assert "'conversations' (ShareGPT)" in captured.out and "the fields are: text" in captured.out
    assert "prepare failed: no row was written" in captured.err
    (tmp_path / "empty.jsonl").write_text("")
    assert main(["prepare", str(tmp_path / "empty.jsonl"), "-o", str(out), *TOKENIZER]) == 1
    assert "no row was written (the input has no rows)" in capsys.readouterr().err


def test_prepare_fails_above_the_max_error_rate(tmp_path, capsys):
    rows = DEMO_ROWS[:9] + [{"messages": [{"content": "no role"}]}]
    source = write_jsonl(tmp_path / "rows.jsonl", rows)
    out = tmp_path / "out.parquet"
    assert main(["prepare", str(source), "-o", str(out), *TOKENIZER]) == 1
    assert "1 of 10 rows failed (10.0%), more than --max-error-rate 0.01" in capsys.readouterr().err
    assert pq.read_table(out).num_rows == 9  # written all the same, with its summary
    assert main(["prepare", str(source), "-o", str(out), *TOKENIZER, "--max-error-rate", "0.1"]) == 0


@pytest.mark.parametrize("option", [["--pack", "0"], ["--max-length", "0"], ["--chunk-rows", "-1"], ["--max-error-rate", "2"]])
def test_zero_and_negative_sizes_are_usage_errors(tmp_path, capsys, option):
    with pytest.raises(SystemExit) as info:
        main(["prepare", "--demo", "-o", str(tmp_path / "o.parquet"), *option])
    assert info.value.code == 2


def test_check_on_no_rows_is_a_problem(tmp_path, capsys):
    (tmp_path / "empty.jsonl").write_text("")
    assert main(["check", str(tmp_path / "empty.jsonl"), *TOKENIZER]) == 1
    assert "PROBLEM: no rows to check" in capsys.readouterr().out


def test_a_dataset_dict_split_is_chosen_never_merged(tmp_path, capsys):
    datasets = pytest.importorskip("datasets")
    splits = datasets.DatasetDict({"train": datasets.Dataset.from_list(DEMO_ROWS[:10]),
                                   "test": datasets.Dataset.from_list(DEMO_ROWS[10:14])})
    splits.save_to_disk(str(tmp_path / "saved"))
    out = tmp_path / "out.parquet"
    assert main(["prepare", str(tmp_path / "saved"), "-o", str(out), *TOKENIZER]) == 2
    assert "splits train, test: choose one with --split" in capsys.readouterr().err
    assert main(["prepare", str(tmp_path / "saved"), "-o", str(out), *TOKENIZER, "--split", "test"]) == 0
    assert output(out) == expected(DEMO_ROWS[10:14])
    assert main(["check", str(tmp_path / "saved"), *TOKENIZER, "--split", "train"]) == 0
    assert "checked 10 rows" in capsys.readouterr().out


def test_reports_survive_the_parquet_file(tmp_path):
    source = write_jsonl(tmp_path / "rows.jsonl", DEMO_ROWS + [{"messages": [{"content": "no role"}]}])
    out = tmp_path / "out.parquet"
    main(["prepare", str(source), "-o", str(out), *TOKENIZER, "--chunk-rows", "16"])
    table = pq.read_table(out)
    report = sftmask.BatchReport.of(table)
    assert (report.rows_in, report.rows_out, report.formats) == (49, 48, {"messages": 48})
    assert [(e.row, e.type) for e in report.errors] == [(48, "InputError")]
    assert "rows.jsonl: row 48: message 0: field 'role' is missing" in report.errors[0].message
    with pytest.raises(ValueError, match="carries no pack report"):
        sftmask.PackReport.of(table)
    with pytest.raises(ValueError, match="carries no sftmask report"):
        sftmask.BatchReport.of(pa.table({"x": [1]}))


def test_rows_of_a_table_read_back_from_parquet(tmp_path):
    pytest.importorskip("torch")
    from sftmask.torch import rows_of

    out = tmp_path / "out.parquet"
    main(["prepare", "--demo", "-o", str(out), "--chunk-rows", "16"])
    table = pq.read_table(out)
    assert table["input_ids"].num_chunks > 1
    assert [r["labels"].tolist() for r in rows_of(table)] == table["labels"].to_pylist()


def test_pack_summary_counts_what_was_written(tmp_path, capsys):
    out = tmp_path / "packed.parquet"
    assert main(["prepare", "--demo", "-o", str(out), "--pack", "64", "--overflow", "drop"]) == 0
    printed = capsys.readouterr().out
    table = pq.read_table(out)
    report = sftmask.PackReport.of(table)
    assert report.dropped > 0 and report.packs == table.num_rows
    tokens = sum(len(ids) for ids in table["input_ids"].to_pylist())
    trained = sum(label != -100 for labels in table["labels"].to_pylist() for label in labels)
    assert f"tokens:         {tokens:,}" in printed and f"trained tokens: {trained:,}" in printed
    assert f"rows out:       {report.sequences} in {report.packs} packs" in printed
    split = tmp_path / "split.parquet"
    assert main(["prepare", "--demo", "-o", str(split), "--pack", "64", "--overflow", "split"]) == 0
    assert sftmask.PackReport.of(pq.read_table(split)).split > 0


def test_the_cli_sets_every_policy_option_and_template_variables(tmp_path):
    source = write_jsonl(tmp_path / "rows.jsonl", DEMO_ROWS[:8])
    cases = [
        (["--roles-to-train", "user,assistant"], dict(roles_to_train=("user", "assistant"))),
        (["--no-train-end-of-turn"], dict(train_end_of_turn=False)),
        (["--train-last-turn-only"], dict(train_last_turn_only=True)),
        (["--mode", "turns"], dict(mode="turns")),
        (["--max-length", "40", "--truncation", "keep_end"], dict(max_length=40, truncation="keep_end")),
        (["--sanitize-control-tokens"], dict(sanitize_control_tokens=True)),
    ]
    for args, policy in cases:
        out = tmp_path / "out.parquet"
        assert main(["prepare", str(source), "-o", str(out), *TOKENIZER, *args]) == 0, args
        assert output(out) == expected(DEMO_ROWS[:8], **policy), args
    template = tmp_path / "t.jinja"
    template.write_text("{{ greeting }}{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}")
    out = tmp_path / "out.parquet"
    args = ["--chat-template", str(template), "--template-var", "greeting=Hello"]
    assert main(["prepare", str(source), "-o", str(out), *TOKENIZER, *args]) == 0
    masker = sftmask.Masker.from_pretrained(DEMO_DIR, chat_template=str(template))
    batch = masker.encode_batch(DEMO_ROWS[:8], greeting="Hello")
    assert output(out) == list(zip(batch["input_ids"].to_pylist(), batch["labels"].to_pylist()))


def test_the_train_field_option(tmp_path):
    rows = [{"messages": [dict(m, weight=0) if i == 1 else m for i, m in enumerate(DEMO_ROWS[1]["messages"])]}]
    source = write_jsonl(tmp_path / "rows.jsonl", rows)
    out = tmp_path / "out.parquet"
    assert main(["prepare", str(source), "-o", str(out), *TOKENIZER]) == 0
    assert output(out) == expected(rows)
    assert output(out) != expected(rows, train_field=None)
    assert main(["prepare", str(source), "-o", str(out), *TOKENIZER, "--train-field", ""]) == 0
    assert output(out) == expected(rows, train_field=None)


def test_show_rows_n_shows_n_rows_and_says_when_there_are_fewer(capsys):
    assert main(["show", "--demo", "--rows", "5"]) == 0
    printed = capsys.readouterr().out
    assert [f"row {i}:" in printed for i in range(6)] == [True] * 5 + [False]
    assert main(["show", "--demo", "--rows", "100:101"]) == 1
    assert "showed 0 of the 1 rows asked for" in capsys.readouterr().err


def test_hub_dataset_ids_stream_through_datasets(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    calls = []

    def load_dataset(name, split=None, streaming=False):
        calls.append((name, split, streaming))
        return datasets.Dataset.from_list(DEMO_ROWS[:5]).to_iterable_dataset()

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    out = tmp_path / "out.parquet"
    assert main(["prepare", "someone/chats", "-o", str(out), *TOKENIZER, "--split", "validation"]) == 0
    assert calls == [("someone/chats", "validation", True)]
    assert output(out) == expected(DEMO_ROWS[:5])
