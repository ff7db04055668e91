"""Differential tests against transformers, the reference implementation, over the whole shared corpus.

For every conversation: the rendered text must be identical to `apply_chat_template(tokenize=False)` (and where
transformers raises, sftmask must raise `TemplateError`), and `input_ids`/`labels` must be identical to
`apply_chat_template(return_assistant_tokens_mask=True)`.
"""

from __future__ import annotations

import pytest

import sftmask
from conftest import REPORT, shared_path

transformers = pytest.importorskip("transformers")

# Sweeps the whole corpus: `pytest -m "not slow"` leaves this module out of a quick run.
pytestmark = pytest.mark.slow

TOKENIZERS = ["qwen3", "llama3_1"]
TRAINING_TEMPLATES = {
    # template file -> tokenizer whose vocabulary it belongs to
    "qwen3_training.jinja": "qwen3",
    "qwen2_5_training.jinja": "qwen3",
    "llama3_training.jinja": "llama3_1",
    "phi3_training.jinja": "llama3_1",
}
_cache: dict = {}


def reference_tokenizer(name: str):
    if name not in _cache:
        _cache[name] = transformers.AutoTokenizer.from_pretrained(str(shared_path("tokenizers", name)))
    return _cache[name]


def template_text(file: str) -> str:
    return shared_path("templates", file).read_text(encoding="utf-8")


def reference_render(tokenizer, row: dict, chat_template: str | None):
    try:
        return tokenizer.apply_chat_template(
            row["messages"], tools=row.get("tools"), chat_template=chat_template, tokenize=False
        )
    except Exception as exc:  # noqa: BLE001 - any failure of the reference is a case to compare
        return exc


def compare_renders(masker: sftmask.Masker, tokenizer, corpus, chat_template: str | None, label: str) -> None:
    identical, both_raise, mismatches = 0, 0, []
    for file, line, row in corpus:
        expected = reference_render(tokenizer, row, chat_template)
        try:
            actual = masker.render(row["messages"], tools=row.get("tools"))
        except sftmask.TemplateError as exc:
            actual = exc
        if isinstance(expected, Exception):
            if isinstance(actual, sftmask.TemplateError):
                both_raise += 1
            else:
                mismatches.append((file, line, f"transformers raised {expected!r}, sftmask did not"))
        elif actual == expected:
            identical += 1
        else:
            mismatches.append((file, line, "rendered text differs"))
    REPORT.append(
        f"render {label}: {identical}/{len(corpus)} identical, {both_raise} raise in both, {len(mismatches)} differ"
    )
    assert not mismatches, mismatches[:10]


@pytest.mark.parametrize("name", TOKENIZERS)
def test_render_matches_transformers_with_own_template(corpus, name):
    masker = sftmask.Masker.from_pretrained(shared_path("tokenizers", name))
    compare_renders(masker, reference_tokenizer(name), corpus, None, f"{name} own template")


@pytest.mark.parametrize("template", sorted(TRAINING_TEMPLATES))
@pytest.mark.parametrize("name", TOKENIZERS)
def test_render_matches_transformers_with_training_template(corpus, template, name):
    text = template_text(template)
    masker = sftmask.Masker.from_pretrained(shared_path("tokenizers", name), chat_template=text)
    compare_renders(masker, reference_tokenizer(name), corpus, text, f"{template} with {name}")


@pytest.mark.parametrize("template", sorted(TRAINING_TEMPLATES))
def test_labels_match_transformers_assistant_mask(corpus, template):
    name = TRAINING_TEMPLATES[template]
    text = template_text(template)
    tokenizer = reference_tokenizer(name)
    masker = sftmask.Masker.from_pretrained(shared_path("tokenizers", name), chat_template=text)
    identical, both_raise, mismatches, trained = 0, 0, [], 0
    for file, line, row in corpus:
        try:
            out = tokenizer.apply_chat_template(
                row["messages"],
                tools=row.get("tools"),
                chat_template=text,
                return_dict=True,
                return_assistant_tokens_mask=True,
            )
        except Exception:  # noqa: BLE001
            with pytest.raises(sftmask.TemplateError):
                masker.encode(row)
            both_raise += 1
            continue
        expected_labels = [t if m else -100 for t, m in zip(out["input_ids"], out["assistant_masks"])]
        got = masker.encode(row)
        if got["input_ids"].tolist() == out["input_ids"] and got["labels"].tolist() == expected_labels:
            identical += 1
            trained += sum(out["assistant_masks"])
        else:
            mismatches.append((file, line))
    REPORT.append(
        f"labels {template} with {name}: {identical}/{len(corpus)} identical input_ids+labels, "
        f"{both_raise} raise in both, {len(mismatches)} differ ({trained} trained tokens compared)"
    )
    assert not mismatches, mismatches[:10]
