"""The training policy: which messages are trained, how their text is found, what happens to long rows.

`Policy` is the one Python definition of the options, their types and defaults: `Masker` takes its fields as
keyword arguments, the command line builds its flags from them, and the native core (`rust/policy.rs`, the one
Rust definition) checks every value, so that a new option is added in those two places.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from sftmask import _native


def _option(default: Any, help: str) -> Any:
    """A policy field: its default, and the one-line help the command line shows."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Policy:
    """What a `Masker` trains on. Each field is a keyword argument of `Masker.from_pretrained`, `from_strings`,
    `encode`, `encode_batch` and `check` (a call's options override the masker's for that call), and a flag of the
    command line (`--max-length`, ...).

    - `mode`: `"auto"` (the template's `{% generation %}` blocks when it has them and every assistant message is
      trained, otherwise located turns), `"generation"` (generation blocks only) or `"turns"` (located turns only).
    - `roles_to_train`: the roles whose messages are trained.
    - `train_end_of_turn`: whether the end-of-turn tokens closing a trained turn are trained; `"last"` trains
      only those of the last trained turn (Axolotl's `train_on_eos: last`).
    - `train_last_turn_only`: train only the last message the other rules select.
    - `train_field`: message fields (`true`/`false`, or a weight `1`/`0`) overriding the role rule for that
      message, the first present one deciding; `None` to ignore such fields (default: sftmask's `train`, then
      OpenAI's fine-tuning `weight`).
    - `max_length`, `truncation`: at most `max_length` tokens, keeping the start (`"keep_start"`), the end
      (`"keep_end"`), or refusing longer rows (`"drop"`).
    - `sanitize_control_tokens`: encode control tokens spelled inside the data (`<|im_start|>` in a message) as
      plain text, as transformers' `apply_chat_template(sanitize_control_tokens=True)` does (default: they are
      encoded as the special tokens they spell, as transformers does by default).
    - `history`: which render each trained turn is trained in. `"as_rendered"` (default): one row per
      conversation, each turn as the full conversation renders it, even where the template drops the reasoning of
      earlier turns. `"per_turn"`: one row per trained message k, the conversation up to k rendered as the template
      renders it when k is the last message, only k trained. `"auto"`: `"per_turn"` for the rows whose full
      render leaves out text of a trained message that its own last-turn render trains, `"as_rendered"` for the
      others.

    Values are checked when a policy is made: a bad one raises `InputError` naming the option.
    """

    mode: Literal["auto", "generation", "turns"] = _option("auto", "how trained text is found")
    roles_to_train: tuple[str, ...] = _option(("assistant",), "the roles whose messages are trained")
    train_end_of_turn: bool | Literal["last"] = _option(
        True, "train the end-of-turn tokens of trained turns ('last': of the last one only)"
    )
    train_last_turn_only: bool = _option(False, "train only the last message the other rules select")
    train_field: str | tuple[str, ...] | None = _option(
        ("train", "weight"), "message fields overriding the role rule, the first present one deciding"
    )
    max_length: int | None = _option(None, "at most this many tokens per row")
    truncation: Literal["keep_start", "keep_end", "drop"] = _option("keep_start", "how max_length cuts a row")
    sanitize_control_tokens: bool = _option(False, "encode special tokens spelled inside messages as plain text")
    history: Literal["as_rendered", "per_turn", "auto"] = _option(
        "as_rendered", "train each turn as the full conversation renders it, or in its own last-turn render"
    )

    def __post_init__(self) -> None:
        for name in ("roles_to_train", "train_field"):  # lists become tuples, so that a policy is hashable
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        resolve(self.as_native())

    @classmethod
    def option_names(cls) -> frozenset[str]:
        return frozenset(f.name for f in dataclasses.fields(cls))

    def replace(self, **options: Any) -> Policy:
        """This policy with `options` changed; an unknown option is a `TypeError`."""
        return dataclasses.replace(self, **options) if options else self

    def as_native(self) -> dict[str, Any]:
        """The options as the native layer reads them (lists for sequences)."""
        return {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in ((f.name, getattr(self, f.name)) for f in dataclasses.fields(self))
        }


def resolve(options: dict[str, Any]) -> dict[str, Any]:
    """The whole policy the native core makes of `options`: the defaults where they are silent, each value checked."""
    return json.loads(_native.resolve_policy(options))


def split_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Removes the policy options from `kwargs` (a call's keyword arguments) and returns them."""
    names = Policy.option_names()
    return {name: kwargs.pop(name) for name in list(kwargs) if name in names}


class IgnoredKeywordWarning(UserWarning):
    """A keyword argument that is neither a policy option nor a variable the chat template reads: it changes nothing."""


def check_template_kwargs(names: Iterable[str], template_variables: frozenset[str], warned: set[str]) -> None:
    """Keyword arguments left after the policy options are template variables, and are never ignored silently: a
    name one edit away from a policy option's (`train_last_turns_only`) is a typo, an `InputError`; a name the
    template does not read (an option of another sftmask version, a variable of another template) warns once per
    name and masker (`warned` holds the names already warned about)."""
    unread = [name for name in names if name not in template_variables and name not in warned]
    if not unread:  # the usual call: nothing to look up
        return
    options = sorted(Policy.option_names())
    for name in unread:
        typo = next((option for option in options if _one_edit_apart(name, option)), None)
        if typo is not None:
            raise _native.InputError(f"unknown option {name!r}: did you mean {typo!r}?")
        warned.add(name)
        nearest = difflib.get_close_matches(name, options, n=1, cutoff=0.0)[0]
        warnings.warn(
            f"{name!r} is neither a policy option nor a variable the chat template reads: it changes nothing "
            f"(the nearest policy option is {nearest!r})",
            IgnoredKeywordWarning,
            stacklevel=4,  # the caller of the Masker method
        )


def _one_edit_apart(a: str, b: str) -> bool:
    """Whether one insertion, deletion, substitution or swap of neighbouring characters turns `a` into `b`."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), len(a))
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    swapped = i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    return a[i + 1 :] == b[i + 1 :] or swapped
