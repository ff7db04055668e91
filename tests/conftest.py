"""Shared fixtures: the real tokenizers and corpus in ../shared (skipped cleanly when absent) and the demo assets
the package ships."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SFTMASK_SHARED", ROOT.parent / "shared"))

# Filled by tests that compare against a reference; printed at the end of the run for the record.
REPORT: list[str] = []


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available (the shared data lives beside the checkout)")
    return path


def load_corpus() -> list[tuple[str, int, dict]]:
    """Every conversation of ../shared/data/chat as (file name, line number, row)."""
    rows = []
    for file in sorted(shared_path("data", "chat").glob("*.jsonl")):
        with file.open(encoding="utf-8") as f:
            for line_number, line in enumerate(f):
                rows.append((file.name, line_number, json.loads(line)))
    return rows


@pytest.fixture(scope="session")
def corpus() -> list[tuple[str, int, dict]]:
    return load_corpus()


def trained_texts(masker, encoded: dict) -> list[str]:
    """The trained tokens of an encoded row, decoded: one string per run of consecutive trained tokens."""
    runs, current = [], []
    for token, label in zip(encoded["input_ids"].tolist(), encoded["labels"].tolist()):
        if label != -100:
            current.append(token)
        elif current:
            runs.append(masker.decode(current))
            current = []
    return runs + ([masker.decode(current)] if current else [])


def with_generation_tags_qwen3(own: str) -> str:
    """Qwen3's own chat template with `{% generation %}` tags added around what the model writes (after the
    `<|im_start|>assistant\n` its generation prompt supplies, through `<|im_end|>\n`), rendering the same text:
    a reference for located turns on the own template, which renders earlier turns differently (TRL's
    `qwen3_training` does not: it keeps every turn's `<think>` block)."""
    header = r"'<|im_start|>' + message.role + '\n'"
    replacements = [
        (r"{{- '<|im_start|>' + message.role + '\n<think>\n' + reasoning_content", r"{{- '<think>\n' + reasoning_content", 1),
        ("{{- " + header + " + content }}", "{{- content }}", 2),
        (
            "        {%- if loop.index0 > ns.last_query_index %}",
            "        {{- " + header + " }}{%- generation %}\n        {%- if loop.index0 > ns.last_query_index %}",
            1,
        ),
        (
            "        {{- '<|im_end|>\\n' }}\n    {%- elif message.role == \"tool\" %}",
            "        {{- '<|im_end|>\\n' }}{%- endgeneration %}\n    {%- elif message.role == \"tool\" %}",
            1,
        ),
    ]
    tagged = own
    for old, new, count in replacements:
        assert tagged.count(old) == count, old
        tagged = tagged.replace(old, new)
    return tagged


def pytest_terminal_summary(terminalreporter):
    if REPORT:
        terminalreporter.section("sftmask reference comparisons")
        for line in REPORT:
            terminalreporter.write_line(line)
