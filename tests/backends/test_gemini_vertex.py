"""Gemini through Vertex AI: the real ``google-genai`` SDK (``vertexai=True``) and google-auth against
the fake Vertex AI and a fake Google token endpoint that verifies the signed JWT assertion."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import aiohttp
import pytest

from commands import imagine, remix
from commands.invocation import Invocation
from services.backends.availability import ServiceWatch
from services.backends.gemini.backend import GeminiImagesBackend
from services.backends.gemini.vertex import SCOPE, VertexAI
from services.errors import BackendMisconfigured, BackendUnavailable, ContentFiltered
from tests.fakes.gemini import FakeGemini, VertexSetup
from tests.fakes.gemini.harness import SERVICE_ACCOUNT
from tests.helpers.images import png
from tests.helpers.logs import assert_not_logged
from tests.helpers.requests import imagine as imagine_request

MODEL_PATH = (
    "/v1beta1/projects/easel-test/locations/us-central1/publishers/google/models/gemini-3.1-flash-image"
)


def _private_key_lines(setup: VertexSetup) -> list[str]:
    pem = json.loads(setup.credentials_file.read_text())["private_key"]
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def _assert_no_secrets(caplog: pytest.LogCaptureFixture, setup: VertexSetup) -> None:
    for token in setup.api.bearer_tokens:
        assert_not_logged(caplog, token)
    for line in _private_key_lines(setup)[:3]:
        assert_not_logged(caplog, line)


async def _started(
    vertex: VertexAI, api_key: str | None = None, *, max_attempts: int = 3
) -> GeminiImagesBackend:
    backend = GeminiImagesBackend(api_key, vertex=vertex, retry_base_delay_s=0.01, max_attempts=max_attempts)
    await backend.start()
    return backend


async def test_imagine_through_vertex_signs_in_with_the_service_account(
    vertex_setup: VertexSetup, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    backend = await _started(vertex_setup.vertex())
    try:
        request = await imagine.build(
            Invocation(text="a paper crane --ar 16:9 --seed 41 --n 2"), backend.limits
        )
        result = await backend.generate(request)
    finally:
        await backend.close()
    sent = vertex_setup.api.generations()
    assert [r.path for r in sent] == [f"{MODEL_PATH}:generateContent"] * 2
    assert all("x-goog-api-key" not in r.headers for r in sent)
    tokens = {r.headers["Authorization"].removeprefix("Bearer ") for r in sent}
    assert len(tokens) == 1 and tokens <= vertex_setup.api.bearer_tokens  # one token, reused
    (grant,) = vertex_setup.oauth.grants  # the JWT was verified against the test key's public half
    assert grant["iss"] == SERVICE_ACCOUNT and SCOPE in grant["scope"].split()
    assert sorted(b.json["generationConfig"]["seed"] for b in sent) == [41, 42]
    assert sent[0].json["generationConfig"]["imageConfig"] == {"aspectRatio": "16:9", "imageSize": "1K"}
    assert [(i.width, i.height) for i in result.images] == [(1344, 768)] * 2
    assert result.backend == "gemini" and result.model == "gemini-3.1-flash-image"
    _assert_no_secrets(caplog, vertex_setup)


async def test_edit_by_instruction_through_vertex(vertex_setup: VertexSetup) -> None:
    backend = await _started(vertex_setup.vertex(location="global"))
    try:
        inv = Invocation(text="make it night time", images={"image": png((900, 600), (200, 180, 20))})
        result = await backend.generate(await remix.build(inv, backend.limits))
        with pytest.raises(ContentFiltered):  # a blocked prompt is refunded as on the Gemini API
            await backend.generate(imagine_request("something forbidden"))
    finally:
        await backend.close()
    first = vertex_setup.api.generations()[0]
    assert first.path.startswith("/v1beta1/projects/easel-test/locations/global/publishers/google/models/")
    parts = first.json["contents"][0]["parts"]
    blob = parts[1]["inlineData"]
    assert (
        parts[0] == {"text": "make it night time"}
        and blob.get("mimeType", blob.get("mime_type")) == "image/png"
    )
    assert (result.images[0].width, result.images[0].height) == (1248, 832)  # the source's shape kept


async def test_express_mode_sends_the_key_on_the_projectless_path(
    gemini_server: FakeGemini, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    backend = await _started(VertexAI(base_url=gemini_server.url), gemini_server.express_key)
    try:
        result = await backend.generate(imagine_request(aspect_ratio="3:2"))
        lines = await backend.check()
    finally:
        await backend.close()
    (sent,) = gemini_server.generations()
    assert sent.path == "/v1beta1/publishers/google/models/gemini-3.1-flash-image:generateContent"
    assert sent.headers["x-goog-api-key"] == gemini_server.express_key and "Authorization" not in sent.headers
    assert (result.images[0].width, result.images[0].height) == (1248, 832)
    assert [line.ok for line in lines] == [True, True]
    assert lines[0].name == "gemini vertex ai" and "express mode" in lines[0].detail
    assert_not_logged(caplog, gemini_server.express_key)
    wrong = await _started(VertexAI(base_url=gemini_server.url), "AQ.wrong-key")
    try:
        with pytest.raises(BackendMisconfigured):
            await wrong.generate(imagine_request())
        (line,) = await wrong.check()
        assert not line.ok and "GEMINI_API_KEY (a Vertex AI express-mode key)" in line.detail
    finally:
        await wrong.close()


async def test_a_revoked_key_is_misconfigured_before_anything_reaches_the_model(
    vertex_setup: VertexSetup, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    revoked = vertex_setup.untrusted_key_file(tmp_path / "revoked.json")
    vertex = VertexAI("easel-test", "us-central1", revoked, vertex_setup.api.url)
    backend = await _started(vertex)
    try:
        with pytest.raises(BackendMisconfigured) as raised:
            await backend.generate(imagine_request())
        (line,) = await backend.check()
    finally:
        await backend.close()
    assert "Your quota was not spent" in raised.value.user_message
    assert "invalid_grant" in (raised.value.log_detail or "")
    assert vertex_setup.oauth.refusals == ["Invalid JWT Signature."] * 2  # not retried, signature checked
    assert vertex_setup.api.requests == []  # no token, so nothing was sent to the model
    assert line.name == "gemini vertex ai" and not line.ok
    assert "invalid_grant" in line.detail and "EASEL_GEMINI_VERTEX_CREDENTIALS" in line.detail
    _assert_no_secrets(caplog, vertex_setup)


async def test_a_forged_or_missing_token_is_refused_like_google_does(vertex_setup: VertexSetup) -> None:
    """The fake refuses what Vertex AI refuses, so a backend that sent no token would fail here."""
    url = f"{vertex_setup.api.url}{MODEL_PATH}:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "a fox"}]}]}
    cases = (
        ({}, 401, "UNAUTHENTICATED"),
        ({"Authorization": "Bearer ya29.forged"}, 401, "UNAUTHENTICATED"),
        (
            {"x-goog-api-key": vertex_setup.api.express_key},
            400,
            "INVALID_ARGUMENT",
        ),  # no key on project paths
    )
    async with aiohttp.ClientSession() as session:
        for headers, status, code in cases:
            async with session.post(url, json=body, headers=headers) as answer:
                assert (answer.status, (await answer.json())["error"]["status"]) == (status, code), headers
        wrong_path = f"{vertex_setup.api.url}/v1beta1/models/gemini-3.1-flash-image:generateContent"
        async with session.post(wrong_path, json=body, headers={"Authorization": "Bearer x"}) as answer:
            assert answer.status == 404
    assert not vertex_setup.oauth.grants


async def test_another_project_or_location_is_refused_and_checked(vertex_setup: VertexSetup) -> None:
    backend = await _started(vertex_setup.vertex(project="someone-elses"))
    try:
        with pytest.raises(BackendMisconfigured):
            await backend.generate(imagine_request())
        (line,) = await backend.check()
        assert not line.ok and "permission denied (403)" in line.detail
        assert "EASEL_GEMINI_VERTEX_PROJECT" in line.detail
    finally:
        await backend.close()
    elsewhere = await _started(vertex_setup.vertex(location="mars-north1"))
    try:
        (line,) = await elsewhere.check()
        assert not line.ok and "(400)" in line.detail
    finally:
        await elsewhere.close()


async def test_check_names_the_project_and_the_model(vertex_setup: VertexSetup) -> None:
    backend = await _started(vertex_setup.vertex())
    try:
        lines = await backend.check()
        assert [line.ok for line in lines] == [True, True]
        assert lines[0].detail.startswith("Vertex AI project easel-test in us-central1")
        assert "SynthID" in lines[1].detail
        vertex_setup.api.models = ("gemini-3-pro-image",)
        assert [line.ok for line in await backend.check()] == [True, False]
    finally:
        await backend.close()
    (checked,) = [r for r in vertex_setup.api.requests if r.path.endswith(":countTokens")][:1]
    assert checked.path.startswith("/v1beta1/projects/easel-test/locations/us-central1/")  # project-scoped
    assert vertex_setup.api.generations() == []  # a check never generates


async def test_the_token_endpoint_down_is_unavailable_and_models_says_so(vertex_setup: VertexSetup) -> None:
    backend = await _started(vertex_setup.vertex(), max_attempts=2)
    try:
        assert (await ServiceWatch({"gemini": backend}).states())["gemini"].available
    finally:
        await backend.close()
    await vertex_setup.oauth.close()  # Google's token endpoint unreachable; a new process needs a token
    fresh = await _started(vertex_setup.vertex(), max_attempts=2)
    try:
        with pytest.raises(BackendUnavailable):  # retried, then "busy or unreachable", refunded
            await fresh.generate(imagine_request())
        (line,) = await fresh.check()
        assert not line.ok and "cannot reach Google's token endpoint" in line.detail
        state = (await ServiceWatch({"gemini": fresh}).states())["gemini"]
        assert not state.available and state.reason == "failed its last check (gemini vertex ai)"
    finally:
        await fresh.close()
    assert vertex_setup.api.generations() == []


async def test_without_a_key_file_application_default_credentials_are_used(
    vertex_setup: VertexSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EASEL_GEMINI_VERTEX_CREDENTIALS unset: the SDK asks google-auth for Application Default
    Credentials, here the key file named by GOOGLE_APPLICATION_CREDENTIALS."""
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(vertex_setup.credentials_file))
    vertex = VertexAI("easel-test", "us-central1", None, vertex_setup.api.url)
    backend = await _started(vertex)
    try:
        result = await backend.generate(imagine_request())
    finally:
        await backend.close()
    assert result.images[0].width == 1024
    (sent,) = vertex_setup.api.generations()
    assert sent.headers["Authorization"].removeprefix("Bearer ") in vertex_setup.api.bearer_tokens
    assert len(vertex_setup.oauth.grants) == 1
