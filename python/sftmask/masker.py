"""The public `Masker`: loads a tokenizer and its chat template, renders and encodes conversations."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sftmask import _native
from sftmask._native import ConfigError

# Files a tokenizer directory needs; the hub download fetches only these.
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json"]

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


def _split_conversation(messages: Any, tools: Any) -> tuple[Any, Any]:
    """Accepts a list of messages, or a dataset row `{"messages": [...], "tools": [...]}`."""
    if isinstance(messages, Mapping) and "messages" in messages:
        if tools is None:
            tools = messages.get("tools")
        messages = messages["messages"]
    return messages, tools


class Masker:
    """Renders conversations with a model's chat template and labels the tokens the assistant produced.

    Labels follow transformers' `apply_chat_template(return_assistant_tokens_mask=True)`: a token is trained
    (keeps its id) when it overlaps text produced inside a `{% generation %}` block; every other token is `-100`.
    """

    def __init__(self, native: _native.Masker, *, name_or_path: str | None = None, dtype: str = "int32") -> None:
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be 'int32' or 'int64', got {dtype!r}")
        self._native = native
        self.name_or_path = name_or_path
        self.dtype = dtype

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike,
        *,
        chat_template: str | os.PathLike | None = None,
        revision: str | None = None,
        dtype: str = "int32",
    ) -> Masker:
        """Loads `tokenizer.json`, `tokenizer_config.json` and `chat_template.jinja` from a local directory, or from
        the Hugging Face Hub when `name_or_path` is a repository id (needs `pip install 'sftmask[hub]'`).

        `chat_template` replaces the tokenizer's own template: the template text, or a path to a `.jinja` file.
        """
        directory = _resolve_directory(name_or_path, revision)
        native = _native.Masker.from_dir(str(directory), _read_chat_template(chat_template))
        return cls(native, name_or_path=str(name_or_path), dtype=dtype)

    @classmethod
    def from_strings(
        cls,
        tokenizer_json: str,
        tokenizer_config: str | Mapping[str, Any] | None = None,
        *,
        chat_template: str | os.PathLike | None = None,
        dtype: str = "int32",
    ) -> Masker:
        """Builds a masker from the contents of the tokenizer files instead of a directory."""
        import json

        if isinstance(tokenizer_config, Mapping):
            tokenizer_config = json.dumps(tokenizer_config)
        native = _native.Masker.from_strings(tokenizer_json, tokenizer_config, _read_chat_template(chat_template))
        return cls(native, dtype=dtype)

    @property
    def has_generation_tags(self) -> bool:
        """Whether the chat template marks the assistant's output with `{% generation %}` tags."""
        return self._native.has_generation_tags()

    def render(
        self,
        messages: Sequence[Mapping[str, Any]] | Mapping[str, Any],
        *,
        tools: Sequence[Mapping[str, Any]] | str | None = None,
        add_generation_prompt: bool = False,
        **template_kwargs: Any,
    ) -> str:
        """The text the chat template renders, identical to `tokenizer.apply_chat_template(..., tokenize=False)`.

        Extra keyword arguments (`enable_thinking=False`, ...) become template variables.
        """
        messages, tools = _split_conversation(messages, tools)
        return self._native.render(messages, tools, add_generation_prompt, template_kwargs)

    def encode(
        self,
        messages: Sequence[Mapping[str, Any]] | Mapping[str, Any],
        *,
        tools: Sequence[Mapping[str, Any]] | str | None = None,
        dtype: str | None = None,
        **template_kwargs: Any,
    ) -> dict[str, np.ndarray]:
        """Renders, tokenizes and labels one conversation.

        Returns numpy arrays `input_ids`, `attention_mask` and `labels` (the token id where trained, `-100`
        elsewhere), int32 unless `dtype="int64"`.
        """
        messages, tools = _split_conversation(messages, tools)
        dtype = self.dtype if dtype is None else dtype
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be 'int32' or 'int64', got {dtype!r}")
        input_ids, labels = self._native.encode(messages, tools, False, template_kwargs, _DTYPES[dtype])
        return {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids), "labels": labels}

    def decode(self, ids: Sequence[int] | np.ndarray, *, skip_special_tokens: bool = False) -> str:
        """Token ids back to text, with the tokenizer's own decoder."""
        return self._native.decode([int(i) for i in ids], skip_special_tokens)

    def __repr__(self) -> str:
        return f"Masker({self.name_or_path!r})" if self.name_or_path else "Masker()"
