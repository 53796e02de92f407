"""Downloading a user's attachment, bounded before and during the transfer.

Discord tells us an attachment's size and content type in the interaction, so a 50 MB video is
refused without downloading a byte; the download stops at the byte limit too, in case the declared
size was wrong (:mod:`services.downloads`). What the bytes really are is decided later, by
sniffing (:func:`services.images.load_input_image`), never by the file name.
"""

from __future__ import annotations

import aiohttp
import discord

from services.backends.base import BackendLimits
from services.downloads import check_declared_type, check_size, fetch_capped

__all__ = ["AttachmentFetcher"]


class AttachmentFetcher:
    """Owns the HTTP session used for attachment downloads (open with :meth:`start`)."""

    def __init__(self, timeout_s: float = 30.0) -> None:
        self._timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @staticmethod
    def check(attachment: discord.Attachment, limits: BackendLimits, *, what: str) -> None:
        """What can be refused from the interaction alone (no I/O)."""
        name = discord.utils.escape_markdown(attachment.filename)
        check_declared_type(attachment.content_type, name, what=what)
        check_size(attachment.size, max_bytes=limits.max_input_bytes, what=what)

    async def fetch(self, attachment: discord.Attachment, limits: BackendLimits, *, what: str) -> bytes:
        self.check(attachment, limits, what=what)
        if self._session is None:
            raise RuntimeError("AttachmentFetcher.start() was not called")
        max_bytes = limits.max_input_bytes
        return await fetch_capped(
            self._session, attachment.url, max_bytes=max_bytes, what=what, source="Discord"
        )
