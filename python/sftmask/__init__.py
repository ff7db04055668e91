"""sftmask: fast, exact assistant-only loss masking for supervised fine-tuning of chat LLMs."""

from sftmask._native import ConfigError, InputError, SftmaskError, TemplateError, TokenizerError
from sftmask.masker import Masker

IGNORE_INDEX = -100

__all__ = [
    "IGNORE_INDEX",
    "ConfigError",
    "InputError",
    "Masker",
    "SftmaskError",
    "TemplateError",
    "TokenizerError",
]
__version__ = "0.1.0"
