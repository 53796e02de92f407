"""What the fake Slack holds and records: calls, files, messages (plain dataclasses tests read)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SlackCall:
    """One request the fake received."""

    method: str  # "chat.postMessage", …, or "upload", "download", "response_url"
    params: Mapping[str, Any]
    token: str | None
    path: str
    at: float  # time.monotonic()
    body: bytes = b""
    status: int = 200
    response: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok", True))


@dataclass
class _Injected:
    error: str
    status: int
    retry_after: int | None
    times: int


@dataclass
class StoredFile:
    """A file held by the fake (uploaded by the app or added by a test as a user's upload)."""

    id: str
    name: str
    title: str
    mimetype: str
    data: bytes
    user: str
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None
    thread_ts: str | None = None
    url_private: str = ""
    completed: bool = False
    shares: dict[str, str] = field(default_factory=dict)  # channel -> ts of the message sharing it

    def to_api(self) -> dict[str, Any]:
        filetype = self.name.rsplit(".", 1)[-1].lower() if "." in self.name else "binary"
        return {
            "id": self.id,
            "created": int(time.time()),
            "name": self.name,
            "title": self.title,
            "mimetype": self.mimetype,
            "filetype": filetype,
            "user": self.user,
            "size": len(self.data),
            "url_private": self.url_private,
            "url_private_download": self.url_private + "?download=1" if self.url_private else "",
            "channels": list(self.channels),
            "is_public": True,
            "shares": {
                "public": {ch: [{"ts": ts, "channel_name": "general"}] for ch, ts in self.shares.items()}
            },
        }


@dataclass
class StoredMessage:
    channel: str
    ts: str
    user: str
    text: str
    blocks: list[Any]
    files: list[str] = field(default_factory=list)
    thread_ts: str | None = None
    deleted: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)  # previous versions (chat.update)
