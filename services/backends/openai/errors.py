"""The ``openai`` SDK's exceptions as easel's (:mod:`services.errors`), one place.

The SDK's own retries are off (``max_retries=0``); easel's policy (:mod:`services.backends.retry`)
retries instead, so every backend backs off, logs and gives up alike:

=====================================  =============================================
the API says                           easel raises
=====================================  =============================================
400 ``moderation_blocked`` /           ``ContentFiltered`` (refund, "try rewording")
``content_policy_violation``
400 / 413 / 422 other                  ``BackendRejected`` with the API's words
401 / 403 / 404, 429 ``insufficient_quota``  ``BackendMisconfigured``
408 / 409 / 429 / 5xx / network        :class:`~services.backends.retry.TransientError` (retried),
                                       then ``BackendUnavailable``
=====================================  =============================================
"""

from __future__ import annotations

from typing import Any

import openai

from services.backends.retry import TransientError, parse_retry_after
from services.errors import (
    BackendError,
    BackendMisconfigured,
    BackendRejected,
    BackendUnavailable,
    ContentFiltered,
)

__all__ = ["FILTER_CODES", "as_easel_error", "retry_after_s"]

FILTER_CODES = frozenset({"moderation_blocked", "content_policy_violation", "image_generation_user_error"})
_MAX_MESSAGE = 300


def retry_after_s(headers: Any) -> float | None:
    """``retry-after-ms`` (OpenAI's own) or ``retry-after`` in seconds, as the SDK reads them."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"))


def _code(exc: openai.APIStatusError) -> str:
    return str(exc.code or "") if isinstance(exc.code, str) else ""


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    text = body.get("message") if isinstance(body.get("message"), str) else None
    text = " ".join((text or exc.message or "").split())
    return text[:_MAX_MESSAGE]


def as_easel_error(exc: openai.OpenAIError, operation: str) -> Exception:
    """The exception to raise for ``exc``: an :class:`EaselError` or a :class:`TransientError` to retry."""
    if isinstance(exc, openai.APIConnectionError):  # includes timeouts
        return TransientError(f"{operation}: {type(exc).__name__}")
    if not isinstance(exc, openai.APIStatusError):
        return BackendUnavailable(log_detail=f"{operation}: {type(exc).__name__}")
    status, code = exc.status_code, _code(exc)
    detail = f"{operation}: HTTP {status} {code or '-'} request_id={exc.request_id or '-'}"
    if code in FILTER_CODES:
        return ContentFiltered(log_detail=detail)
    if status == 429 and code == "insufficient_quota":
        return BackendMisconfigured(log_detail=detail + " (the OpenAI account has no quota left)")
    if status in (408, 409, 429) or status >= 500:
        return TransientError(detail, retry_after_s=retry_after_s(exc.response.headers))
    if status in (401, 403, 404):
        return BackendMisconfigured(log_detail=detail)
    if status in (400, 413, 422):
        message = _message(exc) or "it refused the request"
        return BackendRejected(f"The image service refused this request: {message}", log_detail=detail)
    return BackendError(log_detail=detail)
