"""Labels come from the structure of the conversation, never from matching text (issue 19).

Auto mode locates each trained message's turn in the render of a chat template without `{% generation %}` tags.
Which text is trained must follow from which message wrote it, so it cannot depend on what the *other* messages
say. The metamorphic property, checked with `Masker.located_turns` (no oracle, before against after):

    For a conversation and any message j, changing j's text (its `content`, or its `reasoning_content`) to text
    taken from another message, or inserting another message's text into it, leaves the trained text of every
    other message i != j unchanged, or the changed conversation raises a `TemplateError` that names a message
    ("message N": the turn cannot be located, said so).

The trained text of message i is the concatenation of `text[start:end]` over the entries of `located_turns` for
i (empty when it has none). Two directions:

- replace: j's text becomes a word, a phrase, a character slice or the whole text of another message, a common
  short reply ("yes", "ok", ...) or the empty string. This is the issue's case: the user answers "yes" to the
  assistant's "Say yes or no." and the assistant's turn must stay located, not be left untrained.
- insert: another message's text is appended, prepended or inserted into j's, so that an earlier turn holds a
  later message's words (or a later turn quotes an earlier one).

Conversations where the original render or location fails are skipped (templates of other families raise on
some, with the qwen3 tokenizer standing in: a missing `bos_token`, roles they do not support); so is a changed
conversation that the template refuses to render (an empty content some templates reject).

Inputs: a few conversations written here (multi-turn, a system prompt, tool calls with tool results and a tools
list, reasoning_content) and a fixed handful of the shared corpus; every template of TRL's collection
(`trl/chat_templates`, originals and `_training` variants), the tagged templates of ../shared/templates and the
shared tokenizers' own templates. The qwen3 tokenizer stands in for every family except llama3 and DeepSeek, which
get theirs. A fast test runs key templates; the whole collection is marked slow.

The counterexamples hypothesis found and shrank, one or two per failing family, are kept as fixed cases. Plain
regression tests pin the issue's cases on Qwen3's own template and on gpt-oss: the earlier assistant turn's
trained text is exactly what the tagged training template marks (less the text the own template does not write or
the generation prompt supplies).
"""

from __future__ import annotations

import functools
import json
import re
import sys
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import sftmask
from conftest import ROOT, SHARED, trained_texts

sys.path.insert(0, str(ROOT / "scripts"))
import family_sweep as fs  # noqa: E402

TOKENIZERS = SHARED / "tokenizers"
if not (TOKENIZERS / "qwen3" / "tokenizer.json").is_file():
    pytest.skip(f"{TOKENIZERS}/qwen3 is not available (the shared data lives beside the checkout)", allow_module_level=True)

NAMES_A_MESSAGE = re.compile(r"\bmessage \d+\b")

# ----------------------------------------------------------------------------------------------------------------
# Conversations

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "The name of the city."}},
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "convert_currency",
            "description": "Convert an amount of money from one currency to another.",
            "parameters": {
                "type": "object",
                "properties": {
                    "amount": {"type": "number"},
                    "from_currency": {"type": "string"},
                    "to_currency": {"type": "string"},
                },
                "required": ["amount", "from_currency", "to_currency"],
            },
        },
    },
]


def tool_call(call_id: str, name: str, arguments: dict) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


@dataclass(frozen=True)
class Case:
    name: str
    messages: tuple[dict, ...]
    tools: tuple[dict, ...] | None = None


BASE_CASES = [
    Case("multi_turn", (
        {"role": "user", "content": "Shall we go to the lake this afternoon?"},
        {"role": "assistant", "content": "Say yes or no."},
        {"role": "user", "content": "yes"},
        {"role": "assistant", "content": "Great. The ride to the lake takes forty minutes by bike."},
        {"role": "user", "content": "Which color should the tent be? I pick blue."},
        {"role": "assistant", "content": "I pick blue too, since it matches the lake."},
        {"role": "user", "content": "ok"},
        {"role": "assistant", "content": "See you at the lake at three."},
    )),
    Case("system_prompt", (
        {"role": "system", "content": "You are a helpful assistant. Answer every question in one short sentence."},
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "The capital of France is Paris."},
        {"role": "user", "content": "You said: The capital of France is Paris. Are you sure?"},
        {"role": "assistant", "content": "Yes, I am sure: Paris has been the capital of France for centuries."},
        {"role": "user", "content": "Thank you, assistant."},
        {"role": "assistant", "content": "You are welcome."},
    )),
    Case("tool_calls", (
        {"role": "system", "content": "You are a travel assistant. Use the tools when you need live data."},
        {"role": "user", "content": "What is the weather in Paris today?"},
        {"role": "assistant", "content": "", "tool_calls": [tool_call("call_1", "get_weather", {"city": "Paris"})]},
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": '{"city": "Paris", "temperature": 18, "condition": "sunny"}'},
        {"role": "assistant", "content": "It is sunny in Paris, 18 degrees."},
        {"role": "user", "content": "And how much is 100 euros in dollars? It is sunny in Paris, so I will go shopping."},
        {"role": "assistant", "content": "Let me convert that.", "tool_calls": [tool_call("call_2", "convert_currency", {"amount": 100, "from_currency": "EUR", "to_currency": "USD"})]},
        {"role": "tool", "tool_call_id": "call_2", "name": "convert_currency", "content": '{"amount": 108.5, "currency": "USD"}'},
        {"role": "assistant", "content": "100 euros is 108.50 dollars."},
    ), tuple(TOOLS)),
    Case("reasoning", (
        {"role": "user", "content": "What is 12 times 7?"},
        {"role": "assistant", "reasoning_content": "12 times 7: 10 times 7 is 70 and 2 times 7 is 14, so 84.", "content": "12 times 7 is 84."},
        {"role": "user", "content": "And 84 divided by 7?"},
        {"role": "assistant", "reasoning_content": "84 divided by 7 is 12, the inverse of the first question.", "content": "84 divided by 7 is 12."},
        {"role": "user", "content": "12"},
        {"role": "assistant", "reasoning_content": "The user repeats 12; they want a confirmation.", "content": "Yes, 12."},
    )),
    Case("reasoning_tools", (
        {"role": "system", "content": "You are a careful assistant. Think before you call a tool."},
        {"role": "user", "content": "Is it raining in London?"},
        {"role": "assistant", "reasoning_content": "The user asks about London. I will call get_weather for London.", "content": "", "tool_calls": [tool_call("call_1", "get_weather", {"city": "London"})]},
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": '{"city": "London", "temperature": 12, "condition": "raining"}'},
        {"role": "assistant", "reasoning_content": "The tool says it is raining in London, 12 degrees.", "content": "Yes, it is raining in London, 12 degrees."},
        {"role": "user", "content": "raining"},
        {"role": "assistant", "reasoning_content": "They repeat the word; I should suggest an umbrella.", "content": "Take an umbrella."},
    ), tuple(TOOLS)),
]

# A fixed handful of the shared corpus (file, line): short multi-turn chats, tool calls without ids, reasoning with
# tool calls, Chinese text, a system prompt.
CORPUS_ROWS = [
    ("vicuna_multiturn.jsonl", 0),
    ("vicuna_multiturn.jsonl", 2),
    ("glaive_tools_en.jsonl", 11),
    ("reason_tool_use.jsonl", 10),
    ("alpaca_zh.jsonl", 0),
    ("gsm8k.jsonl", 0),
]


def freeze(messages, tools) -> tuple[tuple[dict, ...], tuple[dict, ...] | None]:
    return tuple(messages), (tuple(tools) if tools else None)


@functools.cache
def corpus_cases() -> tuple[Case, ...]:
    directory = SHARED / "data" / "chat"
    cases = []
    for file, line_number in CORPUS_ROWS:
        path = directory / file
        if not path.is_file():
            continue
        with path.open(encoding="utf-8") as f:
            for index, line in enumerate(f):
                if index == line_number:
                    row = json.loads(line)
                    cases.append(Case(f"{file}:{line_number}", *freeze(row["messages"], row.get("tools"))))
                    break
    return tuple(cases)


def all_cases() -> list[Case]:
    return BASE_CASES + list(corpus_cases())


# ----------------------------------------------------------------------------------------------------------------
# Templates

TRL_DIR = fs.trl_templates_dir()
TRL_TEMPLATES = fs.load_templates(TRL_DIR) if TRL_DIR else {}
SHARED_TEMPLATES = fs.load_templates(SHARED / "templates") if (SHARED / "templates").is_dir() else {}
OWN_TEMPLATES = ("qwen3", "llama3_1", "deepseek_v3")  # the shared tokenizers that carry their model's own template


def tokenizer_for(template: str) -> str:
    """The qwen3 tokenizer stands in, except for the families whose templates need their own special tokens."""
    for prefix, tokenizer in (("llama3", "llama3_1"), ("deepseek", "deepseek_v3")):
        if template.startswith(prefix) and (TOKENIZERS / tokenizer / "tokenizer.json").is_file():
            return tokenizer
    return "qwen3"


def template_ids() -> list[str]:
    """'own:<tokenizer>', 'trl:<stem>' and 'shared:<stem>' (a shared template that is not a copy of TRL's)."""
    ids = [f"own:{name}" for name in OWN_TEMPLATES if (TOKENIZERS / name / "tokenizer.json").is_file()]
    ids += [f"trl:{stem}" for stem in TRL_TEMPLATES]
    ids += [f"shared:{stem}" for stem, text in SHARED_TEMPLATES.items() if TRL_TEMPLATES.get(stem) != text]
    return ids


@functools.cache
def masker(template_id: str) -> sftmask.Masker:
    kind, name = template_id.split(":", 1)
    if kind == "own":
        return sftmask.Masker.from_pretrained(TOKENIZERS / name)
    text = (TRL_TEMPLATES if kind == "trl" else SHARED_TEMPLATES).get(name)
    if text is None:
        pytest.skip(f"{template_id} is not available (TRL's chat templates need `pip install trl`)")
    return sftmask.Masker.from_pretrained(TOKENIZERS / tokenizer_for(name), chat_template=text)


def as_parts(messages):
    """Contents as a list of text parts, for the templates that only read that form (LLaVA-NeXT, Idefics3,
    SmolVLM)."""
    return [dict(m, content=[{"type": "text", "text": m["content"]}]) if isinstance(m.get("content"), str) else m for m in messages]


@dataclass(frozen=True)
class Applicable:
    """The cases a template renders and locates, and whether it needs contents as text parts."""

    cases: tuple[Case, ...]
    parts: bool


def render(m: sftmask.Masker, case: Case, parts: bool) -> str | None:
    """The render, or None where the template refuses the conversation."""
    try:
        return m.render(as_parts(case.messages) if parts else list(case.messages), tools=case.tools and list(case.tools))
    except sftmask.SftmaskError:
        return None


def writes_contents(m: sftmask.Masker, parts: bool) -> bool:
    case = BASE_CASES[0]
    return case.messages[0]["content"] in (render(m, case, parts) or "")


@functools.cache
def applicable(template_id: str, roles: tuple[str, ...] | None) -> Applicable:
    m = masker(template_id)
    cases = all_cases()
    # Templates that read a content only as a list of parts raise on a string, or render nothing of it.
    parts = not writes_contents(m, False) and writes_contents(m, True)
    kept = []
    for case in cases:
        try:
            trained(m, case.messages, case.tools, roles, parts)
        except sftmask.SftmaskError:
            continue  # the original fails to render or to be located: nothing to compare with
        kept.append(case)
    return Applicable(tuple(kept), parts)


def trained(m: sftmask.Masker, messages, tools, roles, parts: bool) -> dict[int, str]:
    """Message index -> its trained text: the concatenation of its located ranges."""
    options = {} if roles is None else {"roles_to_train": list(roles)}
    text, turns = m.located_turns(
        as_parts(messages) if parts else list(messages), tools=tools and list(tools), **options
    )
    out: dict[int, str] = {}
    for index, start, end in turns:
        out[index] = out.get(index, "") + text[start:end]
    return out


# ----------------------------------------------------------------------------------------------------------------
# Mutations

SHORT_REPLIES = ["yes", "no", "ok", "OK", "Yes.", "No.", "sure", "Thanks!", "Great.", "12", "blue"]
TEXT_FIELDS = ("content", "reasoning_content")


@dataclass(frozen=True)
class Mutation:
    case: str
    message: int
    field: str
    old: str
    new: str
    source: str  # where the text comes from, for the report

    def apply(self, messages):
        changed = [dict(m) for m in messages]
        changed[self.message][self.field] = self.new
        return tuple(changed)


def texts_of(messages) -> list[tuple[int, str, str]]:
    """(message index, field, text) of every non-empty text field."""
    return [
        (index, field, m[field])
        for index, m in enumerate(messages)
        for field in TEXT_FIELDS
        if isinstance(m.get(field), str) and m[field]
    ]


@st.composite
def taken_text(draw, messages, exclude: int, direction: str):
    """Text taken from a message other than `exclude`: whole, a word, a phrase or a character slice; or a common
    short reply. Returns (text, description)."""
    sources = [(index, field, text) for index, field, text in texts_of(messages) if index != exclude]
    # Half the time from where a locator that matches text goes wrong: a later message that repeats an earlier
    # assistant turn's words (replace), an earlier turn that holds a later message's text (insert).
    if direction == "replace":
        preferred = [s for s in sources if s[0] < exclude and messages[s[0]]["role"] == "assistant"]
    else:
        preferred = [s for s in sources if s[0] > exclude]
    if preferred and draw(st.booleans()):
        sources = preferred
    how = draw(st.sampled_from(["whole", "word", "phrase", "slice", "reply"] if sources else ["reply"]))
    if how == "reply":
        reply = draw(st.sampled_from(SHORT_REPLIES))
        return reply, f"the short reply {reply!r}"
    index, field, text = draw(st.sampled_from(sources))
    where = f"message {index}'s {field}"
    if how == "whole":
        return text, f"the whole of {where}"
    if how == "word":
        words = re.findall(r"\w+", text) or [text]
        return draw(st.sampled_from(words)), f"a word of {where}"
    if how == "phrase":
        spans = [match.span() for match in re.finditer(r"\S+", text)]
        first = draw(st.integers(0, len(spans) - 1))
        last = draw(st.integers(first, min(len(spans) - 1, first + 8)))
        return text[spans[first][0] : spans[last][1]], f"a phrase of {where}"
    start = draw(st.integers(0, len(text) - 1))
    end = draw(st.integers(start + 1, min(len(text), start + 40)))
    return text[start:end], f"a slice of {where}"


@st.composite
def mutations(draw, cases: tuple[Case, ...], direction: str):
    # The conversations written here (built for collisions) as often as the corpus rows.
    base = [case for case in cases if case in BASE_CASES]
    corpus = [case for case in cases if case not in BASE_CASES]
    case = draw(st.one_of([st.sampled_from(group) for group in (base, corpus) if group]))
    targets = [
        (index, field)
        for index, m in enumerate(case.messages)
        for field in TEXT_FIELDS
        if isinstance(m.get(field), str) and (field == "content" or m[field])
    ]
    index, field = draw(st.sampled_from(targets))
    old = case.messages[index][field]
    if direction == "replace":
        if draw(st.integers(0, 9)) == 0:
            new, source = "", "the empty string"
        else:
            new, source = draw(taken_text(case.messages, index, direction))
        return Mutation(case.name, index, field, old, new, f"replaced by {source}")
    piece, source = draw(taken_text(case.messages, index, direction))
    gaps = [0, len(old)] + [match.start() for match in re.finditer(r"\s", old)]
    at = draw(st.sampled_from(sorted(set(gaps))))
    separator = draw(st.sampled_from([" ", "\n", ""]))
    if at == 0:
        new = piece + separator + old if old else piece
    elif at == len(old):
        new = old + separator + piece
    else:
        new = old[:at] + separator + piece + old[at:]
    return Mutation(case.name, index, field, old, new, f"{source} inserted at character {at}")


def check_mutation(template_id: str, roles: tuple[str, ...] | None, mutation: Mutation) -> str:
    """Checks the property on one mutation; returns what happened to the changed conversation."""
    m = masker(template_id)
    info = applicable(template_id, roles)
    case = next(c for c in info.cases if c.name == mutation.case)
    before = trained(m, case.messages, case.tools, roles, info.parts)
    changed = mutation.apply(case.messages)
    if render(m, Case(case.name, changed, case.tools), info.parts) is None:
        return "changed conversation does not render"
    try:
        after = trained(m, changed, case.tools, roles, info.parts)
    except sftmask.TemplateError as error:
        assert NAMES_A_MESSAGE.search(str(error)), f"a TemplateError that names no message: {error}"
        return "changed conversation raises a TemplateError naming a message"
    for i in sorted((set(before) | set(after)) - {mutation.message}):
        assert before.get(i, "") == after.get(i, ""), (
            f"{template_id} (roles_to_train={roles}), conversation {case.name!r}: setting message "
            f"{mutation.message}'s {mutation.field} from {mutation.old!r} to {mutation.new!r} "
            f"({mutation.source}) changed the trained text of message {i} "
            f"({case.messages[i]['role']}) from {before.get(i, '')!r} to {after.get(i, '')!r}"
        )
    return "changed conversation located"


def run_property(template_id, roles, direction, data):
    info = applicable(template_id, roles)
    if not info.cases:
        pytest.skip(f"{template_id} renders and locates none of the conversations (roles_to_train={roles})")
    event(check_mutation(template_id, roles, data.draw(mutations(info.cases, direction), label="mutation")))


# ----------------------------------------------------------------------------------------------------------------
# The property: key templates (fast) and the whole collection (slow)

KEY_TEMPLATES = ["own:qwen3", "trl:qwen3", "trl:gptoss", "trl:nemotron_3_nano", "trl:llama3", "trl:gemma3", "trl:deepseekv3"]
ROLE_CHOICES = {"default": None, "assistant+tool": ("assistant", "tool"), "assistant+user": ("assistant", "user")}
FAST = [(t, "default") for t in KEY_TEMPLATES] + [
    (t, roles) for t in ("own:qwen3", "trl:llama3", "trl:gemma3") for roles in ("assistant+tool", "assistant+user")
]
ALL = [(t, roles) for t in template_ids() for roles in ROLE_CHOICES]

# Derandomized: CI draws the same examples on every run, so main is not red by the luck of a draw; a new finding is
# added to COUNTEREXAMPLES below (run with `--hypothesis-seed=random` to search further).
FAST_SETTINGS = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
SWEEP_SETTINGS = settings(
    max_examples=75, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.mark.parametrize("direction", ["replace", "insert"])
@pytest.mark.parametrize("template_id, roles", FAST)
@FAST_SETTINGS
@given(data=st.data())
def test_another_messages_text_leaves_trained_text_unchanged(template_id, roles, direction, data):
    run_property(template_id, ROLE_CHOICES[roles], direction, data)


@pytest.mark.slow
@pytest.mark.parametrize("direction", ["replace", "insert"])
@pytest.mark.parametrize("template_id, roles", ALL)
@SWEEP_SETTINGS
@given(data=st.data())
def test_another_messages_text_leaves_trained_text_unchanged_whole_collection(template_id, roles, direction, data):
    run_property(template_id, ROLE_CHOICES[roles], direction, data)


# Counterexamples hypothesis found and shrank (on the build of commit aecbd30 and on a later one), kept as fixed
# cases so that each family's failure is checked on every run: (template, roles_to_train, conversation, message,
# new content).
COUNTEREXAMPLES = [
    ("own:qwen3", "default", "multi_turn", 2, ""),  # "Say yes or no." left untrained when the user says "yes"
    ("trl:qwen3_6", "default", "reasoning", 4, "What is 12 times 7? 12"),
    ("trl:qwen3_5_nothink", "assistant+tool", "system_prompt", 5, "Yes, I am sure: Paris has been the capital of France for centuries."),
    ("trl:gptoss", "default", "reasoning", 2, "12 times 7 is 84."),  # the earlier turn dropped from the turns
    ("trl:nemotron_3_nano", "default", "multi_turn", 2, "Shall we go to the lake this afternoon? yes"),
    ("trl:nemotron_3_super", "assistant+tool", "reasoning", 2, "12 times 7 is 84."),
    ("trl:lfm2_2_5", "default", "reasoning", 4, "What is 12 times 7? 12"),
    ("trl:glm4moe_training", "default", "reasoning", 4, "What is 12 times 7? 12"),
    # an empty tool result: its `<|tool_response>...<tool_response|>`, written in the model's turn, became part of
    # the assistant's trained text
    ("trl:gemma4", "default", "tool_calls", 3, ""),
    ("trl:diffusion_gemma", "default", "tool_calls", 3, ""),
    # Open: a random draw in CI found it after the fix. Gemma 4 writes tool results inside the model's turn, so a
    # trained tool message has no iteration of its own and goes to the prefix-probing fallback, which ends it where
    # the render of the messages up to it ends; a non-empty assistant content makes the template close the model's
    # turn there with `<turn|>\n`, which the tool's turn then takes.
    pytest.param(
        "trl:gemma4_v3", "assistant+tool", "glaive_tools_en.jsonl:11", 1, " ",
        marks=pytest.mark.xfail(strict=True, reason="the fallback gives a tool turn written into the model's turn "
                                "the model's end of turn (open, see the comment)"),
    ),
]


@pytest.mark.parametrize("template_id, roles, case_name, message, new", COUNTEREXAMPLES)
def test_counterexamples_found_by_hypothesis(template_id, roles, case_name, message, new):
    info = applicable(template_id, ROLE_CHOICES[roles])
    case = next((c for c in info.cases if c.name == case_name), None)
    assert case is not None, f"{template_id} no longer renders and locates {case_name!r}"
    old = case.messages[message]["content"]
    check_mutation(template_id, ROLE_CHOICES[roles], Mutation(case_name, message, "content", old, new, "fixed case"))


def test_key_templates_locate_the_conversations():
    """The property must not pass by skipping: the key templates locate the conversations written here."""
    for template_id in ("own:qwen3", "trl:llama3", "trl:gemma3", "trl:gptoss", "trl:qwen2_5"):
        located = {case.name for case in applicable(template_id, None).cases}
        assert {"multi_turn", "system_prompt", "reasoning"} <= located, (template_id, located)


# ----------------------------------------------------------------------------------------------------------------
# The issue's cases, on Qwen3's own template and on gpt-oss, against the tagged training templates


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text}


REPEATS = {
    "say_yes_or_no": [user("Shall we go?"), assistant("Say yes or no."), user("yes"), assistant("Great.")],
    "i_pick_blue": [user("Which color do you pick?"), assistant("I pick blue"), user("blue"), assistant("Blue it is.")],
    "user_quotes_the_assistant": [
        user("Is the museum open on Monday?"),
        assistant("The museum is closed on Mondays."),
        user("You said: The museum is closed on Mondays. What about Tuesday?"),
        assistant("It opens at nine on Tuesdays."),
    ],
    "user_repeats_the_assistant": [
        user("Is the museum open on Monday?"),
        assistant("The museum is closed on Mondays."),
        user("The museum is closed on Mondays."),
        assistant("Yes, that is what I said."),
    ],
}


@functools.cache
def tagged(name: str) -> sftmask.Masker:
    text = TRL_TEMPLATES.get(name) or SHARED_TEMPLATES.get(name)
    if text is None:
        pytest.skip(f"{name}.jinja is not available (TRL's chat templates need `pip install trl`)")
    return sftmask.Masker.from_pretrained(TOKENIZERS / "qwen3", chat_template=text)


def tagged_spans(name: str, messages) -> list[str]:
    text, spans = tagged(name).render_with_spans(messages)
    return [text[start:end] for start, end in spans]


@pytest.mark.parametrize("case", sorted(REPEATS))
def test_qwen3_earlier_turn_is_trained_when_a_later_message_repeats_it(case):
    messages = REPEATS[case]
    own = masker("own:qwen3")
    assert not own.has_generation_tags
    got = trained(own, messages, None, None, False)
    # Qwen3's own template writes no thinking block in a turn before the last user message; its training variant
    # (always a thinking block, tagged) marks that block and then exactly the text the own template writes.
    first = f"{messages[1]['content']}<|im_end|>\n"
    last = f"<think>\n\n</think>\n\n{messages[3]['content']}<|im_end|>\n"
    assert tagged_spans("qwen3_training", messages) == ["<think>\n\n</think>\n\n" + first, last]
    assert got == {1: first, 3: last}
    # and the labels auto mode gives: both turns trained, nothing else
    assert trained_texts(own, own.encode(messages)) == [first, last]


@pytest.mark.parametrize("case", sorted(REPEATS))
def test_gptoss_earlier_turn_is_trained_when_a_later_message_repeats_it(case):
    messages = REPEATS[case]
    own = masker("trl:gptoss")
    got = trained(own, messages, None, None, False)
    assert own.render(messages) == tagged("gptoss_training").render(messages)
    # TRL's variant also trains `<|start|>assistant`, text the generation prompt supplies (README, "Which tokens
    # are trained"): auto mode trains the rest of each tagged span.
    header = "<|start|>assistant"
    spans = tagged_spans("gptoss_training", messages)
    assert [span[: len(header)] for span in spans] == [header, header]
    expected = {1: spans[0][len(header) :], 3: spans[1][len(header) :]}
    assert expected[1] == f"<|channel|>final<|message|>{messages[1]['content']}<|end|>"
    assert got == expected
