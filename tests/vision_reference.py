"""Transformers' own vision-language processors, built offline, as the reference for sftmask's image-token expansion.

Differential tests need what `processor.apply_chat_template(..., tokenize=True)` writes for a conversation with
images: the ids with every image placeholder expanded into the run of tokens the model's processor writes for it.
The real checkpoints cannot be downloaded here (no network, no torch), so each family's processor is assembled from
parts that are on disk:

- the tokenizer: a real one from ../shared/tokenizers (qwen3 for the Qwen families, llama3_1 for the others) with the
  family's image tokens added where it lacks them, so that each placeholder is one token as in the real vocabulary;
- the image processor: the family's class with the published configuration of its canonical checkpoint, read from
  tests/fixtures/vision/<family>/preprocessor_config.json (without torchvision, transformers resolves each class to
  its `...ImageProcessorPil` twin, whose size arithmetic is a copy of the torchvision class's);
- the processor's own settings (image_seq_len, patch_size, ...) from
  tests/fixtures/vision/<family>/processor_config.json;
- the chat template: the family's template from TRL's collection.

`build_processor` saves the result into a directory laid out like a model repo snapshot, for the code under test to
read, and returns the processor for `reference` to run.

The module imports transformers and pillow, so that `pytest.importorskip("vision_reference")` skips without them.
"""

from __future__ import annotations

import copy
import importlib.util
import itertools
import json
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import transformers
from PIL import Image
from transformers import AutoImageProcessor, AutoTokenizer
from transformers.video_processing_utils import VideoProcessorMixin

ROOT = Path(__file__).resolve().parent.parent
# As in conftest: ../shared beside the checkout, or $SFTMASK_SHARED.
SHARED_TOKENIZERS = Path(os.environ.get("SFTMASK_SHARED", ROOT.parent / "shared")) / "tokenizers"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "vision"

# The processor files of a snapshot that come from the fixtures, not from the tokenizer.
CONFIG_FILES = ("preprocessor_config.json", "processor_config.json", "video_preprocessor_config.json")

# Idefics3 and SmolVLM split a large image into at most 6 x 6 tiles, each introduced by its own <row_r_col_c> token.
_IDEFICS_TOKENS = (
    "<fake_token_around_image>",
    "<image>",
    "<global-img>",
    "<end_of_utterance>",
    *(f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)),
)


@dataclass(frozen=True)
class Family:
    """How one family's processor is put together."""

    checkpoint: str  # the hub repo whose published configuration the fixtures hold
    processor: str  # the transformers processor class
    tokenizer: str  # the directory of ../shared/tokenizers the tokenizer comes from
    template: str  # the TRL chat template (chat_templates/<template>.jinja)
    # Tokens added to the shared tokenizer where it lacks them: named ones become tokenizer attributes (Gemma3Processor
    # reads tokenizer.boi_token, .eoi_token, .image_token and their ids), the others are only special tokens.
    named_tokens: dict[str, str] | None = None
    special_tokens: tuple[str, ...] = ()
    video_processor: str | None = None  # the class name of the video processor the processor takes, if it takes one
    assistant_images: bool = False  # whether the template renders an image placed in an assistant turn


SPECS: dict[str, Family] = {
    "qwen2_vl": Family(
        checkpoint="Qwen/Qwen2-VL-7B-Instruct",
        processor="Qwen2VLProcessor",
        tokenizer="qwen3",
        template="qwen2_5_vl",
        video_processor="Qwen2VLVideoProcessor",
        assistant_images=True,
    ),
    "qwen2_5_vl": Family(
        checkpoint="Qwen/Qwen2.5-VL-7B-Instruct",
        processor="Qwen2_5_VLProcessor",
        tokenizer="qwen3",
        template="qwen2_5_vl",
        video_processor="Qwen2VLVideoProcessor",
        assistant_images=True,
    ),
    "qwen3_vl": Family(
        checkpoint="Qwen/Qwen3-VL-8B-Instruct",
        processor="Qwen3VLProcessor",
        tokenizer="qwen3",
        template="qwen3_vl",  # renders only the text of an assistant turn
        video_processor="Qwen3VLVideoProcessor",
    ),
    "gemma3": Family(
        checkpoint="google/gemma-3-4b-it",
        processor="Gemma3Processor",
        tokenizer="llama3_1",
        template="gemma3",
        named_tokens={
            "boi_token": "<start_of_image>",
            "eoi_token": "<end_of_image>",
            "image_token": "<image_soft_token>",
        },
        # Gemma's turn markers are single special tokens in its own vocabulary; they are not image tokens, but without
        # them every turn header is split into pieces of text.
        special_tokens=("<start_of_turn>", "<end_of_turn>"),
        assistant_images=True,
    ),
    "smolvlm": Family(
        # The fixture holds the 256M / 500M checkpoints' sizes (512-pixel crops of a 2048-pixel longest edge, 64 tokens
        # each); SmolVLM2-2.2B's are 384 / 1536 / 81, the same code with other numbers.
        checkpoint="HuggingFaceTB/SmolVLM2-500M-Video-Instruct",
        processor="SmolVLMProcessor",
        tokenizer="llama3_1",
        template="smolvlm",
        # SmolVLM's own tokenizer (SmolLM2's) has <|im_start|>, which the template writes first, as a special token.
        special_tokens=("<|im_start|>", *_IDEFICS_TOKENS),
        video_processor="SmolVLMVideoProcessor",
        assistant_images=True,
    ),
    "idefics3": Family(
        checkpoint="HuggingFaceM4/Idefics3-8B-Llama3",
        processor="Idefics3Processor",
        tokenizer="llama3_1",
        template="idefics3",
        special_tokens=_IDEFICS_TOKENS,
        assistant_images=True,
    ),
    # TRL has no LLaVA-1.5 template: both LLaVA families take the LLaVA-NeXT one, which renders the images of a user
    # turn before its text, and only the first text part of an assistant turn.
    "llava": Family(
        checkpoint="llava-hf/llava-1.5-7b-hf",
        processor="LlavaProcessor",
        tokenizer="llama3_1",
        template="llava_next",
        special_tokens=("<image>",),
    ),
    "llava_next": Family(
        checkpoint="llava-hf/llava-v1.6-mistral-7b-hf",
        processor="LlavaNextProcessor",
        tokenizer="llama3_1",
        template="llava_next",
        special_tokens=("<image>",),
    ),
}

FAMILIES: tuple[str, ...] = tuple(SPECS)


def trl_template(name: str) -> str:
    """A chat template of TRL's collection, read from the installed package without importing it (importing TRL
    needs torch)."""
    spec = importlib.util.find_spec("trl")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("TRL is not installed: its chat templates are the reference templates")
    return (Path(spec.origin).parent / "chat_templates" / f"{name}.jinja").read_text(encoding="utf-8")


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _video_processor_stub(name: str, settings: dict):
    """A stand-in for the family's video processor, which cannot be built here: every video processor of
    transformers 5 is a torchvision one. Qwen2-VL, Qwen3-VL and SmolVLM's processors take one anyway, read a few
    settings from it (SmolVLM's `apply_chat_template` reads `num_frames` and `fps`), and save it into
    processor_config.json. The stub carries the published video settings under the real class's name and refuses to
    process a video."""

    def refuse(self, *args, **kwargs):
        raise NotImplementedError(f"{name} needs torchvision; this reference processes images only")

    defaults = {"merge_size": 2, "temporal_patch_size": 2, "num_frames": None, "fps": None}
    cls = type(name, (VideoProcessorMixin,), {**defaults, "preprocess": refuse, "__call__": refuse})
    return cls(**{k: v for k, v in settings.items() if k not in ("processor_class", "video_processor_type")})


def _images_only(processor_cls):
    """The processor class, unchanged but for one check: `ProcessorMixin.__init__` checks that the video processor
    is a `VideoProcessorMixin` by looking the class up in transformers' namespace, where it is missing without
    torchvision (the lookup then fails on a dummy mapping, whatever is passed, `None` included). The subclass keeps
    the real class's name, which `save_pretrained` writes as `processor_class`."""

    def check_argument_for_proper_class(self, argument_name, argument):
        if argument_name == "video_processor":
            return type(argument)
        return processor_cls.check_argument_for_proper_class(self, argument_name, argument)

    overrides = {"check_argument_for_proper_class": check_argument_for_proper_class}
    return type(processor_cls.__name__, (processor_cls,), overrides)


def build_processor(
    family: str, directory: Path, *, fixtures: Path | None = None, layout: str = "hub", tokenizer: str | None = None
):
    """The transformers processor of `family`, saved into `directory` (created or replaced) as a snapshot.

    `fixtures` is the folder with the family's published preprocessor_config.json and processor_config.json
    (default: tests/fixtures/vision/<family>). `layout` picks the processor files the snapshot gets:

    - "hub" (default): as the checkpoints ship them: the fixtures' preprocessor_config.json, processor_config.json and
      video_preprocessor_config.json (when there is one), copied verbatim;
    - "transformers": only what `processor.save_pretrained` writes in transformers 5: one processor_config.json with
      the processor's settings at the top and the image (and video) processor's settings nested under
      "image_processor" ("video_processor"), all resolved; no preprocessor_config.json.

    Either way the tokenizer files (tokenizer.json, tokenizer_config.json) and chat_template.jinja are those
    `save_pretrained` writes. `tokenizer` names another directory of ../shared/tokenizers to start from (llama2, say:
    a SentencePiece-style vocabulary, closer to LLaVA's own).
    """
    if family not in SPECS:
        raise ValueError(f"unknown family {family!r}; one of {FAMILIES}")
    if layout not in ("hub", "transformers"):
        raise ValueError(f"layout is 'hub' or 'transformers', not {layout!r}")
    spec = SPECS[family]
    fixtures = Path(fixtures) if fixtures is not None else FIXTURES / family
    for name in CONFIG_FILES[:2]:
        if not (fixtures / name).exists():
            raise FileNotFoundError(f"{fixtures / name} is missing: the published configuration of {spec.checkpoint}")

    # Named tokens passed as a dict of `extra_special_tokens` become tokenizer.<name> and <name>_id (transformers 5's
    # "model-specific special tokens", saved at the top of tokenizer_config.json); the others are appended to the
    # extra special tokens. Tokens the vocabulary lacks get the next ids, in the order given.
    tokenizer = AutoTokenizer.from_pretrained(
        SHARED_TOKENIZERS / (tokenizer or spec.tokenizer), extra_special_tokens=spec.named_tokens
    )
    if spec.special_tokens:
        tokenizer.add_special_tokens(
            {"extra_special_tokens": list(spec.special_tokens)}, replace_extra_special_tokens=False
        )
    template = trl_template(spec.template)
    # The tokenizer saves its own template (Qwen3's, Llama 3.1's) before the processor writes its own over it; the
    # same template in both keeps the snapshot consistent.
    tokenizer.chat_template = template

    # The class the config names, as transformers picks it (the Pil backend without torchvision).
    image_processor = AutoImageProcessor.from_pretrained(fixtures / "preprocessor_config.json")

    settings = {k: v for k, v in _read_json(fixtures / "processor_config.json").items() if k != "processor_class"}
    processor_cls = getattr(transformers, spec.processor)
    parts = {"image_processor": image_processor, "tokenizer": tokenizer}
    if spec.video_processor is not None:
        processor_cls = _images_only(processor_cls)
        video_settings = _read_json(fixtures / "video_preprocessor_config.json")
        parts["video_processor"] = _video_processor_stub(spec.video_processor, video_settings)
    processor = processor_cls(**parts, chat_template=template, **settings)

    directory = Path(directory)
    if directory.exists():
        shutil.rmtree(directory)
    processor.save_pretrained(str(directory))
    if layout == "hub":
        for name in CONFIG_FILES:
            if (fixtures / name).exists():
                shutil.copyfile(fixtures / name, directory / name)
    return processor


def make_image(
    path: Path, width: int, height: int, fmt: str = "PNG", exif_orientation: int | None = None
) -> Path:
    """An image of `width` x `height` stored pixels with deterministic, varied content (gradients and an XOR
    pattern, so that resampling and tiling see structure), written with pillow in `fmt`.

    `exif_orientation` (1-8) tags the file with that EXIF Orientation: the stored pixels stay `width` x `height`, and
    a reader that applies the tag (as transformers' `load_image` does, with `ImageOps.exif_transpose`) sees
    `height` x `width` for 5-8."""
    x = np.arange(width, dtype=np.uint32)[None, :]
    y = np.arange(height, dtype=np.uint32)[:, None]
    pixels = np.stack(
        np.broadcast_arrays(x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x ^ y) & 255), axis=-1
    ).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    options: dict = {}
    if fmt.upper() in ("JPEG", "JPG"):
        options.update(quality=95, subsampling=0)
    elif fmt.upper() == "GIF":
        image = image.convert("P")
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        options["exif"] = exif
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format=fmt, **options)
    return path


def _image_parts(messages: list[dict]) -> int:
    return sum(
        1
        for message in messages
        if isinstance(message.get("content"), list)
        for part in message["content"]
        if isinstance(part, dict) and part.get("type") in ("image", "image_url")
    )


def reference(processor, messages: list[dict], **template_kwargs) -> dict:
    """What the processor makes of one conversation: `apply_chat_template(messages, tokenize=True,
    return_dict=True)` with numpy arrays, reduced to plain values.

    Returns {"input_ids": list[int], "image_grid_thw": list[list[int]] | None (the Qwen families),
    "pixel_values_shape": tuple (() without images), "num_images": the image parts of the conversation ("image", and
    OpenAI-style "image_url")}. `template_kwargs` go to `apply_chat_template` (add_generation_prompt=True, ...). The
    messages are not changed."""
    out = processor.apply_chat_template(
        copy.deepcopy(messages), tokenize=True, return_dict=True, return_tensors="np", **template_kwargs
    )
    ids = np.asarray(out["input_ids"])
    grid = out.get("image_grid_thw")
    pixels = out.get("pixel_values")
    return {
        "input_ids": ids.reshape(-1).tolist(),
        "image_grid_thw": np.asarray(grid).tolist() if grid is not None else None,
        "pixel_values_shape": tuple(np.asarray(pixels).shape) if pixels is not None else (),
        "num_images": _image_parts(messages),
    }


def image_token_count(processor, image, key: str = "path") -> dict:
    """How one image expands, from a user turn holding only that image (`image` under `key` of the image part):

    - "image_tokens": how many ids are the image token: the tokenizer's named `image_token` where it has one (Gemma 3's
      <image_soft_token>: its processor's `image_token_id` is the <start_of_image> placeholder), else the processor's
      `image_token_id`;
    - "placeholder_tokens": the net count of ids that replace the one placeholder token the template writes: the
      image tokens plus their wrapping (Idefics3's tile, row and global-image tokens and newlines; Gemma's
      "\\n\\n<start_of_image>...<end_of_image>\\n\\n", whose newlines BPE may merge with the text around them).
      The template's own tokens around the placeholder (Qwen's <|vision_start|>, <|vision_end|>) are not counted.

    The prompt without expansion is tokenized as the processor tokenizes it: special tokens added unless the text
    starts with the BOS token."""
    # transformers takes a path as a str only (a pathlib.Path is refused as "not a single or a list of entries").
    value = str(image) if isinstance(image, Path) else image
    messages = [{"role": "user", "content": [{"type": "image", key: value}]}]
    ids = reference(processor, messages)["input_ids"]
    prompt = processor.apply_chat_template(copy.deepcopy(messages), tokenize=False)
    bos = processor.tokenizer.bos_token
    plain = processor.tokenizer(prompt, add_special_tokens=not (bos and prompt.startswith(bos)))["input_ids"]
    named = getattr(processor.tokenizer, "image_token_id", None)
    token_id = named if named is not None else processor.image_token_id
    return {"image_tokens": ids.count(token_id), "placeholder_tokens": len(ids) - len(plain) + 1}


# Text for the conversations: plain prose, some with characters tokenizers treat specially next to an image
# placeholder (leading spaces and newlines, digits, non-ASCII).
_QUESTIONS = [
    "What is in this picture?",
    "Describe the colours you see.",
    " Compare the two images, please.",
    "\nCount the stripes.",
    "Is there any text? Answer in one word.",
    "Ce tableau représente quoi ? 🙂",
    "Which one is wider: 640 or 480 pixels?",
]
_ANSWERS = [
    "A gradient from dark to light, with a checkered pattern.",
    "Mostly red and green, blending into blue.",
    "The first one is wider; the second is taller.",
    "There are 12 stripes.",
    "No.",
    "Un dégradé de couleurs.",
    "640 pixels.",
]
_SYSTEMS = ["You are a careful visual assistant.", "Answer briefly.\nUse plain English."]


def conversations(image_paths: list[Path], seed: int, family: str | None = None) -> list[list[dict]]:
    """Varied conversations over `image_paths` (each image part is {"type": "image", "path": str(path)}; the paths
    are taken in turn, round and round, from one the seed picks; the seed also picks the texts), shaped as
    transformers' processors take them.

    Every conversation is valid for every family's template: roles alternate user/assistant after an optional
    system message (Gemma 3 raises otherwise), every content is a non-empty list of parts (SmolVLM's and Idefics3's
    templates read content[0]), every assistant turn starts with a text part (the LLaVA-NeXT template renders only
    that), and images sit in user turns only. With `family` given, and when that family's template renders an image
    in an assistant turn, one more conversation has one there (a template that drops it would leave the processor
    with more images than placeholders).

    The cases: one image then text; text then image; several images in one turn, adjacent and apart; images in
    several turns of a multi-turn chat with a system message; an image-only user turn; a system message and a final
    user turn (for add_generation_prompt); and a text-only conversation."""
    if not image_paths:
        raise ValueError("conversations need at least one image")
    rng = random.Random(seed)
    turn = itertools.count(rng.randrange(len(image_paths)))  # the seed also picks the first image

    def image() -> dict:
        return {"type": "image", "path": str(image_paths[next(turn) % len(image_paths)])}

    def text(options: list[str]) -> dict:
        return {"type": "text", "text": rng.choice(options)}

    def user(*parts: dict) -> dict:
        return {"role": "user", "content": list(parts)}

    def assistant(*parts: dict) -> dict:
        return {"role": "assistant", "content": list(parts) or [text(_ANSWERS)]}

    def system() -> dict:
        return {"role": "system", "content": [text(_SYSTEMS)]}

    q, a = _QUESTIONS, _ANSWERS
    cases = [
        [user(image(), text(q)), assistant()],
        [user(text(q), image()), assistant()],
        [system(), user(image(), image(), text(q)), assistant()],
        [user(text(q), image(), text(q), image()), assistant(), user(text(q)), assistant()],
        [
            system(),
            *(user(image(), text(q)), assistant()),
            *(user(text(q), image()), assistant()),
            *(user(image()), assistant()),
        ],
        [user(image()), assistant(text(a), text(a))],
        [system(), user(text(q)), assistant(), user(image(), text(q))],
        [user(text(q)), assistant()],
    ]
    if family is not None and SPECS[family].assistant_images:
        cases.append([user(image(), text(q)), assistant(text(a), image()), user(text(q)), assistant()])
    return cases
