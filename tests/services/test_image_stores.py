"""One behaviour, two stores: the ImageStore facade over a directory and over a real local S3 server.

The S3 side is moto's server mode on 127.0.0.1 spoken to by aiobotocore's real client, and what
landed in the bucket is read back with an independent boto3 client.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from services.db import Database
from services.errors import JobNotFound
from services.store import ImageStore
from services.stores import FilesystemBlobStore, S3Location, S3Options, open_blob_store
from services.types import GeneratedImage, InputImage
from tests.fakes.backend import render_png
from tests.fakes.s3.server import ACCESS_KEY, REGION, SECRET_KEY, FakeS3


@dataclass
class Backing:
    """Where a test looks behind the facade: the raw bytes under a key, and all keys."""

    kind: str
    root: Path | None = None
    server: FakeS3 | None = None
    bucket: str = ""
    prefix: str = ""

    def keys(self) -> list[str]:
        if self.server is not None:
            return [k.removeprefix(self.prefix) for k in self.server.keys(self.bucket, self.prefix)]
        assert self.root is not None
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())

    def overwrite(self, key: str, data: bytes) -> None:
        if self.server is not None:
            self.server.write(self.bucket, self.prefix + key, data)
        else:
            assert self.root is not None
            (self.root / key).write_bytes(data)


def s3_options(server: FakeS3) -> S3Options:
    return S3Options(
        endpoint_url=server.endpoint_url,
        region=REGION,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )


@pytest.fixture(params=["filesystem", "s3"])
async def backed(
    request: pytest.FixtureRequest, tmp_path: Path, db: Database
) -> AsyncIterator[tuple[ImageStore, Backing]]:
    if request.param == "filesystem":
        root = tmp_path / "shared"
        store = ImageStore(tmp_path / "data", db, FilesystemBlobStore(root))
        backing = Backing("filesystem", root=root)
    else:
        server: FakeS3 = request.getfixturevalue("s3_server")
        bucket = server.new_bucket()
        blobs = open_blob_store(S3Location(bucket, "easel/"), tmp_path / "data", s3_options(server))
        store = ImageStore(tmp_path / "data", db, blobs)
        backing = Backing("s3", server=server, bucket=bucket, prefix="easel/")
    try:
        yield store, backing
    finally:
        await store.close()


def _png(width: int, height: int, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (10, 20, 30, 128)[: len(mode)]).save(out, format="PNG")
    return out.getvalue()


async def test_original_round_trip_is_byte_exact(backed: tuple[ImageStore, Backing]) -> None:
    store, backing = backed
    png = render_png(48, 32, seed=7)
    stored = await store.save_original("job1", 0, GeneratedImage(png, seed=7, width=48, height=32))
    assert stored.key == "originals/job1/0.png"
    assert backing.keys() == ["originals/job1/0.png"]  # nothing else: no temp file or part left over
    loaded = await store.load_original("job1", 0)
    assert (loaded.png, loaded.width, loaded.height, loaded.has_alpha) == (png, 48, 32, False)


async def test_saving_again_replaces_the_original(backed: tuple[ImageStore, Backing]) -> None:
    store, backing = backed
    await store.save_original("job1", 1, GeneratedImage(_png(8, 8), seed=1, width=8, height=8))
    newer = _png(16, 8, "RGBA")
    await store.save_original("job1", 1, GeneratedImage(newer, seed=2, width=16, height=8))
    loaded = await store.load_original("job1", 1)
    assert (loaded.png, loaded.width, loaded.has_alpha) == (newer, 16, True)
    assert backing.keys() == ["originals/job1/1.png"]


async def test_missing_or_hostile_original_is_not_found(backed: tuple[ImageStore, Backing]) -> None:
    store, _ = backed
    with pytest.raises(JobNotFound):
        await store.load_original("nope", 0)
    with pytest.raises(ValueError):
        await store.save_original("../escape", 0, GeneratedImage(_png(8, 8), 1, 8, 8))


async def test_delete_job_images_removes_only_that_job(backed: tuple[ImageStore, Backing]) -> None:
    store, backing = backed
    for i in range(3):
        await store.save_original("job1", i, GeneratedImage(_png(8, 8), i, 8, 8))
    await store.save_original("job10", 0, GeneratedImage(_png(8, 8), 9, 8, 8))  # a prefix of job1's
    assert await store.delete_job_images("job1") == 3
    assert backing.keys() == ["originals/job10/0.png"]
    with pytest.raises(JobNotFound):
        await store.load_original("job1", 0)
    assert (await store.load_original("job10", 0)).width == 8


async def test_inputs_are_content_addressed_and_verified(backed: tuple[ImageStore, Backing]) -> None:
    store, backing = backed
    image = InputImage(png=_png(20, 10, "RGBA"), width=20, height=10, has_alpha=True)
    ref = await store.put_input(image)
    assert await store.put_input(InputImage(image.png, 20, 10, True)) == ref
    assert backing.keys() == [f"inputs/{ref.sha256}.png"]
    assert await store.load_input(ref) == image

    backing.overwrite(f"inputs/{ref.sha256}.png", b"garbage")
    with pytest.raises(JobNotFound) as exc_info:
        await store.load_input(ref)
    assert "gone" in exc_info.value.user_message
    await store.put_input(image)  # the damaged copy is replaced
    assert await store.load_input(ref) == image


async def test_probe_writes_and_removes_its_object(backed: tuple[ImageStore, Backing]) -> None:
    store, backing = backed
    detail = await store.blobs.probe()
    assert "writable" in detail
    assert backing.keys() == []
