"""Vision-language rows: every image placeholder expanded into exactly the token run the model's processor writes,
differentially against transformers' processors built offline (tests/vision_reference.py), and never trained."""

from __future__ import annotations

import copy
import difflib
import importlib.util
import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import sftmask

reference_module = pytest.importorskip("vision_reference", reason="needs transformers and pillow")
pytest.importorskip("PIL")
pytest.importorskip("transformers")
if not reference_module.SHARED_TOKENIZERS.exists():
    pytest.skip("../shared/tokenizers is absent", allow_module_level=True)
if importlib.util.find_spec("trl") is None:
    # The families' chat templates are TRL's (read from the package, not imported): the integrations extra.
    pytest.skip("TRL is not installed: its chat templates are the reference templates", allow_module_level=True)

from vision_reference import FAMILIES, build_processor, conversations, make_image, reference  # noqa: E402

# Sizes (width, height) of many aspect ratios: tiny, extreme, rounding edges of 28-pixel Qwen patches, exact tile
# multiples, large photos; drawn anew per family from a fixed seed.
SIZES = [(1, 1), (17, 900), (900, 17), (333, 777), (1024, 768), (4000, 3000), (640, 480), (42, 70), (364, 364),
         (1456, 728), (336, 1008), (500, 501), (2048, 100), (28 * 19, 28 * 23 + 14)]
FORMATS = ["PNG", "JPEG", "WEBP", "GIF"]


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("images")
    rng = random.Random(22)
    paths = []
    for k, (width, height) in enumerate(SIZES):
        fmt = FORMATS[k % len(FORMATS)]
        paths.append(make_image(folder / f"{k}.{fmt.lower()}", width, height, fmt))
    # Random sizes the formulas were not written against, and EXIF-rotated JPEGs (the processor sees them turned).
    for k in range(6):
        width, height = rng.randint(1, 3000), rng.randint(1, 3000)
        paths.append(make_image(folder / f"r{k}.jpg", width, height, "JPEG", exif_orientation=rng.choice([1, 6, 8, 3])))
    return paths


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory):
    """Each family's processor, built and saved once: {family: (processor, directory)}."""
    made = {}

    def get(family: str, layout: str = "hub"):
        if (family, layout) not in made:
            directory = tmp_path_factory.mktemp(f"{family}-{layout}")
            made[family, layout] = (build_processor(family, directory, layout=layout), directory)
        return made[family, layout]

    return get


def usable(family: str, paths: list[Path]) -> list[Path]:
    """The images the family's processor takes (Qwen refuses aspect ratios over 200)."""
    if not family.startswith("qwen"):
        return paths
    from PIL import Image, ImageOps

    def ratio(path):
        width, height = ImageOps.exif_transpose(Image.open(path)).size
        return max(width, height) / min(width, height)

    return [path for path in paths if ratio(path) <= 200]


def grids(encoded: dict) -> list[list[int]] | None:
    grid = encoded.get("image_grid_thw")
    return [list(map(int, g)) for g in grid] if grid is not None and len(grid) else None


@pytest.mark.parametrize("layout", ["hub", "transformers"])
@pytest.mark.parametrize("family", FAMILIES)
def test_ids_and_grids_equal_the_processors(family, layout, images, snapshots):
    processor, directory = snapshots(family, layout)
    masker = sftmask.Masker.from_pretrained(directory)
    rows = conversations(usable(family, images), seed=hash(family) % 1000, family=family)
    compared = 0
    for messages in rows:
        expected = reference(processor, messages)
        encoded = masker.encode(copy.deepcopy(messages))
        assert encoded["input_ids"].tolist() == expected["input_ids"], messages
        if expected["num_images"]:
            assert len(encoded["images"]) == expected["num_images"]
            assert (grids(encoded) or None) == expected["image_grid_thw"]
            compared += 1
    assert compared >= 5


@pytest.mark.parametrize("family", FAMILIES)
def test_no_image_token_is_trained_and_text_labels_are_the_text_only_ones(family, images, snapshots):
    processor, directory = snapshots(family)
    masker = sftmask.Masker.from_pretrained(directory)
    image_ids = {i for i in processor.image_token_ids if i is not None}
    if family == "gemma3":
        image_ids.add(processor.tokenizer.image_token_id)
    for messages in conversations(usable(family, images), seed=7, family=family):
        encoded = masker.encode(copy.deepcopy(messages))
        ids, labels = encoded["input_ids"], encoded["labels"]
        is_image = np.isin(ids, list(image_ids))
        assert (labels[is_image] == -100).all()
        if not encoded.get("images"):
            continue
        assert encoded["num_image_tokens"] >= is_image.sum() > 0
        # Without its image parts, the conversation's labels are those of the text tokens around the image runs.
        def without_images(content):
            # SmolVLM's and Idefics3's templates read content[0]: an image-only turn keeps an empty text part.
            return [p for p in content if p.get("type") != "image"] or [{"type": "text", "text": ""}]

        text_only = [{**m, "content": without_images(m["content"])} if isinstance(m["content"], list) else m
                     for m in messages]
        plain = masker.encode(text_only)
        # The image runs are insertions into the text-only ids, never trained; every other token and label stays.
        matcher = difflib.SequenceMatcher(None, plain["input_ids"].tolist(), ids.tolist(), autojunk=False)
        for op, a0, a1, b0, b1 in matcher.get_opcodes():
            if op == "replace":
                # Text the template writes differently beside an image (LLaVA's "<image>\n", SmolVLM's spacing) is
                # untrained on both sides. Gemma 3's run starts and ends with "\n\n", which this test's tokenizer
                # (Llama 3's) may merge with a symbol beside it: such a shared token belongs to the run, never trained.
                assert (labels[b0:b1] == -100).all(), op
                assert family == "gemma3" or (plain["labels"][a0:a1] == -100).all(), op
                continue
            assert op in ("equal", "insert"), (op, plain["input_ids"][a0:a1], ids[b0:b1])
            if op == "equal":
                assert labels[b0:b1].tolist() == plain["labels"][a0:a1].tolist()
            else:
                assert (labels[b0:b1] == -100).all()


def qwen_row(image) -> list[dict]:
    return [
        {"role": "user", "content": [image, {"type": "text", "text": "What is it?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "A gradient."}]},
    ]


def test_images_by_path_bytes_datasets_struct_or_size_give_the_same_ids(images, snapshots):
    _, directory = snapshots("qwen2_5_vl")
    masker = sftmask.Masker.from_pretrained(directory)
    path = images[4]
    from PIL import Image

    width, height = Image.open(path).size
    forms = [
        {"type": "image", "path": str(path)},
        {"type": "image", "url": f"file://{path}"},
        {"type": "image", "image": str(path)},
        {"type": "image", "image": path.read_bytes()},
        {"type": "image", "image": {"bytes": path.read_bytes(), "path": None}},
        {"type": "image", "width": width, "height": height},
    ]
    encoded = [masker.encode(qwen_row(form)) for form in forms]
    for other in encoded[1:]:
        assert other["input_ids"].tolist() == encoded[0]["input_ids"].tolist()
        assert grids(other) == grids(encoded[0])
    assert encoded[0]["images"] == [{"bytes": None, "path": str(path)}]
    assert encoded[3]["images"] == [{"bytes": path.read_bytes(), "path": None}]
    assert encoded[5]["images"] == [{"bytes": None, "path": None}]
    assert encoded[0]["image_sizes"] == [[height, width]]


def test_bad_images_name_the_message_and_part(tmp_path, images, snapshots):
    _, directory = snapshots("qwen2_5_vl")
    masker = sftmask.Masker.from_pretrained(directory)
    missing = {"type": "image", "path": str(tmp_path / "nope.png")}
    with pytest.raises(sftmask.InputError, match=r"message 0, part 0: .*nope.png: no such file"):
        masker.encode(qwen_row(missing))
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(images[0].read_bytes()[:20])
    with pytest.raises(sftmask.InputError, match=r"message 0, part 0: .*cut.png"):
        masker.encode(qwen_row({"type": "image", "path": str(truncated)}))
    from PIL import Image

    with pytest.raises(sftmask.InputError, match=r"<PngImageFile> is a Python object.*decode=False"):
        masker.encode(qwen_row({"type": "image", "image": Image.open(images[0])}))
    with pytest.raises(sftmask.InputError, match="not a local file"):
        masker.encode(qwen_row({"type": "image", "url": "https://example.com/cat.png"}))
    batch = masker.encode_batch([{"messages": qwen_row(missing)}, {"messages": qwen_row({"type": "image", "path": str(images[0])})}],
                                on_error="skip")
    report = sftmask.BatchReport.of(batch)
    assert [e.row for e in report.errors] == [0] and "no such file" in report.errors[0].message


def test_video_on_an_image_only_family_and_an_unsupported_family(tmp_path, images, snapshots):
    _, directory = snapshots("gemma3")
    masker = sftmask.Masker.from_pretrained(directory)
    video = {"type": "video", "frames": [str(images[6])] * 4}
    row = [{"role": "user", "content": [video, {"type": "text", "text": "Hi"}]},
           {"role": "assistant", "content": [{"type": "text", "text": "Hello"}]}]
    with pytest.raises(sftmask.InputError, match="takes no videos"):
        masker.encode(row)
    for family in ("qwen3_vl", "smolvlm"):  # transformers takes their videos; sftmask does not expand them yet
        _, directory = snapshots(family)
        with pytest.raises(sftmask.TemplateError, match="not expanded yet"):
            sftmask.Masker.from_pretrained(directory).encode(row)
    # A processor sftmask does not expand: its rows with images fail naming it; its text rows still encode.
    _, qwen = snapshots("qwen2_5_vl")
    other = tmp_path / "pixtral"
    other.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        (other / name).write_bytes((qwen / name).read_bytes())
    (other / "preprocessor_config.json").write_text(json.dumps({"image_processor_type": "PixtralImageProcessor",
                                                                 "processor_class": "PixtralProcessor"}))
    masker = sftmask.Masker.from_pretrained(other)
    with pytest.raises(sftmask.TemplateError, match="PixtralProcessor is not supported"):
        masker.encode(qwen_row({"type": "image", "path": str(images[0])}))
    assert masker.encode([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}])


def test_qwen_videos_expand_as_the_video_processor_counts_them(images, snapshots):
    processor, directory = snapshots("qwen2_5_vl")
    masker = sftmask.Masker.from_pretrained(directory)
    for frames in (1, 2, 5):
        video = {"type": "video", "frames": [str(images[6])] * frames}
        row = [{"role": "user", "content": [video, {"type": "text", "text": "What happens?"}]},
               {"role": "assistant", "content": [{"type": "text", "text": "Nothing."}]}]
        encoded = masker.encode(row)
        (grid,) = encoded["video_grid_thw"]
        assert grid[0] == -(-frames // 2)
        pads = int((encoded["input_ids"] == masker.special_tokens["<|video_pad|>"]).sum())
        assert pads == np.prod(grid) // 4
        counted = processor.video_processor.get_num_of_video_patches(frames, 480, 640, {}) \
            if hasattr(processor.video_processor, "get_num_of_video_patches") else None
        if counted is not None:
            assert pads == counted // 4


def test_batch_columns_equal_encode_and_packs_keep_their_images(images, snapshots):
    _, directory = snapshots("qwen2_5_vl")
    masker = sftmask.Masker.from_pretrained(directory)
    rows = conversations(usable("qwen2_5_vl", images), seed=3, family="qwen2_5_vl")
    batch = masker.encode_batch([{"messages": m} for m in rows])
    assert {"images", "image_sizes", "image_grid_thw", "num_image_tokens"} <= set(batch.schema.names)
    for k, messages in enumerate(rows):
        single = masker.encode(copy.deepcopy(messages))
        assert batch["input_ids"][k].as_py() == single["input_ids"].tolist()
        assert batch["images"][k].as_py() == single.get("images", [])
        assert batch["image_grid_thw"][k].as_py() == (grids(single) or [])
        assert batch["num_image_tokens"][k].as_py() == single.get("num_image_tokens", 0)
    assert sftmask.BatchReport.of(batch).image_tokens == sum(batch["num_image_tokens"].to_pylist())
    longest = max(batch["num_tokens"].to_pylist())
    packed = sftmask.pack(batch, max_length=longest * 2)
    assert sum(len(p) for p in packed["images"].to_pylist()) == sum(len(i) for i in batch["images"].to_pylist())
    for pack in range(packed.num_rows):
        ids = np.array(packed["input_ids"][pack].as_py())
        pads = int((ids == masker.special_tokens["<|image_pad|>"]).sum())
        assert pads == sum(t * h * w // 4 for t, h, w in packed["image_grid_thw"][pack].as_py())
    with pytest.raises(ValueError, match="cut through their images"):
        sftmask.pack(batch, max_length=longest - 1)
    with pytest.raises(ValueError, match="wrapped"):
        sftmask.pack(batch, max_length=longest, strategy="wrapped")


def test_truncation_never_cuts_an_image(images, snapshots):
    _, directory = snapshots("qwen2_5_vl")
    masker = sftmask.Masker.from_pretrained(directory)
    row = [{"role": "user", "content": [{"type": "text", "text": "Hello"}]},
           {"role": "assistant", "content": [{"type": "text", "text": "Hi, show me."}]},
           *qwen_row({"type": "image", "path": str(images[4])})]
    encoded = masker.encode(row)
    first_pad = int(np.flatnonzero(encoded["input_ids"] == masker.special_tokens["<|image_pad|>"])[0])
    with pytest.raises(sftmask.UntrainableError, match="image tokens"):
        masker.encode(row, max_length=first_pad + 2)
    # A cut that keeps every image token is a plain truncation.
    length = len(encoded["input_ids"])
    assert len(masker.encode(row, max_length=length - 1)["input_ids"]) == length - 1


def test_text_rows_of_a_vision_model_are_unchanged(snapshots, tmp_path):
    _, directory = snapshots("qwen2_5_vl")
    masker = sftmask.Masker.from_pretrained(directory)
    text_dir = tmp_path / "text"
    text_dir.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        (text_dir / name).write_bytes((directory / name).read_bytes())
    text = sftmask.Masker.from_pretrained(text_dir)
    rows = [[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
            [{"role": "user", "content": [{"type": "text", "text": "hi"}]},
             {"role": "assistant", "content": [{"type": "text", "text": "hello"}]}]]
    for row in rows:
        assert masker.encode(row)["input_ids"].tolist() == text.encode(row)["input_ids"].tolist()
    assert "images" not in text.encode_batch([{"messages": r} for r in rows]).schema.names
    # Without processor files, a row with an image has no right expansion: refused, never a lone placeholder.
    image = [{"role": "user", "content": [{"type": "image", "width": 64, "height": 64}]},
             {"role": "assistant", "content": [{"type": "text", "text": "ok"}]}]
    with pytest.raises(sftmask.TemplateError, match="no processor files"):
        text.encode(image)


def test_collator_pixels_line_up_with_the_ids(images, snapshots):
    torch = pytest.importorskip("torch")
    from sftmask.torch import VisionCollator

    for family in FAMILIES:
        processor, directory = snapshots(family)
        masker = sftmask.Masker.from_pretrained(directory)
        rows = conversations(usable(family, images)[:6], seed=5, family=family)
        batch = masker.encode_batch([{"messages": m} for m in rows])
        collate = VisionCollator(processor)
        examples = batch.to_pylist()
        out = collate(examples)
        with_images = [e for e in examples if e["images"]]
        texts = [processor.apply_chat_template(r, tokenize=False) for r, e in zip(rows, examples) if e["images"]]
        loaded = [[sftmask.torch._load_image(i, 0, 0) for i in e["images"]] for e in with_images]
        if processor.tokenizer.pad_token is None:
            processor.tokenizer.pad_token = processor.tokenizer.eos_token
        expected = processor(text=texts, images=loaded, return_tensors="pt", padding=True)
        assert torch.equal(out["pixel_values"], expected["pixel_values"])
        if "image_grid_thw" in expected:
            assert torch.equal(out["image_grid_thw"], expected["image_grid_thw"])
        # A row whose ids lost an image token is refused, naming it.
        broken = [dict(e) for e in examples]
        k = next(i for i, e in enumerate(broken) if e["images"])
        broken[k]["images"] = broken[k]["images"] + broken[k]["images"][:1]
        with pytest.raises(ValueError, match=f"row {k}"):
            collate(broken)


def test_an_images_column_fills_the_bare_image_parts_as_trl_datasets_have_them(images, snapshots):
    _, directory = snapshots("qwen2_5_vl")
    masker = sftmask.Masker.from_pretrained(directory)
    first, second = images[4], images[6]
    inline = [{"role": "user", "content": [{"type": "image", "path": str(first)}, {"type": "text", "text": "And?"},
                                           {"type": "image", "path": str(second)}]},
              {"role": "assistant", "content": [{"type": "text", "text": "Two gradients."}]}]
    bare = [{**m, "content": [{"type": p["type"], **({"text": p["text"]} if "text" in p else {})} for p in m["content"]]}
            for m in inline]
    expected = masker.encode(inline)["input_ids"].tolist()
    # Python rows, and an Arrow table whose images are `datasets` Images ({bytes, path}) as TRL's datasets store them.
    rows = [{"messages": bare, "images": [str(first), str(second)]}]
    stored = [{"bytes": first.read_bytes(), "path": None}, {"bytes": None, "path": str(second)}]
    table = pa.Table.from_pylist([{"messages": bare, "images": stored}])
    for data in (rows, table):
        batch = masker.encode_batch(data)
        assert batch["input_ids"][0].as_py() == expected
        assert len(batch["images"][0].as_py()) == 2
    with pytest.raises(sftmask.InputError, match="images column has 3 images"):
        masker.encode_batch([{"messages": bare, "images": [str(first)] * 3}])
    with pytest.raises(sftmask.InputError, match="more image parts without an image"):
        masker.encode_batch([{"messages": bare, "images": [str(first)]}])
    # Messages without bare image parts ignore the column (a text dataset may have one).
    text = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]
    assert masker.encode_batch([{"messages": text, "images": ["unused.png"]}])["input_ids"][0].as_py() == \
        masker.encode(text)["input_ids"].tolist()
