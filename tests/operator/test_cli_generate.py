"""End to end through the real ``easel`` CLI, the real Stability v1 client and the fake Stability server."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops

from tests.helpers.cli import clean_env, run_easel
from tests.helpers.images import colours, png, png_header_only


def env_for(server: Any, data_dir: Path, **extra: str) -> dict[str, str]:
    return clean_env(
        STABILITY_API_KEY=server.api_key,
        STABILITY_API_HOST=server.url,
        EASEL_DATA_DIR=str(data_dir),
        **extra,
    )


def originals(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "originals").rglob("*.png"))


async def test_imagine_writes_watermarked_pngs_and_prints_seeds(
    stability_server: Any, tmp_path: Path
) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    result = await run_easel(
        "imagine", "a lighthouse at dusk, oil painting --ar 3:2 --n 2 --seed 42 --no fog",
        "--out", str(out), env=env_for(stability_server, data), cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    assert [line.split("\tseed=")[1] for line in lines] == ["42", "43"]

    sent = stability_server.requests_for("/text-to-image")
    assert len(sent) == 1
    body = sent[0].json
    assert (body["width"], body["height"]) == (1216, 832)
    assert body["samples"] == 2 and body["seed"] == 42
    prompts = {p["text"]: p["weight"] for p in body["text_prompts"]}
    assert prompts["a lighthouse at dusk, oil painting"] > 0
    assert prompts["fog"] < 0

    published = sorted(out.glob("*.png"))
    stored = originals(data)
    assert len(published) == 2 and len(stored) == 2
    for pub_path, orig_path in zip(published, stored, strict=True):
        with Image.open(pub_path) as p_img, Image.open(orig_path) as o_img:
            pub, orig = p_img.convert("RGB"), o_img.convert("RGB")
        assert pub.size == orig.size == (1216, 832)
        w, h = pub.size
        # Top-left carries only the invisible mark (a few grey levels), bottom-right the visible
        # plate; the stored original stays clean.
        spread = ImageChops.difference(pub.crop((0, 0, 200, 200)), orig.crop((0, 0, 200, 200))).getextrema()
        assert 0 < max(hi for _, hi in spread) <= 8
        assert pub.crop((w - 300, h - 80, w, h)).tobytes() != orig.crop((w - 300, h - 80, w, h)).tobytes()
        assert len(colours(orig)) == 1  # the fake's solid colour: no watermark in the original


async def test_imagine_json_lines(stability_server: Any, tmp_path: Path) -> None:
    result = await run_easel(
        "imagine", "a red fox --seed 7", "--json", "--out", str(tmp_path / "out"),
        env=env_for(stability_server, tmp_path / "data"), cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    (line,) = result.stdout.strip().splitlines()
    obj = json.loads(line)
    assert obj["seed"] == 7
    assert obj["backend"] == "stability"
    assert obj["engine"] == "stable-diffusion-xl-1024-v1-0"
    assert (obj["width"], obj["height"]) == (1024, 1024)
    assert Path(obj["path"]).is_file() and len(obj["job_id"]) >= 8


async def test_remix_sends_init_image_and_strength(stability_server: Any, tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    src.write_bytes(png((1024, 1024), (200, 30, 30)))
    result = await run_easel(
        "remix", "same scene in winter --strength 0.4", "--image", str(src), "--out", str(tmp_path / "out"),
        env=env_for(stability_server, tmp_path / "data"), cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    (sent,) = stability_server.requests_for("/image-to-image")
    assert sent.form["init_image_mode"] == "IMAGE_STRENGTH"
    assert float(sent.form["image_strength"]) == 0.4
    assert sent.form["text_prompts[0][text]"] == "same scene in winter"
    with Image.open(io.BytesIO(sent.files["init_image"].data)) as init:
        assert init.size == (1024, 1024)


async def test_inpaint_with_mask_and_with_alpha(stability_server: Any, tmp_path: Path) -> None:
    src, mask = tmp_path / "in.png", tmp_path / "mask.png"
    src.write_bytes(png((1024, 1024)))
    mask.write_bytes(png((1024, 1024), (255,), mode="L"))
    env = env_for(stability_server, tmp_path / "data")
    result = await run_easel(
        "inpaint", "a red door", "--image", str(src), "--mask", str(mask), "--out", str(tmp_path / "o1"),
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    first = stability_server.requests_for("/masking")[-1]
    assert first.form["mask_source"] == "MASK_IMAGE_WHITE" and "mask_image" in first.files

    rgba = Image.new("RGBA", (1024, 1024), (10, 20, 30, 255))
    rgba.paste((0, 0, 0, 0), (0, 0, 512, 512))
    buf = io.BytesIO()
    rgba.save(buf, "PNG")
    cut = tmp_path / "cut.png"
    cut.write_bytes(buf.getvalue())
    result = await run_easel(
        "inpaint", "a garden", "--image", str(cut), "--mask-source", "alpha", "--out", str(tmp_path / "o2"),
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    second = stability_server.requests_for("/masking")[-1]
    assert second.form["mask_source"] == "INIT_IMAGE_ALPHA" and "mask_image" not in second.files


async def test_upscale_doubles_the_image(stability_server: Any, tmp_path: Path) -> None:
    src = tmp_path / "small.png"
    src.write_bytes(png((512, 512)))
    result = await run_easel(
        "upscale", "--image", str(src), "--json", "--out", str(tmp_path / "out"),
        env=env_for(stability_server, tmp_path / "data"), cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert len(stability_server.requests_for("/upscale")) == 1
    obj = json.loads(result.stdout.strip().splitlines()[0])
    with Image.open(obj["path"]) as img:
        assert img.size == (1024, 1024)


async def _assert_refused(server: Any, tmp_path: Path, *args: str, expect: str) -> None:
    data = tmp_path / "data"
    before = len(server.requests_for("/v1/generation/"))
    result = await run_easel(*args, "--out", str(tmp_path / "out"), env=env_for(server, data), cwd=tmp_path)
    assert result.code == 2, (result.code, result.stderr)
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert expect.lower() in message.lower(), message
    assert "Traceback" not in message
    assert len(server.requests_for("/v1/generation/")) == before  # nothing reached the backend
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


async def test_bad_input_is_refused_politely_and_spends_nothing(
    stability_server: Any, tmp_path: Path
) -> None:
    text_png = tmp_path / "notes.png"
    text_png.write_text("these are my notes, not a picture\n")
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(20000, 20000))
    img = tmp_path / "in.png"
    img.write_bytes(png((1024, 1024)))
    odd_mask = tmp_path / "mask.png"
    odd_mask.write_bytes(png((300, 200), (255,), mode="L"))

    cases: list[tuple[tuple[str, ...], str]] = [
        (("imagine", "a cat --sed 4"), "--seed"),  # did you mean
        (("imagine", "a cat --n 11"), "--n"),
        (("imagine", "a cat --cfg 99"), "--cfg"),
        (("imagine", "--ar 16:9"), "describe"),  # empty prompt
        (("imagine", "x" * 2001), "2000"),
        (("remix", "a cat", "--image", str(text_png)), "image"),
        (("remix", "a cat", "--image", str(bomb)), "smaller"),
        (("inpaint", "a door", "--image", str(img), "--mask", str(odd_mask)), "300"),
        (("remix", "a cat", "--image", str(tmp_path / "missing.png")), "missing.png"),
    ]
    for args, expect in cases:
        await _assert_refused(stability_server, tmp_path, *args, expect=expect)

    # Nothing was charged: the whole default quota (25) is still there.
    result = await run_easel(
        "imagine", "a cat --n 10", "--out", str(tmp_path / "ok"),
        env=env_for(stability_server, tmp_path / "data", EASEL_DAILY_QUOTA="10"), cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.stderr


async def test_backend_failure_refunds_quota(stability_server: Any, tmp_path: Path) -> None:
    env = env_for(stability_server, tmp_path / "data", EASEL_DAILY_QUOTA="2")
    stability_server.inject(
        status=400, message="invalid_prompts: One or more prompts contain filtered words."
    )
    result = await run_easel("imagine", "a cat --n 2", "--out", str(tmp_path / "o1"), env=env, cwd=tmp_path)
    assert result.code == 1
    assert "filtered words" in result.stderr
    assert stability_server.api_key not in result.stderr

    stability_server.inject(content_filtered=True)
    result = await run_easel("imagine", "a cat --n 2", "--out", str(tmp_path / "o2"), env=env, cwd=tmp_path)
    assert result.code == 1
    assert "safety filter" in result.stderr

    # Both failures were refunded: the full quota of 2 is still available.
    result = await run_easel("imagine", "a cat --n 2", "--out", str(tmp_path / "o3"), env=env, cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert len(list((tmp_path / "o3").glob("*.png"))) == 2
    result = await run_easel("imagine", "a cat", "--out", str(tmp_path / "o4"), env=env, cwd=tmp_path)
    assert result.code == 3
    assert "daily units" in result.stderr


async def test_bad_key_is_an_operator_problem_without_leaking(stability_server: Any, tmp_path: Path) -> None:
    env = env_for(stability_server, tmp_path / "data")
    env["STABILITY_API_KEY"] = "sk-wrong-key-123456"
    result = await run_easel("imagine", "a cat", "--out", str(tmp_path / "out"), env=env, cwd=tmp_path)
    assert result.code == 1
    assert "sk-wrong-key-123456" not in result.stderr + result.stdout
    # On the CLI the reader is the operator: the cause, not the chat's "not set up correctly".
    message = result.stderr.splitlines()[-1]
    assert "refused easel's credentials" in message and "HTTP 401" in message
    assert "easel check" in message and "Nothing was spent." in message
    assert "not set up correctly" not in result.stderr


async def test_check_reaches_stability(stability_server: Any, tmp_path: Path) -> None:
    result = await run_easel("check", env=env_for(stability_server, tmp_path / "data"), cwd=tmp_path)
    # No chat front end is configured: fine for CLI use (`make check` for CLI-only operators),
    # so check says what `easel run` would need and still exits 0 when Stability is OK.
    assert "OK   stability api" in result.stdout
    assert "42.50 credits" in result.stdout
    assert "FAIL" not in result.stdout
    assert "OK   chat: no front end configured (CLI only); `easel run` needs DISCORD_TOKEN" in result.stdout
    assert result.code == 0, result.stdout
    assert not (tmp_path / "data").exists() or not originals(tmp_path / "data")
    assert stability_server.requests_for("/v1/generation/") == []
