"""Vision-language rows: what an image costs sftmask (a header read) against what it costs to decode it, and against
transformers' processor, in the same run.

    python benches/bench_vision.py [--rows 200] [--repeat 3] [--family qwen2_5_vl]

The processor is built offline from the family's published configuration (tests/vision_reference.py); the rows are
two-turn conversations of the shared corpus, each with one JPEG photo (640x480 to 4000x3000, a dozen files, each
read by every row that uses it, as a dataset's images are). Timed, each the best of `--repeat`:
  1. sftmask `encode_batch` on the rows with image paths (render, header read, expansion, tokenize, labels);
  2. the same rows with each image given only by its size: what the header reads add;
  3. decoding the rows' images alone with Pillow (`Image.open(path).load()`): the floor of anything that decodes;
  4. transformers `processor.apply_chat_template(messages, tokenize=True)`, one row a call (decodes, resizes and
     normalizes the pixels too, which training needs later anyway: the collator's work).
Machines are noisy: compare the ratios.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import sftmask  # noqa: E402
from vision_reference import build_processor, make_image, reference  # noqa: E402

SIZES = [(640, 480), (1024, 768), (1280, 720), (1920, 1080), (2048, 1536), (4000, 3000), (480, 640), (3000, 4000),
         (800, 800), (1600, 1200), (720, 1280), (333, 777)]


def best(repeat: int, run) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--family", default="qwen2_5_vl")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        processor = build_processor(args.family, tmp / "model")
        masker = sftmask.Masker.from_pretrained(tmp / "model")
        paths = [make_image(tmp / f"{k}.jpg", w, h, "JPEG") for k, (w, h) in enumerate(SIZES)]
        sizes = [Image.open(p).size for p in paths]
        corpus = ROOT.parent / "shared" / "data" / "chat" / "alpaca_en.jsonl"
        rows, sized = [], []
        with open(corpus, encoding="utf-8") as f:
            for k, line in zip(range(args.rows), f):
                user, assistant = json.loads(line)["messages"][:2]
                width, height = sizes[k % len(sizes)]
                for out, image in ((rows, {"type": "image", "path": str(paths[k % len(paths)])}),
                                   (sized, {"type": "image", "width": width, "height": height})):
                    out.append({"messages": [
                        {"role": "user", "content": [image, {"type": "text", "text": user["content"]}]},
                        {"role": "assistant", "content": [{"type": "text", "text": assistant["content"]}]},
                    ]})
        batch = masker.encode_batch(rows)
        tokens = sum(batch["num_tokens"].to_pylist())
        timings = {
            "sftmask encode_batch (paths)": best(args.repeat, lambda: masker.encode_batch(rows)),
            "sftmask encode_batch (sizes only)": best(args.repeat, lambda: masker.encode_batch(sized)),
            "Pillow decode alone": best(args.repeat, lambda: [Image.open(r["messages"][0]["content"][0]["path"]).load()
                                                              for r in rows]),
            "transformers processor": best(1, lambda: [reference(processor, copy.deepcopy(r["messages"]))
                                                       for r in rows]),
        }
    ours = timings["sftmask encode_batch (paths)"]
    print(f"{args.rows} rows, {tokens:,} tokens ({args.family}), best of {args.repeat}\n")
    print("| | rows/s | time / sftmask |\n|---|---|---|")
    for name, seconds in timings.items():
        print(f"| {name} | {args.rows / seconds:,.0f} | {seconds / ours:.2f}x |")


if __name__ == "__main__":
    main()
