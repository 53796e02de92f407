"""Image bytes as files under a directory: the data dir (default) or a shared mount (NFS, CephFS).

Files are written to a temporary name, fsynced and renamed, so a crash leaves either the whole
file or none; a full disk raises :class:`~services.errors.StorageFull` and leaves none.
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import uuid
from pathlib import Path

from services.errors import StorageError, StorageFull

__all__ = ["FilesystemBlobStore"]

_OUT_OF_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})  # the disk, or the operator's disk quota


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` whole or not at all; no space left is :class:`StorageFull` (nothing half-written)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in _OUT_OF_SPACE:
            raise StorageFull(
                path=str(path), needed_bytes=len(data), log_detail=f"{exc.strerror}: {path}"
            ) from exc
        raise


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


class FilesystemBlobStore:
    """Files under ``root`` (see module docstring)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @property
    def description(self) -> str:
        return f"directory {self.root}"

    def path_of(self, key: str) -> Path:
        return self.root / key

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(_write_atomic, self.path_of(key), data)

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(_read, self.path_of(key))

    async def delete_prefix(self, prefix: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self.path_of(prefix.rstrip("/")), True)

    async def probe(self) -> str:
        key = f".probe/{uuid.uuid4().hex}"
        payload = uuid.uuid4().bytes
        try:
            await self.put(key, payload)
            ok = await self.get(key) == payload
            await self.delete_prefix(".probe/")
        except OSError as exc:
            raise StorageError(log_detail=f"cannot write under {self.root}: {exc.strerror or exc}") from exc
        if not ok:
            raise StorageError(log_detail=f"a probe file written under {self.root} read back different")
        return f"{self.root} is writable (probe file written, read back, deleted)"

    async def close(self) -> None:
        return None
