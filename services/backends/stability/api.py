"""What Stability AI's REST APIs say, as values: dialects, replies, error bodies.

Both backends read answers through these; where v1 and v2beta really differ — error bodies
``{id, name, message}`` (v1) or ``{id, name, errors: [...]}`` (v2), v2's 403
``content_moderation``, v2's 404 meaning a missing endpoint — an :class:`ApiDialect` says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = [
    "MAX_USER_MESSAGE_CHARS",
    "V1_DIALECT",
    "V2_DIALECT",
    "ApiDialect",
    "ApiError",
    "Reply",
    "describe",
    "one_line",
]

MAX_USER_MESSAGE_CHARS = 300


def one_line(text: str, limit: int = MAX_USER_MESSAGE_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters (what users and log lines get)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def describe(exc: BaseException) -> str:
    """An exception for logs and ``easel check``: its type, and its text when it has one."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass(frozen=True, slots=True)
class ApiDialect:
    """How one Stability API version speaks where the two differ."""

    host_suffixes: tuple[str, ...]  # API roots people paste into STABILITY_API_HOST; stripped, in order
    errors_list: bool  # error bodies carry ``errors: [...]`` (v2) rather than only ``message`` (v1)
    moderation_403: bool  # 403 ``content_moderation`` means the image was filtered (v2)
    endpoint_404: bool  # 404 means easel called an endpoint this host lacks: the operator's problem (v2)
    specific_4xx: bool  # 413 and 422 get their own user messages (v2)


V1_DIALECT = ApiDialect(
    host_suffixes=("/v1",), errors_list=False, moderation_403=False, endpoint_404=False, specific_4xx=False
)
V2_DIALECT = ApiDialect(
    host_suffixes=("/v2beta", "/v1"),
    errors_list=True,
    moderation_403=True,
    endpoint_404=True,
    specific_4xx=True,
)


@dataclass(frozen=True, slots=True)
class Reply:
    """One HTTP answer, read in full (the image headers only matter to v2)."""

    status: int
    body: bytes
    retry_after: str | None
    content_type: str = ""
    finish_reason: str | None = None
    seed: str | None = None


@dataclass(frozen=True, slots=True)
class ApiError:
    """The API's error body: ``{id, name, message}`` (v1) or ``{id, name, errors: [...]}`` (v2)."""

    name: str
    message: str
    error_id: str

    @classmethod
    def parse(cls, body: bytes, *, errors_list: bool = False) -> ApiError:
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict):
            errors = data.get("errors") if errors_list else None
            if isinstance(errors, list) and errors:
                message = "; ".join(str(e) for e in errors)
            else:
                message = str(data.get("message", ""))
            return cls(str(data.get("name", "")), message, str(data.get("id", "")))
        return cls("", body[:200].decode("utf-8", errors="replace"), "")

    def detail(self, status: int) -> str:
        return f"HTTP {status} {self.name or '-'} id={self.error_id or '-'}: {one_line(self.message, 500)}"
