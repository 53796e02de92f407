"""Downloads of user files, capped before and during the transfer, with one "too large" sentence.

A declared size (Discord's attachment size, Slack's file size, ``Content-Length``) refuses a file
without reading a byte; the stream itself stops at the cap too, in case the declared size lied.
Redirects are followed by hand, each target checked by ``allowed``, so credentials in ``headers``
(Slack's bot token) never follow a redirect to a host that must not see them::

    check_size(attachment.size, max_bytes=limits.max_input_bytes, what="image")
    data = await fetch_capped(session, url, max_bytes=..., what="image", source="Discord")

What the bytes are is decided later, by sniffing (:func:`services.images.load_input_image`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from urllib.parse import urljoin, urlsplit

import aiohttp

from services.errors import InvalidRequest
from services.over_limit import over_and_limit

__all__ = [
    "IMAGE_TYPES",
    "FileTooLarge",
    "check_declared_type",
    "check_size",
    "fetch_capped",
    "looks_like_image",
    "read_capped",
]

log = logging.getLogger(__name__)

_MB = 1024 * 1024
_CHUNK = 64 * 1024
_REDIRECTS = (301, 302, 303, 307, 308)
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/jpg")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


class FileTooLarge(InvalidRequest):
    """A user's file over the cap; the message names both sizes when the file's is known."""

    def __init__(self, what: str, size: int | None, max_bytes: int) -> None:
        limit = f"{max_bytes / _MB:.1f} MB"
        if size:
            yours, most = over_and_limit(size, max_bytes, scale=_MB, trim=False)
            message = f"The {what} is {yours} MB; the largest I accept is {most} MB."
        else:
            message = f"The {what} is larger than {limit}, the largest I accept."
        super().__init__(
            f"{message} Please upload a smaller file.", log_detail=f"{what} bytes={size} limit={max_bytes}"
        )


def looks_like_image(mimetype: str, name: str) -> bool:
    """What a platform declares looks like a picture easel takes. Only a first filter: the bytes are
    sniffed later; a file with neither a type nor a name (a stub to look up) passes."""
    mimetype = mimetype.split(";")[0].strip().lower()
    if not mimetype and not name:
        return True
    return mimetype.startswith("image/") or name.lower().endswith(_IMAGE_SUFFIXES)


def check_declared_type(content_type: str | None, filename: str, *, what: str) -> None:
    """Refuse a file whose declared type is not PNG, JPEG or WebP, before downloading it.
    ``filename`` is quoted as given: the caller escapes it for its platform's markup."""
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared and declared not in IMAGE_TYPES:
        raise InvalidRequest(f"The {what} must be a PNG, JPEG or WebP picture; “{filename}” is {declared}.")


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


async def fetch_capped(
    session: aiohttp.ClientSession,
    url: str,
    *,
    max_bytes: int,
    what: str,
    source: str,
    headers: Mapping[str, str] | None = None,
    allowed: Callable[[str], bool] = lambda url: True,
    max_redirects: int = 3,
    timeout_s: float = 60.0,
) -> bytes:
    """GET ``url`` within ``max_bytes``; any failure is an :class:`InvalidRequest` naming ``what``
    and where it lives (``source``: "Discord", "Slack"), never the URL."""

    def failed(detail: str) -> InvalidRequest:
        log.warning("download.failed", extra={"source": source, "detail": detail})
        return InvalidRequest(
            f"I couldn't download the {what} from {source}. Please try again.", log_detail=detail
        )

    timeout = aiohttp.ClientTimeout(total=timeout_s)
    for _ in range(max_redirects + 1):
        try:
            async with session.get(url, headers=headers, allow_redirects=False, timeout=timeout) as resp:
                if resp.status in _REDIRECTS:
                    url = urljoin(url, resp.headers.get("Location", ""))
                    if not allowed(url):
                        raise failed(f"redirect to {urlsplit(url).hostname} refused")
                    continue
                if resp.status != 200:
                    raise failed(f"HTTP {resp.status}")
                if resp.content_length is not None and resp.content_length > max_bytes:
                    raise FileTooLarge(what, None, max_bytes)  # stop before the body
                return await read_capped(resp.content.iter_chunked(_CHUNK), max_bytes=max_bytes, what=what)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise failed(type(exc).__name__) from exc
    raise failed("too many redirects")
