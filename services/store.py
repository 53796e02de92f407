"""Clean originals and job inputs in the image store, their parameters in SQLite.

Usage::

    store = ImageStore(settings.data_dir, db)                   # files under the data dir (default)
    store = ImageStore(settings.data_dir, db, blobs)            # or any services.stores.BlobStore
    await store.save_original(job_id, 0, generated_image)      # before the watermark is applied
    image = await store.load_original(job_id, 0)               # InputImage, for upscale/vary
    ref = await store.put_input(request.init_image)            # content-addressed
    image = await store.load_input(ref)

Layout under the data dir (or the ``EASEL_STORE_URL`` directory or bucket prefix)::

    originals/<job_id>/<index>.png     what the backend returned, never watermarked
    inputs/<sha256>.png                init/mask images of jobs, so queued jobs survive restarts

Writes are atomic in every :class:`~services.stores.BlobStore` (temp file + rename, or one S3
PUT); a full disk raises :class:`~services.errors.StorageFull`, a failing bucket
:class:`~services.errors.StorageUnavailable`, and neither leaves a partial image. Keys never come
from user input: job ids and indexes are looked up in SQLite, and job ids must match a strict
pattern before touching storage.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.db import Database, Row
from services.errors import JobNotFound
from services.stores import BlobStore, FilesystemBlobStore
from services.types import FinishReason, GeneratedImage, InputImage

__all__ = ["ImageRef", "ImageStore", "StoredImage", "png_has_alpha"]

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_INDEX = 2**31


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A stored input image: content address plus what :class:`InputImage` needs besides bytes.

    Defined here, beside the store that addresses inputs by it, so the store depends on no
    job module; :mod:`services.jobs.codec` writes it into job rows.
    """

    sha256: str
    width: int
    height: int
    has_alpha: bool = False

    @classmethod
    def of(cls, image: InputImage) -> ImageRef:
        """Hash ``image`` (CPU: call it off the loop for large images)."""
        return cls(hashlib.sha256(image.png).hexdigest(), image.width, image.height, image.has_alpha)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
            "has_alpha": self.has_alpha,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImageRef:
        sha = str(data["sha256"])
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise ValueError("not a sha256 hex digest")
        return cls(sha, int(data["width"]), int(data["height"]), bool(data.get("has_alpha", False)))


@dataclass(frozen=True, slots=True)
class StoredImage:
    """One stored clean original (a row of ``images``)."""

    job_id: str
    index: int
    seed: int
    width: int
    height: int
    key: str  # in the image store: ``originals/<job_id>/<index>.png``
    finish_reason: FinishReason


def png_has_alpha(png: bytes) -> bool:
    """Whether a PNG declares an alpha channel or transparency, read from its chunks (no decode)."""
    if not png.startswith(_PNG_SIGNATURE) or len(png) < 33:
        return False
    if png[25] in (4, 6):  # IHDR colour type: grey+alpha, RGBA
        return True
    return b"tRNS" in png[33 : 33 + 4096]  # tRNS precedes IDAT, right after IHDR/PLTE


def _verified(data: bytes | None, sha256: str) -> bytes | None:
    return data if data is not None and hashlib.sha256(data).hexdigest() == sha256 else None


class ImageStore:
    """Stores originals and inputs in ``blobs``, by default files under ``data_dir`` (see module docstring)."""

    def __init__(self, data_dir: Path | str, db: Database, blobs: BlobStore | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.db = db
        self.blobs: BlobStore = blobs or FilesystemBlobStore(self.data_dir)

    async def close(self) -> None:
        """Release the store's connections (an S3 client); files need nothing."""
        await self.blobs.close()

    # Originals --------------------------------------------------------------------------

    def _original_relpath(self, job_id: str, index: int) -> str:
        if not _SAFE_ID.match(job_id) or index < 0:
            raise ValueError(f"bad job id or index: {job_id!r}/{index}")
        return f"originals/{job_id}/{index}.png"

    async def save_original(self, job_id: str, index: int, image: GeneratedImage) -> StoredImage:
        """Write the clean original of image ``index`` of ``job_id`` (replacing an earlier one)."""
        rel = self._original_relpath(job_id, index)
        await self.blobs.put(rel, image.png)
        await self.db.execute(
            "INSERT INTO images (job_id, idx, seed, width, height, path, finish_reason, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id, idx) DO UPDATE SET seed = excluded.seed,"
            " width = excluded.width, height = excluded.height, path = excluded.path,"
            " finish_reason = excluded.finish_reason, created_at = excluded.created_at",
            (
                job_id,
                index,
                image.seed,
                image.width,
                image.height,
                rel,
                image.finish_reason.value,
                time.time(),
            ),
        )
        return StoredImage(job_id, index, image.seed, image.width, image.height, rel, image.finish_reason)

    async def list_originals(self, job_id: str) -> list[StoredImage]:
        rows = await self.db.fetchall("SELECT * FROM images WHERE job_id = ? ORDER BY idx", (job_id,))
        return [self._stored(row) for row in rows]

    async def get_original(self, job_id: str, index: int) -> StoredImage:
        """The parameters of one stored original; :class:`JobNotFound` if there is none."""
        if not 0 <= index < _MAX_INDEX:  # forged button ids: SQLite cannot even bind a huge int
            raise JobNotFound(log_detail=f"no stored original {job_id}/{index}")
        row = await self.db.fetchone("SELECT * FROM images WHERE job_id = ? AND idx = ?", (job_id, index))
        if row is None:
            raise JobNotFound(log_detail=f"no stored original {job_id}/{index}")
        return self._stored(row)

    async def load_original(self, job_id: str, index: int) -> InputImage:
        """The clean original as an :class:`InputImage`; :class:`JobNotFound` if it is gone."""
        stored = await self.get_original(job_id, index)
        png = await self.blobs.get(stored.key)
        if png is None:
            raise JobNotFound(log_detail=f"original missing for {job_id}/{index} in {self.blobs.description}")
        return InputImage(png=png, width=stored.width, height=stored.height, has_alpha=png_has_alpha(png))

    async def delete_job_images(self, job_id: str) -> int:
        """Forget and delete every original of ``job_id``; returns how many rows went."""
        deleted = await self.db.execute("DELETE FROM images WHERE job_id = ?", (job_id,))
        if _SAFE_ID.match(job_id):
            await self.blobs.delete_prefix(f"originals/{job_id}/")
        return deleted

    def _stored(self, row: Row) -> StoredImage:
        return StoredImage(
            job_id=row["job_id"],
            index=int(row["idx"]),
            seed=int(row["seed"]),
            width=int(row["width"]),
            height=int(row["height"]),
            key=row["path"],
            finish_reason=FinishReason(row["finish_reason"]),
        )

    # Inputs (content-addressed) -----------------------------------------------------------

    @staticmethod
    def _input_key(sha256: str) -> str:
        return f"inputs/{sha256}.png"

    async def ref_for(self, image: InputImage) -> ImageRef:
        """Hash an input image off the event loop."""
        return await asyncio.to_thread(ImageRef.of, image)

    async def put_input(self, image: InputImage, ref: ImageRef | None = None) -> ImageRef:
        """Store an input image once per content; returns its reference."""
        resolved = ref or await self.ref_for(image)
        key = self._input_key(resolved.sha256)
        if await self._read_verified(key, resolved.sha256) is None:
            await self.blobs.put(key, image.png)
        return resolved

    async def load_input(self, ref: ImageRef) -> InputImage:
        """Read a stored input back; :class:`JobNotFound` if it is missing or damaged."""
        png = await self._read_verified(self._input_key(ref.sha256), ref.sha256)
        if png is None:
            raise JobNotFound(
                "The image this job was working on is gone, so it could not continue.",
                log_detail=f"input {ref.sha256} missing or damaged",
            )
        return InputImage(png=png, width=ref.width, height=ref.height, has_alpha=ref.has_alpha)

    async def _read_verified(self, key: str, sha256: str) -> bytes | None:
        """The bytes under ``key`` if they hash to ``sha256`` (hashed off the loop), else ``None``."""
        data = await self.blobs.get(key)
        if data is None:
            return None
        return await asyncio.to_thread(_verified, data, sha256)
