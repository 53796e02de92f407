"""Clean originals carry the A1111 ``parameters`` chunk; the instance id is kept in the data dir."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, PngImagePlugin

from services.provenance.instance import INSTANCE_FILENAME, resolve_instance_id
from services.provenance.parameters import parameters_text, with_parameters
from services.types import GenerationRequest, Operation, WeightedPrompt

REQUEST = GenerationRequest(
    operation=Operation.IMAGINE,
    prompts=(WeightedPrompt("a lighthouse at dusk", 1.0), WeightedPrompt("blurry", -1.0)),
    steps=30,
    cfg_scale=7.0,
    sampler="DPM++ 2M",
)


def png(info: PngImagePlugin.PngInfo | None = None) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 20, 30)).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def test_parameters_read_like_a1111_writes_them() -> None:
    text = parameters_text(REQUEST, seed=1234, model="sdxl", width=1024, height=1024)
    assert text == (
        "a lighthouse at dusk\nNegative prompt: blurry\n"
        "Steps: 30, CFG scale: 7.0, Seed: 1234, Size: 1024x1024, Model: sdxl, Sampler: DPM++ 2M"
    )


def test_the_chunk_is_spliced_in_without_touching_the_pixels() -> None:
    original = png()
    marked = with_parameters(original, "a fox ✓\nSteps: 20")
    img = Image.open(io.BytesIO(marked))
    img.load()
    assert img.info["parameters"] == "a fox ✓\nSteps: 20"
    assert img.tobytes() == Image.open(io.BytesIO(original)).tobytes()


def test_a_backend_parameters_chunk_is_replaced_and_others_kept() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "what the GPU host wrote")
    info.add_text("Software", "A1111")
    img = Image.open(io.BytesIO(with_parameters(png(info), "ours")))
    img.load()
    assert img.info["parameters"] == "ours"
    assert img.info["Software"] == "A1111"


def test_non_png_and_truncated_input_pass_through() -> None:
    assert with_parameters(b"GIF89a....", "x") == b"GIF89a...."
    truncated = png()[:40]
    assert with_parameters(truncated, "x") == truncated


def test_the_instance_id_is_made_once_and_kept(tmp_path: Path) -> None:
    first = resolve_instance_id(None, tmp_path)
    assert len(first) == 8 and int(first, 16) >= 0
    assert resolve_instance_id(None, tmp_path) == first
    assert (tmp_path / INSTANCE_FILENAME).read_text().strip() == first
    assert resolve_instance_id("ABCDEF01", tmp_path) == "abcdef01"  # the setting wins


def test_a_damaged_instance_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / INSTANCE_FILENAME).write_bytes(b"\xff\xfe not hex")
    fresh = resolve_instance_id(None, tmp_path)
    assert len(fresh) == 8 and (tmp_path / INSTANCE_FILENAME).read_text().strip() == fresh
