"""The OpenAI images backend through the real ``openai`` SDK against the fake API on 127.0.0.1."""

from __future__ import annotations

import io
import logging

import pytest
from PIL import Image

from commands import imagine, inpaint, remix
from commands.errors import OptionError
from commands.invocation import Invocation
from services.backends.openai.backend import OpenAIImagesBackend
from services.errors import (
    BackendMisconfigured,
    BackendRejected,
    BackendUnavailable,
    ContentFiltered,
    InvalidRequest,
    UnsupportedOption,
)
from services.types import MaskSource, Operation
from tests.fakes.openai import FakeOpenAI
from tests.helpers.images import decode, mask_png, png
from tests.helpers.logs import assert_not_logged
from tests.helpers.requests import imagine as imagine_request


async def test_imagine_sends_what_the_api_takes_and_decodes_the_images(
    openai_backend: OpenAIImagesBackend, openai_server: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    request = await imagine.build(
        Invocation(text="a red lighthouse --size 1536x864 --n 2"), openai_backend.limits
    )
    result = await openai_backend.generate(request)
    sent = openai_server.last("/v1/images/generations")
    assert sent.json == {
        "model": "gpt-image-2",
        "prompt": "a red lighthouse",
        "n": 2,
        "size": "1536x864",
        "quality": "auto",
        "moderation": "auto",
        "output_format": "png",
    }
    assert sent.headers["Authorization"] == f"Bearer {openai_server.api_key}"
    assert sent.headers.get("x-stainless-retry-count") == "0"
    assert [(i.width, i.height) for i in result.images] == [(1536, 864)] * 2
    assert result.backend == "openai" and result.model == "gpt-image-2"
    assert decode(result.images[0].png).format == "PNG"
    usage = [r for r in caplog.records if r.getMessage() == "openai.usage"]
    assert usage and usage[0].__dict__["output_tokens"] == 2112 and usage[0].__dict__["images"] == 2
    assert_not_logged(caplog, openai_server.api_key)


async def test_options_the_api_lacks_are_refused_before_anything_is_sent(
    openai_backend: OpenAIImagesBackend, openai_server: FakeOpenAI
) -> None:
    limits = openai_backend.limits
    for text in ("a fox --seed 7", "a fox --steps 20", "a fox --cfg 5", "a fox --no fog"):
        with pytest.raises((OptionError, UnsupportedOption)):
            await imagine.build(Invocation(text=text), limits)
    assert limits.operations == {Operation.IMAGINE, Operation.REMIX, Operation.INPAINT}
    with pytest.raises(OptionError, match="--n"):
        await imagine.build(Invocation(text="a fox --n 11"), limits)
    assert not openai_server.requests


async def test_each_model_is_held_to_its_own_sizes(
    openai_backend: OpenAIImagesBackend, openai_server: FakeOpenAI
) -> None:
    for size, reason in (("1000x1000", "multiples of 16"), ("1536x480", "1:3 and 3:1")):
        with pytest.raises(InvalidRequest, match=reason):
            await openai_backend.generate(imagine_request(width=int(size[:4]), height=int(size[5:])))
    request = await imagine.build(
        Invocation(text="a fox --size 1536x864 --model gpt-image-1.5"), openai_backend.limits
    )
    with pytest.raises(InvalidRequest, match=r"gpt-image-1\.5 makes these sizes only: 1024x1024"):
        await openai_backend.generate(request)
    assert not openai_server.requests
    fixed = await imagine.build(
        Invocation(text="a fox --ar 3:2 --model gpt-image-1.5"), openai_backend.limits
    )
    fixed_result = await openai_backend.generate(fixed)
    assert openai_server.last("/v1/images/generations").json["model"] == "gpt-image-1.5"
    assert (fixed_result.images[0].width, fixed_result.images[0].height) == (1536, 1024)


@pytest.mark.parametrize(
    ("source", "repainted_left"),
    [(MaskSource.WHITE, True), (MaskSource.BLACK, False)],
)
async def test_inpaint_turns_easel_masks_into_transparent_means_edit(
    openai_backend: OpenAIImagesBackend, openai_server: FakeOpenAI, source: MaskSource, repainted_left: bool
) -> None:
    inv = Invocation(
        text=f"a blue door --mask-source {source.value}",
        images={"image": png((1024, 1024), (10, 200, 90)), "mask": mask_png(1024, 1024)},
    )
    result = await openai_backend.generate(await inpaint.build(inv, openai_backend.limits))
    sent = openai_server.last("/v1/images/edits")
    assert sent.headers["Content-Type"].startswith("multipart/form-data")
    mask = sent.files["mask"][0].image
    assert mask.format == "PNG" and mask.mode == "RGBA" and mask.size == (1024, 1024)
    left, right = mask.getpixel((10, 500))[3], mask.getpixel((1000, 500))[3]
    assert (left, right) == ((0, 255) if repainted_left else (255, 0))
    out = decode(result.images[0].png).convert("RGB")
    kept = (1000, 500) if repainted_left else (10, 500)
    assert out.getpixel(kept) == (10, 200, 90)
    assert sent.form["size"] == "1024x1024" and "moderation" not in sent.form


async def test_inpaint_with_transparent_areas_and_remix_without_mask(
    openai_backend: OpenAIImagesBackend, openai_server: FakeOpenAI
) -> None:
    hole = Invocation(text="a window", images={"image": png((1024, 1024), (10, 200, 90), hole=True)})
    result = await openai_backend.generate(await inpaint.build(hole, openai_backend.limits))
    mask = openai_server.last("/v1/images/edits").files["mask"][0].image
    assert mask.getpixel((512, 512))[3] == 0 and mask.getpixel((5, 5))[3] == 255
    assert decode(result.images[0].png).convert("RGB").getpixel((5, 5)) == (10, 200, 90)

    inv = Invocation(text="as a watercolour", images={"image": png((800, 600))})
    await openai_backend.generate(await remix.build(inv, openai_backend.limits))
    sent = openai_server.last("/v1/images/edits")
    assert "mask" not in sent.files and len(sent.files["image[]"]) == 1
    assert sent.form["size"] == "auto"  # 800x600 is below the model's pixel minimum: the model sizes it


async def test_a_mask_that_marks_nothing_is_refused_without_a_request(
    openai_backend: OpenAIImagesBackend, openai_server: FakeOpenAI
) -> None:
    black = io.BytesIO()
    Image.new("L", (1024, 1024), 0).save(black, "PNG")
    inv = Invocation(text="a door", images={"image": png((1024, 1024)), "mask": black.getvalue()})
    # The one mask rule in commands/ refuses it before any backend sees it.
    with pytest.raises(InvalidRequest, match="selects no area"):
        await openai_backend.generate(await inpaint.build(inv, openai_backend.limits))
    assert not openai_server.calls("/v1/images/edits")


async def test_moderation_refusal_is_the_content_filter(
    openai_backend: OpenAIImagesBackend, openai_server: FakeOpenAI
) -> None:
    with pytest.raises(ContentFiltered) as info:
        await openai_backend.generate(imagine_request("something forbidden"))
    assert "moderation_blocked" in info.value.log_detail
    assert len(openai_server.calls("/v1/images/generations")) == 1  # not retried


async def test_rate_limits_are_retried_after_the_servers_delay(
    openai_backend: OpenAIImagesBackend, openai_server: FakeOpenAI
) -> None:
    openai_server.rate_limit(2, retry_after_ms=30)
    result = await openai_backend.generate(imagine_request())
    assert len(result.images) == 1
    assert len(openai_server.calls("/v1/images/generations")) == 3
    openai_server.fail(5, status=503)
    with pytest.raises(BackendUnavailable):
        await openai_backend.generate(imagine_request())
    assert len(openai_server.calls("/v1/images/generations")) == 6  # three attempts, then gave up


async def test_operator_problems_are_misconfigured(openai_server: FakeOpenAI) -> None:
    wrong = OpenAIImagesBackend("sk-wrong", base_url=openai_server.url, retry_base_delay_s=0.01)
    await wrong.start()
    try:
        with pytest.raises(BackendMisconfigured):
            await wrong.generate(imagine_request())
        assert [line.ok for line in await wrong.check()] == [False]
    finally:
        await wrong.close()
    backend = OpenAIImagesBackend(openai_server.api_key, base_url=openai_server.url, retry_base_delay_s=0.01)
    await backend.start()
    try:
        openai_server.insufficient_quota = True
        with pytest.raises(BackendMisconfigured):
            await backend.generate(imagine_request())
        assert len(openai_server.calls("/v1/images/generations")) == 1
    finally:
        await backend.close()


async def test_the_api_refusing_a_request_shows_its_words(openai_server: FakeOpenAI) -> None:
    # A compatible server that knows fewer models: the operator listed one it lacks.
    openai_server.models = ("gpt-image-2",)
    backend = OpenAIImagesBackend(
        openai_server.api_key, base_url=openai_server.url, models=("gpt-image-1.5",), retry_base_delay_s=0.01
    )
    await backend.start()
    try:
        with pytest.raises(BackendMisconfigured):
            await backend.generate(imagine_request(model="gpt-image-1.5", width=1024, height=1024))
        with pytest.raises(BackendRejected, match="at most 32000 characters"):
            await backend.generate(imagine_request("x" * 32001, width=1024, height=1024))
    finally:
        await backend.close()


async def test_check_reports_reachability_key_and_model(openai_server: FakeOpenAI) -> None:
    backend = OpenAIImagesBackend(openai_server.api_key, base_url=openai_server.url, model="gpt-image-2")
    await backend.start()
    try:
        lines = await backend.check()
        assert [(line.name, line.ok) for line in lines] == [("openai api", True), ("openai model", True)]
    finally:
        await backend.close()
    missing = OpenAIImagesBackend(openai_server.api_key, base_url=openai_server.url, model="gpt-image-9")
    await missing.start()
    try:
        assert [line.ok for line in await missing.check()] == [True, False]
    finally:
        await missing.close()
    assert not openai_server.calls("/v1/images/generations")
