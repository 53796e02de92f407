"""What both Stability backends share: one HTTP client for Stability AI's REST APIs.

Usage (inside a backend)::

    http = StabilityHttp(api_key, host=host, dialect=V2_DIALECT, organization=org)
    reply = await http.exchange("inpaint", "POST", "/v2beta/stable-image/edit/inpaint", form=make_form)
    if reply.status != 200:
        raise http.error_for(reply, "inpaint")
    await http.close()

:class:`StabilityHttp` holds the API key (a :class:`pydantic.SecretStr`, sent only in the
``Authorization`` header and blanked out of any error body that echoes it), the session
(one for every job; a session passed in is left open on :meth:`StabilityHttp.close`), the
timeouts, the shared per-key :mod:`~services.backends.rate_limit` limiter and the
:mod:`~services.backends.retry` policy. It maps what is left after retries onto
:mod:`services.errors`, so v1 and v2 refuse, warn and log the same way.

Where the two APIs really differ an :class:`~services.backends.stability.api.ApiDialect`
says so; each backend keeps its own operation-specific mapping (v1's 404 for an engine) in
front of :meth:`StabilityHttp.error_for`.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace

import aiohttp
from pydantic import SecretStr

from services.backends.rate_limit import STABILITY_BUDGET, RateBudget, RateLimiter, shared_limiter
from services.backends.retry import (
    RetryPolicy,
    TransientError,
    call_with_retries,
    is_transient_status,
    parse_retry_after,
)
from services.backends.stability.api import ApiDialect, ApiError, Reply, describe, one_line
from services.errors import (
    BackendError,
    BackendMisconfigured,
    BackendRejected,
    BackendUnavailable,
    ContentFiltered,
)

__all__ = ["DEFAULT_HOST", "EASEL_VERSION", "StabilityHttp"]

log = logging.getLogger(__name__)

DEFAULT_HOST = "https://api.stability.ai"

Form = aiohttp.FormData | aiohttp.MultipartWriter


def _easel_version() -> str:
    try:
        return importlib.metadata.version("easel-bot")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


EASEL_VERSION = _easel_version()


# --- the client ----------------------------------------------------------------------------------


class StabilityHttp:
    """Session, headers, pacing, retries and error mapping for one API key and host."""

    name = "stability"

    def __init__(
        self,
        api_key: str | SecretStr,
        *,
        host: str,
        dialect: ApiDialect,
        organization: str | None = None,
        client_id: str = "easel",
        client_version: str = EASEL_VERSION,
        timeout_s: float = 120,
        connect_timeout_s: float = 10,
        check_timeout_s: float = 15,
        max_attempts: int = 4,
        retry_base_delay_s: float = 1.0,
        session: aiohttp.ClientSession | None = None,
        limiter: RateLimiter | None = None,
        budget: RateBudget = STABILITY_BUDGET,
    ) -> None:
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        key = key.strip()
        if not key:
            raise ValueError("the Stability API key is empty")
        if not key.isascii() or not key.isprintable():
            raise ValueError("the Stability API key contains characters an HTTP header cannot carry")
        self._api_key = SecretStr(key)
        self.dialect = dialect
        base_url = host.strip().rstrip("/")
        for suffix in dialect.host_suffixes:
            if base_url.endswith(suffix):
                base_url = base_url[: -len(suffix)]
        self.base_url = base_url
        # every request with this key (any backend, any job) shares one pace: see rate_limit.py
        self._limiter = limiter or shared_limiter(base_url, key, budget)
        self.organization = organization or None
        self._client_id = client_id
        self._client_version = client_version
        self.timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(connect_timeout_s, timeout_s))
        self.check_timeout = aiohttp.ClientTimeout(
            total=min(check_timeout_s, timeout_s), sock_connect=min(connect_timeout_s, check_timeout_s)
        )
        self._retry = RetryPolicy(max_attempts=max_attempts, base_delay_s=retry_base_delay_s)
        self._session = session
        self._owns_session = session is None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self.base_url!r}, organization={self.organization!r})"

    # -- session --

    def ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        """Close the session this client opened (one passed in is left to its owner)."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    # -- requests --

    def _headers(self, accept: str) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self._api_key.get_secret_value()}",
            "Accept": accept,
            "Stability-Client-ID": self._client_id,
            "Stability-Client-Version": self._client_version,
        }
        if self.organization:
            headers["Organization"] = self.organization
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Mapping[str, object] | None = None,
        form: Form | None = None,
        accept: str = "application/json",
        client_timeout: aiohttp.ClientTimeout | None = None,
    ) -> Reply:
        """One HTTP exchange, paced by the shared limiter; statuses are returned, never raised
        (aiohttp's errors echo headers, and the key is one of them)."""
        session = self.ensure_session()
        await self._limiter.acquire()
        async with session.request(
            method,
            self.base_url + path,
            headers=self._headers(accept),
            json=json_body,
            data=form,
            timeout=client_timeout or self.timeout,
        ) as resp:
            body = await resp.read()
            retry_after = resp.headers.get("Retry-After")
            if resp.status == 429:  # someone else spends this key too: everybody backs off
                self._limiter.pause(parse_retry_after(retry_after))
            return Reply(
                status=resp.status,
                body=body,
                retry_after=retry_after,
                content_type=resp.content_type or "",
                finish_reason=resp.headers.get("finish-reason"),
                seed=resp.headers.get("seed"),
            )

    async def exchange(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        json_body: Mapping[str, object] | None = None,
        form: Callable[[], Form] | None = None,
        accept: str = "application/json",
    ) -> Reply:
        """One request with the shared retry policy (429/5xx/network); other statuses returned.

        ``form`` builds a fresh body for every attempt (a multipart body is spent once sent).
        """

        async def attempt() -> Reply:
            reply = await self.request(
                method, path, json_body=json_body, form=form() if form else None, accept=accept
            )
            if is_transient_status(reply.status):
                error = self.api_error(reply)
                raise TransientError(
                    f"{operation} {error.detail(reply.status)}",
                    retry_after_s=parse_retry_after(reply.retry_after),
                )
            return reply

        try:
            return await call_with_retries(attempt, self._retry, backend=self.name, operation=operation)
        except aiohttp.ClientError as exc:  # not worth retrying (bad URL, TLS trouble, …)
            raise BackendUnavailable(log_detail=f"{operation}: {describe(exc)}") from exc

    # -- errors --

    def api_error(self, reply: Reply) -> ApiError:
        """The API's error body, with our key blanked out should a server ever echo it."""
        error = ApiError.parse(reply.body, errors_list=self.dialect.errors_list)
        key = self._api_key.get_secret_value()
        if key in error.message:
            error = replace(error, message=error.message.replace(key, "[redacted]"))
        return error

    def error_for(self, reply: Reply, operation: str, *, where: str | None = None) -> BackendError:
        """The exception for a final non-200 answer to ``operation`` (``where`` prefixes the log detail)."""
        error = self.api_error(reply)
        status = reply.status
        detail = f"{where or operation}: {error.detail(status)}"
        message = one_line(error.message)
        if status == 403 and self.dialect.moderation_403 and error.name == "content_moderation":
            return ContentFiltered(log_detail=detail)
        if status in (401, 402, 403) or (status == 404 and self.dialect.endpoint_404):
            self.warn_status(reply, operation)
            return BackendMisconfigured(log_detail=detail)
        if status == 413 and self.dialect.specific_4xx:
            return BackendRejected(
                "Stability AI refused the image as too large (the limit is 10 MiB). Please use a smaller image.",
                log_detail=detail,
            )
        if status == 422 and self.dialect.specific_4xx:
            return BackendRejected(
                f"Stability AI couldn't use this request: {message}" if message else None, log_detail=detail
            )
        return BackendRejected(
            f"Stability AI refused the request: {message}" if message else None, log_detail=detail
        )

    def warn_status(self, reply: Reply, operation: str) -> None:
        """Tell the operator why Stability refused to work for us (the user gets a polite default)."""
        error = self.api_error(reply)
        message = one_line(error.message, 200)
        status = reply.status
        event = "stability.auth_rejected"
        if status == 401:
            cause = "Stability rejected the API key (401)"
        elif status == 402:
            cause = "Stability reports the account is out of credits (402)"
        elif status == 403:
            cause = f"Stability denied access (403): {message}"
        elif status == 404 and self.dialect.endpoint_404:
            cause = f"Stability does not know this endpoint (404): {message}"
            event = "stability.endpoint_missing"
        else:
            cause = f"Stability answered HTTP {status}: {message}"
            event = "stability.http_error"
        log.warning(
            event,
            extra={"status": status, "operation": operation, "detail": cause, "error_id": error.error_id},
        )
