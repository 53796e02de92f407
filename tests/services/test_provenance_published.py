"""Content credentials on what is posted: signed after upload fitting's final encode, in every format.

A real job (SQLite, store, the Watermarker with a throw-away CA's signer, FakeBackend) is
published, then fitted to upload limits that force each rung of the ladder: the PNG as it is,
WebP, JPEG and a down-scaled JPEG. Each posted file is read back with c2pa-python and must be
valid (untrusted only because the development CA is on no trust list), still carry the invisible
mark, and fit its limit; the clean original keeps its own credential.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from services.encoding import fit_upload_sync
from services.provenance import detect_mark
from services.provenance.credentials import ContentSigner, read_credentials
from services.provenance.devkeys import development_pair
from services.types import JobOutcome
from services.uploads import UploadPart, UploadTooLarge, post_within
from services.watermark import Watermarker
from tests.fakes.backend import FakeBackend, render_png
from tests.helpers.jobs import ALICE, ORIGIN, Services, build_services
from tests.helpers.requests import imagine

CHAIN, KEY = development_pair("easel tests")
INSTANCE = "3fa2c01b"


@pytest.fixture
async def svc(tmp_path: Path) -> AsyncIterator[Services]:
    marker = Watermarker("AI generated", instance_id=INSTANCE, signer=ContentSigner(CHAIN, KEY))
    services = await build_services(tmp_path / "data", FakeBackend(noise=30.0), watermarker=marker)
    await services.jobs.start()
    yield services
    await services.jobs.stop(grace_s=0)
    await services.db.close()


async def a_job(svc: Services) -> JobOutcome:
    submitted = await svc.jobs.submit(ALICE, imagine("a fox", width=512, height=512), origin=ORIGIN)
    return await asyncio.wait_for(svc.jobs.wait(submitted.job_id), 10)


async def posted(outcome: JobOutcome, limit: int) -> list[UploadPart]:
    parts: list[UploadPart] = []

    async def post(part: UploadPart) -> None:
        parts.append(part)

    await post_within(outcome.images, limit, post, max_files=10, job_id=outcome.job_id)
    return parts


def fitted_sizes(png: bytes) -> dict[str, int]:
    """The unsigned size of each rung for this picture (limits are chosen between them)."""
    img = Image.open(io.BytesIO(png)).convert("RGB")
    sizes = {"png": len(png)}
    for fmt, key in (("WEBP", "webp"), ("JPEG", "jpg")):
        buf = io.BytesIO()
        img.save(buf, fmt, quality=90 if fmt == "WEBP" else 50)
        sizes[key] = buf.tell()
    return sizes


@pytest.mark.parametrize("rung", ["png", "webp", "jpg", "downscaled"])
async def test_the_posted_file_carries_a_valid_credential(svc: Services, rung: str) -> None:
    outcome = await a_job(svc)
    [image] = outcome.images
    sizes = fitted_sizes(image.data)
    limit = {
        "png": sizes["png"] + 1,
        "webp": sizes["png"] - 1,  # WebP 90 (plus the manifest) fits well under the PNG
        "jpg": sizes["webp"] // 2,  # below WebP 90, above JPEG 50 with its manifest
        "downscaled": sizes["jpg"] // 2,  # below any full-size JPEG: only a smaller picture fits
    }[rung]
    [part] = await posted(outcome, limit)
    [file] = part.files
    assert file.extension == ("jpg" if rung == "downscaled" else rung)
    assert file.size <= limit, sizes
    if rung == "downscaled":
        assert Image.open(io.BytesIO(file.data)).width < 512
    found = read_credentials(file.data, file.content_type)
    assert found.present and found.valid and not found.tampered, found.problems
    assert found.signer is not None and "easel tests" in found.signer
    assert found.generator == "easel"
    mark = detect_mark(Image.open(io.BytesIO(file.data)))
    assert mark is not None and mark.payload.instance_id == INSTANCE
    assert outcome.job_id.startswith(mark.payload.job_prefix)


async def test_the_clean_original_keeps_its_own_credential(svc: Services) -> None:
    outcome = await a_job(svc)
    original = await svc.store.load_original(outcome.job_id, 0)
    found = read_credentials(original.png, "image/png")
    assert found.present and found.valid
    assert detect_mark(Image.open(io.BytesIO(original.png))) is None  # clean: no marks


async def test_a_refused_message_is_signed_again_after_its_smaller_encode(svc: Services) -> None:
    outcome = await a_job(svc)
    refusals, sent = 1, []

    async def post(part: UploadPart) -> None:
        nonlocal refusals
        sent.append(part.files[0])
        if refusals:
            refusals -= 1
            raise UploadTooLarge()

    await post_within(outcome.images, 10 * 1024 * 1024, post, max_files=10, job_id=outcome.job_id)
    first, second = sent
    assert first.extension == "png" and second.extension != "png" and second.size < first.size
    for file in sent:
        assert read_credentials(file.data, file.content_type).valid


def test_without_keys_fitting_signs_nothing_and_still_fits() -> None:
    png = Watermarker("AI generated").stamp_png(render_png(512, 512, 7, noise=30.0))
    [file] = fit_upload_sync([png], max_total_bytes=len(png) // 3)
    assert file.size <= len(png) // 3
    assert read_credentials(file.data, file.content_type).present is False
