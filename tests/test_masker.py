"""Tests on the demo tokenizer the package ships: they run anywhere, with or without ../shared."""

from __future__ import annotations

import json

import numpy as np
import pytest

import sftmask
from sftmask import DEMO_DIR


@pytest.fixture(scope="module")
def masker() -> sftmask.Masker:
    return sftmask.Masker.from_pretrained(DEMO_DIR)


@pytest.fixture(scope="module")
def demo_rows() -> list[dict]:
    with (DEMO_DIR / "conversations.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_encode_returns_aligned_int32_arrays(masker, demo_rows):
    out = masker.encode(demo_rows[0])
    assert set(out) == {"input_ids", "attention_mask", "labels"}
    assert all(a.dtype == np.int32 for a in out.values())
    assert len(out["input_ids"]) == len(out["labels"]) == len(out["attention_mask"])
    trained = out["labels"] != -100
    assert trained.any() and not trained.all()
    assert (out["labels"][trained] == out["input_ids"][trained]).all()
    assert (out["attention_mask"] == 1).all()


def test_int64_on_request(masker, demo_rows):
    out = masker.encode(demo_rows[0], dtype="int64")
    assert out["input_ids"].dtype == out["labels"].dtype == np.int64
    assert sftmask.Masker.from_pretrained(DEMO_DIR, dtype="int64").encode(demo_rows[0])["labels"].dtype == np.int64


def test_only_assistant_text_is_trained(masker):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(DEMO_DIR / "tokenizer.json"))
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Explain tides in one sentence."},
        {"role": "assistant", "content": "The moon pulls the sea."},
    ]
    out = masker.encode(messages)
    trained_ids = out["labels"][out["labels"] != -100].tolist()
    assert tokenizer.decode(trained_ids, skip_special_tokens=False) == "The moon pulls the sea.<|im_end|>\n"


def test_render_accepts_a_dataset_row_and_a_bare_list(masker, demo_rows):
    row = demo_rows[0]
    assert masker.render(row) == masker.render(row["messages"])
    assert masker.render(row).startswith("<|im_start|>")


def test_template_errors_keep_the_template_message(masker):
    with pytest.raises(sftmask.TemplateError, match="roles must alternate"):
        sftmask.Masker.from_pretrained(
            DEMO_DIR, chat_template="{{ raise_exception('roles must alternate') }}{% generation %}{% endgeneration %}"
        ).encode([{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}])
    assert issubclass(sftmask.TemplateError, ValueError) and issubclass(sftmask.InputError, ValueError)


def test_invalid_jinja_is_a_template_error():
    with pytest.raises(sftmask.TemplateError):
        sftmask.Masker.from_pretrained(DEMO_DIR, chat_template="{% for m in messages %}")


@pytest.mark.parametrize(
    "messages, fragment",
    [
        ([], "empty"),
        ([{"content": "no role"}], "role"),
        ([{"role": "user", "content": 3}], "content"),
        (["hello"], "mapping"),
        ("not a list", "list"),
        ([{"role": "user", "content": "\ud800"}], "surrogate"),
    ],
)
def test_malformed_conversations_are_input_errors(masker, messages, fragment):
    with pytest.raises(sftmask.InputError, match=fragment):
        masker.encode(messages)


def test_tools_given_as_json_text_are_parsed():
    template = "{% for t in tools %}{{ t.function.name }};{% endfor %}{% generation %}x{% endgeneration %}"
    masker = sftmask.Masker.from_pretrained(DEMO_DIR, chat_template=template)
    tools = [{"type": "function", "function": {"name": "get_weather"}}]
    messages = [{"role": "user", "content": "hi"}]
    assert masker.render(messages, tools=json.dumps(tools)) == masker.render(messages, tools=tools) == "get_weather;x"
    with pytest.raises(sftmask.InputError, match="tools"):
        masker.render(messages, tools="{not json")


def test_generation_mode_needs_generation_tags():
    masker = sftmask.Masker.from_pretrained(DEMO_DIR, chat_template="{% for m in messages %}{{ m.content }}{% endfor %}")
    assert not masker.has_generation_tags
    with pytest.raises(sftmask.TemplateError, match="generation"):
        masker.encode([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}], mode="generation")


def test_chat_template_from_a_file(tmp_path):
    path = tmp_path / "t.jinja"
    path.write_text("{% for m in messages %}[{{ m.role }}]{% endfor %}", encoding="utf-8")
    messages = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    assert sftmask.Masker.from_pretrained(DEMO_DIR, chat_template=path).render(messages) == "[user][assistant]"
    with pytest.raises(sftmask.ConfigError):
        sftmask.Masker.from_pretrained(DEMO_DIR, chat_template=str(tmp_path / "missing.jinja"))


def test_missing_or_corrupt_tokenizer_is_a_config_error(tmp_path):
    with pytest.raises(sftmask.ConfigError):
        sftmask.Masker.from_pretrained(tmp_path / "nowhere")
    (tmp_path / "tokenizer.json").write_text("{ corrupt", encoding="utf-8")
    with pytest.raises(sftmask.ConfigError, match="tokenizer.json"):
        sftmask.Masker.from_pretrained(tmp_path)


def test_from_strings_matches_from_pretrained(demo_rows):
    masker = sftmask.Masker.from_strings(
        (DEMO_DIR / "tokenizer.json").read_text(encoding="utf-8"),
        json.loads((DEMO_DIR / "tokenizer_config.json").read_text(encoding="utf-8")),
    )
    expected = sftmask.Masker.from_pretrained(DEMO_DIR).encode(demo_rows[5])
    got = masker.encode(demo_rows[5])
    assert all(np.array_equal(got[k], expected[k]) for k in expected)


def test_demo_assets_are_reproduced_by_their_script(tmp_path):
    pytest.importorskip("tokenizers")
    import runpy

    from conftest import ROOT

    script = ROOT / "scripts" / "make_demo.py"
    runpy.run_path(str(script), run_name="make_demo")["main"](tmp_path)
    for name in ["tokenizer.json", "tokenizer_config.json", "conversations.jsonl"]:
        assert (tmp_path / name).read_bytes() == (DEMO_DIR / name).read_bytes(), name
