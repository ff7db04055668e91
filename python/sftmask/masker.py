"""The public `Masker`: loads a tokenizer and its chat template, renders and encodes conversations."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from sftmask import _native
from sftmask._native import ConfigError
from sftmask.constants import Dtype, Format, OnError
from sftmask.policy import Policy, check_template_kwargs, split_options
from sftmask.sources import JsonLines

# Files a tokenizer directory needs; the hub download fetches only these.
TOKENIZER_FILES = [
    "tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json",
    # A vision-language model's processor: how its images expand.
    "chat_template.json", "preprocessor_config.json", "processor_config.json", "video_preprocessor_config.json",
]

_DTYPES = {"int32": False, "int64": True, np.int32: False, np.int64: True}


def _read_chat_template(chat_template: str | os.PathLike | None) -> str | None:
    """`chat_template` is either the template's text or the path of a file holding it."""
    if chat_template is None:
        return None
    if isinstance(chat_template, os.PathLike) or ("{%" not in chat_template and "{{" not in chat_template):
        path = Path(chat_template)
        if not path.is_file():
            raise ConfigError(f"chat_template {str(chat_template)!r} is neither a Jinja template nor a file")
        return path.read_text(encoding="utf-8")
    return chat_template


def _resolve_directory(name_or_path: str | os.PathLike, revision: str | None) -> Path:
    path = Path(name_or_path)
    if path.is_dir():
        return path
    if isinstance(name_or_path, os.PathLike) or path.is_absolute() or str(name_or_path).startswith("."):
        raise ConfigError(f"tokenizer directory {str(name_or_path)!r} does not exist")
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise ConfigError(
            f"{name_or_path!r} is not a local directory; to download it from the Hugging Face Hub, "
            "install the hub extra: pip install 'sftmask[hub]'"
        ) from exc
    try:
        return Path(snapshot_download(str(name_or_path), revision=revision, allow_patterns=TOKENIZER_FILES))
    except Exception as exc:  # network, authentication, unknown repository
        raise ConfigError(f"could not download the tokenizer {name_or_path!r} from the Hub: {exc}") from exc


#: The dataset formats rows are recognised in, by their columns (see `Masker.encode_batch`).
FORMATS: tuple[str, ...] = tuple(_native.FORMATS)


#: The options of `encode_batch` that say how rows are read (the others are policy options and template variables).
READ_OPTIONS = (
    "format", "role_map", "keep_nulls", "messages_column", "tools_column", "prompt_column", "completion_column"
)


def read_options(
    *,
    format: Format | None = None,
    role_map: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    keep_nulls: bool = False,
    messages_column: str = "messages",
    tools_column: str = "tools",
    prompt_column: str = "prompt",
    completion_column: str = "completion",
) -> dict[str, Any]:
    """How rows are read, as the native layer takes it."""
    if format is not None and format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)} (or None to detect it), got {format!r}")
    pairs = list(role_map.items()) if isinstance(role_map, Mapping) else list(role_map or [])
    return dict(
        format=format,
        columns=dict(messages=messages_column, tools=tools_column, prompt=prompt_column, completion=completion_column),
        role_map=[(str(a), str(b)) for a, b in pairs],
        keep_nulls=bool(keep_nulls),
    )


class Masker:
    """Renders conversations with a model's chat template and labels the tokens the model is trained on.

    A token is trained (keeps its id) when it overlaps trained text; every other token is `-100`. The trained text
    is what the template's `{% generation %}` blocks mark, exactly as transformers'
    `apply_chat_template(return_assistant_tokens_mask=True)`, or, for a template without them (most models' own),
    each trained message's turn located in the render: what the template writes for it after its header, up to and
    including its end-of-turn tokens.

    What is trained is the masker's `policy` (a `sftmask.Policy`): its options are keyword arguments of the
    constructors, and of each call of `encode`, `encode_batch` and `check`, which override the masker's for that
    call.

    A row left with no trained token raises `UntrainableError` rather than yielding all `-100` labels.
    """

    def __init__(
        self,
        native: _native.Masker,
        source: tuple,
        *,
        name_or_path: str | None = None,
        dtype: Dtype = "int32",
        policy: Policy,
    ) -> None:
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be 'int32' or 'int64', got {dtype!r}")
        self._native = native
        # What the masker was built from, so that pickling (datasets' num_proc, Ray) can rebuild it elsewhere.
        self._source = source
        self.name_or_path = name_or_path
        self.dtype = dtype
        self.policy = policy
        # Keyword names already warned about as neither policy options nor variables the template reads.
        self._ignored_keywords: set[str] = set()
        self._template_variables = frozenset(native.template_variables())

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike,
        *,
        chat_template: str | os.PathLike | None = None,
        revision: str | None = None,
        dtype: Dtype = "int32",
        policy: Policy | None = None,
        **options: Any,
    ) -> Masker:
        """Loads `tokenizer.json`, `tokenizer_config.json` and `chat_template.jinja` from a local directory, or from
        the Hugging Face Hub when `name_or_path` is a repository id (needs `pip install 'sftmask[hub]'`).

        `chat_template` replaces the tokenizer's own template: the template text, or a path to a `.jinja` file.
        The masker's policy is `policy` (default `Policy()`) with the other keyword arguments, its options, over it.
        """
        policy = (policy or Policy()).replace(**options)
        directory = str(_resolve_directory(name_or_path, revision))
        source = ("dir", directory, _read_chat_template(chat_template), policy.as_native())
        return cls(_build(source), source, name_or_path=str(name_or_path), dtype=dtype, policy=policy)

    @classmethod
    def from_strings(
        cls,
        tokenizer_json: str,
        tokenizer_config: str | Mapping[str, Any] | None = None,
        *,
        chat_template: str | os.PathLike | None = None,
        dtype: Dtype = "int32",
        policy: Policy | None = None,
        **options: Any,
    ) -> Masker:
        """Builds a masker from the contents of the tokenizer files instead of a directory; `policy` and the other
        keyword arguments as in `from_pretrained`."""
        import json

        policy = (policy or Policy()).replace(**options)
        if isinstance(tokenizer_config, Mapping):
            tokenizer_config = json.dumps(tokenizer_config)
        source = ("strings", tokenizer_json, tokenizer_config, _read_chat_template(chat_template), policy.as_native())
        return cls(_build(source), source, dtype=dtype, policy=policy)

    @property
    def has_generation_tags(self) -> bool:
        """Whether the chat template marks the assistant's output with `{% generation %}` tags."""
        return self._native.has_generation_tags()

    @property
    def special_tokens(self) -> dict[str, int]:
        """The tokenizer's special tokens (`<|im_end|>`, `</s>`, ...) and their ids."""
        return dict(self._native.special_tokens())

    def render(
        self,
        messages: Sequence[Mapping[str, Any]] | Mapping[str, Any],
        *,
        tools: Sequence[Mapping[str, Any]] | str | None = None,
        add_generation_prompt: bool = False,
        **template_kwargs: Any,
    ) -> str:
        """The text the chat template renders, identical to `tokenizer.apply_chat_template(..., tokenize=False)`.

        `messages` is a list of messages or a dataset row in any format `encode_batch` recognises. Extra keyword
        arguments (`enable_thinking=False`, ...) become template variables.
        """
        self._check_template_kwargs(template_kwargs)
        return self._native.render(messages, tools, add_generation_prompt, template_kwargs)

    def render_with_spans(
        self,
        messages: Sequence[Mapping[str, Any]] | Mapping[str, Any],
        *,
        tools: Sequence[Mapping[str, Any]] | str | None = None,
        **template_kwargs: Any,
    ) -> tuple[str, list[tuple[int, int]]]:
        """The rendered text and the `(start, end)` character spans produced inside `{% generation %}` blocks."""
        self._check_template_kwargs(template_kwargs)
        return self._native.render_spans(messages, tools, False, template_kwargs)

    def located_turns(
        self,
        messages: Sequence[Mapping[str, Any]] | Mapping[str, Any],
        *,
        tools: Sequence[Mapping[str, Any]] | str | None = None,
        **options: Any,
    ) -> tuple[str, list[tuple[int, int, int]]]:
        """The rendered text and where each trained message's turn lies in it, located as auto mode locates turns on
        a template without `{% generation %}` tags (`mode="turns"`), whatever the template holds: a list of
        `(message index, start, end)` character offsets, one entry per range (a turn that holds text of later
        messages, such as tool results written into it, has several). Policy options select the messages, as in
        `encode`; the other keyword arguments become template variables.
        """
        policy = split_options(options) or None
        self._check_template_kwargs(options)
        return self._native.located_turns(messages, tools, options, policy)

    def encode(
        self,
        messages: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
        *,
        tools: Sequence[Mapping[str, Any]] | str | None = None,
        prompt: str | Sequence[Mapping[str, Any]] | None = None,
        completion: str | Sequence[Mapping[str, Any]] | None = None,
        dtype: Dtype | None = None,
        **template_kwargs: Any,
    ) -> dict[str, np.ndarray]:
        """Renders, tokenizes and labels one row.

        The row is a list of messages, a dataset row in any format `encode_batch` recognises (`{"messages": [...],
        "tools": [...]}`, ShareGPT, Alpaca, ...), or a prompt-completion row, given as `prompt=` and `completion=` or
        as a mapping with those keys. In a prompt-completion row only
        the completion is trained. Each part is a list of messages or a string: a string beside messages is one
        user (prompt) or assistant (completion) message; two strings are plain text, encoded without the chat
        template as `prompt + completion` (plus the EOS token when `train_end_of_turn`, as TRL does). A missing or
        None prompt is empty: no prompt messages, or `""` beside a string completion.

        Keyword arguments named like a `Policy` option override the masker's policy for this call; the others
        (`enable_thinking=False`, ...) become template variables.

        Returns numpy arrays `input_ids`, `attention_mask` and `labels` (the token id where trained, `-100`
        elsewhere), int32 unless `dtype="int64"`. A row with images (content parts `{"type": "image", "path": ...}`
        under a vision-language model's processor files) also gets `images` (`{"bytes", "path"}` each, in order),
        `image_sizes` (`[height, width]`), `image_grid_thw` (Qwen-VL), `videos`, `video_grid_thw` and
        `num_image_tokens`; its image tokens are never trained. Raises `UntrainableError` when no token is left to
        train. The row is encoded as rendered whatever the masker's `history` (`encode_batch` writes per-turn rows).
        """
        # The call's policy options: the core applies them over the masker's policy and checks them.
        policy = split_options(template_kwargs) or None
        self._check_template_kwargs(template_kwargs)
        if policy and policy.get("history", "as_rendered") != "as_rendered":
            raise _native.InputError(
                f"history={policy['history']!r} writes a row per trained turn: use encode_batch (encode gives the row "
                "as rendered)"
            )
        if completion is None:
            if prompt is not None:
                raise TypeError("prompt= needs completion=")
            if messages is None:
                raise TypeError("encode() needs messages, or prompt= and completion=")
        elif messages is not None:
            raise TypeError("give either messages or prompt= and completion=, not both")
        dtype = self.dtype if dtype is None else dtype
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be 'int32' or 'int64', got {dtype!r}")
        input_ids, labels, vision = self._native.encode(
            messages, tools, False, template_kwargs, _DTYPES[dtype], policy, prompt, completion
        )
        row = {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids), "labels": labels}
        return {**row, **vision} if vision else row

    def encode_batch(
        self,
        data: Any,
        *,
        format: Format | None = None,
        messages_column: str = "messages",
        tools_column: str = "tools",
        prompt_column: str = "prompt",
        completion_column: str = "completion",
        role_map: Mapping[str, str] | None = None,
        keep_nulls: bool = False,
        on_error: OnError = "raise",
        threads: int | None = None,
        **template_kwargs: Any,
    ) -> pa.RecordBatch:
        """Encodes many conversations in parallel (Rust threads, the GIL released), keeping their order.

        `data` is a `pyarrow.Table` or `RecordBatch`, anything exporting the Arrow PyCapsule interface (a polars
        DataFrame, ...), a list of rows (mappings), a Hugging Face `datasets` batch (a dict of columns), or
        `sftmask.sources.JsonLines` (JSON Lines text, parsed in Rust).

        Rows are recognised by their columns (a table's or a batch's at once, a row's by its fields), in this
        order, unless `format=` forces one:

        - `"messages"`: OpenAI / Hugging Face messages (the `messages_column`) and `tools` (`tools_column`);
        - `"conversations"`: ShareGPT (`from`/`value`, roles `human`/`gpt`) or messages under `conversations`,
          with an optional `system` column;
        - `"alpaca"`: `instruction`, `input` (optional) and `output`, with optional `system` and `history`
          (`[[query, response], ...]`); the user message is the instruction, then a newline and the input when
          there is one, as LLaMA-Factory writes it;
        - `"prompt_completion"`: a `completion_column` and an optional `prompt_column`, encoded as
          `encode(prompt=..., completion=...)` encodes them (a string cell is plain text, never parsed as JSON).

        Role names are mapped (`human` -> `user`; `gpt`, `model`, `bot` -> `assistant`; `observation`, and in
        ShareGPT messages `function` and `ipython` -> `tool`); `role_map` adds or overrides entries. A row's
        `chat_template_kwargs` (a mapping) are template variables for that row, over the call's. Messages may be
        lists of structs or JSON text, at any depth in `arrow.json` columns as `datasets` writes them; a null field
        of an Arrow struct is dropped as absent (`keep_nulls=True` keeps it as None).

        Returns a `pyarrow.RecordBatch` with `input_ids` and `labels` (`list<int32>`, `-100` where not trained),
        `num_tokens` and `num_trained_tokens`. The flat token buffers are reachable without copying:
        `batch["labels"].values.to_numpy()` and `batch["labels"].offsets.to_numpy()`. Under `history="per_turn"` or
        `"auto"` a conversation may give several rows, and two more columns say where each came from: `source_row`
        (the index of its input row) and `source_message` (the message index of its one trained turn; null for a
        row trained as rendered).

        `on_error`: `"raise"` fails with the first bad row's error, naming the row; `"skip"` leaves bad rows out;
        `"null"` keeps them with null outputs. `BatchReport.of(batch)` tells which rows failed and why, and the
        formats read; a row left with nothing to train (`UntrainableError`) is such a row. `threads` defaults to
        every core.

        Keyword arguments named like a policy option (`max_length=`, `train_last_turn_only=`, ...) override the
        masker's policy for this call; the others become template variables.
        """
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        # The call's policy options: the core applies them over the masker's policy and checks them.
        policy = split_options(template_kwargs) or None
        self._check_template_kwargs(template_kwargs)
        rows = read_options(
            format=format, role_map=role_map, keep_nulls=keep_nulls, messages_column=messages_column,
            tools_column=tools_column, prompt_column=prompt_column, completion_column=completion_column,
        )
        options = dict(
            on_error=on_error,
            threads=threads,
            template_kwargs=template_kwargs,
            policy=policy,
            rows=rows,
        )
        return _native.encode_batch(self._native, native_rows(data), options)

    def __call__(self, batch: Any, **options: Any) -> pa.Table:
        """`encode_batch` returning a `pyarrow.Table`, the form `datasets.Dataset.map` takes:

        `dataset.with_format("arrow").map(masker, batched=True, remove_columns=dataset.column_names)`
        """
        return pa.Table.from_batches([self.encode_batch(batch, **options)])

    def check(self, data: Any, **options: Any):
        """Looks for masking bugs in what this masker trains on `data`: see `sftmask.check`."""
        from sftmask.doctor import check

        return check(self, data, **options)

    def fingerprint(self) -> str:
        """A hash of what the masker was built from: the tokenizer's files and the chat template (not the policy).
        Two maskers with the same fingerprint encode alike under the same policy."""
        import hashlib

        digest = hashlib.sha256()
        kind, *args = self._source
        if kind == "dir":
            directory, template = Path(args[0]), args[1]
            for name in TOKENIZER_FILES:
                path = directory / name
                digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"") + b"\0")
        else:
            tokenizer_json, tokenizer_config, template = args[0], args[1], args[2]
            digest.update(tokenizer_json.encode() + b"\0" + (tokenizer_config or "").encode() + b"\0")
        digest.update((template or "").encode())
        return digest.hexdigest()

    def _check_template_kwargs(self, template_kwargs: Mapping[str, Any]) -> None:
        """A call's template variables: a typo of a policy option raises, a name the template never reads warns."""
        check_template_kwargs(template_kwargs, self._template_variables, self._ignored_keywords)

    def __reduce__(self):
        return (_restore, (self._source, self.name_or_path, self.dtype, self.policy))

    def decode(self, ids: Sequence[int] | np.ndarray, *, skip_special_tokens: bool = False) -> str:
        """Token ids back to text, with the tokenizer's own decoder."""
        return self._native.decode([int(i) for i in ids], skip_special_tokens)

    def __repr__(self) -> str:
        return f"Masker({self.name_or_path!r})" if self.name_or_path else "Masker()"


def native_rows(data: Any) -> Any:
    """`data` as the native layer reads rows: JSON Lines bytes, an Arrow object, a dict of columns or a list of rows."""
    if isinstance(data, JsonLines):
        return data.text
    if hasattr(data, "__arrow_c_stream__") or hasattr(data, "__arrow_c_array__"):
        return data
    if isinstance(data, Mapping):  # a `datasets` batch: a dict of columns
        return dict(data)
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        return list(data)
    raise TypeError(f"encode_batch cannot read a {type(data).__name__}; pass an Arrow table or a list of rows")


def _build(source: tuple) -> _native.Masker:
    """The native masker for what a masker is built from: `("dir", directory, template, policy)` or
    `("strings", tokenizer_json, tokenizer_config, template, policy)`."""
    kind, *args = source
    return _native.Masker.from_dir(*args) if kind == "dir" else _native.Masker.from_strings(*args)


def _restore(source: tuple, name_or_path: str | None, dtype: Dtype, policy: Policy) -> Masker:
    """Rebuilds a pickled masker from what it was built from."""
    return Masker(_build(source), source, name_or_path=name_or_path, dtype=dtype, policy=policy)
