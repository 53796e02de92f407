"""The ``easel check`` lines both Stability backends print: API reachable, key accepted, credits.

::

    probe = await probe_api(http, "stability api", "/v1/engines/list")
    if probe.reply is None:  # unreachable, key rejected or another status: probe.skipped says which
        ...
    line = credits_result("stability credits", body)
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import aiohttp

from services.backends.stability.api import Reply, describe, one_line
from services.backends.stability.http import StabilityHttp
from services.types import CheckResult

__all__ = ["ApiProbe", "check_balance", "credits_result", "probe_api"]


@dataclass(frozen=True, slots=True)
class ApiProbe:
    """What ``easel check`` learnt from its first request."""

    result: CheckResult  # the API line: reachable and key accepted, or why not
    reply: Reply | None = None  # the 200 answer; None when the API check failed
    skipped: str = ""  # why the checks depending on it were not run ("API unreachable", …)


async def probe_api(http: StabilityHttp, name: str, path: str) -> ApiProbe:
    """``GET path`` to learn whether the API is reachable and takes the key."""
    try:
        reply = await http.request("GET", path, client_timeout=http.check_timeout)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return ApiProbe(
            CheckResult(name, False, f"cannot reach {http.base_url}: {describe(exc)}"),
            skipped="API unreachable",
        )
    if reply.status == 401:
        return ApiProbe(
            CheckResult(name, False, "Stability rejected the API key (401): check STABILITY_API_KEY"),
            skipped="key rejected",
        )
    if reply.status != 200:
        message = one_line(http.api_error(reply).message, 200)
        return ApiProbe(
            CheckResult(name, False, f"{http.base_url} answered HTTP {reply.status}: {message}"),
            skipped="API check failed",
        )
    return ApiProbe(CheckResult(name, True, f"{http.base_url} reachable, API key accepted"), reply)


async def check_balance(http: StabilityHttp, name: str) -> CheckResult:
    """``GET /v1/user/balance`` as a check line (the same endpoint serves both API versions)."""
    try:
        reply = await http.request("GET", "/v1/user/balance", client_timeout=http.check_timeout)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return CheckResult(name, False, f"balance unavailable: {describe(exc)}")
    if reply.status != 200:
        error = http.api_error(reply)
        return CheckResult(name, False, f"HTTP {reply.status}: {one_line(error.message, 200)}")
    return credits_result(name, reply.body)


def credits_result(name: str, body: bytes) -> CheckResult:
    """The check line for a balance answer: credits left, none left, or unreadable."""
    try:
        credits = float(json.loads(body)["credits"])
    except (ValueError, KeyError, TypeError):
        return CheckResult(name, False, "unreadable balance")
    if credits <= 0:
        return CheckResult(
            name, False, f"{credits:.2f} credits: generation fails until the account is topped up"
        )
    return CheckResult(name, True, f"{credits:.2f} credits")
