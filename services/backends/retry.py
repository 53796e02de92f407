"""The retry policy every HTTP backend shares: bounded, jittered, honouring ``Retry-After``.

Usage::

    policy = RetryPolicy(max_attempts=4, base_delay_s=1.0)

    async def attempt() -> Reply:
        reply = await send()
        if is_transient_status(reply.status):
            raise TransientError(f"HTTP {reply.status}", retry_after_s=parse_retry_after(...))
        return reply

    reply = await call_with_retries(attempt, policy, backend="stability", operation="text-to-image")

An attempt asks for another try by raising :class:`TransientError` (429, 5xx) or by
letting a transport error escape (connection refused/reset, timeouts). Anything else
propagates at once. When the attempts run out the caller gets
:class:`~services.errors.BackendUnavailable` (the user is told to try again later);
the last failure is its ``__cause__`` and is summarised in ``log_detail``.

Retrying a generation after a timeout can, rarely, bill the same job twice at the
provider; bounded attempts keep that rare and the user's job still either succeeds
or is refunded.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import aiohttp
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_base, wait_exponential, wait_random

from services.errors import BackendUnavailable

__all__ = [
    "RetryPolicy",
    "TransientError",
    "call_with_retries",
    "is_transient_error",
    "is_transient_status",
    "parse_retry_after",
]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try. Tests pass a tiny ``base_delay_s`` to stay fast.

    The n-th wait is ``base_delay_s * 2**(n-1)`` plus up to ``base_delay_s`` of jitter,
    at most ``max_delay_s``; a server's ``Retry-After`` is honoured up to
    ``max_retry_after_s`` (a chat user should not wait minutes for one image).
    """

    max_attempts: int = 4
    base_delay_s: float = 1.0
    max_delay_s: float = 20.0
    max_retry_after_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay_s < 0 or self.max_delay_s < 0 or self.max_retry_after_s < 0:
            raise ValueError("retry delays must not be negative")


class TransientError(Exception):
    """One attempt failed in a way another attempt may fix (HTTP 429/5xx).

    ``detail`` goes to logs only; it must not contain secrets.
    """

    def __init__(self, detail: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after_s = retry_after_s


def is_transient_status(status: int) -> bool:
    """HTTP statuses worth another attempt: request timeout, rate limit, server errors."""
    return status in (408, 429) or 500 <= status <= 599


def is_transient_error(exc: BaseException) -> bool:
    """Whether ``exc`` (raised by one attempt) deserves another attempt."""
    if isinstance(exc, TransientError):
        return True
    if isinstance(exc, aiohttp.ClientSSLError):
        return False  # certificate trouble does not fix itself in a second
    return isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError | TimeoutError)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or HTTP-date form); ``None`` if absent/garbled."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


class _BackoffOrRetryAfter(wait_base):
    """Exponential backoff with jitter, but never sooner than the server's ``Retry-After``."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        # wait_exponential + wait_random rather than wait_exponential_jitter, whose first argument
        # was renamed in tenacity 9.2 (``initial`` → ``multiplier``): this spelling works on every
        # tenacity the dependencies allow (google-genai caps it below 9.2).
        self._backoff = wait_exponential(
            multiplier=policy.base_delay_s, max=policy.max_delay_s
        ) + wait_random(0, policy.base_delay_s)

    def __call__(self, retry_state: RetryCallState) -> float:
        delay = min(self._backoff(retry_state), self._policy.max_delay_s)
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(exc, TransientError) and exc.retry_after_s is not None:
            delay = max(delay, min(exc.retry_after_s, self._policy.max_retry_after_s))
        return delay


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown failure"
    if isinstance(exc, TransientError):
        return exc.detail
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    backend: str,
    operation: str,
) -> T:
    """Run ``attempt`` until it returns, fails for good, or ``policy`` runs out of attempts.

    Raises :class:`BackendUnavailable` once transient failures exhaust the attempts;
    any other exception from ``attempt`` propagates unchanged.
    """

    async def before_sleep(state: RetryCallState) -> None:
        outcome = state.outcome
        log.warning(
            "backend.retry",
            extra={
                "backend": backend,
                "operation": operation,
                "attempt": state.attempt_number,
                "max_attempts": policy.max_attempts,
                "wait_s": round(state.upcoming_sleep, 3),
                "reason": _describe(outcome.exception() if outcome is not None else None),
            },
        )

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.max_attempts),
        wait=_BackoffOrRetryAfter(policy),
        retry=retry_if_exception(is_transient_error),
        before_sleep=before_sleep,
        sleep=asyncio.sleep,
        reraise=True,
    )
    try:
        return await retrying(attempt)
    except Exception as exc:
        if not is_transient_error(exc):
            raise
        detail = f"{operation}: gave up after {policy.max_attempts} attempt(s): {_describe(exc)}"
        log.warning(
            "backend.gave_up",
            extra={
                "backend": backend,
                "operation": operation,
                "attempts": policy.max_attempts,
                "reason": _describe(exc),
            },
        )
        raise BackendUnavailable(log_detail=detail) from exc
