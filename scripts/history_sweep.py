"""Per-turn rows (`history="per_turn"`) against transformers, prefix by prefix, on multi-turn reasoning conversations.

For each conversation and each assistant message k, sftmask's row for k must have exactly the ids of transformers'
`apply_chat_template(messages[:k+1], tools=...)` with the original template, and labels equal to the tagged
reference's assistant mask on that prefix with every turn but the last set to -100, up to the documented header rule
(text the generation prompt supplies is never trained; `family_sweep.first_rule_violation`). The references: TRL's
tagged training variants, and Qwen3's own template with tags added (`with_generation_tags_qwen3`).

The conversations: the reasoning rows of the shared corpus (`reasoning_content` on an assistant turn), each extended
with the turns of the next one, so that every row has reasoning on several turns (`reasoning_rows`).

    python scripts/history_sweep.py [--rows N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))

import family_sweep as fs  # noqa: E402

#: Families whose templates rewrite history, each as (original template, tagged reference): a TRL template name, or
#: "qwen3+tags" for Qwen3's own template with generation tags added.
FAMILIES = {
    "qwen3": ("qwen3", "qwen3+tags"),
    "gptoss": ("gptoss", "gptoss_training"),
    "deepseek_r1_distill": ("deepseek_r1_distill", "deepseek_r1_distill_training"),
    "nemotron_3_nano": ("nemotron_3_nano", "nemotron_3_nano_training"),
}


def carries_reasoning(message: dict) -> bool:
    return message.get("role") == "assistant" and bool(message.get("reasoning_content"))


def reasoning_rows(corpus, inline: bool = False) -> list[dict]:
    """The corpus rows with reasoning on an assistant turn, each followed by the turns (all but the system prompt)
    of the next such row, with both rows' tools: several reasoning turns per row. `inline` writes each reasoning
    into its message's content instead, as `<think>\n...\n</think>\n\n` before the answer (DeepSeek-R1's data)."""
    rows = [row for _, _, row in corpus if any(carries_reasoning(m) for m in row["messages"])]
    extended = []
    for i, row in enumerate(rows):
        following = rows[(i + 1) % len(rows)]
        turns = [m for m in following["messages"] if m.get("role") != "system"]
        tools = {t["function"]["name"]: t for t in (row.get("tools") or []) + (following.get("tools") or [])}
        messages = row["messages"] + turns
        if inline:
            messages = [_inline(m) if carries_reasoning(m) else m for m in messages]
        extended.append({"messages": messages, **({"tools": list(tools.values())} if tools else {})})
    return extended


def _inline(message: dict) -> dict:
    inlined = {k: v for k, v in message.items() if k != "reasoning_content"}
    inlined["content"] = f"<think>\n{message['reasoning_content']}\n</think>\n\n{message.get('content') or ''}"
    return inlined


def templates() -> dict[str, str]:
    from conftest import with_generation_tags_qwen3

    loaded = fs.load_templates(fs.trl_templates_dir())
    loaded["qwen3+tags"] = with_generation_tags_qwen3(loaded["qwen3"])
    return loaded


def last_turn_labels(refs: fs._Refs, template: str, row: dict, k: int):
    """(ids, labels, index of the first token of the last turn) of the tagged reference on messages[:k+1], every
    turn but the last set to -100: the tokens that start before the end of message k-1's content, found as where
    the render stops changing when that content changes (the renders' common suffix; message k-1 is the user or
    tool message the turn answers)."""
    prefix = {**row, "messages": row["messages"][: k + 1]}
    ids, labels = refs.mask(template, -1, prefix)
    text = refs.render(template, -1, row, prefix["messages"])
    changed = [*prefix["messages"][: k - 1], {**prefix["messages"][k - 1], "content": "\x01"}, prefix["messages"][k]]
    other = refs.render(template, -1, row, changed)
    common = next((i for i, (a, b) in enumerate(zip(reversed(text), reversed(other))) if a != b), len(text))
    boundary = len(text) - common
    first = next((i for i, (start, _) in enumerate(refs.offsets(text)) if start >= boundary), len(ids))
    return ids, [label if i >= first else fs.IGNORE for i, label in enumerate(labels)], first


def sweep(family: str, rows, all_templates, tokenizer_path: Path) -> dict:
    """Per-turn rows of one family against the references, counted: exact, equal up to the header rule, or not."""
    import sftmask

    original, reference = FAMILIES[family]
    tokenizer = fs.reference_tokenizer(tokenizer_path)
    refs = fs._Refs(tokenizer, all_templates)
    refs.mask = _uncached_mask(refs)
    masker = sftmask.Masker.from_pretrained(tokenizer_path, chat_template=all_templates[original])
    out = {"turns": 0, "exact": 0, "rule": 0, "ids_differ": 0, "labels_differ": 0, "render_differs": 0, "first": None}
    batch = masker.encode_batch(rows, history="per_turn", on_error="raise")
    by_turn = {
        (r, m): (ids, labels)
        for r, m, ids, labels in zip(
            batch["source_row"].to_pylist(), batch["source_message"].to_pylist(),
            batch["input_ids"].to_pylist(), batch["labels"].to_pylist(),
        )
    }
    for r, row in enumerate(rows):
        for k, message in enumerate(row["messages"]):
            if message.get("role") != "assistant":
                continue
            out["turns"] += 1
            got_ids, got = by_turn[(r, k)]
            prefix = row["messages"][: k + 1]
            expected_ids = tokenizer.apply_chat_template(
                prefix, tools=row.get("tools") or None, chat_template=all_templates[original], tokenize=True,
                return_dict=True,
            )["input_ids"]
            if got_ids != list(expected_ids):
                out["ids_differ"] += 1
                out["first"] = out["first"] or f"row {r} message {k}: input_ids differ"
                continue
            # A reference that renders the history differently (DeepSeek's variant keeps what the original strips
            # from earlier turns) is compared on the last turn: the tokens from its start, which both renders end with.
            ids, expected, first = last_turn_labels(refs, reference, row, k)
            turn = len(ids) - first
            if ids[-turn:] != got_ids[-turn:]:
                out["render_differs"] += 1
                out["first_render"] = out.get("first_render") or _first_difference(
                    refs.render(reference, -1, row, prefix), refs.render(original, -1, row, prefix), r, k
                )
                continue
            expected = [fs.IGNORE] * (len(got_ids) - turn) + expected[-turn:]
            if got == expected:
                out["exact"] += 1
                continue
            text = refs.render(original, -1, row, prefix)
            added = fs._added_text(refs, original, row, k)
            prompts = {text for text in (added and added[1], fs._after_loop_text(refs, original, row, k)) if text}
            if fs.first_rule_violation(text, refs.offsets(text), got, expected, prompts) is None:
                out["rule"] += 1
                continue
            out["labels_differ"] += 1
            if out["first"] is None:
                at = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
                window = fs._tokens_window(tokenizer, text, got_ids, [expected, got], "RS", at)
                out["first"] = f"row {r} message {k} (R = reference trains, S = sftmask)\n{window}"
    return out


def every_template(rows, all_templates, tokenizer_path: Path) -> dict[str, dict]:
    """For every original template of TRL's collection: whether its renders leave out trained text (the messages
    and tokens as rendered), and whether each per-turn row has the ids of transformers' render of its prefix."""
    import sftmask

    tokenizer = fs.reference_tokenizer(tokenizer_path)
    results = {}
    for family in fs.families({k: v for k, v in all_templates.items() if k != "qwen3+tags"}):
        template = all_templates[family.original]
        masker = sftmask.Masker.from_pretrained(tokenizer_path, chat_template=template)
        report = sftmask.BatchReport.of(masker.encode_batch(rows, on_error="skip"))
        out = {"left_out_messages": report.left_out_messages, "left_out_tokens": report.left_out_tokens,
               "rows": 0, "ids_equal": 0, "ids_differ": 0, "errors": 0, "first": None}
        batch = masker.encode_batch(rows, history="per_turn", on_error="null")
        for r, k, ids in zip(batch["source_row"].to_pylist(), batch["source_message"].to_pylist(),
                             batch["input_ids"].to_pylist()):
            out["rows"] += 1
            if ids is None:
                out["errors"] += 1
                continue
            prefix = rows[r]["messages"][: k + 1]
            try:
                expected = tokenizer.apply_chat_template(
                    prefix, tools=rows[r].get("tools") or None, chat_template=template, tokenize=True,
                    return_dict=True,
                )["input_ids"]
            except Exception:  # noqa: BLE001 - transformers cannot render this prefix: nothing to compare
                continue
            same = ids == list(expected)
            out["ids_equal" if same else "ids_differ"] += 1
            out["first"] = out["first"] or (None if same else f"row {r} message {k}")
        results[family.original] = out
    return results


def _first_difference(a: str, b: str, r: int, k: int) -> str:
    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"row {r} message {k}: reference {a[max(0, at - 80):at + 80]!r}\n    original {b[max(0, at - 80):at + 80]!r}"


def _uncached_mask(refs: fs._Refs):
    """`refs.mask` keyed by the prefix rather than a row index."""
    cache: dict = {}

    def mask(template: str, i: int, row: dict):
        key = (template, json.dumps(row, sort_keys=True))
        if key not in cache:
            out = refs.tokenizer.apply_chat_template(
                row["messages"], tools=row.get("tools") or None, chat_template=refs.templates[template],
                tokenize=True, return_dict=True, return_assistant_tokens_mask=True,
            )
            ids = list(out["input_ids"])
            cache[key] = (ids, [t if m else fs.IGNORE for t, m in zip(ids, out["assistant_masks"])])
        return cache[key]

    return mask


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--rows", type=int, default=None, help="the first N conversations (default: all)")
    parser.add_argument("--family", action="append", choices=sorted(FAMILIES), help="(default: all)")
    parser.add_argument("--inline", action="store_true", help="reasoning inside the content (<think>...</think>)")
    parser.add_argument("--all", action="store_true", help="every template of TRL's collection: ids and losses")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rows = reasoning_rows(fs.load_corpus(args.shared / "data" / "chat"), args.inline)[: args.rows]
    all_templates = templates()
    if args.all:
        results = every_template(rows, all_templates, args.shared / "tokenizers" / "qwen3")
        for name, r in results.items():
            print(f"{name}: as rendered, {r['left_out_messages']} messages leave out {r['left_out_tokens']} tokens; "
                  f"per turn, {r['rows']} rows, {r['ids_equal']} ids equal, {r['ids_differ']} differ, "
                  f"{r['errors']} errors {r['first'] or ''}")
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
        return 0
    results = {}
    for family in args.family or sorted(FAMILIES):
        results[family] = sweep(family, rows, all_templates, args.shared / "tokenizers" / "qwen3")
        r = results[family]
        print(f"{family}: {r['turns']} turns, {r['exact']} exact, {r['rule']} equal up to the header rule, "
              f"{r['ids_differ']} ids differ, {r['labels_differ']} labels differ, "
              f"{r['render_differs']} reference renders differently")
        for key in ("first", "first_render"):
            if r.get(key):
                print(r[key])
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
