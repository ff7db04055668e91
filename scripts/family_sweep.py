#!/usr/bin/env python
"""Family sweep: sftmask against transformers over TRL's collection of chat templates.

For every template in `trl/chat_templates` (one tokenizer, ../shared/tokenizers/qwen3, stands in for every family)
and every conversation of a sample of ../shared/data/chat, three measurements:

1. render: `Masker.render` equals `apply_chat_template(tokenize=False)`; where transformers raises sftmask must
   raise too ("both raise" counts as identical).
2. tagged (templates with `{% generation %}` blocks): `Masker.encode(mode="generation")` gives the `input_ids` and
   labels of `apply_chat_template(return_assistant_tokens_mask=True)` (label = id where the mask is 1). Rows on which
   transformers raises are not applicable.
3. auto vs variant (each original `X.jinja` with TRL's tagged training variant `X_training.jinja`, the pairing TRL's
   `get_training_chat_template` uses): auto mode on the original against the variant's assistant mask, on the rows
   where original and variant render the same text. A tagged original without a variant (lfm2_2_5*) is checked
   with `mode="turns"` against its own tags instead (auto mode would just use the tags).
   Outcomes: exact, equal up to the documented rule (`header_only_difference`), differ, sftmask raises, renders
   differ, not applicable (transformers raises on either template).
   Originals with neither a variant nor tags get no reference; for them only auto-mode errors are counted.

   The documented rule (README, "Which tokens are trained"): trained = what the model writes after the generation
   prompt, through the end of its turn; text the generation prompt supplies (role header, a prefilled `<think>\\n`,
   DeepSeek's `<｜Assistant｜>`) is never trained. Some TRL variants train part of it (qwen2_5 the header's newline,
   gpt-oss `<|start|>assistant`, DeepSeek `<｜Assistant｜>`). "Equal up to the rule": every differing token is
   trained by the variant, not by auto, and overlaps the text right before the next span auto trains that begins
   a generation prompt of the row (`header_regions`, `first_rule_violation`). A row that differs otherwise is
   reported with the first token the rule does not allow, decoded with its neighbours; "(at turn starts)" counts
   the differing rows whose differences all lie within the first 3 tokens of a trained run of either side.

Sample (`--sample N`): N rows per template balanced over the corpus files (an equal share each, a small file
giving all its rows), evenly spaced in each file from a seeded offset; the same rows for every template.
One tokenizer for all (`--tokenizer`, default qwen3): templates that need a `bos_token` (llama3) raise
with it and are not applicable; `--templates llama3 --tokenizer ../shared/tokenizers/llama3_1` runs them.

Usage:
    python scripts/family_sweep.py                      # every row of the corpus, every family
    python scripts/family_sweep.py --sample 1000 --templates qwen3,gptoss --only auto --json out.json
    python scripts/family_sweep.py --from-json out.json   # the table of a saved run again

The library part (`load_corpus`, `sample_rows`, `pick_diverse`, `families`, `sweep_family`, `markdown`) is shared
with tests/test_families.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SFTMASK_SHARED", ROOT.parent / "shared"))
GENERATION_TAG = re.compile(r"\{%-?\s*generation\s*-?%\}")
CHECKS = ("render", "tagged", "auto")
IGNORE = -100


# ----------------------------------------------------------------------------------------------------------------
# Inputs: templates, corpus, samples


def trl_templates_dir() -> Path | None:
    """TRL's chat_templates folder, found without importing trl (which imports torch)."""
    spec = importlib.util.find_spec("trl")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "chat_templates"
    return path if path.is_dir() else None


def load_templates(directory: Path) -> dict[str, str]:
    """Template name (file stem) -> text."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.jinja"))}


def is_tagged(text: str) -> bool:
    return GENERATION_TAG.search(text) is not None


@dataclass(frozen=True)
class Family:
    """An original template and its TRL training variant (`X` and `X_training`), or a lone template."""

    name: str
    original: str
    variant: str | None
    original_tagged: bool

    @property
    def templates(self) -> list[str]:
        return [self.original] + ([self.variant] if self.variant else [])

    @property
    def reference(self) -> str | None:
        """What auto mode is compared with: 'variant', 'own tags' (turns mode vs the original's tags) or None."""
        if self.variant:
            return "variant"
        return "own tags" if self.original_tagged else None


def families(templates: dict[str, str]) -> list[Family]:
    out = []
    for name, text in templates.items():
        if name.endswith("_training") and name[: -len("_training")] in templates:
            continue  # part of its original's family
        variant = f"{name}_training" if f"{name}_training" in templates else None
        out.append(Family(name, name, variant, is_tagged(text)))
    return out


def select_families(all_families: list[Family], names: str | None) -> list[Family]:
    """`names`: comma-separated template or family names (`qwen3` and `qwen3_training` both select qwen3)."""
    if not names:
        return all_families
    wanted = {n.strip().removesuffix(".jinja") for n in names.split(",") if n.strip()}
    chosen = [f for f in all_families if wanted & set(f.templates)]
    unknown = wanted - {t for f in chosen for t in f.templates}
    if unknown:
        raise SystemExit(f"unknown templates: {', '.join(sorted(unknown))}")
    return chosen


def load_corpus(data_dir: Path) -> list[tuple[str, int, dict]]:
    """Every conversation as (file name, line number, row), files in name order."""
    rows = []
    for file in sorted(data_dir.glob("*.jsonl")):
        with file.open(encoding="utf-8") as f:
            for line_number, line in enumerate(f):
                rows.append((file.name, line_number, json.loads(line)))
    return rows


def _by_file(rows):
    groups: dict[str, list] = {}
    for item in rows:
        groups.setdefault(item[0], []).append(item)
    return groups


def _shares(sizes: dict[str, int], n: int) -> dict[str, int]:
    """n split as evenly as possible over the files, a file never giving more rows than it has."""
    share = dict.fromkeys(sizes, 0)
    left, open_files = n, sorted(sizes)
    while left > 0 and open_files:
        each, extra = divmod(left, len(open_files))
        for i, name in enumerate(open_files):
            take = min(sizes[name] - share[name], each + (i < extra))
            share[name] += take
            left -= take
        open_files = [f for f in open_files if share[f] < sizes[f]]
    return share


def sample_rows(rows, n: int | None, seed: int = 0):
    """A fixed sample of n rows balanced over the files (an equal share each; a small file gives all its rows and
    the rest goes to the others), evenly spaced inside each file from a seeded offset. None or n >= len: all."""
    if n is None or n >= len(rows):
        return list(rows)
    groups = _by_file(rows)
    share = _shares({k: len(v) for k, v in groups.items()}, n)
    rng = random.Random(seed)
    out = []
    for name in sorted(groups):
        group, k = groups[name], share[name]
        if k == 0:
            continue
        step = len(group) / k
        offset = rng.random() * step
        out.extend(group[min(len(group) - 1, int(offset + i * step))] for i in range(k))
    return out


def features(row: dict) -> tuple:
    messages = row["messages"]
    return (
        bool(row.get("tools")),
        any(m.get("tool_calls") for m in messages),
        any(m.get("reasoning_content") for m in messages),
        any(m.get("role") == "tool" for m in messages),
        sum(m.get("role") == "assistant" for m in messages) > 1,
        messages[0].get("role") == "system",
    )


def pick_diverse(rows, n: int, seed: int = 0):
    """n rows balanced over the files, each file's share picked to cover as many shapes as it has (tools, tool
    calls, reasoning_content, tool turns, multi-turn, system prompt): first one row per shape, then seeded fill."""
    groups = _by_file(rows)
    share = _shares({k: len(v) for k, v in groups.items()}, n)
    rng = random.Random(seed)
    out = []
    for name in sorted(groups):
        group = list(groups[name])
        rng.shuffle(group)
        seen, picked, rest = set(), [], []
        for item in group:
            shape = features(item[2])
            (rest if shape in seen else picked).append(item)
            seen.add(shape)
        # Rarer shapes (more features) first, so a small share still gets tool calls and reasoning.
        picked.sort(key=lambda item: -sum(features(item[2])))
        out.extend((picked + rest)[: share[name]])
    return sorted(out, key=lambda item: (item[0], item[1]))


# ----------------------------------------------------------------------------------------------------------------
# Measuring one family


class _Refs:
    """transformers' renders and assistant masks, cached per (template, row index)."""

    def __init__(self, tokenizer, templates: dict[str, str]):
        self.tokenizer, self.templates = tokenizer, templates
        self._render: dict = {}
        self._mask: dict = {}

    def render(self, template: str, i: int, row: dict, messages=None, add_generation_prompt=False):
        key = (template, i) if messages is None else None
        if key is not None and key in self._render:
            return self._render[key]
        try:
            out = self.tokenizer.apply_chat_template(
                row["messages"] if messages is None else messages,
                tools=row.get("tools") or None,
                chat_template=self.templates[template],
                tokenize=False,
                add_generation_prompt=add_generation_prompt,
            )
        except Exception as exc:  # noqa: BLE001 - a failure of the reference is an outcome
            out = exc
        if key is not None:
            self._render[key] = out
        return out

    def mask(self, template: str, i: int, row: dict):
        """(input_ids, labels) from the assistant mask, or the exception transformers raised."""
        key = (template, i)
        if key not in self._mask:
            try:
                out = self.tokenizer.apply_chat_template(
                    row["messages"],
                    tools=row.get("tools") or None,
                    chat_template=self.templates[template],
                    tokenize=True,
                    return_dict=True,
                    return_assistant_tokens_mask=True,
                )
                ids = list(out["input_ids"])
                labels = [t if m else IGNORE for t, m in zip(ids, out["assistant_masks"])]
                self._mask[key] = (ids, labels)
            except Exception as exc:  # noqa: BLE001
                self._mask[key] = exc
        return self._mask[key]

    def offsets(self, text: str) -> list[tuple[int, int]]:
        return self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]


def _err(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 600 else text[:600] + " ..."


def _where(item) -> str:
    return f"{item[0]}:{item[1]}"


def _tokens_window(tokenizer, text, ids, rows_of_labels, names, at, before=6, after=12):
    """Tokens around index `at`: index, one mark per label vector (its letter where trained, '.' elsewhere), text."""
    offsets = None
    try:
        if text is not None:
            offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
            if len(offsets) != len(ids):
                offsets = None
    except Exception:  # noqa: BLE001
        offsets = None
    lines = []
    for i in range(max(0, at - before), min(len(ids), at + after + 1)):
        marks = "".join(n if (i < len(lab) and lab[i] != IGNORE) else "." for n, lab in zip(names, rows_of_labels))
        piece = text[offsets[i][0] : offsets[i][1]] if offsets else tokenizer.decode([ids[i]])
        lines.append(f"{'>' if i == at else ' '}{i:6d} {marks} {piece!r}")
    return "\n".join(lines)


def _added_text(refs: _Refs, template: str, row: dict, k: int) -> tuple[str, str] | None:
    """(render of messages[:k] without the generation prompt, the text add_generation_prompt=True adds to it),
    transformers, the original template; None where either render raises."""
    messages = row["messages"]
    with_prompt = refs.render(template, -1, row, messages[:k], add_generation_prompt=True)
    without = refs.render(template, -1, row, messages[:k], add_generation_prompt=False)
    if isinstance(with_prompt, Exception) or isinstance(without, Exception):
        return None
    common = 0
    while common < min(len(with_prompt), len(without)) and with_prompt[common] == without[common]:
        common += 1
    if common < len(without):
        # The render without the prompt ends differently (Phi-3 ends it with the EOS token): the shared characters
        # may be the start of a token ('<|' of '<|assistant|>' and '<|endoftext|>'); start the added text at the
        # token holding the first differing character.
        offsets = refs.offsets(with_prompt)
        common = next((s for s, e in offsets if s <= common < e), common)
    return without, with_prompt[common:]


def header_text(refs: _Refs, template: str, row: dict) -> str | None:
    """The text the generation prompt adds before the first assistant message (for reports)."""
    k = next((i for i, m in enumerate(row["messages"]) if m.get("role") == "assistant"), None)
    added = _added_text(refs, template, row, k) if k else None
    return added[1] if added else None


def generation_prompts(refs: _Refs, template: str, row: dict) -> set[str]:
    """The text add_generation_prompt=True adds before each assistant message k (messages[:k], transformers, the
    original template): the role header, and a prefill where the template has one ('<think>\\n')."""
    out = set()
    for k, message in enumerate(row["messages"]):
        if k and message.get("role") == "assistant":
            added = _added_text(refs, template, row, k)
            if added and added[1]:
                out.add(added[1])
            after_loop = _after_loop_text(refs, template, row, k)
            if after_loop:
                out.add(after_loop)
    return out


def _after_loop_text(refs: _Refs, template: str, row: dict, k: int) -> str | None:
    """What the template writes after its message loop for messages[:k] with the generation prompt: the prompt
    plus any text the render of messages[:k] ends with that the model reads too (DeepSeek writes
    '<｜tool▁outputs▁end｜>' after a tool result there, with or without the prompt). It starts where the render
    parts from one that goes on with another message."""
    messages = row["messages"]
    with_prompt = refs.render(template, -1, row, messages[:k], add_generation_prompt=True)
    user_next = messages[:k] + [{"role": "user", "content": "\x00"}]
    going_on = refs.render(template, -1, row, user_next, add_generation_prompt=False)
    if isinstance(with_prompt, Exception) or isinstance(going_on, Exception):
        return None
    common = 0
    while common < min(len(with_prompt), len(going_on)) and with_prompt[common] == going_on[common]:
        common += 1
    # Both go on with a tag ('<｜tool▁outputs▁end｜>' against '<｜User｜>'): start at the tag, not inside it.
    common = max(with_prompt.rfind(">", 0, common), with_prompt.rfind("\n", 0, common)) + 1
    return with_prompt[common:] or None


def header_regions(text: str, offsets, auto, prompts) -> list[tuple[int, int]]:
    """Text a generation prompt supplies, right before each span auto mode trains: for a run of trained tokens
    starting at character q, the longest text ending at q that is a beginning of a generation prompt (all of
    '<|im_start|>assistant\\n'; '<｜Assistant｜>' of DeepSeek's '<｜Assistant｜><think>\\n' where the turn renders
    without the prefill; '<|im_start|>assistant\\n<think>\\n' of Qwen3.5's no-thinking prompt
    '<|im_start|>assistant\\n<think>\\n\\n</think>\\n\\n' where the turn has reasoning). Anchoring at the trained
    span makes this work for templates that re-render earlier turns too (no prefix of the render to rely on)."""
    regions = []
    for i, label in enumerate(auto):
        if label == IGNORE or (i and auto[i - 1] != IGNORE):
            continue
        q, best = offsets[i][0], 0
        for prompt in prompts:
            for m in range(min(len(prompt), q), best, -1):
                if text[q - m : q] == prompt[:m]:
                    best = m
                    break
        if best:
            regions.append((q - best, q))
    return regions


def header_only_difference(text, offsets, auto, variant, prompts) -> bool:
    """The documented rule: trained = what the model writes after the generation prompt; what the prompt supplies
    (role header, a prefilled `<think>\\n`, `<｜Assistant｜>`) is never trained. Some TRL variants train part of it.

    Equal up to the rule: every token where the two label vectors differ is trained by the variant and not by auto,
    and overlaps the header region right before the next span auto trains (`header_regions`: the text there that
    begins a generation prompt). So the variant trains more of the header; everything after it agrees.
    "Overlaps" is transformers' own rule for tokens: with a tokenizer that splits special tokens into pieces, one
    piece may straddle the end of the previous turn and the header ('><' of '<|end|><|start|>' in gpt-oss with
    the qwen3 tokenizer)."""
    return first_rule_violation(text, offsets, auto, variant, prompts) is None


def first_rule_violation(text, offsets, auto, variant, prompts) -> int | None:
    """The first token where the label vectors differ other than as `header_only_difference` allows, or None."""
    regions = {p: o for o, p in header_regions(text, offsets, auto, prompts)}
    auto_trained = [i for i, label in enumerate(auto) if label != IGNORE]
    for i, (a, v) in enumerate(zip(auto, variant)):
        if a == v:
            continue
        if not (a == IGNORE and v != IGNORE):
            return i
        s, e = offsets[i]
        next_trained = next((j for j in auto_trained if j > i), None)
        if next_trained is None:
            return i
        p = offsets[next_trained][0]
        if p not in regions or not (s < p and e > regions[p]):
            return i
    return None


def at_turn_starts(auto, variant, width=3) -> bool:
    """Looser measure: every differing token is among the first `width` tokens of a trained run of either side."""

    def run_position(labels, i):
        n = 0
        while i - n - 1 >= 0 and labels[i - n - 1] != IGNORE:
            n += 1
        return n

    for i, (a, v) in enumerate(zip(auto, variant)):
        if a == v:
            continue
        side = variant if v != IGNORE else auto
        if run_position(side, i) >= width:
            return False
    return True


_tokenizer_cache: dict = {}


def reference_tokenizer(path: Path):
    key = str(path)
    if key not in _tokenizer_cache:
        from transformers import AutoTokenizer

        _tokenizer_cache[key] = AutoTokenizer.from_pretrained(key)
    return _tokenizer_cache[key]


def sweep_family(
    family: Family,
    rows,
    templates: dict[str, str],
    tokenizer_path: Path,
    checks=CHECKS,
) -> dict:
    """All measurements of one family over `rows` ((file, line, row) triples). Returns a JSON-able dict."""
    import sftmask

    tokenizer = reference_tokenizer(tokenizer_path)
    refs = _Refs(tokenizer, templates)
    started = time.perf_counter()
    maskers = {t: sftmask.Masker.from_pretrained(tokenizer_path, chat_template=templates[t]) for t in family.templates}
    result: dict = {
        "family": family.name,
        "original": family.original,
        "variant": family.variant,
        "reference": family.reference,
        "rows": len(rows),
        "render": {},
        "tagged": {},
        "auto": None,
    }

    if "render" in checks:
        for t in family.templates:
            r = {"identical": 0, "both_raise": 0, "differ": 0, "only_transformers_raises": 0, "only_sftmask_raises": 0}
            first = None
            for i, item in enumerate(rows):
                row = item[2]
                expected = refs.render(t, i, row)
                try:
                    actual = maskers[t].render(row["messages"], tools=row.get("tools") or None)
                except Exception as exc:  # noqa: BLE001
                    actual = exc
                if isinstance(expected, Exception) and isinstance(actual, Exception):
                    r["both_raise"] += 1
                elif isinstance(expected, Exception):
                    r["only_transformers_raises"] += 1
                    first = first or f"{_where(item)}: transformers raised {_err(expected)}; sftmask rendered"
                elif isinstance(actual, Exception):
                    r["only_sftmask_raises"] += 1
                    first = first or f"{_where(item)}: sftmask raised {_err(actual)}"
                elif actual == expected:
                    r["identical"] += 1
                else:
                    r["differ"] += 1
                    if first is None:
                        at = next((k for k, (x, y) in enumerate(zip(actual, expected)) if x != y), None)
                        at = min(len(actual), len(expected)) if at is None else at
                        first = (
                            f"{_where(item)}: rendered text differs at char {at}: "
                            f"transformers {expected[max(0, at - 60) : at + 60]!r} / "
                            f"sftmask {actual[max(0, at - 60) : at + 60]!r}"
                        )
            r["failures"] = r["differ"] + r["only_transformers_raises"] + r["only_sftmask_raises"]
            r["first_failure"] = first
            result["render"][t] = r

    if "tagged" in checks:
        for t in family.templates:
            if not is_tagged(templates[t]):
                continue
            r = {"identical": 0, "not_applicable": 0, "differ": 0, "sftmask_error": 0, "untrainable_both": 0}
            first = None
            for i, item in enumerate(rows):
                row = item[2]
                expected = refs.mask(t, i, row)
                if isinstance(expected, Exception):
                    r["not_applicable"] += 1
                    continue
                ids, labels = expected
                try:
                    got = maskers[t].encode(row["messages"], tools=row.get("tools") or None, mode="generation")
                except sftmask.UntrainableError as exc:
                    if all(x == IGNORE for x in labels):
                        r["identical"] += 1
                        r["untrainable_both"] += 1
                    else:
                        r["sftmask_error"] += 1
                        first = first or f"{_where(item)}: sftmask raised {_err(exc)}"
                    continue
                except Exception as exc:  # noqa: BLE001
                    r["sftmask_error"] += 1
                    first = first or f"{_where(item)}: sftmask raised {_err(exc)}"
                    continue
                got_ids, got_labels = got["input_ids"].tolist(), got["labels"].tolist()
                if got_ids == ids and got_labels == labels:
                    r["identical"] += 1
                    continue
                r["differ"] += 1
                if first is None:
                    text = refs.render(t, i, row)
                    text = None if isinstance(text, Exception) else text
                    if got_ids != ids:
                        same = zip(got_ids, ids)
                        at = next((k for k, (x, y) in enumerate(same) if x != y), min(len(ids), len(got_ids)))
                        first = f"{_where(item)}: input_ids differ at token {at} (len {len(got_ids)} vs {len(ids)})"
                    else:
                        at = next(k for k, (x, y) in enumerate(zip(got_labels, labels)) if x != y)
                        first = (
                            f"{_where(item)}: labels differ at token {at} (T = transformers trains, S = sftmask)\n"
                            + _tokens_window(tokenizer, text, ids, [labels, got_labels], "TS", at)
                        )
            r["failures"] = r["differ"] + r["sftmask_error"]
            r["first_failure"] = first
            result["tagged"][t] = r

    if "auto" in checks:
        result["auto"] = _sweep_auto(family, rows, refs, maskers, tokenizer, sftmask)

    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def _sweep_auto(family, rows, refs, maskers, tokenizer, sftmask) -> dict:
    o = family.original
    r = {
        "exact": 0,
        "rule": 0,
        "differ": 0,
        "differ_at_turn_starts": 0,
        "sftmask_error": 0,
        "render_differs": 0,
        "not_applicable": 0,
        "compared": 0,
        "first_error": None,
        "first_diff": None,
        "first_rule": None,
    }
    if family.reference is None:
        # No reference: only whether auto mode runs where transformers renders the template.
        for i, item in enumerate(rows):
            row = item[2]
            if isinstance(refs.render(o, i, row), Exception):
                r["not_applicable"] += 1
                continue
            r["compared"] += 1
            try:
                maskers[o].encode(row["messages"], tools=row.get("tools") or None, mode="auto")
            except Exception as exc:  # noqa: BLE001
                r["sftmask_error"] += 1
                r["first_error"] = r["first_error"] or f"{_where(item)}: {_err(exc)}"
        return r

    ref_template = family.variant or o
    mode = "auto" if family.variant else "turns"
    r["mode"] = mode
    for i, item in enumerate(rows):
        row = item[2]
        text_o, text_v = refs.render(o, i, row), refs.render(ref_template, i, row)
        if isinstance(text_o, Exception) or isinstance(text_v, Exception):
            r["not_applicable"] += 1
            continue
        if text_o != text_v:
            r["render_differs"] += 1
            continue
        expected = refs.mask(ref_template, i, row)
        if isinstance(expected, Exception):
            r["not_applicable"] += 1
            continue
        ids, variant = expected
        r["compared"] += 1
        try:
            got = maskers[o].encode(row["messages"], tools=row.get("tools") or None, mode=mode)
        except sftmask.UntrainableError as exc:
            if all(x == IGNORE for x in variant):
                r["exact"] += 1
            else:
                r["sftmask_error"] += 1
                r["first_error"] = r["first_error"] or f"{_where(item)}: {_err(exc)}"
            continue
        except Exception as exc:  # noqa: BLE001
            r["sftmask_error"] += 1
            r["first_error"] = r["first_error"] or f"{_where(item)}: {_err(exc)}"
            continue
        got_ids, auto = got["input_ids"].tolist(), got["labels"].tolist()
        if got_ids != ids:
            r["differ"] += 1
            if r["first_diff"] is None:
                at = next((k for k, (x, y) in enumerate(zip(got_ids, ids)) if x != y), min(len(ids), len(got_ids)))
                r["first_diff"] = f"{_where(item)}: input_ids differ at token {at} (len {len(got_ids)} vs {len(ids)})"
            continue
        if auto == variant:
            r["exact"] += 1
            continue
        offsets = refs.offsets(text_o)
        at = next(k for k, (x, y) in enumerate(zip(auto, variant)) if x != y)
        window = None
        prompts = generation_prompts(refs, o, row) if len(offsets) == len(ids) else set()
        violation = first_rule_violation(text_o, offsets, auto, variant, prompts) if prompts else at
        if violation is None:
            r["rule"] += 1
            if r["first_rule"] is None:
                window = _tokens_window(tokenizer, text_o, ids, [variant, auto], "VA", at)
                r["first_rule"] = (
                    f"{_where(item)}: first difference at token {at} (V = variant trains, A = auto)\n{window}"
                )
            continue
        r["differ"] += 1
        r["differ_at_turn_starts"] += at_turn_starts(auto, variant)
        if r["first_diff"] is None:
            window = _tokens_window(tokenizer, text_o, ids, [variant, auto], "VA", violation)
            r["first_diff"] = (
                f"{_where(item)}: first difference the rule does not allow at token {violation} (first difference "
                f"at {at}; V = variant trains, A = auto trains; generation prompts {sorted(prompts)!r})\n{window}"
            )
    return r


# ----------------------------------------------------------------------------------------------------------------
# Running and reporting

_WORKER: dict = {}


def _init(rows, templates, tokenizer_path, checks) -> None:
    _WORKER.update(rows=rows, templates=templates, tokenizer=tokenizer_path, checks=checks)


def _work(family: Family) -> dict:
    w = _WORKER
    return sweep_family(family, w["rows"], w["templates"], w["tokenizer"], w["checks"])


def run(selected, rows, templates, tokenizer_path, checks=CHECKS, jobs=1, progress=None) -> list[dict]:
    """sweep_family over the selected families, in `jobs` processes (spawned, not forked: the parent may hold
    native thread pools), results in the order of `selected`."""
    results = []
    if jobs > 1 and len(selected) > 1:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        with context.Pool(jobs, initializer=_init, initargs=(rows, templates, tokenizer_path, checks)) as pool:
            for res in pool.imap_unordered(_work, selected):
                results.append(res)
                if progress:
                    progress(res)
    else:
        _init(rows, templates, tokenizer_path, checks)
        for family in selected:
            res = _work(family)
            results.append(res)
            if progress:
                progress(res)
    order = {f.name: k for k, f in enumerate(selected)}
    return sorted(results, key=lambda res: order[res["family"]])


def _frac(a, b) -> str:
    return f"{a}/{b}"


def auto_ok(res: dict) -> bool:
    a = res["auto"]
    return a is None or (a["differ"] == 0 and a["sftmask_error"] == 0)


def _render_cell(render: dict, t, n: int) -> str:
    """One "render" cell of the sweep table: how the rendering of template `t` compared on `n` rows."""
    r = render.get(t) if t else None
    if r is None:
        return "-"
    ok = r["identical"] + r["both_raise"]
    extra = f" ({r['both_raise']} both raise)" if r["both_raise"] else ""
    failed = [
        f"{r[key]} {what}"
        for key, what in (
            ("differ", "differ"),
            ("only_sftmask_raises", "only sftmask raises"),
            ("only_transformers_raises", "only transformers raises"),
        )
        if r[key]
    ]
    return f"{_frac(ok, n)}{extra}" + (f" ✗ {', '.join(failed)}" if failed else "")


def markdown(results: list[dict], sample_note: str = "") -> str:
    lines = []
    if sample_note:
        lines += [sample_note, ""]
    lines += [
        "| family | rows | render orig | render variant | tagged ids+labels | auto: compared | exact | up to rule "
        "| differ (at turn starts) | sftmask error | renders differ | n/a |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    tot = dict(compared=0, exact=0, rule=0)
    for res in results:
        n = res["rows"]

        tagged = []
        for r in res["tagged"].values():
            applicable = n - r["not_applicable"]
            failed = [f"{r[k]} {k.replace('_', ' ')}" for k in ("differ", "sftmask_error") if r[k]]
            tagged.append(f"{_frac(r['identical'], applicable)}" + (f" ✗ {', '.join(failed)}" if failed else ""))
        a = res["auto"]
        if a is None:
            auto_cells = ["-"] * 7
        elif res["reference"] is None:
            auto_cells = [f"{a['compared']} (no reference)", "-", "-", "-", str(a["sftmask_error"]), "-",
                          str(a["not_applicable"])]
        else:
            name = " (turns vs own tags)" if res["reference"] == "own tags" else ""
            auto_cells = [
                f"{a['compared']}{name}",
                str(a["exact"]),
                str(a["rule"]),
                f"{a['differ']} ({a['differ_at_turn_starts']})",
                str(a["sftmask_error"]),
                str(a["render_differs"]),
                str(a["not_applicable"]),
            ]
            tot["compared"] += a["compared"]
            tot["exact"] += a["exact"]
            tot["rule"] += a["rule"]
        lines.append(
            f"| {res['family']} | {n} | {_render_cell(res['render'], res['original'], n)} | "
            f"{_render_cell(res['render'], res['variant'], n)} | "
            f"{' '.join(tagged) or '-'} | " + " | ".join(auto_cells) + " |"
        )
    lines.append("")
    if tot["compared"]:
        ok = tot["exact"] + tot["rule"]
        lines.append(
            f"Auto mode equals the reference up to the rule on {ok}/{tot['compared']} compared rows "
            f"({100 * ok / tot['compared']:.2f}%; exactly on {tot['exact']}, "
            f"{100 * tot['exact'] / tot['compared']:.2f}%)."
        )
    lines.append("")
    details = []
    for res in results:
        for t, r in res["render"].items():
            if r["first_failure"]:
                details.append((f"{t}: render", r["first_failure"]))
        for t, r in res["tagged"].items():
            if r["first_failure"]:
                details.append((f"{t}: tagged", r["first_failure"]))
        a = res["auto"]
        if a:
            if a["first_error"]:
                title = f"{res['family']}: auto, first sftmask error ({a['sftmask_error']} rows)"
                details.append((title, a["first_error"]))
            if a["first_diff"]:
                details.append((f"{res['family']}: auto, first difference ({a['differ']} rows)", a["first_diff"]))
            if a.get("first_rule"):
                title = f"{res['family']}: auto, first row equal only up to the rule ({a['rule']} rows)"
                details.append((title, a["first_rule"]))
    if details:
        lines.append("## First failure per family")
        for title, body in details:
            lines += ["", f"### {title}", "", "```", body, "```"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sample", type=int, default=None, help="rows per template (balanced over the files); default all"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--templates", default=None, help="comma-separated template or family names")
    parser.add_argument("--only", choices=CHECKS, action="append", help="run only this check (repeatable)")
    parser.add_argument("--json", type=Path, default=None, help="write the full results here")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--tokenizer", type=Path, default=None, help="default: <shared>/tokenizers/qwen3")
    parser.add_argument("--templates-dir", type=Path, default=None, help="default: trl's chat_templates")
    parser.add_argument("--from-json", type=Path, default=None, help="print the table of a saved --json, run nothing")
    args = parser.parse_args(argv)
    if args.from_json:
        saved = json.loads(args.from_json.read_text(encoding="utf-8"))
        print(markdown(saved["results"], saved["note"]))
        return 0

    directory = args.templates_dir or trl_templates_dir()
    if directory is None:
        raise SystemExit("trl is not installed (or has no chat_templates); give --templates-dir")
    templates = load_templates(directory)
    selected = select_families(families(templates), args.templates)
    tokenizer_path = args.tokenizer or args.shared / "tokenizers" / "qwen3"
    corpus = load_corpus(args.shared / "data" / "chat")
    rows = sample_rows(corpus, args.sample, args.seed)
    checks = tuple(args.only) if args.only else CHECKS
    note = (
        f"Sample: {len(rows)} of {len(corpus)} conversations per template"
        + (f" (balanced over the files, seed {args.seed})" if len(rows) < len(corpus) else "")
        + f"; tokenizer {tokenizer_path.name}; templates from {directory}; checks: {', '.join(checks)}."
    )
    print(f"{len(selected)} families, {len(rows)} rows each, jobs={args.jobs}", file=sys.stderr)
    started = time.perf_counter()

    def progress(res):
        print(f"  {res['family']:32s} {res['seconds']:8.1f}s  ({time.perf_counter() - started:.0f}s)", file=sys.stderr)

    results = run(selected, rows, templates, tokenizer_path, checks, args.jobs, progress)
    print(markdown(results, note))
    if args.json:
        args.json.write_text(
            json.dumps(
                {"note": note, "sample": args.sample, "seed": args.seed, "results": results},
                indent=1,
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
