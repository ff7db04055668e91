"""Type stubs of the Rust extension module."""

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict

import numpy as np
import pyarrow as pa

REPORT_KEY: str
PACK_REPORT_KEY: str

class SftmaskError(ValueError): ...
class TemplateError(SftmaskError): ...
class InputError(SftmaskError): ...
class ConfigError(SftmaskError): ...
class TokenizerError(SftmaskError): ...
class UntrainableError(SftmaskError): ...

# Policy options as `sftmask.Policy.as_native()` writes them (any subset; the rest from the masker's policy).
Policy = Mapping[str, Any]

def resolve_policy(options: Policy) -> str: ...

class Masker:
    @staticmethod
    def from_dir(path: str, chat_template: str | None = None, policy: Policy | None = None) -> Masker: ...
    @staticmethod
    def from_strings(
        tokenizer_json: str,
        tokenizer_config: str | None = None,
        chat_template: str | None = None,
        policy: Policy | None = None,
    ) -> Masker: ...
    def template_names(self) -> list[str]: ...
    def template_variables(self) -> list[str]: ...
    def token_ids(self, text: str, full_pipeline: bool = False) -> list[int]: ...
    def has_fast_tokenizer(self) -> bool: ...
    def special_tokens(self) -> list[tuple[str, int]]: ...
    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str: ...
    def has_generation_tags(self, has_tools: bool = False) -> bool: ...
    def render(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | str | None = None,
        add_generation_prompt: bool = False,
        template_kwargs: Mapping[str, Any] | None = None,
    ) -> str: ...
    def render_spans(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | str | None = None,
        add_generation_prompt: bool = False,
        template_kwargs: Mapping[str, Any] | None = None,
    ) -> tuple[str, list[tuple[int, int]]]: ...
    def located_turns(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | str | None = None,
        template_kwargs: Mapping[str, Any] | None = None,
        policy: Policy | None = None,
    ) -> tuple[str, list[tuple[int, int, int]]]: ...
    def encode(
        self,
        messages: Sequence[Mapping[str, Any]] | None,
        tools: Sequence[Mapping[str, Any]] | str | None = None,
        add_generation_prompt: bool = False,
        template_kwargs: Mapping[str, Any] | None = None,
        int64: bool = False,
        policy: Policy | None = None,
        prompt: str | Sequence[Mapping[str, Any]] | None = None,
        completion: str | Sequence[Mapping[str, Any]] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, dict[str, Any] | None]: ...

FORMATS: list[str]  # "messages", "conversations", "alpaca", "prompt_completion", in the order they are tried

class ColumnNames(TypedDict):
    messages: str
    tools: str
    prompt: str
    completion: str

class ReadOptions(TypedDict):
    format: Literal["messages", "conversations", "alpaca", "prompt_completion"] | None
    columns: ColumnNames
    role_map: list[tuple[str, str]]
    keep_nulls: bool

class BatchOptions(TypedDict):
    on_error: Literal["raise", "skip", "null"]
    threads: int | None
    template_kwargs: Mapping[str, Any] | None
    policy: Policy | None
    rows: ReadOptions

# Rows: JSON Lines text (bytes), an Arrow table or record batch, a dict of columns, or a list of row mappings.
def encode_batch(masker: Masker, data: Any, options: BatchOptions) -> pa.RecordBatch: ...
def read_conversations(data: Any, rows: ReadOptions) -> list[tuple[str, str] | None]: ...
def format_columns(columns: ColumnNames) -> list[str]: ...

def pack_tokens(
    input_ids: np.ndarray,
    labels: np.ndarray,
    offsets: np.ndarray,
    max_length: int,
    strategy: Literal["bfd", "wrapped"] = "bfd",
    overflow: Literal["truncate", "split", "drop"] = "truncate",
    seq_rows: bool = False,
) -> pa.RecordBatch: ...
