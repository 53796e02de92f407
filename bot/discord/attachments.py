"""Downloading a user's attachment, bounded before and during the transfer.

Discord tells us an attachment's size and content type in the interaction, so a 50 MB video
is refused without downloading a byte; the download itself stops at the byte limit too, in
case the declared size was wrong. What the bytes really are is decided later, by sniffing
(:func:`services.images.load_input_image`), never by the file name.
"""

from __future__ import annotations

import logging

import aiohttp
import discord

from services.backends.base import BackendLimits
from services.errors import InvalidRequest

__all__ = ["AttachmentFetcher"]

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/jpg")


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f}"


class AttachmentFetcher:
    """Owns the HTTP session used for attachment downloads (open with :meth:`start`)."""

    def __init__(self, timeout_s: float = 30.0) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @staticmethod
    def check(attachment: discord.Attachment, limits: BackendLimits, *, what: str) -> None:
        """What can be refused from the interaction alone (no I/O)."""
        content_type = (attachment.content_type or "").split(";")[0].strip().lower()
        if content_type and content_type not in _IMAGE_TYPES:
            raise InvalidRequest(
                f"The {what} must be a PNG, JPEG or WebP picture; "
                f"“{discord.utils.escape_markdown(attachment.filename)}” is {content_type}."
            )
        if attachment.size > limits.max_input_bytes:
            raise InvalidRequest(
                f"The {what} is {_mb(attachment.size)} MB; the largest I accept is "
                f"{_mb(limits.max_input_bytes)} MB. Please upload a smaller file."
            )

    async def fetch(self, attachment: discord.Attachment, limits: BackendLimits, *, what: str) -> bytes:
        self.check(attachment, limits, what=what)
        if self._session is None:
            raise RuntimeError("AttachmentFetcher.start() was not called")
        data = bytearray()
        try:
            async with self._session.get(attachment.url) as response:
                if response.status != 200:
                    log.warning("discord.attachment_failed", extra={"status": response.status})
                    raise InvalidRequest(f"I couldn't download the {what} from Discord. Please try again.")
                async for chunk in response.content.iter_chunked(_CHUNK):
                    data += chunk
                    if len(data) > limits.max_input_bytes:
                        raise InvalidRequest(
                            f"The {what} is larger than {_mb(limits.max_input_bytes)} MB, the largest I accept. "
                            "Please upload a smaller file."
                        )
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("discord.attachment_failed", extra={"error": type(exc).__name__})
            raise InvalidRequest(f"I couldn't download the {what} from Discord. Please try again.") from exc
        return bytes(data)
