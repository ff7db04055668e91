"""The doctor: finds the masking bugs that make fine-tuning go wrong, before the training job runs.

Each symptom is measured against an independent view of the same render: the turns of every message located in
the text (`mode="turns"`), which does not depend on the template's `{% generation %}` tags. Tokens trained inside
a system, user or tool message's turn are role leakage; an end-of-turn token inside an assistant turn left
untrained means a model that never learns to stop.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from sftmask import _native
from sftmask.constants import IGNORE_INDEX
from sftmask.masker import READ_OPTIONS, Masker, native_rows, read_options
from sftmask.policy import Policy, split_options
from sftmask.progress import Progress
from sftmask.report import BatchReport
from sftmask.sources import Chunk, JsonLines, input_size, read_chunks

#: How many example rows a finding keeps.
EXAMPLES = 5
#: Upper edges of the token-length histogram's buckets.
LENGTH_BUCKETS = (128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)

Severity = Literal["problem", "note"]
PROBLEM: Severity = "problem"
NOTE: Severity = "note"


@dataclass
class Finding:
    code: str
    """`no_trained_tokens`, `encode_errors`, `role_leakage`, `end_of_turn_untrained`, `special_tokens_in_content`,
    `truncation_cuts_trained_tokens`, `history_leaves_out_text`, `no_generation_tags`, `not_checked`, `no_rows`."""
    severity: Severity
    """`"problem"` (fails the check) or `"note"`."""
    description: str
    count: int = 0
    """Rows with the symptom."""
    tokens: int = 0
    """Tokens concerned, where that means something (leaked tokens, untrained end-of-turn tokens, ...)."""
    examples: list[str] = field(default_factory=list)
    """`source:row` of the first rows with the symptom, and what was seen there."""
    about_rows: bool = True
    """False for a finding about the setup (the template), not about rows."""

    def summary(self) -> str:
        if not self.about_rows:
            return self.description
        tokens = f", {self.tokens:,} tokens" if self.tokens else ""
        return f"{self.description}: {self.count:,} rows{tokens}"

    def add(self, where: str, tokens: int = 0, detail: str = "") -> None:
        self.count += 1
        self.tokens += tokens
        if len(self.examples) < EXAMPLES:
            self.examples.append(f"{where}: {detail}" if detail else where)


@dataclass
class SourceStats:
    rows: int = 0
    tokens: int = 0
    trained_tokens: int = 0

    @property
    def trained_share(self) -> float:
        return self.trained_tokens / self.tokens if self.tokens else 0.0


@dataclass
class CheckReport:
    rows: int = 0
    findings: list[Finding] = field(default_factory=list)
    lengths: Counter = field(default_factory=Counter)
    """Rows per token-length bucket (upper edge, or `None` above the last)."""
    sources: dict[str, SourceStats] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No problem found (notes do not count)."""
        return not any(f.severity == PROBLEM and f.count for f in self.findings)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == PROBLEM and f.count]

    def finding(self, code: str) -> Finding:
        return next(f for f in self.findings if f.code == code)

    def format(self) -> str:
        lines = [f"checked {self.rows:,} rows"]
        for f in self.findings:
            if not f.count:
                continue
            lines.append(f"{'PROBLEM' if f.severity == PROBLEM else 'note'}: {f.summary()}")
            lines += [f"    {example}" for example in f.examples]
        lines.append("token lengths:")
        top = max(self.lengths.values(), default=0)
        for bucket in (*LENGTH_BUCKETS, None):
            count = self.lengths.get(bucket, 0)
            if count:
                label = f"<= {bucket:,}" if bucket else f"> {LENGTH_BUCKETS[-1]:,}"
                lines.append(f"  {label:>10}  {count:>8,}  {'#' * max(1, round(40 * count / top))}")
        lines.append("trained-token share per source:")
        for source, stats in self.sources.items():
            lines.append(f"  {stats.trained_share:6.1%}  {stats.rows:>8,} rows  {source}")
        lines.append("clean: no problem found" if self.ok else f"{len(self.problems)} problem(s) found")
        return "\n".join(lines)

    def to_html(self) -> str:
        from sftmask.doctor_html import report_page

        return report_page(self)


def check(
    masker: Masker,
    data: Any,
    *,
    limit: int | None = None,
    chunk_rows: int = 4096,
    threads: int | None = None,
    progress: bool | None = None,
    split: str | None = None,
    **options: Any,
) -> CheckReport:
    """Checks what `masker` would train on `data` and reports each symptom of a masking bug with counts and
    example rows. `data` is a file path or a list of paths (JSONL, JSON, Parquet, saved `datasets` directory), or
    anything `encode_batch` takes, in any format `encode_batch` recognises. `limit` checks only the first rows.
    `options` are those of `encode_batch`: how rows are read (`format`, `role_map`, column names, ...), policy
    options and template variables. `progress` defaults to a bar on standard error when it is a terminal. No row
    to check at all is a problem.
    """
    read = {k: options.pop(k) for k in READ_OPTIONS if k in options}
    policy = masker.policy.replace(**split_options(dict(options)))
    ctx = _CheckContext(masker, policy, options, read, threads)
    report = ctx.report
    paths = _paths(data)
    bar = Progress(input_size(paths) if paths else 0, enabled=progress)
    bytes_done = 0
    columns = _native.format_columns(read_options(**read)["columns"])
    chunks = read_chunks(paths, chunk_rows, columns=columns, split=split) if paths else None
    try:
        for chunk in chunks or [Chunk("data", data, range(_row_count(data)), 0)]:
            if limit is not None and report.rows >= limit:
                break
            if limit is not None and len(chunk.row_numbers) > limit - report.rows:
                chunk = _head(chunk, limit - report.rows)
            tokens = ctx.check_chunk(chunk)
            bytes_done = chunk.bytes_done
            bar.update(len(chunk.row_numbers), tokens, bytes_done)
    finally:
        bar.close(bytes_done)
    if report.rows == 0:
        empty = Finding("no_rows", PROBLEM, "no rows to check: the input is empty", about_rows=False)
        empty.count = 1
        report.findings.insert(0, empty)
    return report


def _paths(data: Any) -> list[Path] | None:
    """The input files, when `data` names files rather than holding rows."""
    if isinstance(data, (str, os.PathLike)):
        data = [data]
    if isinstance(data, list) and data and all(isinstance(d, (str, os.PathLike)) for d in data):
        return [Path(d) for d in data]
    return None


def _row_count(data: Any) -> int:
    if hasattr(data, "num_rows"):  # Arrow
        return data.num_rows
    if isinstance(data, Mapping):  # a dict of columns
        return len(next(iter(data.values()), []))
    return len(data)


def _head(chunk: Chunk, n: int) -> Chunk:
    data = chunk.data
    if isinstance(data, dict):
        data = {name: column[:n] for name, column in data.items()}
    elif hasattr(data, "slice"):
        data = data.slice(0, n)
    elif isinstance(data, JsonLines):
        data = data.head(n)
    else:
        data = data[:n]
    return Chunk(chunk.source, data, chunk.row_numbers[:n], chunk.bytes_done)


def _messages_of(data: Any, read: Mapping[str, Any]) -> list[Any]:
    """Each row's messages as sftmask renders them, whatever the row's format: None for a prompt-completion row
    (its prompt's turns are not located separately) and for a row that cannot be read (encoding reports it)."""
    conversations = _native.read_conversations(native_rows(data), read_options(**read))
    return [json.loads(c[1]) if c is not None and c[0] != "prompt_completion" else None for c in conversations]


def _strings(value: Any) -> Iterable[str]:
    """Every string inside a message: content, parts, reasoning, tool-call arguments."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key != "role":
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _rows(batch: pa.RecordBatch, name: str) -> list[np.ndarray | None]:
    """Each row of a `list<int32>` column as a numpy view (None where the row is null)."""
    column = batch[name]
    values, offsets = column.values.to_numpy(), column.offsets.to_numpy()
    valid = column.is_valid().to_numpy(zero_copy_only=False)
    return [values[offsets[i] : offsets[i + 1]] if valid[i] else None for i in range(len(column))]


def _where(chunk: Chunk, i: int) -> str:
    """Where row `i` of a chunk comes from, as findings name it."""
    return f"{chunk.source}: row {chunk.row_numbers[i]}"


@dataclass
class _CheckContext:
    """What every chunk of one `check` call is checked with and into: built once by `check`, then fed chunks."""

    masker: Masker
    policy: Policy
    """The masker's policy with the call's policy options applied."""
    options: Mapping[str, Any]
    """The call's other options of `encode_batch`: policy options and template variables."""
    read: Mapping[str, Any]
    """How rows are read (`format`, `role_map`, column names, ...)."""
    threads: int | None
    report: CheckReport = field(init=False)
    special_pattern: re.Pattern[str] | None = field(init=False)
    """Matches the text of any special token; None for a tokenizer without special tokens."""
    special_ids: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        special = self.masker.special_tokens
        by_length = sorted(special, key=len, reverse=True)  # the longest first: `<|im_end|>` before `<|im`
        self.special_pattern = re.compile("|".join(map(re.escape, by_length))) if special else None
        self.special_ids = np.array(sorted(special.values()), dtype=np.int64)
        self.report = CheckReport(findings=self._new_findings())

    def _new_findings(self) -> list[Finding]:
        sanitized = " (encoded as plain text: sanitize_control_tokens)" if self.policy.sanitize_control_tokens else ""
        findings = [
            Finding("encode_errors", PROBLEM, "rows that cannot be encoded"),
            Finding("no_trained_tokens", PROBLEM, "rows with no trained token"),
            Finding("role_leakage", PROBLEM, "trained tokens inside system/user/tool text"),
            Finding("end_of_turn_untrained", PROBLEM, "assistant turns whose end-of-turn token is not trained"),
            Finding(
                "special_tokens_in_content",
                NOTE if self.policy.sanitize_control_tokens else PROBLEM,
                "special-token text inside message content" + sanitized,
            ),
            Finding("truncation_cuts_trained_tokens", PROBLEM, "truncation to max_length cuts trained tokens"),
            Finding(
                "history_leaves_out_text",
                PROBLEM,
                "rows whose chat template rewrites the history: it leaves the reasoning of earlier assistant turns out "
                "of the render, so those turns are trained as answers given without it (history='per_turn' or "
                "'auto' trains each turn in its own last-turn render, as the model writes it at inference)",
            ),
            Finding(
                "not_checked", NOTE, "rows whose turns could not be located, not checked for leakage and end-of-turn"
            ),
        ]
        if not self.masker.has_generation_tags:
            note = Finding(
                "no_generation_tags",
                NOTE,
                "the chat template has no {% generation %} tags: assistant turns are located in the render "
                f"(mode={self.policy.mode!r}); transformers' return_assistant_tokens_mask would refuse it",
                about_rows=False,
            )
            note.count = 1
            findings.append(note)
        return findings

    def _encode(self, chunk: Chunk, **overrides: Any) -> pa.RecordBatch:
        # Without max_length: truncation is judged on the whole row, and turns are compared token by token. One
        # output row per input row: what `history` would write is judged by `_check_history`.
        options = {**self.options, "history": "as_rendered", **overrides, "max_length": None}
        return self.masker.encode_batch(chunk.data, on_error="null", threads=self.threads, **self.read, **options)

    def check_chunk(self, chunk: Chunk) -> int:
        """Checks one chunk into the report; returns its number of tokens."""
        report = self.report
        actual = self._encode(chunk)
        errors, untrainable = report.finding("encode_errors"), report.finding("no_trained_tokens")
        for error in BatchReport.of(actual).errors:
            target = untrainable if error.type == "UntrainableError" else errors
            target.add(_where(chunk, error.row), detail=f"{error.type}: {error.message}")
        report.rows += len(chunk.row_numbers)

        ids, labels = _rows(actual, "input_ids"), _rows(actual, "labels")
        self._count_lengths(chunk.source, ids, labels)
        messages = _messages_of(chunk.data, self.read)
        self._check_special_tokens(chunk, messages)
        self._check_truncation(chunk, labels)
        self._check_history(chunk, BatchReport.of(actual))
        if any(m is not None for m in messages):
            self._check_turns(chunk, messages, ids, labels)
        return sum(len(row) for row in ids if row is not None)

    def _count_lengths(self, source: str, ids, labels) -> None:
        stats = self.report.sources.setdefault(source, SourceStats())
        for row_ids, row_labels in zip(ids, labels):
            if row_ids is not None:
                stats.rows += 1
                stats.tokens += len(row_ids)
                stats.trained_tokens += int(np.count_nonzero(row_labels != IGNORE_INDEX))
                self.report.lengths[next((b for b in LENGTH_BUCKETS if len(row_ids) <= b), None)] += 1

    def _check_turns(self, chunk: Chunk, messages, ids, labels) -> None:
        """Role leakage and untrained end-of-turn tokens, against the turns of every message located in the
        render."""
        trained_roles = set(self.policy.roles_to_train)
        roles = {m.get("role") for conversation in messages if conversation for m in conversation
                 if isinstance(m, Mapping)}
        read_roles = sorted(roles - trained_roles - {None})
        turns = dict(mode="turns", train_last_turn_only=False, train_field=None)
        # The turns the policy trains (a message's `train` / `weight` field included): their ends must be trained.
        trained_turns = self._encode(chunk, **{**turns, "train_field": self.policy.train_field},
                                     roles_to_train=sorted(trained_roles), train_end_of_turn=True)
        trained_turns = _rows(trained_turns, "labels")
        read_turns = None
        if read_roles:
            read_turns = _rows(self._encode(chunk, **turns, roles_to_train=read_roles, train_end_of_turn=False),
                               "labels")
        report = self.report
        leakage, eot, unchecked = (report.finding(c) for c in ("role_leakage", "end_of_turn_untrained", "not_checked"))
        for i, (row_ids, row_labels) in enumerate(zip(ids, labels)):
            if row_ids is None or messages[i] is None:  # prompt-completion rows: the prompt's turns are not located
                continue
            trained = row_labels != IGNORE_INDEX
            assistant = trained_turns[i]
            if assistant is None or len(assistant) != len(row_ids):
                unchecked.add(_where(chunk, i))
                continue
            untrained_ends = (assistant != IGNORE_INDEX) & np.isin(row_ids, self.special_ids) & ~trained
            if untrained_ends.any():
                token = self.masker.decode(row_ids[untrained_ends][:1])
                eot.add(_where(chunk, i), int(untrained_ends.sum()), f"{token!r} not trained")
            reading = read_turns[i] if read_turns is not None else None
            if reading is not None and len(reading) == len(row_ids):
                leaked = trained & (reading != IGNORE_INDEX)
                if leaked.any():
                    text = self.masker.decode(row_ids[leaked][:12])
                    leakage.add(_where(chunk, i), int(leaked.sum()), f"trained: {text!r}")

    def _check_history(self, chunk: Chunk, report: BatchReport) -> None:
        """Rows whose render leaves out trained text (the reasoning of earlier turns), where the policy's `history`
        writes them as rendered: found again with `history="auto"`, which expands exactly those rows."""
        if not report.left_out_messages or self.policy.history != "as_rendered":
            return
        finding = self.report.finding("history_leaves_out_text")
        expanded = self._encode(chunk, history="auto")
        rows = sorted({row for row, message in zip(expanded["source_row"].to_pylist(),
                                                   expanded["source_message"].to_pylist()) if message is not None})
        for row in rows:
            finding.add(_where(chunk, row))
        finding.tokens += report.left_out_tokens

    def _check_special_tokens(self, chunk: Chunk, messages) -> None:
        if self.special_pattern is None:
            return
        finding = self.report.finding("special_tokens_in_content")
        for i, conversation in enumerate(messages):
            found = next(
                (m.group() for text in _strings(conversation) for m in [self.special_pattern.search(text)] if m), None
            )
            if found:
                finding.add(_where(chunk, i), detail=f"{found!r} in a message")

    def _check_truncation(self, chunk: Chunk, labels) -> None:
        """Trained tokens that truncation to `max_length` would cut, counted per row on the untruncated labels.

        It repeats the rule of rust/labels/encoded.rs because the encoder reports only how many rows it cut
        (`BatchReport.truncated`), not which rows lose trained tokens nor how many.
        """
        max_length = self.policy.max_length
        if not max_length:
            return
        finding = self.report.finding("truncation_cuts_trained_tokens")
        for i, row_labels in enumerate(labels):
            if row_labels is None or len(row_labels) <= max_length:
                continue
            trained = row_labels != IGNORE_INDEX
            if self.policy.truncation == "keep_end":
                lost = int(trained[: len(row_labels) - max_length].sum())
            elif self.policy.truncation == "drop":
                lost = int(trained.sum())
            else:
                lost = int(trained[max_length:].sum())
            if lost:
                finding.add(_where(chunk, i), lost, f"{len(row_labels):,} tokens, {lost:,} trained ones cut")
