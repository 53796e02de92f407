"""The Gemini image backend through the real ``google-genai`` SDK against the fake Gemini API."""

from __future__ import annotations

import logging

import pytest

from commands import imagine, inpaint, remix
from commands.errors import OptionError
from commands.invocation import Invocation
from services.backends.gemini.backend import GeminiImagesBackend
from services.errors import (
    BackendMisconfigured,
    BackendRejected,
    BackendUnavailable,
    ContentFiltered,
    UnsupportedOption,
)
from services.types import FinishReason, Operation
from tests.fakes.gemini import FakeGemini
from tests.helpers.images import decode, png
from tests.helpers.logs import assert_not_logged
from tests.helpers.requests import imagine as imagine_request


async def test_imagine_sends_an_image_request_and_reads_the_picture(
    gemini_backend: GeminiImagesBackend, gemini_server: FakeGemini, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    request = await imagine.build(
        Invocation(text="a paper crane --ar 16:9 --seed 41 --n 2"), gemini_backend.limits
    )
    result = await gemini_backend.generate(request)
    bodies = [r.json for r in gemini_server.generations()]
    assert len(bodies) == 2  # one image per request
    first = bodies[0]
    assert first["contents"] == [{"role": "user", "parts": [{"text": "a paper crane"}]}]
    config = first["generationConfig"]
    assert config["responseModalities"] == ["IMAGE"]
    assert config["imageConfig"] == {"aspectRatio": "16:9", "imageSize": "1K"}
    assert sorted(b["generationConfig"]["seed"] for b in bodies) == [41, 42]
    assert "safetySettings" not in first  # the API's defaults unless the operator sets a threshold
    path = gemini_server.generations()[0]
    assert path.path == "/v1beta/models/gemini-3.1-flash-image:generateContent"
    assert path.headers["x-goog-api-key"] == gemini_server.api_key
    assert sorted(i.seed for i in result.images) == [41, 42]
    assert [(i.width, i.height) for i in result.images] == [(1344, 768)] * 2
    assert decode(result.images[0].png).format == "PNG"
    assert result.backend == "gemini" and result.model == "gemini-3.1-flash-image"
    assert_not_logged(caplog, gemini_server.api_key)


async def test_options_gemini_lacks_are_refused_and_inpaint_is_not_offered(
    gemini_backend: GeminiImagesBackend, gemini_server: FakeGemini
) -> None:
    limits = gemini_backend.limits
    for text in ("a fox --steps 20", "a fox --cfg 5", "a fox --no fog", "a fox --size 1024x1024"):
        with pytest.raises((OptionError, UnsupportedOption)):
            await imagine.build(Invocation(text=text), limits)
    assert limits.operations == {Operation.IMAGINE, Operation.REMIX}
    with pytest.raises(UnsupportedOption, match="/inpaint isn't available"):
        await inpaint.build(Invocation(text="x", images={"image": png((64, 64), hole=True)}), limits)
    assert not gemini_server.requests


async def test_edit_by_instruction_sends_the_source_image(
    gemini_backend: GeminiImagesBackend, gemini_server: FakeGemini
) -> None:
    inv = Invocation(text="make it night time", images={"image": png((900, 600), (200, 180, 20))})
    result = await gemini_backend.generate(await remix.build(inv, gemini_backend.limits))
    parts = gemini_server.last_body()["contents"][0]["parts"]
    assert parts[0] == {"text": "make it night time"}
    blob = parts[1]["inlineData"] if "inlineData" in parts[1] else parts[1]["inline_data"]
    assert blob.get("mimeType", blob.get("mime_type")) == "image/png"
    assert "aspectRatio" not in gemini_server.last_body()["generationConfig"]["imageConfig"]
    assert (result.images[0].width, result.images[0].height) == (1248, 832)  # the source's shape kept


async def test_blocked_outputs_are_filtered_per_image_and_refunded(
    gemini_backend: GeminiImagesBackend, gemini_server: FakeGemini
) -> None:
    with pytest.raises(ContentFiltered):
        await gemini_backend.generate(imagine_request("something forbidden"))
    with pytest.raises(ContentFiltered):
        await gemini_backend.generate(imagine_request("an unsafe scene", samples=2))
    assert len(gemini_server.generations()) == 3  # refusals are not retried


async def test_safety_threshold_and_image_size_are_operator_settings(gemini_server: FakeGemini) -> None:
    backend = GeminiImagesBackend(
        gemini_server.api_key,
        base_url=gemini_server.url,
        model="gemini-3-pro-image",
        image_size="2K",
        safety_threshold="BLOCK_ONLY_HIGH",
    )
    await backend.start()
    try:
        result = await backend.generate(imagine_request(aspect_ratio="3:2"))
        body = gemini_server.last_body()
        assert {s["threshold"] for s in body["safetySettings"]} == {"BLOCK_ONLY_HIGH"}
        assert len(body["safetySettings"]) == 4
        assert body["generationConfig"]["imageConfig"] == {"aspectRatio": "3:2", "imageSize": "2K"}
        assert (result.images[0].width, result.images[0].height) == (2496, 1664)
        # gemini-2.x models make 1K only: imageSize is not sent to them.
        older = GeminiImagesBackend(
            gemini_server.api_key, base_url=gemini_server.url, model="gemini-2.5-flash-image", image_size="2K"
        )
        await older.start()
        try:
            await older.generate(imagine_request())
            assert "imageSize" not in (gemini_server.last_body()["generationConfig"].get("imageConfig") or {})
        finally:
            await older.close()
    finally:
        await backend.close()


async def test_rate_limits_and_overload_are_retried(
    gemini_backend: GeminiImagesBackend, gemini_server: FakeGemini
) -> None:
    gemini_server.rate_limit(2)
    result = await gemini_backend.generate(imagine_request())
    assert result.images[0].finish_reason is FinishReason.SUCCESS
    assert len(gemini_server.generations()) == 3
    gemini_server.fail(3)
    with pytest.raises(BackendUnavailable):
        await gemini_backend.generate(imagine_request())


async def test_operator_problems_are_misconfigured_and_checked(gemini_server: FakeGemini) -> None:
    wrong = GeminiImagesBackend("AIza-wrong", base_url=gemini_server.url, retry_base_delay_s=0.01)
    await wrong.start()
    try:
        with pytest.raises(BackendMisconfigured):
            await wrong.generate(imagine_request())
        assert [line.ok for line in await wrong.check()] == [False]
    finally:
        await wrong.close()
    missing = GeminiImagesBackend(gemini_server.api_key, base_url=gemini_server.url, model="gemini-9-image")
    await missing.start()
    try:
        assert [line.ok for line in await missing.check()] == [True, False]
        with pytest.raises(BackendMisconfigured):
            await missing.generate(imagine_request())
    finally:
        await missing.close()
    good = GeminiImagesBackend(gemini_server.api_key, base_url=gemini_server.url)
    await good.start()
    try:
        lines = await good.check()
        assert [line.ok for line in lines] == [True, True] and "SynthID" in lines[1].detail
        gemini_server.models = ("gemini-3.1-flash-image",)
        with pytest.raises(BackendRejected, match="Unsupported aspect ratio"):
            await good.generate(imagine_request(aspect_ratio="5:3"))
    finally:
        await good.close()


async def test_a_lost_connection_is_reported_at_once_not_retried_by_the_sdk(
    gemini_server: FakeGemini,
) -> None:
    """google-genai retries a lost connection by itself after sleeping 1-10 s unless told not to;
    easel owns retries, so a service that is down says so at once (``easel check``, ``/models``)."""
    backend = GeminiImagesBackend(gemini_server.api_key, base_url=gemini_server.url)
    await backend.start()
    try:
        gemini_server.drops = 2  # aiohttp itself resends a GET once on a dropped connection
        before = len(gemini_server.requests)
        lines = await backend.check()
        assert [line.ok for line in lines] == [False] and "cannot reach" in lines[0].detail, lines
        assert len(gemini_server.requests) == before + 2  # aiohttp's resend only, no SDK retry after a sleep
    finally:
        await backend.close()
