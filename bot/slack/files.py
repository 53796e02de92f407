"""Download a user's Slack upload (``url_private``) with the bot token, and nothing else.

The bot token opens every file the bot can see, so it is only ever sent to Slack's own file
hosts (or, in tests and behind proxies, to the host of ``SLACK_API_URL``). A URL anywhere else is
refused before any connection is made; redirects are followed by hand so the token never follows a
redirect off those hosts. Size is capped while streaming; format, pixel and decoding checks are
the same as for every other upload (``services.images.load_input_image`` inside the commands); the
transfer is :func:`services.downloads.fetch_capped`::

    fetcher = SlackFileFetcher(session, token, api_url="https://slack.com/api/")
    data = await fetcher.download(file_obj, max_bytes=limits.max_input_bytes, what="image")
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from services.downloads import check_size, fetch_capped
from services.errors import InvalidRequest
from services.images import sniff_format

__all__ = ["SLACK_FILE_HOSTS", "SlackFileFetcher", "is_slack_file_host"]

log = logging.getLogger(__name__)

#: Hosts that serve ``url_private`` (and their subdomains).
SLACK_FILE_HOSTS = ("slack.com", "slack-edge.com", "slack-files.com")


def is_slack_file_host(url: str, extra_hosts: frozenset[str] = frozenset()) -> bool:
    """True when ``url`` is https on a Slack file host, or on one of ``extra_hosts`` (host:port)."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port out of range or not a number
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if not host:
        return False
    netloc = f"{host}:{port}" if port else host
    if netloc in extra_hosts:
        return parts.scheme in ("http", "https")
    if parts.scheme != "https" or port not in (None, 443):
        return False
    return any(host == h or host.endswith("." + h) for h in SLACK_FILE_HOSTS)


def _netloc(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port else host


class SlackFileFetcher:
    """Fetches Slack-hosted files for one workspace's bot token."""

    def __init__(self, session: aiohttp.ClientSession, token: str, *, api_url: str) -> None:
        self._session = session
        self._token = token
        self._extra_hosts = frozenset({_netloc(api_url)}) - {"slack.com"}

    def allowed(self, url: str) -> bool:
        return is_slack_file_host(url, self._extra_hosts)

    async def download(self, file: Mapping[str, Any], *, max_bytes: int, what: str = "image") -> bytes:
        """The bytes of a Slack file object (as found in a modal's file_input or a message).

        Raises :class:`InvalidRequest` with a message fit for the user when the file is not on a
        Slack host, too large, not an image, or cannot be fetched.
        """
        url = file.get("url_private_download") or file.get("url_private")
        name = str(file.get("name") or "file")
        if not isinstance(url, str) or not url:
            raise InvalidRequest(f"I can't open the {what} “{name}”: Slack gave me no link to it.")
        if not self.allowed(url):
            log.warning(
                "slack.file_refused", extra={"host": urlsplit(url).hostname, "file_id": file.get("id")}
            )
            raise InvalidRequest(
                f"I only download files stored by Slack itself, and the {what} “{name}” is hosted "
                "elsewhere. Please upload the picture to Slack directly."
            )
        size = file.get("size")
        check_size(size if isinstance(size, int) else None, max_bytes=max_bytes, what=what)
        headers = {"Authorization": f"Bearer {self._token}"}
        data = await fetch_capped(
            self._session,
            url,
            max_bytes=max_bytes,
            what=f"{what} “{name}”",
            source="Slack",
            headers=headers,
            allowed=self.allowed,
        )
        if sniff_format(data) is None:
            # Slack answers with an HTML sign-in page (status 200) when the token cannot see the file.
            raise InvalidRequest(
                f"The {what} “{name}” isn't a picture I can read (or I'm not allowed to open it). "
                "Please upload a PNG, JPEG or WebP to a channel I'm in.",
                log_detail=f"slack file {file.get('id')} magic={data[:8]!r}",
            )
        return data
