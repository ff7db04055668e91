"""Bad input, hostile templates, big inputs and concurrency: errors name the row and the field, nothing hangs,
nothing crashes, nothing is lost silently."""

from __future__ import annotations

import json
import pickle
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pytest

import sftmask
from conftest import shared_path
from sftmask import DEMO_DIR

CHATML = (DEMO_DIR / "tokenizer_config.json").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def masker() -> sftmask.Masker:
    return sftmask.Masker.from_pretrained(DEMO_DIR)


def conversation(turns: int, content: str = "hello") -> list[dict]:
    messages = []
    for i in range(turns):
        messages.append({"role": "user", "content": f"{content} {i}"})
        messages.append({"role": "assistant", "content": f"answer {i}"})
    return messages


# --- bad input: one test per case, each error naming the row and the field -------------------------------------

BAD_CONVERSATIONS = {
    "missing role": ([{"content": "x"}], "message 0: field 'role' is missing"),
    "role not a string": ([{"role": ["user"], "content": "x"}], "message 0: field 'role' must be a string"),
    "content not a string": ([{"role": "user", "content": {"text": 1}}], "message 0: field 'content' must be"),
    "message not a mapping": (["hi"], "message 0: a message must be a mapping"),
    "empty conversation": ([], "the conversation is empty"),
    "messages not a list": (42, "messages must be a list"),
    "lone surrogate": ([{"role": "user", "content": "a\udc80b"}], "surrogate"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONVERSATIONS))
def test_bad_conversations_name_the_row_and_field(masker, case):
    messages, message = BAD_CONVERSATIONS[case]
    good = conversation(1)
    with pytest.raises(sftmask.InputError, match=r"^row 1: .*" + message.replace("(", r"\(")):
        masker.encode_batch([{"messages": good}, {"messages": messages}, {"messages": good}])
    batch = masker.encode_batch([{"messages": good}, {"messages": messages}, {"messages": good}], on_error="skip")
    report = sftmask.BatchReport.of(batch)
    assert batch.num_rows == 2 and [e.row for e in report.skipped] == [1]


# Like Qwen's templates: only the roles it knows are rendered, any other message is left out.
KNOWN_ROLES_ONLY = (
    "{%- for m in messages %}{%- if m.role in ['system', 'user', 'assistant'] %}"
    "{{- '<|im_start|>' + m.role + '\\n' }}{%- if m.role == 'assistant' %}{%- generation %}"
    "{{- m.content + '<|im_end|>\\n' }}{%- endgeneration %}{%- else %}{{- m.content + '<|im_end|>\\n' }}{%- endif %}"
    "{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def test_an_unknown_role_the_template_leaves_out_is_an_error_naming_the_message():
    masker = sftmask.Masker.from_pretrained(DEMO_DIR, chat_template=KNOWN_ROLES_ONLY)
    typo = [{"role": "user", "content": "q"}, {"role": "asistant", "content": "a typo"}, {"role": "assistant", "content": "b"}]
    with pytest.raises(sftmask.InputError, match=r"^row 0: message 1: unknown role 'asistant': the chat template leaves"):
        masker.encode_batch([{"messages": typo}])
    # A template that renders the role (the demo's writes any role in its header) takes it.
    assert sftmask.Masker.from_pretrained(DEMO_DIR).encode(typo)["labels"].size > 0


def test_content_as_a_list_of_parts_renders_as_transformers_does():
    transformers = pytest.importorskip("transformers")
    template = "{% for m in messages %}{% for part in m.content %}{{ part.text }}|{% endfor %}{% endfor %}"
    messages = [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]
    reference = transformers.AutoTokenizer.from_pretrained(str(DEMO_DIR))
    expected = reference.apply_chat_template(messages, chat_template=template, tokenize=False)
    assert sftmask.Masker.from_pretrained(DEMO_DIR, chat_template=template).render(messages) == expected == "a|b|"


def test_conversation_without_an_assistant_turn_trains_nothing_and_says_so(masker):
    # Never all -100 silently (issue 5): encode raises, and a batch reports the row like any failed row.
    with pytest.raises(sftmask.UntrainableError, match="no message is trained"):
        masker.encode([{"role": "user", "content": "only a question"}])
    batch = masker.encode_batch([{"messages": [{"role": "user", "content": "q"}]}], on_error="null")
    assert batch["num_trained_tokens"].to_pylist() == [0]
    assert [e.type for e in sftmask.BatchReport.of(batch).errors] == ["UntrainableError"]


def test_tools_that_are_not_json(masker):
    with pytest.raises(sftmask.InputError, match=r"^row 0: tools is not valid JSON"):
        masker.encode_batch([{"messages": conversation(1), "tools": "{broken"}])
    with pytest.raises(sftmask.InputError, match="tools must be a list"):
        masker.encode(conversation(1), tools=42)


def test_corrupt_or_missing_tokenizer_files(tmp_path):
    with pytest.raises(sftmask.ConfigError, match="no tokenizer.json"):
        sftmask.Masker.from_pretrained(tmp_path)
    (tmp_path / "tokenizer.json").write_bytes(b"\x00\xff not json")
    with pytest.raises(sftmask.ConfigError, match="tokenizer.json"):
        sftmask.Masker.from_pretrained(tmp_path)
    (tmp_path / "tokenizer.json").write_text((DEMO_DIR / "tokenizer.json").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "tokenizer_config.json").write_text("{", encoding="utf-8")
    with pytest.raises(sftmask.ConfigError, match="tokenizer_config.json"):
        sftmask.Masker.from_pretrained(tmp_path)


def test_templates_that_are_not_valid_jinja():
    for template in ["{% for m in messages %}", "{{ messages[ }}", "{% generation %}no end", "{% endgeneration %}"]:
        with pytest.raises(sftmask.TemplateError):
            sftmask.Masker.from_pretrained(DEMO_DIR, chat_template=template)


def test_arrow_columns_of_the_wrong_type(masker):
    with pytest.raises(sftmask.InputError, match="column 'messages' has type"):
        masker.encode_batch(pa.table({"messages": pa.array([1.5, 2.5])}))
    wrong_struct = pa.table({"messages": [[{"role": 1, "content": "x"}]]})
    with pytest.raises(sftmask.InputError, match=r"^row 0: message 0: field 'role' must be a string"):
        masker.encode_batch(wrong_struct)
    timestamps = pa.table({"messages": [[{"role": "user", "content": "x", "at": pa.scalar(0, pa.timestamp("s"))}]]})
    with pytest.raises(sftmask.InputError, match=r"^row 0: .*not supported"):
        masker.encode_batch(timestamps)


# --- hostile templates: bounded, ending in TemplateError ---------------------------------------------------------

HOSTILE = {
    "endless loop": "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    "huge string": "{{ 'x' * 100000000000 }}",
    "doubling": "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
    "deep recursion": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "huge tojson": "{% set ns = namespace(v=[1]) %}{% for i in range(40) %}{% set ns.v = [ns.v, ns.v] %}{% endfor %}{{ ns.v | tojson }}",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_templates_stop_with_a_template_error(name):
    masker = sftmask.Masker.from_pretrained(DEMO_DIR, chat_template=HOSTILE[name])
    start = time.perf_counter()
    with pytest.raises(sftmask.TemplateError):
        masker.render(conversation(1))
    assert time.perf_counter() - start < 60  # a bound against hangs, not a benchmark


# --- big inputs: encoded correctly, not refused -----------------------------------------------------------------

def test_a_one_megabyte_message(masker):
    rng = np.random.default_rng(0)
    words = ["tide", "moon", "潮汐", "sea", "pull", "😀", "42,", "e\u0301"]
    content = " ".join(rng.choice(words, size=250_000))
    assert len(content.encode()) > 1_000_000
    messages = [{"role": "user", "content": "Write a lot."}, {"role": "assistant", "content": content}]
    out = masker.encode(messages)
    trained = out["input_ids"][out["labels"] != -100]
    assert masker.decode(trained) == content + "<|im_end|>\n"


def test_ten_thousand_turns():
    transformers = pytest.importorskip("transformers")
    masker = sftmask.Masker.from_pretrained(DEMO_DIR)
    messages = conversation(5_000)
    out = masker.encode(messages)
    reference = transformers.AutoTokenizer.from_pretrained(str(DEMO_DIR))
    expected = reference.apply_chat_template(messages, return_dict=True, return_assistant_tokens_mask=True)
    assert out["input_ids"].tolist() == expected["input_ids"]
    assert (out["labels"] != -100).astype(int).tolist() == expected["assistant_masks"]


def test_qwen3_own_template_on_ten_thousand_turns():
    masker = sftmask.Masker.from_pretrained(shared_path("tokenizers", "qwen3"))
    text = masker.render(conversation(5_000))
    assert text.count("<|im_start|>assistant") == 5_000


# --- concurrency ------------------------------------------------------------------------------------------------

def test_one_masker_hammered_from_many_threads(masker):
    rows = [json.loads(line) for line in (DEMO_DIR / "conversations.jsonl").open(encoding="utf-8")]
    expected = [masker.encode(r)["labels"].tolist() for r in rows]
    expected_batch = masker.encode_batch(rows)
    errors = []

    def work(seed: int) -> None:
        order = np.random.default_rng(seed).permutation(len(rows))
        for i in order[:20]:
            if masker.encode(rows[i])["labels"].tolist() != expected[i]:
                errors.append(("encode", int(i)))
        if not masker.encode_batch(rows, threads=1 + seed % 2).equals(expected_batch):
            errors.append(("encode_batch", seed))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(16)))
    assert errors == []


def test_results_are_deterministic_across_runs_and_thread_counts(masker):
    rows = [json.loads(line) for line in (DEMO_DIR / "conversations.jsonl").open(encoding="utf-8")]
    first = masker.encode_batch(rows, threads=1)
    assert all(masker.encode_batch(rows, threads=n).equals(first) for n in (1, 2, 4, 8))


def test_pickled_masker_in_worker_processes(masker):
    import multiprocessing

    rows = [json.loads(line) for line in (DEMO_DIR / "conversations.jsonl").open(encoding="utf-8")][:8]
    masker.encode_batch(rows)  # start this process's thread pool before forking
    context = multiprocessing.get_context("fork")
    with context.Pool(2) as pool:
        results = pool.map(_encode_labels, [(pickle.dumps(masker), r) for r in rows])
    assert results == [masker.encode(r)["labels"].tolist() for r in rows]


def _encode_labels(args):
    blob, row = args
    clone = pickle.loads(blob)
    return clone.encode_batch([row])["labels"].to_pylist()[0]
