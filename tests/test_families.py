"""Family sweep over TRL's chat templates (scripts/family_sweep.py) on a small fixed sample of the shared corpus.

For every template of `trl/chat_templates`, with the qwen3 tokenizer standing in for every family:
- render: sftmask renders what transformers renders (both raising counts as identical);
- tagged: `mode="generation"` gives transformers' input_ids and assistant-mask labels;
- auto: auto mode on an original equals the labels of TRL's tagged training variant, up to the documented rule
  (text the generation prompt supplies is never trained), on rows where both render the same text. Tagged
  originals without a variant (lfm2_2_5*) compare `mode="turns"` with their own tags.

The sample: 40 conversations balanced over the corpus files, picked to include tools, tool calls,
reasoning_content, tool turns and multi-turn rows (`pick_diverse`). The auto check runs on mutated variants of them
too (`mutate_rows`, a few of each kind: messages that share text, such as a user's "yes" after an assistant turn that
says "yes"; issue 19), and so does the content check (located turns train all of every assistant message's content;
no reference needed, so it covers the families whose variant renders multi-turn rows differently, Qwen3's own).
The full sweep: `python scripts/family_sweep.py --json out.json` (`--mutate both --only auto --only content` for
the mutated rows).
"""

from __future__ import annotations

import functools
import json
import random
import sys

import pytest

from conftest import REPORT, ROOT, SHARED

sys.path.insert(0, str(ROOT / "scripts"))
import family_sweep as fs  # noqa: E402

pytest.importorskip("transformers")
sftmask = pytest.importorskip("sftmask")

# Sweeps TRL's template collection (a minute and more): `pytest -m "not slow"` leaves this module out of a quick run.
pytestmark = pytest.mark.slow

SAMPLE_ROWS = 40
# Mutated variants of the sample that join it for the auto check: at most this many rows of each kind (seeded).
MUTATED_PER_KIND = 4

# Known failures, each with its reason; shrink these as sftmask is fixed (strict=False: a fixed one just XPASSes).
# Rendering (template names):
RENDER_KNOWN_FAILURES: dict[str, str] = {}
# Generation-tag labels (template names): documented differences (README, "Which tokens are trained").
TAGGED_KNOWN_FAILURES: dict[str, str] = {
    "diffusion_gemma_training": (
        "documented: an empty generation block (after '<tool_response|>' in tool rows) trains nothing in sftmask; "
        "transformers trains the token its position falls inside"
    ),
}
# Auto mode on an original vs its TRL training variant (families, by original template name): documented differences.
AUTO_KNOWN_FAILURES: dict[str, str] = {
    "diffusion_gemma": (
        "documented: a last turn that ends in tool calls closes with '<|tool_response>', which sftmask trains as the "
        "turn's end and the variant leaves untrained"
    ),
}
# Located turns train all of every assistant message's content, on the mutated rows (families).
CONTENT_KNOWN_FAILURES: dict[str, str] = {}

TEMPLATES_DIR = fs.trl_templates_dir()
TEMPLATES = fs.load_templates(TEMPLATES_DIR) if TEMPLATES_DIR else {}
FAMILIES = {f.name: f for f in fs.families(TEMPLATES)}
FAMILY_OF = {t: f for f in FAMILIES.values() for t in f.templates}


def _skip_without_inputs():
    if not TEMPLATES:
        pytest.skip("trl (its chat_templates) is not installed")
    for part in ("tokenizers/qwen3", "data/chat"):
        if not (SHARED / part).exists():
            pytest.skip(f"{SHARED / part} is not available (the shared data lives beside the checkout)")


@functools.cache
def _rows():
    return fs.pick_diverse(fs.load_corpus(SHARED / "data" / "chat"), SAMPLE_ROWS)


@functools.cache
def _mutated_rows():
    return fs.mutate_rows(_rows(), seed=0, per_kind=MUTATED_PER_KIND)


_results: dict[str, dict] = {}
MUTATED_TESTS = {"test_auto_mode_on_mutated_rows", "test_located_turns_train_all_assistant_content_on_mutated_rows"}
MUTATED_CHECKS = ("auto", "content")


@pytest.fixture(scope="module")
def results(request) -> dict[str, dict]:
    """Sweeps, once and in 2 processes, every family that the selected tests of this file need: the checks on the
    sample, and where a selected test needs them, the auto and content checks on the mutated rows in the same pass
    (each result's "mutated")."""
    _skip_without_inputs()
    needed, mutated = set(), False
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if item.module is request.module:
            if "family" in params:
                needed.add(params["family"])
            if "template" in params:
                needed.add(FAMILY_OF[params["template"]].name)
            mutated = mutated or item.originalname in MUTATED_TESTS
    todo = [FAMILIES[name] for name in sorted(needed - set(_results))]
    more = _mutated_rows() if mutated else None
    for res in fs.run(
        todo, _rows(), TEMPLATES, SHARED / "tokenizers" / "qwen3", jobs=2, mutated=more, mutated_checks=MUTATED_CHECKS
    ):
        _results[res["family"]] = res
    return _results


@pytest.fixture(scope="module")
def mutated_results(results) -> dict[str, dict]:
    """The results of the auto and content checks on the mutated rows, by family."""
    return {name: res["mutated"] for name, res in results.items() if "mutated" in res}


def _param(name: str, known: dict[str, str]):
    marks = [pytest.mark.xfail(strict=False, reason=known[name])] if name in known else []
    return pytest.param(name, marks=marks, id=name)


def test_sample_covers_the_shapes():
    _skip_without_inputs()
    shapes = [fs.features(item[2]) for item in _rows()]
    assert len(shapes) == SAMPLE_ROWS
    for k, what in enumerate(["tools", "tool_calls", "reasoning_content", "tool turns", "multi-turn", "system"]):
        assert any(s[k] for s in shapes), what


@pytest.mark.parametrize("template", [_param(t, RENDER_KNOWN_FAILURES) for t in sorted(FAMILY_OF)])
def test_render_matches_transformers(results, template):
    r = results[FAMILY_OF[template].name]["render"][template]
    REPORT.append(
        f"families render {template}: {r['identical']} identical, {r['both_raise']} raise in both, "
        f"{r['failures']} fail"
    )
    assert r["failures"] == 0, r["first_failure"]


@pytest.mark.parametrize(
    "template", [_param(t, TAGGED_KNOWN_FAILURES) for t in sorted(FAMILY_OF) if fs.is_tagged(TEMPLATES[t])]
)
def test_generation_tags_match_transformers_assistant_mask(results, template):
    r = results[FAMILY_OF[template].name]["tagged"][template]
    REPORT.append(
        f"families tagged {template}: {r['identical']} identical, {r['not_applicable']} not applicable, "
        f"{r['failures']} fail"
    )
    assert r["failures"] == 0, r["first_failure"]


@pytest.mark.parametrize(
    "family", [_param(name, AUTO_KNOWN_FAILURES) for name, f in sorted(FAMILIES.items()) if f.reference]
)
def test_auto_mode_equals_training_variant_up_to_the_rule(results, family):
    a = results[family]["auto"]
    REPORT.append(
        f"families auto {family} vs {FAMILIES[family].reference}: {a['compared']} compared, {a['exact']} exact, "
        f"{a['rule']} up to the rule, {a['differ']} differ, {a['sftmask_error']} errors, "
        f"{a['render_differs']} render differently, {a['not_applicable']} not applicable"
    )
    assert a["sftmask_error"] == 0, a["first_error"]
    assert a["differ"] == 0, a["first_diff"]


@pytest.mark.parametrize(
    "family", [_param(name, AUTO_KNOWN_FAILURES) for name, f in sorted(FAMILIES.items()) if f.reference]
)
def test_auto_mode_on_mutated_rows(mutated_results, family):
    """The auto check on rows whose messages share text: an assistant turn stays trained when a later message's text
    (a one-word reply, a quote, a tool result) shows inside it, or when it repeats an earlier message."""
    a = mutated_results[family]["auto"]
    kinds = ", ".join(
        f"{kind} {k['exact'] + k['rule']}/{k['compared']}" for kind, k in sorted(a.get("by_kind", {}).items())
    )
    REPORT.append(
        f"families auto (mutated rows) {family} vs {FAMILIES[family].reference}: {a['compared']} compared, "
        f"{a['exact'] + a['rule']} equal up to the rule, {a['differ']} differ, {a['sftmask_error']} errors, "
        f"{a['render_differs']} render differently, {a['not_applicable']} not applicable; by kind: {kinds}"
    )
    assert a["sftmask_error"] == 0, a["first_error"]
    assert a["differ"] == 0, a["first_diff"]


@pytest.mark.parametrize("family", [_param(name, CONTENT_KNOWN_FAILURES) for name in sorted(FAMILIES)])
def test_located_turns_train_all_assistant_content_on_mutated_rows(mutated_results, family):
    """Reference-free: every token of every assistant message's content is trained (`mode="turns"`, what auto mode
    uses without generation tags), whatever text the other messages share with it."""
    c = mutated_results[family]["content"]
    kinds = ", ".join(f"{kind} {k['ok']}/{k['compared']}" for kind, k in sorted(c.get("by_kind", {}).items()))
    REPORT.append(
        f"families content (mutated rows) {family}: {c['compared']} compared, {c['ok']} all content trained, "
        f"{c['untrained']} untrained content, {c['sftmask_error']} errors, {c['not_applicable']} not applicable; "
        f"by kind: {kinds}"
    )
    assert c["sftmask_error"] == 0, c["first_error"]
    assert c["untrained"] == 0, c["first_untrained"]


def test_mutations_keep_the_structure():
    """`mutate` changes content strings only, and the kinds make messages share text (no shared data needed)."""
    row = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Shall we go?"},
            {"role": "assistant", "content": "I pick blue, say yes or no."},
            {"role": "user", "content": "Well?"},
            {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"color": "blue"}}}]},
            {"role": "tool", "content": "{\"ok\": true}"},
            {"role": "assistant", "content": "Great.", "reasoning_content": "Done."},
        ],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
    }
    original = json.loads(json.dumps(row))
    variants = fs.mutate(row, random.Random(0))
    assert row == original
    assert [kind for kind, _ in variants] == list(fs.MUTATIONS)
    assert fs.mutate(row, random.Random(0)) == variants
    for kind, mutated in variants:
        assert {k: v for k, v in mutated.items() if k != "messages"} == {k: v for k, v in row.items() if k != "messages"}
        assert len(mutated["messages"]) == len(row["messages"])
        for m, o in zip(mutated["messages"], row["messages"]):
            assert {k: v for k, v in m.items() if k != "content"} == {k: v for k, v in o.items() if k != "content"}, kind
            assert isinstance(m["content"], str)
        assert mutated != row, kind
    got = dict(variants)
    assert got["short_reply"]["messages"][3]["content"] in row["messages"][2]["content"]
    assert got["echo"]["messages"][3]["content"] == row["messages"][2]["content"]
    assert got["quote"]["messages"][3]["content"].startswith('You said "')
    word = got["common_reply"]["messages"][3]["content"]
    assert word in fs.COMMON_REPLIES and word in got["common_reply"]["messages"][2]["content"].split()
    assert got["tool_echo"]["messages"][5]["content"] in ("f", "blue")  # the tool echoes its call
    preamble = got["tool_preamble"]["messages"]  # the tool-calling turn names the result, a word of the original
    assert preamble[5]["content"] in row["messages"][5]["content"] and preamble[5]["content"] in preamble[4]["content"]
    repeated = got["assistant_repeats_user"]["messages"]
    for k in (2, 6):  # each assistant message with content repeats (part of) an earlier user or system message
        extra = repeated[k]["content"].replace(row["messages"][k]["content"], "", 1).strip()
        assert extra and any(extra in m["content"] for m in row["messages"][:k] if m["role"] in ("user", "system"))
    # Kinds the row has no shape for are left out: a single-turn row without tools has only assistant_repeats_user.
    single = {"messages": row["messages"][1:3]}
    assert [kind for kind, _ in fs.mutate(single, random.Random(0))] == ["assistant_repeats_user"]
    # One kind alone gives the row it gives among all.
    assert fs.mutate(row, random.Random(0), kinds=("echo",)) == [("echo", got["echo"])]


def test_rule_allows_only_header_tokens_the_variant_trains():
    """The "equal up to the rule" check on hand-made tokens (no shared data needed)."""
    text = "hi<|im_start|>assistant\nok<E>"
    offsets = [(0, 2), (2, 14), (14, 23), (23, 24), (24, 26), (26, 29)]
    ignore = fs.IGNORE
    auto = [ignore, ignore, ignore, ignore, 5, 6]
    prompts = {"<|im_start|>assistant\n"}
    assert fs.header_regions(text, offsets, auto, prompts) == [(2, 24)]
    # The variant trains the header's newline, or all of the header: allowed.
    assert fs.first_rule_violation(text, offsets, auto, [ignore, ignore, ignore, 3, 5, 6], prompts) is None
    assert fs.first_rule_violation(text, offsets, auto, [ignore, 1, 2, 3, 5, 6], prompts) is None
    # A prompt the render only begins ('<think>\n' prefilled, the turn without it): its matching part counts.
    think = {"<|im_start|>assistant\n<think>\n"}
    assert fs.first_rule_violation(text, offsets, auto, [ignore, 1, 2, 3, 5, 6], think) is None
    # The variant trains user text, or auto trains what the variant does not, or the variant trains less: not allowed.
    assert fs.first_rule_violation(text, offsets, auto, [0, ignore, ignore, ignore, 5, 6], prompts) == 0
    assert fs.first_rule_violation(text, offsets, [ignore, ignore, ignore, 3, 5, 6], auto, prompts) == 3
    assert fs.first_rule_violation(text, offsets, auto, [ignore, ignore, ignore, ignore, 5, ignore], prompts) == 5
    # Without a generation prompt matching before the trained span, no header region: any difference counts.
    assert fs.first_rule_violation(text, offsets, auto, [ignore, ignore, ignore, 3, 5, 6], {"<|start|>assistant"}) == 3
