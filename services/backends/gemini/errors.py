"""The ``google-genai`` SDK's exceptions as easel's (:mod:`services.errors`).

The SDK's retries are off (its default with no ``retry_options``); easel's policy retries:

=========================================  =========================================
the API says                               easel raises
=========================================  =========================================
400 ``INVALID_ARGUMENT``                   ``BackendRejected`` with the API's words
400 ``API_KEY_INVALID``, 400 ``FAILED_PRECONDITION``, 401 / 403 / 404   ``BackendMisconfigured``
429 ``RESOURCE_EXHAUSTED``, 5xx            :class:`TransientError` (``RetryInfo.retryDelay`` honoured)
network (aiohttp errors, timeouts)         retried by :func:`call_with_retries` as they are
Vertex AI: the token endpoint refuses      ``BackendMisconfigured`` (``RefreshError``: a
the credentials, or none are found         revoked key, a wrong clock; ``DefaultCredentialsError``)
Vertex AI: the token endpoint is down      :class:`TransientError` (``TransportError``,
                                           a retryable ``RefreshError``)
=========================================  =========================================
"""

from __future__ import annotations

from typing import Any

from google.auth import exceptions as auth_exceptions
from google.genai import errors as genai_errors

from services.backends.retry import TransientError
from services.errors import BackendError, BackendMisconfigured, BackendRejected

__all__ = ["as_easel_error", "auth_error", "auth_reason", "retry_delay_s"]

_MAX_MESSAGE = 300


def _details(error: genai_errors.APIError) -> list[dict[str, Any]]:
    body = error.details if isinstance(error.details, dict) else {}
    inner = body.get("error", body)
    details = inner.get("details") if isinstance(inner, dict) else None
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def retry_delay_s(error: genai_errors.APIError) -> float | None:
    """``google.rpc.RetryInfo.retryDelay`` (``"17s"``) in seconds, when the API sent one."""
    for detail in _details(error):
        if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            delay = str(detail.get("retryDelay", "")).removesuffix("s")
            try:
                return max(float(delay), 0.0)
            except ValueError:
                return None
    return None


def _reasons(error: genai_errors.APIError) -> set[str]:
    return {str(d["reason"]) for d in _details(error) if "reason" in d}


def as_easel_error(error: genai_errors.APIError, operation: str) -> Exception:
    """The exception to raise for ``error``: an easel error, or a :class:`TransientError` to retry."""
    code, status = int(error.code or 0), str(error.status or "")
    detail = f"{operation}: HTTP {code} {status or '-'}"
    if code == 429 or code >= 500:
        return TransientError(detail, retry_after_s=retry_delay_s(error))
    if code in (401, 403, 404) or "API_KEY_INVALID" in _reasons(error) or status == "FAILED_PRECONDITION":
        return BackendMisconfigured(log_detail=detail)
    if code == 400:
        message = " ".join(str(error.message or "it refused the request").split())[:_MAX_MESSAGE]
        return BackendRejected(f"The image service refused this request: {message}", log_detail=detail)
    return BackendError(log_detail=detail)


def auth_reason(error: auth_exceptions.GoogleAuthError) -> str:
    """The OAuth error code (``invalid_grant``) or the exception's kind: never the token endpoint's
    whole answer, which may quote the request."""
    first = str(error.args[0]) if error.args else ""
    code = first.partition(":")[0].strip()
    return code if code and len(code) <= 40 and " " not in code else type(error).__name__


def auth_error(error: auth_exceptions.GoogleAuthError, operation: str) -> Exception:
    """The exception to raise when Vertex AI's access token could not be had."""
    detail = f"{operation}: no access token ({auth_reason(error)})"
    if isinstance(error, auth_exceptions.TransportError) or error.retryable:
        return TransientError(detail)
    return BackendMisconfigured(log_detail=detail)
