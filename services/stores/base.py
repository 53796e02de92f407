"""What :class:`services.store.ImageStore` needs from wherever image bytes live.

Keys are relative, slash-separated and built by the facade only (``originals/<job>/<i>.png``,
``inputs/<sha256>.png``); never from user input. Every implementation writes atomically
(a reader sees the whole object or none) and raises only :class:`~services.errors.StorageError`
subclasses, with the operator's detail in ``log_detail``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["BlobStore"]


@runtime_checkable
class BlobStore(Protocol):
    """Bytes by key: a local or shared filesystem, or an S3-compatible bucket."""

    @property
    def description(self) -> str:
        """Where the bytes go, for logs and ``easel check`` (never a secret)."""
        ...

    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` whole or not at all, replacing an earlier object."""
        ...

    async def get(self, key: str) -> bytes | None:
        """The bytes under ``key``; ``None`` when there is no such object."""
        ...

    async def delete_prefix(self, prefix: str) -> None:
        """Delete every object whose key starts with ``prefix`` (which ends with ``/``)."""
        ...

    async def probe(self) -> str:
        """Write, read back and delete a probe object; what was verified, or a StorageError."""
        ...

    async def close(self) -> None:
        """Release connections; the store may not be used afterwards."""
        ...
