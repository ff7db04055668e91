#!/usr/bin/env python
"""Family sweep: sftmask against transformers over TRL's collection of chat templates.

For every template in `trl/chat_templates` (one tokenizer, ../shared/tokenizers/qwen3, stands in for every family)
and every conversation of a sample of ../shared/data/chat, three measurements (a fourth on request):

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
4. content (only with `--only content`): reference-free, located turns (`mode="turns"`) on the original train every
   token of every assistant message's content, found verbatim in transformers' render, message after message
   (`content_spans`, `untrained_content`). It sees families the auto check cannot: where original and variant
   render differently (Qwen3's own template drops earlier turns' `<think>`) or where there is no variant.

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

Mutated rows (`--mutate`, issue 19): the checks run on variants of the sampled rows whose messages share text
(`mutate`, `mutate_rows`; only `content` strings change, the structure stays), instead of the rows themselves;
`--mutate both` runs them on both, one table each (the JSON keeps the natural run on top and the mutated one under
"mutated"). Kinds: short_reply (a user reply that is a word or 2-3 words of the assistant turn before it), echo (the
whole turn), quote (`You said "<phrase>". Why?`), common_reply ("yes"/"ok"/"no"/"Sure" inserted in the turn, the
reply is that word), tool_echo (tool results and the calling turn share text), tool_preamble (a tool-calling turn
without content gets a line naming a word of the result, which becomes that word: `Checking Paris.`, `Paris`),
assistant_repeats_user (a turn repeats an earlier user or system message). A row gives one variant per kind it has
the shape for, seeded by `--seed` and its place; `--kinds` picks kinds, `--per-kind N` keeps at most N rows of each.
The tables add a column per kind (passing / compared, the first failing row) and failures name the kind:
`gsm8k.jsonl:12 (echo)`.

Usage:
    python scripts/family_sweep.py                      # every row of the corpus, every family
    python scripts/family_sweep.py --sample 1000 --templates qwen3,gptoss --only auto --json out.json
    python scripts/family_sweep.py --from-json out.json   # the table of a saved run again
    python scripts/family_sweep.py --sample 300 --only auto --only content --mutate both --json out.json

The library part (`load_corpus`, `sample_rows`, `pick_diverse`, `mutate_rows`, `families`, `sweep_family`, `run`,
`markdown`) is shared with tests/test_families.py.
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
# Run only when asked for (`--only content`, `checks=`): not part of the default CHECKS.
EXTRA_CHECKS = ("content",)
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
# Mutated rows: the corpus's conversations with messages that share text

MUTATIONS = ("short_reply", "echo", "quote", "common_reply", "tool_echo", "tool_preamble", "assistant_repeats_user")
COMMON_REPLIES = ("yes", "ok", "no", "Sure")
_WORD = re.compile(r"\w+")
_LONG_WORD = 16  # a run of word characters longer than this (Chinese has no spaces) gives a slice of it instead


def _content(message: dict) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else ""


def _phrase(text: str, rng: random.Random, min_words: int = 1, max_words: int = 3) -> str | None:
    """min_words..max_words consecutive words of one line of `text`, exactly as they stand there (punctuation and
    spaces between them included; fewer where the line ends first); where the first word is a long run of word
    characters (Chinese), a slice of 2-6 characters of it. None where the text has no word."""
    words = list(_WORD.finditer(text))
    if not words:
        return None
    n = rng.randint(min_words, max_words)
    start = rng.randrange(max(1, len(words) - n + 1))
    first = words[start].group()
    if len(first) > _LONG_WORD:
        size = rng.randint(2, 6)
        at = rng.randrange(len(first) - size + 1)
        return first[at : at + size]
    end = start
    while end + 1 < min(len(words), start + n) and "\n" not in text[words[end].end() : words[end + 1].start()]:
        end += 1
    return text[words[start].start() : words[end].end()]


def _follows(messages: list[dict], first: str, then: str) -> list[int]:
    """Indexes i where messages[i - 1] has role `first`, messages[i] role `then` and messages[i - 1] some content."""
    return [
        i
        for i in range(1, len(messages))
        if messages[i - 1].get("role") == first
        and messages[i].get("role") == then
        and _content(messages[i - 1]).strip()
    ]


def _insert_word(text: str, word: str, rng: random.Random) -> str:
    """`word` as a word of its own in `text`: at its start, its end, or after a run of whitespace inside it."""
    cuts = [0] + [m.end() for m in re.finditer(r"\s+", text) if m.end() < len(text)] + [len(text)]
    at = rng.choice(cuts)
    if at == len(text):
        return f"{text} {word}"
    return f"{text[:at]}{word} {text[at:]}"


def _argument_strings(tool_calls) -> list[str]:
    """The string values of a message's tool-call arguments (arguments as a dict or a JSON string), and the
    function names."""
    out: list[str] = []

    def walk(value):
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for call in tool_calls or []:
        function = call.get("function", call) if isinstance(call, dict) else {}
        if isinstance(function.get("name"), str):
            out.append(function["name"])
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except ValueError:
                pass
        walk(arguments)
    return [s for s in out if s.strip()]


def _short_reply(messages, rng) -> bool:
    targets = _follows(messages, "assistant", "user")
    for i in targets:
        n = rng.choice((1, 1, 2, 3))
        messages[i]["content"] = _phrase(_content(messages[i - 1]), rng, n, n) or _content(messages[i - 1])
    return bool(targets)


def _echo(messages, rng) -> bool:
    targets = _follows(messages, "assistant", "user")
    for i in targets:
        messages[i]["content"] = _content(messages[i - 1])
    return bool(targets)


def _quote(messages, rng) -> bool:
    targets = _follows(messages, "assistant", "user")
    for i in targets:
        phrase = _phrase(_content(messages[i - 1]), rng, 2, 5) or _content(messages[i - 1])
        messages[i]["content"] = f'You said "{phrase}". Why?'
    return bool(targets)


def _common_reply(messages, rng) -> bool:
    targets = _follows(messages, "assistant", "user")
    for i in targets:
        word = rng.choice(COMMON_REPLIES)
        messages[i - 1]["content"] = _insert_word(_content(messages[i - 1]), word, rng)
        messages[i]["content"] = word
    return bool(targets)


def _tool_echo(messages, rng) -> bool:
    """Each tool result after an assistant message with tool calls: where the assistant wrote content, that content
    gets the result (or a phrase of it) appended, or the result repeats a phrase of the content, or both; where it
    wrote none (the whole corpus), the result becomes one of the call's argument strings (a tool echoing its input),
    or a phrase of the assistant's reasoning."""
    changed = False
    for a, message in enumerate(messages):
        if message.get("role") != "assistant" or not message.get("tool_calls"):
            continue
        results = []
        for t in range(a + 1, len(messages)):
            if messages[t].get("role") != "tool":
                break
            results.append(t)
        for t in results:
            own, result = _content(message), _content(messages[t])
            if own.strip():
                how = rng.choice(("append", "repeat", "both"))
                if how in ("append", "both") and result.strip():
                    piece = result if rng.random() < 0.5 else (_phrase(result, rng, 1, 4) or result)
                    message["content"] = own = f"{own} {piece}"
                    changed = True
                if how in ("repeat", "both") or not result.strip():
                    messages[t]["content"] = _phrase(own, rng, 1, 4) or own
                    changed = True
                continue
            candidates = _argument_strings(message["tool_calls"])
            reasoning = message.get("reasoning_content")
            if isinstance(reasoning, str) and _WORD.search(reasoning):
                candidates.append(_phrase(reasoning, rng, 1, 4))
            if candidates:
                value = rng.choice(candidates)
                messages[t]["content"] = value if len(value) <= 80 else (_phrase(value, rng, 1, 4) or value)
                changed = True
    return changed


def _tool_preamble(messages, rng) -> bool:
    """Each assistant message with tool calls and no content (the corpus has no other kind) says what it is about
    to do, naming a word or two of its first tool result, and that result becomes those words: `Checking Paris.`
    before the result `Paris` (the whole later message inside the turn's content)."""
    changed = False
    for a, message in enumerate(messages):
        if message.get("role") != "assistant" or not message.get("tool_calls") or _content(message).strip():
            continue
        if a + 1 >= len(messages) or messages[a + 1].get("role") != "tool":
            continue
        piece = _phrase(_content(messages[a + 1]), rng, 1, 2)
        if piece:
            form = rng.choice(("Checking {}.", "Let me look up {}.", "{}? One moment."))
            message["content"] = form.format(piece)
            messages[a + 1]["content"] = piece
            changed = True
    return changed


def _assistant_repeats_user(messages, rng) -> bool:
    """Each assistant message with content repeats an earlier user or system message: all of it or a phrase, before
    or after its own content."""
    changed = False
    for j, message in enumerate(messages):
        own = _content(message)
        if message.get("role") != "assistant" or not own.strip():
            continue
        earlier = [_content(m) for m in messages[:j] if m.get("role") in ("user", "system") and _content(m).strip()]
        if not earlier:
            continue
        source = earlier[-1] if rng.random() < 0.75 else rng.choice(earlier)
        piece = source if rng.random() < 0.5 else (_phrase(source, rng, 2, 4) or source)
        message["content"] = f"{piece}\n\n{own}" if rng.random() < 0.5 else f"{own} {piece}"
        changed = True
    return changed


_MUTATORS = {
    "short_reply": _short_reply,
    "echo": _echo,
    "quote": _quote,
    "common_reply": _common_reply,
    "tool_echo": _tool_echo,
    "tool_preamble": _tool_preamble,
    "assistant_repeats_user": _assistant_repeats_user,
}


def mutate(row: dict, rng: random.Random, kinds=MUTATIONS) -> list[tuple[str, dict]]:
    """Variants of `row` whose messages share text (a later message's text inside an earlier assistant turn, or an
    earlier message's text inside a later one), one per kind of `kinds` that the row has the shape for:

    - short_reply: a user message after an assistant message is a word or 2-3 words of it ("blue" after "I pick
      blue");
    - echo: such a user message is the assistant's whole content;
    - quote: it quotes a phrase of it: `You said "<phrase>". Why?`;
    - common_reply: the assistant's content gets a common short reply ("yes", "ok", "no", "Sure") inserted as a word,
      and the next user message is that word;
    - tool_echo: tool results and the assistant message that called the tools share text (`_tool_echo`);
    - tool_preamble: an assistant message with tool calls and no content gets a line naming a word or two of its
      first result, and the result becomes those words (`Checking Paris.`, then the result `Paris`);
    - assistant_repeats_user: an assistant's content repeats an earlier user (or system) message, or a phrase of it.

    Only `content` strings change (a copy; the row is left as it is): roles, tool calls, tools, reasoning_content and
    the number of messages stay. Deterministic for a given rng state: each kind draws from its own generator, seeded
    from `rng` in the order of MUTATIONS whatever `kinds` holds, so choosing fewer kinds leaves the others' rows
    as they were."""
    unknown = set(kinds) - set(MUTATIONS)
    if unknown:
        raise ValueError(f"unknown mutation kinds: {', '.join(sorted(unknown))}")
    seeds = {kind: rng.getrandbits(64) for kind in MUTATIONS}
    out = []
    for kind in MUTATIONS:
        if kind not in kinds:
            continue
        mutated = json.loads(json.dumps(row))
        if _MUTATORS[kind](mutated["messages"], random.Random(seeds[kind])):
            out.append((kind, mutated))
    return out


def mutate_rows(rows, seed: int = 0, kinds=MUTATIONS, per_kind: int | None = None):
    """The mutated variants of (file, line, row) items, as (file, line, mutated row, kind) items (the kind shows in
    reports next to the place); each row's generator is seeded from `seed` and its place, so a row gets the same
    variants in any sample. `per_kind`: at most that many rows of each kind, evenly spaced over those it applies to."""
    by_kind: dict[str, list] = {kind: [] for kind in MUTATIONS}
    for file, line, row in ((item[0], item[1], item[2]) for item in rows):
        for kind, mutated in mutate(row, random.Random(f"{seed}:{file}:{line}"), kinds):
            by_kind[kind].append((file, line, mutated, kind))
    if per_kind is not None:
        for kind, items in by_kind.items():
            if len(items) > per_kind:
                step = len(items) / per_kind
                by_kind[kind] = [items[int(k * step)] for k in range(per_kind)]
    order = {kind: k for k, kind in enumerate(MUTATIONS)}
    chosen = [item for items in by_kind.values() for item in items]
    places = {(item[0], item[1]): k for k, item in enumerate(rows)}
    return sorted(chosen, key=lambda item: (places[(item[0], item[1])], order[item[3]]))


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
    """A row's place, `file:line`, with the mutation kind of a mutated row (`mutate_rows`)."""
    return f"{item[0]}:{item[1]}" + (f" ({item[3]})" if len(item) > 3 else "")


_KIND_COUNTS = ("compared", "exact", "rule", "differ", "sftmask_error", "render_differs", "not_applicable")


_FAILURES = ("differ", "sftmask_error", "untrained")


def _count(r: dict, item, key: str, keys=_KIND_COUNTS) -> None:
    """r[key] += 1, and for a mutated row the same count of its kind in r["by_kind"] (with its first failing place)."""
    r[key] += 1
    if len(item) > 3:
        kind = r.setdefault("by_kind", {}).setdefault(item[3], {**dict.fromkeys(keys, 0), "first": None})
        kind[key] += 1
        if key in _FAILURES and kind["first"] is None:
            kind["first"] = _where(item)


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
    mutated=None,
    mutated_checks=None,
) -> dict:
    """All measurements of one family over `rows` ((file, line, row) triples). Returns a JSON-able dict.

    `mutated`: more rows (`mutate_rows` items) on which `mutated_checks` (default: `checks`) run too, with the same
    maskers (cheaper than a second sweep); their result, shaped like this one, is result["mutated"]."""
    import sftmask

    tokenizer = reference_tokenizer(tokenizer_path)
    started = time.perf_counter()
    mutated_checks = checks if mutated_checks is None else mutated_checks
    all_checks = set(checks) | (set(mutated_checks) if mutated is not None else set())
    # A masker takes 0.3-0.5 s to build: the auto and content checks use the original's only.
    used = family.templates if {"render", "tagged"} & all_checks else [family.original]
    maskers = {t: sftmask.Masker.from_pretrained(tokenizer_path, chat_template=templates[t]) for t in used}
    result = _measure(family, rows, templates, tokenizer, maskers, checks)
    if mutated is not None:
        result["mutated"] = _measure(family, mutated, templates, tokenizer, maskers, mutated_checks)
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def _measure(family: Family, rows, templates, tokenizer, maskers, checks) -> dict:
    """The checks of one family over `rows`, with its maskers built."""
    import sftmask

    refs = _Refs(tokenizer, templates)
    result = _shell(family, len(rows))

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
    if "content" in checks:
        result["content"] = _sweep_content(family, rows, refs, maskers, tokenizer)
    return result


def _shell(family: Family, n: int) -> dict:
    """A family's result before the checks fill it in."""
    return {
        "family": family.name,
        "original": family.original,
        "variant": family.variant,
        "reference": family.reference,
        "rows": n,
        "render": {},
        "tagged": {},
        "auto": None,
    }


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
                _count(r, item, "not_applicable")
                continue
            _count(r, item, "compared")
            try:
                maskers[o].encode(row["messages"], tools=row.get("tools") or None, mode="auto")
            except Exception as exc:  # noqa: BLE001
                _count(r, item, "sftmask_error")
                r["first_error"] = r["first_error"] or f"{_where(item)}: {_err(exc)}"
        return r

    ref_template = family.variant or o
    mode = "auto" if family.variant else "turns"
    r["mode"] = mode
    for i, item in enumerate(rows):
        row = item[2]
        text_o, text_v = refs.render(o, i, row), refs.render(ref_template, i, row)
        if isinstance(text_o, Exception) or isinstance(text_v, Exception):
            _count(r, item, "not_applicable")
            continue
        if text_o != text_v:
            _count(r, item, "render_differs")
            continue
        expected = refs.mask(ref_template, i, row)
        if isinstance(expected, Exception):
            _count(r, item, "not_applicable")
            continue
        ids, variant = expected
        _count(r, item, "compared")
        try:
            got = maskers[o].encode(row["messages"], tools=row.get("tools") or None, mode=mode)
        except sftmask.UntrainableError as exc:
            if all(x == IGNORE for x in variant):
                _count(r, item, "exact")
            else:
                _count(r, item, "sftmask_error")
                r["first_error"] = r["first_error"] or f"{_where(item)}: {_err(exc)}"
            continue
        except Exception as exc:  # noqa: BLE001
            _count(r, item, "sftmask_error")
            r["first_error"] = r["first_error"] or f"{_where(item)}: {_err(exc)}"
            continue
        got_ids, auto = got["input_ids"].tolist(), got["labels"].tolist()
        if got_ids != ids:
            _count(r, item, "differ")
            if r["first_diff"] is None:
                at = next((k for k, (x, y) in enumerate(zip(got_ids, ids)) if x != y), min(len(ids), len(got_ids)))
                r["first_diff"] = f"{_where(item)}: input_ids differ at token {at} (len {len(got_ids)} vs {len(ids)})"
            continue
        if auto == variant:
            _count(r, item, "exact")
            continue
        offsets = refs.offsets(text_o)
        at = next(k for k, (x, y) in enumerate(zip(auto, variant)) if x != y)
        window = None
        prompts = generation_prompts(refs, o, row) if len(offsets) == len(ids) else set()
        violation = first_rule_violation(text_o, offsets, auto, variant, prompts) if prompts else at
        if violation is None:
            _count(r, item, "rule")
            if r["first_rule"] is None:
                window = _tokens_window(tokenizer, text_o, ids, [variant, auto], "VA", at)
                r["first_rule"] = (
                    f"{_where(item)}: first difference at token {at} (V = variant trains, A = auto)\n{window}"
                )
            continue
        _count(r, item, "differ")
        r["differ_at_turn_starts"] += at_turn_starts(auto, variant)
        if r["first_diff"] is None:
            window = _tokens_window(tokenizer, text_o, ids, [variant, auto], "VA", violation)
            r["first_diff"] = (
                f"{_where(item)}: first difference the rule does not allow at token {violation} (first difference "
                f"at {at}; V = variant trains, A = auto trains; generation prompts {sorted(prompts)!r})\n{window}"
            )
    return r


_CONTENT_COUNTS = ("compared", "ok", "untrained", "sftmask_error", "not_applicable")


def content_spans(text: str, messages: list[dict]) -> list[tuple[int, int, int] | None]:
    """Where each message's content (stripped) stands in the render `text`: (start, end, message index), found in
    message order, each after the previous one found; None for a message with no content or whose content the
    render does not hold verbatim there (a template that rewrites or leaves it out)."""
    out: list[tuple[int, int, int] | None] = []
    cursor = 0
    for k, message in enumerate(messages):
        content = _content(message).strip()
        at = text.find(content, cursor) if content else -1
        if at < 0:
            out.append(None)
            continue
        cursor = at + len(content)
        out.append((at, cursor, k))
    return out


def untrained_content(text: str, offsets, labels, messages: list[dict]) -> tuple[int, int] | None:
    """(message index, token index) of the first token that overlaps an assistant message's content (located by
    `content_spans`) and is not trained, or None: located turns train all of every assistant message, so all of
    what it wrote must be trained whatever the other messages say."""
    for span in content_spans(text, messages):
        if span is None or messages[span[2]].get("role") != "assistant":
            continue
        start, end, k = span
        for j, (s, e) in enumerate(offsets):
            if s < end and e > start and labels[j] == IGNORE:
                return k, j
    return None


def _sweep_content(family, rows, refs, maskers, tokenizer) -> dict:
    """Reference-free: located turns (`mode="turns"`, what auto mode uses on a template without generation tags) on
    the original train every token of every assistant message's content, on rows where transformers renders the
    template (the content located in the render by `content_spans`). Sees what the auto check cannot where
    original and variant render differently (Qwen3's own template drops earlier turns' `<think>` blocks) or where
    there is no variant."""
    o = family.original
    r = {**dict.fromkeys(_CONTENT_COUNTS, 0), "first_error": None, "first_untrained": None}
    for i, item in enumerate(rows):
        row = item[2]
        text = refs.render(o, i, row)
        if isinstance(text, Exception):
            _count(r, item, "not_applicable", _CONTENT_COUNTS)
            continue
        try:
            got = maskers[o].encode(row["messages"], tools=row.get("tools") or None, mode="turns")
        except Exception as exc:  # noqa: BLE001
            _count(r, item, "compared", _CONTENT_COUNTS)
            _count(r, item, "sftmask_error", _CONTENT_COUNTS)
            r["first_error"] = r["first_error"] or f"{_where(item)}: {_err(exc)}"
            continue
        ids, labels = got["input_ids"].tolist(), got["labels"].tolist()
        offsets = refs.offsets(text)
        if len(offsets) != len(ids):
            _count(r, item, "not_applicable", _CONTENT_COUNTS)  # not the text transformers renders
            continue
        _count(r, item, "compared", _CONTENT_COUNTS)
        miss = untrained_content(text, offsets, labels, row["messages"])
        if miss is None:
            _count(r, item, "ok", _CONTENT_COUNTS)
            continue
        _count(r, item, "untrained", _CONTENT_COUNTS)
        if r["first_untrained"] is None:
            k, at = miss
            r["first_untrained"] = (
                f"{_where(item)}: message {k} (assistant) has untrained content at token {at} "
                "(T = located turns train)\n" + _tokens_window(tokenizer, text, ids, [labels], "T", at)
            )
    return r


# ----------------------------------------------------------------------------------------------------------------
# Running and reporting

_WORKER: dict = {}


def _init(rows, templates, tokenizer_path, checks, mutated=None, mutated_checks=None) -> None:
    _WORKER.update(
        rows=rows,
        templates=templates,
        tokenizer=tokenizer_path,
        checks=checks,
        mutated=mutated,
        mutated_checks=mutated_checks,
    )


def _work(family: Family) -> dict:
    w = _WORKER
    return sweep_family(
        family, w["rows"], w["templates"], w["tokenizer"], w["checks"], w["mutated"], w["mutated_checks"]
    )


def run(
    selected,
    rows,
    templates,
    tokenizer_path,
    checks=CHECKS,
    jobs=1,
    progress=None,
    mutated=None,
    mutated_checks=None,
) -> list[dict]:
    """sweep_family over the selected families, in `jobs` processes (spawned, not forked: the parent may hold
    native thread pools), results in the order of `selected`. `mutated`, `mutated_checks`: see sweep_family."""
    results = []
    initargs = (rows, templates, tokenizer_path, checks, mutated, mutated_checks)
    if jobs > 1 and len(selected) > 1:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        with context.Pool(jobs, initializer=_init, initargs=initargs) as pool:
            for res in pool.imap_unordered(_work, selected):
                results.append(res)
                if progress:
                    progress(res)
    else:
        _init(*initargs)
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
    content = content_markdown(results)
    if content:
        lines += [content, ""]
    for check in ("auto", "content"):
        by_kind = kinds_markdown(results, check)
        if by_kind:
            lines += [by_kind, ""]
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
        c = res.get("content")
        if c:
            if c["first_error"]:
                title = f"{res['family']}: content, first sftmask error ({c['sftmask_error']} rows)"
                details.append((title, c["first_error"]))
            if c["first_untrained"]:
                title = f"{res['family']}: content, first untrained assistant content ({c['untrained']} rows)"
                details.append((title, c["first_untrained"]))
    if details:
        lines.append("## First failure per family")
        for title, body in details:
            lines += ["", f"### {title}", "", "```", body, "```"]
    return "\n".join(lines) + "\n"


def content_markdown(results: list[dict]) -> str:
    """The table of the content check (`_sweep_content`); empty where it did not run."""
    if not any(res.get("content") for res in results):
        return ""
    lines = [
        "Content check (located turns on the original train all of every assistant message's content):",
        "",
        "| family | rows | compared | all content trained | untrained content | sftmask error | n/a |",
        "|---|---|---|---|---|---|---|",
    ]
    for res in results:
        c = res.get("content")
        if c:
            lines.append(
                f"| {res['family']} | {res['rows']} | {c['compared']} | {c['ok']} | {c['untrained']} | "
                f"{c['sftmask_error']} | {c['not_applicable']} |"
            )
    return "\n".join(lines)


def kinds_markdown(results: list[dict], check: str = "auto") -> str:
    """A check ("auto" or "content") of mutated rows per mutation kind: one row per family, one column per kind; a
    cell is rows that pass / rows compared (auto: equal up to the rule; for a family without a reference, auto mode
    ran), with the failing rows' count and the first one's place. Empty where no result has mutated rows."""
    present = {kind for res in results if res.get(check) for kind in res[check].get("by_kind", {})}
    kinds = [kind for kind in MUTATIONS if kind in present] + sorted(present - set(MUTATIONS))
    if not kinds:
        return ""
    what = "auto mode equals the reference up to the rule" if check == "auto" else "all assistant content trained"
    lines = [
        f"{check} check on mutated rows, by kind (rows where {what} / compared; ✗ failing rows, the first one):",
        "",
        "| family | " + " | ".join(kinds) + " |",
        "|---|" + "---|" * len(kinds),
    ]
    for res in results:
        a = res.get(check)
        if not a or not a.get("by_kind"):
            continue
        cells = []
        for kind in kinds:
            k = a["by_kind"].get(kind)
            if k is None:
                cells.append("-")
                continue
            if check == "content":
                ok = k["ok"]
            else:
                ok = k["exact"] + k["rule"] if res["reference"] else k["compared"] - k["sftmask_error"]
            failed = sum(k.get(key, 0) for key in _FAILURES)
            cells.append(_frac(ok, k["compared"]) + (f" ✗ {failed} ({k['first']})" if failed else ""))
        name = res["family"] + ("" if res["reference"] or check != "auto" else " (no reference)")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sample", type=int, default=None, help="rows per template (balanced over the files); default all"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--templates", default=None, help="comma-separated template or family names")
    parser.add_argument(
        "--only",
        choices=CHECKS + EXTRA_CHECKS,
        action="append",
        help="run only this check (repeatable); `content` runs only when named here",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the full results here")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--tokenizer", type=Path, default=None, help="default: <shared>/tokenizers/qwen3")
    parser.add_argument("--templates-dir", type=Path, default=None, help="default: trl's chat_templates")
    parser.add_argument("--from-json", type=Path, default=None, help="print the table of a saved --json, run nothing")
    parser.add_argument(
        "--mutate",
        nargs="?",
        const="only",
        choices=("only", "both"),
        default=None,
        help="run the checks on mutated variants of the sampled rows (messages that share text) instead of the rows "
        "themselves; `--mutate both`: on both, one table each",
    )
    parser.add_argument(
        "--kinds",
        default=None,
        help=f"comma-separated mutation kinds for --mutate (default all: {', '.join(MUTATIONS)})",
    )
    parser.add_argument("--per-kind", type=int, default=None, help="with --mutate: at most this many rows per kind")
    args = parser.parse_args(argv)
    if args.from_json:
        saved = json.loads(args.from_json.read_text(encoding="utf-8"))
        for run_ in [saved] + ([saved["mutated"]] if saved.get("mutated") else []):
            print(markdown(run_["results"], run_["note"]))
        return 0
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip()) if args.kinds else MUTATIONS
    unknown = set(kinds) - set(MUTATIONS)
    if unknown:
        raise SystemExit(f"unknown mutation kinds: {', '.join(sorted(unknown))} (known: {', '.join(MUTATIONS)})")

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
    natural_note = "Rows: natural (the sample as it is). " + note
    mutated = mutate_rows(rows, args.seed, kinds, args.per_kind) if args.mutate else None
    if mutated is not None:
        counts = {kind: sum(item[3] == kind for item in mutated) for kind in kinds}
        mutated_note = (
            f"Rows: mutated, {len(mutated)} variants of the sample's conversations whose messages share text "
            f"(`mutate_rows`, seed {args.seed}"
            + (f", at most {args.per_kind} per kind" if args.per_kind is not None else "")
            + "; "
            + ", ".join(f"{kind} {n}" for kind, n in counts.items())
            + "). "
            + note
        )
    both = args.mutate == "both"
    swept = mutated if args.mutate == "only" else rows
    print(
        f"{len(selected)} families, {len(swept)} {'mutated' if args.mutate == 'only' else 'natural'} rows each"
        + (f" and {len(mutated)} mutated rows" if both else "")
        + f", jobs={args.jobs}",
        file=sys.stderr,
    )
    started = time.perf_counter()

    def progress(res):
        print(f"  {res['family']:32s} {res['seconds']:8.1f}s  ({time.perf_counter() - started:.0f}s)", file=sys.stderr)

    results = run(
        selected, swept, templates, tokenizer_path, checks, args.jobs, progress, mutated=mutated if both else None
    )
    # The JSON: the run on top ("rows": which); with --mutate both, the mutated rows' run under "mutated".
    if args.mutate == "only":
        payload = {"rows": "mutated", "note": mutated_note, "results": results}
    else:
        payload = {"rows": "natural", "note": natural_note, "results": results}
        if both:
            mutated_results = [res.pop("mutated") for res in results]
            payload["mutated"] = {"rows": "mutated", "note": mutated_note, "results": mutated_results}
    payload.update(sample=args.sample, seed=args.seed)
    for part in [payload] + ([payload["mutated"]] if both else []):
        print(markdown(part["results"], part["note"]))
    if args.json:
        args.json.write_text(json.dumps(payload, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
