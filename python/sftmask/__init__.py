"""sftmask: fast, exact assistant-only loss masking for supervised fine-tuning of chat LLMs."""

from pathlib import Path

from sftmask._native import ConfigError, InputError, SftmaskError, TemplateError, TokenizerError, UntrainableError
from sftmask.constants import IGNORE_INDEX
from sftmask.doctor import CheckReport, Finding, check
from sftmask.masker import Masker
from sftmask.packing import PackReport, pack
from sftmask.policy import IgnoredKeywordWarning, Policy
from sftmask.report import BatchReport, RowError
from sftmask.trainers import for_trainer

#: A small ChatML tokenizer and sample conversations shipped with the package (made by scripts/make_demo.py).
DEMO_DIR = Path(__file__).resolve().parent / "demo"

__all__ = [
    "BatchReport",
    "CheckReport",
    "DEMO_DIR",
    "IGNORE_INDEX",
    "ConfigError",
    "IgnoredKeywordWarning",
    "Finding",
    "InputError",
    "Masker",
    "PackReport",
    "Policy",
    "RowError",
    "SftmaskError",
    "TemplateError",
    "TokenizerError",
    "UntrainableError",
    "check",
    "for_trainer",
    "pack",
]
__version__ = "0.1.0"
