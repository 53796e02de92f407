"""Client-side pacing of every request easel sends with one API key, so the provider never says 429.

Usage::

    limiter = shared_limiter("https://api.stability.ai", api_key)   # one per host + key, process-wide
    await limiter.acquire()                                          # before every HTTP request
    ...
    if status == 429:
        limiter.pause(retry_after_s)                                 # everybody backs off, not just us

Stability allows 150 requests in any 10 s window per key and answers the 151st with 429
(and a 60 s lock-out). Every request counts — generations, polls for async results,
balance checks — so every backend instance that uses the key shares one limiter.

Why these numbers (:class:`RateBudget`): a leaky bucket (``aiolimiter.AsyncLimiter``) of
capacity ``burst`` that drains at ``rate_per_s`` lets through at most
``burst + rate_per_s * T`` acquisitions in *any* interval of length ``T``: the bucket
holds at most ``burst`` at the end of the interval, starts with at least 0, and only
``rate_per_s * T`` drained out in between. With the defaults that is
``2 + 14.3 * 10 = 145`` per 10 s, five under the provider's 150. The server counts
*arrivals*, which lag acquisitions by a varying delay ``d`` (connection set-up, a busy
event loop): its window then holds at most ``145 + 14.3 * d``, still under 150 for any
``d`` up to 0.35 s (measured: ~0.15 s when 300 jobs start at once, hence the small
burst). A sliding window of our own could send 150 at once, but would put the whole
margin at one instant; the bucket spreads requests evenly instead.

A limiter works per event loop (``aiolimiter`` refuses to be shared between loops), so
tests that each run their own loop never see one another's state.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import threading
import weakref
from dataclasses import dataclass

from aiolimiter import AsyncLimiter

__all__ = [
    "STABILITY_BUDGET",
    "RateBudget",
    "RateLimiter",
    "reset_shared_limiters",
    "shared_limiter",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RateBudget:
    """A provider's rule (``max_requests`` per any ``period_s`` window) and how easel stays under it.

    ``burst`` requests may leave at once; after that they are paced at :attr:`rate_per_s`.
    ``headroom`` requests of the window are never used (slack for network reordering).
    """

    max_requests: int = 150
    period_s: float = 10.0
    burst: int = 2
    headroom: int = 5
    max_pause_s: float = 60.0  # longest a 429 may stop everybody (Stability's lock-out)

    def __post_init__(self) -> None:
        if self.period_s <= 0 or not math.isfinite(self.period_s):
            raise ValueError("period_s must be a positive number of seconds")
        if self.burst < 1 or self.headroom < 0:
            raise ValueError("burst must be at least 1 and headroom not negative")
        if self.burst + self.headroom >= self.max_requests:
            raise ValueError("burst + headroom must leave room for paced requests")

    @property
    def rate_per_s(self) -> float:
        """The steady pace: what is left of the window after burst and headroom, spread over it."""
        return (self.max_requests - self.headroom - self.burst) / self.period_s

    @property
    def max_in_window(self) -> int:
        """The most requests that can leave in any ``period_s`` window (``burst + rate * period``)."""
        return self.max_requests - self.headroom


STABILITY_BUDGET = RateBudget()
"""Stability AI: 150 requests per 10 s per key; easel sends at most 145 (2 at once, then 14.3/s)."""

MAX_SHARING_PROCESSES = 37  # past this a process's share leaves no room for paced requests


def shared_budget(processes: int, budget: RateBudget = STABILITY_BUDGET) -> RateBudget:
    """One process's share of ``budget`` when ``processes`` easel processes use the same key.

    The limiter paces one process; gateways and workers sharing a key (issue 15) would each send
    the whole allowance. Each gets ``max_requests // processes`` with the burst and headroom cut
    to fit (at least 1 headroom each, so the shares together stay under the provider's rule).
    """
    if processes < 1 or processes > MAX_SHARING_PROCESSES:
        raise ValueError(f"processes must be from 1 to {MAX_SHARING_PROCESSES}")
    if processes == 1:
        return budget
    share = budget.max_requests // processes
    return RateBudget(
        max_requests=share,
        period_s=budget.period_s,
        burst=min(budget.burst, max(1, share // 4)),
        headroom=max(1, budget.headroom // processes),
        max_pause_s=budget.max_pause_s,
    )


class RateLimiter:
    """Paces requests to one budget; one instance is shared by everything that uses the same key.

    ``acquire()`` waits for a slot (first come, first served); ``pause(seconds)`` holds
    every caller back after the provider said 429 anyway (another process on the key?).
    """

    def __init__(self, budget: RateBudget = STABILITY_BUDGET, *, name: str = "stability") -> None:
        self.budget = budget
        self.name = name
        self._buckets: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncLimiter] = (
            weakref.WeakKeyDictionary()
        )
        self._paused_until: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, float] = (
            weakref.WeakKeyDictionary()
        )
        self.acquired = 0
        self.waited_s = 0.0
        self.pauses = 0

    def __repr__(self) -> str:
        b = self.budget
        return (
            f"RateLimiter({self.name!r}, {b.max_requests}/{b.period_s:g}s, burst={b.burst}, "
            f"rate={b.rate_per_s:g}/s)"
        )

    def _bucket(self, loop: asyncio.AbstractEventLoop) -> AsyncLimiter:
        bucket = self._buckets.get(loop)
        if bucket is None:
            budget = self.budget
            bucket = AsyncLimiter(budget.burst, budget.burst / budget.rate_per_s)
            self._buckets[loop] = bucket
        return bucket

    async def acquire(self) -> None:
        """Wait until one more request may leave without breaking the budget."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        # a deadline that may move later while we sleep (another 429): not an Event's job
        while (remaining := self._paused_until.get(loop, 0.0) - loop.time()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(remaining)
        await self._bucket(loop).acquire()
        waited = loop.time() - started
        self.acquired += 1
        self.waited_s += waited
        if waited >= 1.0:
            log.debug("rate_limit.waited", extra={"limiter": self.name, "wait_s": round(waited, 3)})

    def pause(self, seconds: float | None = None) -> None:
        """Hold every caller back for ``seconds`` (default: one whole window), after a 429.

        Must be called from the event loop that uses the limiter.
        """
        loop = asyncio.get_running_loop()
        budget = self.budget
        delay = budget.period_s if seconds is None else seconds
        if not math.isfinite(delay) or delay <= 0:
            return
        delay = min(delay, budget.max_pause_s)
        until = loop.time() + delay
        if until > self._paused_until.get(loop, 0.0):
            self._paused_until[loop] = until
            self.pauses += 1
            log.warning("rate_limit.paused", extra={"limiter": self.name, "pause_s": round(delay, 3)})


_REGISTRY: dict[tuple[str, str], RateLimiter] = {}
_REGISTRY_LOCK = threading.Lock()


def _key_id(api_key: str) -> str:
    """A short, irreversible name for a key (the key itself is never stored or logged)."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:16]


def shared_limiter(host: str, api_key: str, budget: RateBudget = STABILITY_BUDGET) -> RateLimiter:
    """The process-wide limiter for ``api_key`` at ``host`` (created on first use).

    Raises ``ValueError`` if that key already has a limiter with a different budget:
    two budgets for one key would each think they own the whole allowance.
    """
    key = (host.strip().rstrip("/").lower(), _key_id(api_key))
    with _REGISTRY_LOCK:
        limiter = _REGISTRY.get(key)
        if limiter is None:
            limiter = RateLimiter(budget, name=f"{key[0]}#{key[1][:8]}")
            _REGISTRY[key] = limiter
        elif limiter.budget != budget:
            raise ValueError("this API key already has a rate limiter with a different budget")
        return limiter


def reset_shared_limiters() -> None:
    """Forget every shared limiter (tests, or after an operator rotates keys)."""
    with _REGISTRY_LOCK:
        _REGISTRY.clear()
