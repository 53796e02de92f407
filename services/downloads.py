"""Downloads of user files, capped before and during the transfer, with one "too large" sentence.

A declared size (Discord's attachment size, Slack's file size, ``Content-Length``) refuses a file
without reading a byte; the stream itself stops at the cap too, in case the declared size lied::

    check_size(attachment.size, max_bytes=limits.max_input_bytes, what="image")
    data = await read_capped(response.content.iter_chunked(65536), max_bytes=..., what="image")

What the bytes are is decided later, by sniffing (:func:`services.images.load_input_image`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from services.errors import InvalidRequest

__all__ = ["FileTooLarge", "check_size", "read_capped"]

_MB = 1024 * 1024


class FileTooLarge(InvalidRequest):
    """A user's file over the cap; the message names both sizes when the file's is known."""

    def __init__(self, what: str, size: int | None, max_bytes: int) -> None:
        limit = f"{max_bytes / _MB:.1f} MB"
        if size:
            message = f"The {what} is {size / _MB:.1f} MB; the largest I accept is {limit}."
        else:
            message = f"The {what} is larger than {limit}, the largest I accept."
        super().__init__(
            f"{message} Please upload a smaller file.", log_detail=f"{what} bytes={size} limit={max_bytes}"
        )


def check_size(size: int | None, *, max_bytes: int, what: str) -> None:
    """Refuse a declared size over the cap (no I/O)."""
    if size is not None and size > max_bytes:
        raise FileTooLarge(what, size, max_bytes)


async def read_capped(chunks: AsyncIterator[bytes], *, max_bytes: int, what: str) -> bytes:
    """All of ``chunks``, or :class:`FileTooLarge` as soon as they pass ``max_bytes``."""
    data = bytearray()
    async for chunk in chunks:
        data += chunk
        if len(data) > max_bytes:
            raise FileTooLarge(what, None, max_bytes)
    return bytes(data)
