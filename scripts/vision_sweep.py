"""Vision-language rows against transformers' processors, on images and conversations the tests never use.

For each family of `tests/vision_reference.py` (the processors built offline from their published configurations),
random images (sizes 1 to 4000 pixels a side, PNG / JPEG / WebP / GIF, some JPEGs EXIF-rotated) go into multi-turn
conversations of the shared corpus (`../shared/data/chat`, text turns of vicuna_multiturn and alpaca_zh), one to three
images in random user turns. For every row:

- ids: sftmask's `encode` equals `processor.apply_chat_template(messages, tokenize=True)`, and the grids equal the
  image processor's (`image_grid_thw`);
- labels: no image token is trained, and the trained tokens are those of the same conversation without its images
  (Gemma 3: a token its run's "\\n\\n" shares with the text beside it may leave the trained tokens, never join them).

    python scripts/vision_sweep.py [--rows N] [--families qwen2_5_vl gemma3 ...] [--json out.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import sftmask  # noqa: E402
from vision_reference import FAMILIES, SPECS, build_processor, make_image, reference  # noqa: E402

CORPUS = ROOT.parent / "shared" / "data" / "chat"
FORMATS = ["PNG", "JPEG", "WEBP", "GIF"]


def corpus_chats(limit: int, rng: random.Random) -> list[list[dict]]:
    """User/assistant alternating text conversations of the shared corpus."""
    chats = []
    for name in ("vicuna_multiturn.jsonl", "alpaca_zh.jsonl"):
        with open(CORPUS / name, encoding="utf-8") as f:
            for line in f:
                messages = json.loads(line)["messages"]
                roles = [m["role"] for m in messages]
                alternating = all(role == ("user", "assistant")[k % 2] for k, role in enumerate(roles))
                texts = all(isinstance(m.get("content"), str) for m in messages)
                if messages and alternating and roles[-1] == "assistant" and texts:
                    chats.append([{"role": m["role"], "content": m["content"][:600]} for m in messages[:6]])
    rng.shuffle(chats)
    return chats[:limit]


def with_images(chat: list[dict], images: list[Path], rng: random.Random) -> list[dict]:
    """The chat as content parts, with one to three images in random user turns, before or after their text."""
    users = [k for k, m in enumerate(chat) if m["role"] == "user"]
    chosen = [rng.choice(users) for _ in range(rng.randint(1, 3))]
    messages = []
    for k, message in enumerate(chat):
        parts = [{"type": "text", "text": message["content"]}]
        for _ in range(chosen.count(k)):
            parts.insert(rng.choice([0, len(parts)]), {"type": "image", "path": str(rng.choice(images))})
        messages.append({"role": message["role"], "content": parts})
    return messages


def text_only(messages: list[dict]) -> list[dict]:
    def without(content):
        return [p for p in content if p.get("type") != "image"] or [{"type": "text", "text": ""}]

    return [{**m, "content": without(m["content"])} for m in messages]


def random_images(folder: Path, count: int, rng: random.Random, qwen: bool) -> list[Path]:
    paths = []
    while len(paths) < count:
        width, height = rng.randint(1, 4000), rng.randint(1, 4000)
        if qwen and max(width, height) / min(width, height) > 200:
            continue  # Qwen's processor refuses these (as sftmask does, with the same reason)
        fmt = rng.choice(FORMATS)
        exif = rng.choice([None, 6, 8]) if fmt == "JPEG" else None
        paths.append(make_image(folder / f"{len(paths)}.{fmt.lower()}", width, height, fmt, exif_orientation=exif))
    return paths


def sweep(family: str, rows: int, seed: int, folder: Path) -> dict:
    rng = random.Random(seed)
    processor = build_processor(family, folder / family)
    masker = sftmask.Masker.from_pretrained(folder / family)
    images = random_images(folder / f"{family}-images", 12, rng, family.startswith("qwen"))
    counts = {"rows": 0, "images": 0, "ids_equal": 0, "grids_equal": 0, "labels_ok": 0, "image_tokens": 0}
    started = time.perf_counter()
    for chat in corpus_chats(rows, rng):
        messages = with_images(chat, images, rng)
        expected = reference(processor, messages)
        encoded = masker.encode(copy.deepcopy(messages))
        ids, labels = encoded["input_ids"], encoded["labels"]
        counts["rows"] += 1
        counts["images"] += len(encoded["images"])
        counts["image_tokens"] += encoded["num_image_tokens"]
        counts["ids_equal"] += ids.tolist() == expected["input_ids"]
        grids = [list(map(int, g)) for g in encoded["image_grid_thw"]] or None
        counts["grids_equal"] += grids == expected["image_grid_thw"]
        image_ids = [i for i in processor.image_token_ids if i is not None]
        if family == "gemma3":
            image_ids.append(processor.tokenizer.image_token_id)
        plain = masker.encode(text_only(messages))
        trained, plain_trained = labels[labels != -100].tolist(), plain["labels"][plain["labels"] != -100].tolist()
        untrained_images = bool((labels[np.isin(ids, image_ids)] == -100).all())
        same_text = trained == plain_trained or (family == "gemma3" and len(trained) <= len(plain_trained))
        counts["labels_ok"] += untrained_images and same_text
    counts["seconds"] = round(time.perf_counter() - started, 1)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100, help="conversations per family")
    parser.add_argument("--families", nargs="*", default=list(FAMILIES))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", help="write the counts here")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for family in args.families:
            results[family] = counts = sweep(family, args.rows, args.seed, Path(tmp))
            print(f"{family:12} ({SPECS[family].processor}): {counts}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    failed = [f for f, c in results.items() if not (c["rows"] == c["ids_equal"] == c["grids_equal"] == c["labels_ok"])]
    sys.exit(f"differences in: {', '.join(failed)}" if failed else 0)


if __name__ == "__main__":
    main()
