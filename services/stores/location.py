"""``EASEL_STORE_URL`` parsed: a directory (``file:///srv/easel`` or a plain path) or ``s3://bucket/prefix``.

Parsed once in the settings, so a malformed URL stops ``easel run`` before anything starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["FileLocation", "S3Location", "S3Options", "StoreLocation", "parse_store_url"]

# S3's bucket naming rules (lower case, digits, dots, hyphens; 3-63 characters).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True, slots=True)
class FileLocation:
    root: Path


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    prefix: str  # "" or ending with "/"

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True, slots=True)
class S3Options:
    """How to reach the bucket; secrets are plain strings here and live only in the client."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    timeout_s: float = 30.0
    max_attempts: int = 3

    def __repr__(self) -> str:  # never show the secret
        return f"S3Options(endpoint_url={self.endpoint_url!r}, region={self.region!r})"


StoreLocation = FileLocation | S3Location


def parse_store_url(url: str) -> StoreLocation:
    """The location ``url`` names; :class:`ValueError` with a readable reason when it names none."""
    text = url.strip()
    if not text:
        raise ValueError("is empty")
    if "://" not in text:
        return FileLocation(Path(text))
    parts = urlsplit(text)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise ValueError("a file URL names a local directory: file:///path/to/dir")
        return FileLocation(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("an s3 URL is s3://bucket/prefix; credentials go in their own variables")
        if not _BUCKET.match(parts.netloc):
            raise ValueError(f"{parts.netloc!r} is not a valid S3 bucket name")
        prefix = parts.path.strip("/")
        return S3Location(parts.netloc, f"{prefix}/" if prefix else "")
    raise ValueError(f"unknown scheme {parts.scheme!r}: use a path, file:///path or s3://bucket/prefix")
