"""What the image-store seam costs: ImageStore over a directory and over S3 vs a bare atomic file write.

Every delivered image is saved once as a clean original and read back for each upscale or
variation. This saves and loads 20 originals of 1.5 MB (a 1024² PNG) through
:class:`services.store.ImageStore` with the filesystem store and with the S3 store against a
local S3-compatible server (moto on 127.0.0.1: it measures easel's client path and HTTP, not a
real object store's disk or network), as ratios against writing (temp + fsync + rename) and
reading the same bytes directly, measured in the same run.

Run from the repository root (moto is a dev dependency)::

    python bench/image_store.py
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.db import Database
from services.store import ImageStore
from services.stores import FilesystemBlobStore, S3Location, S3Options, open_blob_store
from services.types import GeneratedImage
from tests.fakes.s3.server import ACCESS_KEY, REGION, SECRET_KEY, FakeS3

IMAGES = 20
SIZE_BYTES = 1_500_000
ROUNDS = 5


def _bare_write_read(root: Path, payload: bytes) -> None:
    for i in range(IMAGES):
        path = root / f"{i}.png"
        tmp = root / f".{i}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        path.read_bytes()


async def _through(store: ImageStore, payload: bytes) -> None:
    job = uuid.uuid4().hex
    for i in range(IMAGES):
        await store.save_original(job, i, GeneratedImage(payload, seed=i, width=1024, height=1024))
        await store.load_original(job, i)
    await store.delete_job_images(job)


async def _median_s(run: Callable[[], Awaitable[None]]) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        await run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def main() -> None:
    payload = b"\x89PNG\r\n\x1a\n" + os.urandom(SIZE_BYTES)
    server = FakeS3().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            db = await Database.open(root / "data")
            bare_dir = root / "bare"
            bare_dir.mkdir()
            files = ImageStore(root / "data", db, FilesystemBlobStore(root / "files"))
            bucket = server.new_bucket()
            options = S3Options(server.endpoint_url, REGION, ACCESS_KEY, SECRET_KEY)
            s3 = ImageStore(root / "data", db, open_blob_store(S3Location(bucket, "bench/"), root, options))
            try:
                bare = await _median_s(lambda: asyncio.to_thread(_bare_write_read, bare_dir, payload))
                fs = await _median_s(lambda: _through(files, payload))
                obj = await _median_s(lambda: _through(s3, payload))
            finally:
                await s3.close()
                await db.close()
    finally:
        server.stop()
    per = 1000 / IMAGES
    print(f"{IMAGES} originals of {SIZE_BYTES / 1e6:.1f} MB saved and loaded, median of {ROUNDS} rounds")
    print(f"bare write+fsync+rename+read : {bare * per:7.1f} ms per image (baseline)")
    print(f"ImageStore, filesystem store : {fs * per:7.1f} ms per image  ratio {fs / bare:.2f}")
    print(f"ImageStore, S3 store (moto)  : {obj * per:7.1f} ms per image  ratio {obj / bare:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
