"""HTTP calls to one AUTOMATIC1111-compatible host (A1111, Forge, SD.Next), status codes mapped to errors.

:class:`A1111Client` is one host's API; several hosts, routing and failover are
:mod:`services.backends.a1111.pool`'s business, the :class:`~services.backends.base.Backend`
is :mod:`services.backends.a1111.backend`, request bodies are built in
:mod:`services.backends.a1111.payloads` and raw JSON shapes live in :mod:`services.backends.a1111.wire`.

Credentials (basic auth, bearer token, ``user:pass@`` in a URL) travel in headers only:
:attr:`A1111Client.label` is the URL without them, and is what logs show.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any, Literal

import aiohttp
from yarl import URL

import services.backends.a1111.wire as wire
from services.backends.plugin import BackendConfigError
from services.errors import (
    BackendError,
    BackendMisconfigured,
    BackendRejected,
    BackendUnavailable,
)
from services.offload import run_cpu

TaskState = Literal["active", "queued", "done"]

__all__ = [
    "EXTRAS",
    "IMG2IMG",
    "INTERROGATE",
    "TXT2IMG",
    "A1111Client",
    "ApiMissing",
    "HostAuthFailed",
    "HostFailure",
]

TXT2IMG = "/sdapi/v1/txt2img"
IMG2IMG = "/sdapi/v1/img2img"
EXTRAS = "/sdapi/v1/extra-single-image"
INTERROGATE = wire.INTERROGATE
PROGRESS = "/sdapi/v1/progress"
INTERRUPT = "/sdapi/v1/interrupt"
TASK_PROGRESS = "/internal/progress"
OPTIONS = "/sdapi/v1/options"


# ---- errors --------------------------------------------------------------------------------------


class HostFailure(BackendUnavailable):
    """This host failed (connection error, 5xx, timeout): take it out of rotation, try another."""


class HostAuthFailed(BackendMisconfigured):
    """This host refused our credentials (401/403)."""


class ApiMissing(BackendMisconfigured):
    """404 for the route itself: the web UI runs without ``--api``, or this fork lacks the endpoint."""


# ---- the client ----------------------------------------------------------------------------------


class A1111Client:
    """HTTP calls to one host, with status codes mapped onto easel's errors.

    Connection errors, timeouts and 5xx raise :class:`HostFailure`; 401/403
    :class:`HostAuthFailed`; 400/422 :class:`BackendRejected` with the host's validation
    message in one line; a missing route :class:`ApiMissing`. ``session`` is set by the
    owner (the backend) before use.
    """

    def __init__(
        self,
        url: str,
        *,
        auth: tuple[str, str] | None = None,
        token: str | None = None,
        timeout_s: float = 600.0,
    ) -> None:
        try:
            parsed = URL(url.strip())
        except ValueError as exc:  # yarl: "Invalid URL: host is required …" (never echoes the URL)
            raise BackendConfigError(str(exc)) from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise BackendConfigError(
                f"GPU host URL must look like http(s)://host:port, not {parsed.with_user(None)!s}"
            )
        if parsed.user is not None:  # http://user:pass@host:7860
            auth = (parsed.user, parsed.password or "")
        self.base = str(parsed.with_user(None).with_query(None).with_fragment(None)).rstrip("/")
        self.label = self.base  # no credentials: safe to log
        self._headers: dict[str, str] = {}
        if auth is not None:
            basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            self._headers["Authorization"] = f"Basic {basic}"
        elif token:
            self._headers["Authorization"] = f"Bearer {token}"
        self.session: aiohttp.ClientSession | None = None
        self.generation_timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(15.0, timeout_s))
        self.probe_timeout = aiohttp.ClientTimeout(
            total=min(30.0, timeout_s), sock_connect=min(10.0, timeout_s)
        )
        self.poll_timeout = aiohttp.ClientTimeout(
            total=min(10.0, timeout_s), sock_connect=min(5.0, timeout_s)
        )

    async def get_json(self, path: str) -> Any:
        return await self._request("GET", path, None, self.probe_timeout)

    async def post_json(self, path: str, payload: Any, *, on_answer: Callable[[], None] | None = None) -> Any:
        """A generation call: the generous ``timeout_s`` applies (slow GPUs, big batches).

        ``on_answer`` runs as soon as the response's status line arrives, before its body: the
        host's web UI renders the whole answer after the GPU is done, so from that moment the
        GPU is free while several MB of base64 still cross the network.
        """
        return await self._request("POST", path, payload, self.generation_timeout, on_answer)

    async def progress(self, *, with_preview: bool) -> wire.ProgressResponse:
        skip = "false" if with_preview else "true"
        body = await self._request("GET", f"{PROGRESS}?skip_current_image={skip}", None, self.poll_timeout)
        return body if isinstance(body, dict) else {}  # type: ignore[return-value]

    async def interrupt(self) -> None:
        await self._request("POST", INTERRUPT, None, self.poll_timeout)

    async def task_state(self, task_id: str) -> TaskState | None:
        """Where the job sent with ``force_task_id=task_id`` is on the host: running, waiting
        behind another job, or neither (``POST /internal/progress``, A1111/Forge 1.6+); None when
        the host cannot say."""
        try:
            body = await self._request("POST", TASK_PROGRESS, {"id_task": task_id}, self.poll_timeout)
        except BackendError:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("active"), bool):
            return None
        if body["active"]:
            return "active"
        return "queued" if body.get("queued") is True else "done"

    async def catalog(self) -> wire.HostCatalog:
        """Probe: options first (proves the API is on and our credentials work), then the listings."""
        options = await self.get_json(OPTIONS)
        kind = wire.host_kind(await self._optional(wire.VERSION))
        models = wire.parse_models(await self.get_json("/sdapi/v1/sd-models"))
        samplers = wire.parse_names(await self.get_json("/sdapi/v1/samplers"))
        # SD.Next's request models have no ``scheduler`` field (it would be dropped): offer none there.
        schedulers = (
            () if kind == "sdnext" else wire.parse_names(await self._optional("/sdapi/v1/schedulers"))
        )
        upscalers = wire.parse_names(await self._optional("/sdapi/v1/upscalers"))
        current = options.get("sd_model_checkpoint") if isinstance(options, dict) else None
        return wire.HostCatalog(
            models=models,
            samplers=samplers,
            schedulers=schedulers,
            upscalers=upscalers,
            current_model=current if isinstance(current, str) else "",
            kind=kind,
        )

    async def _optional(self, path: str) -> Any:
        """Endpoints some hosts lack (schedulers arrived in A1111 1.9; /version is SD.Next's): missing → None."""
        try:
            return await self.get_json(path)
        except ApiMissing:
            return None

    async def _request(
        self,
        method: str,
        path: str,
        payload: Any,
        limit: aiohttp.ClientTimeout,
        on_answer: Callable[[], None] | None = None,
    ) -> Any:
        session = self.session
        if session is None or session.closed:
            raise BackendMisconfigured(log_detail="GPU host client used without an open session")
        data = None
        headers = dict(self._headers)
        if payload is not None:
            # Bodies carry base64 images of several MB: serialise off the event loop.
            data = await run_cpu(json.dumps, payload) if _is_big(payload) else json.dumps(payload)
            headers["Content-Type"] = "application/json"
        where = f"{self.label} {method} {path.split('?')[0]}"
        try:
            async with session.request(
                method, self.base + path, data=data, headers=headers, timeout=limit
            ) as resp:
                status = resp.status
                if on_answer is not None:
                    on_answer()
                raw = await resp.read()
        except TimeoutError as err:
            raise HostFailure(log_detail=f"{where}: timed out after {limit.total}s") from err
        except aiohttp.ClientError as err:
            raise HostFailure(log_detail=f"{where}: {type(err).__name__}") from err
        body = await _parse_json(raw)
        if 200 <= status < 300:
            if body is _INVALID:
                raise HostFailure(log_detail=f"{where}: HTTP {status} with a body that is not JSON")
            return body
        raise _status_error(status, None if body is _INVALID else body, where)


_INVALID = object()


def _is_big(payload: Any) -> bool:
    return isinstance(payload, dict) and any(
        (isinstance(v, str) and len(v) > 64 * 1024) or (isinstance(v, list) and bool(v))
        for v in payload.values()
    )


async def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None

    def parse() -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            return _INVALID

    return await run_cpu(parse) if len(raw) > 64 * 1024 else parse()


def _status_error(status: int, body: Any, where: str) -> BackendError:
    text = wire.error_text(body)
    detail = f"{where}: HTTP {status} {text}".strip()
    if status in (401, 403):
        return HostAuthFailed(log_detail=detail)
    if status == 404:
        if text in ("", "Not Found"):
            return ApiMissing(log_detail=detail + " (is the web UI started with --api?)")
        return BackendRejected(_rejected(text), log_detail=detail)  # A1111: "Sampler not found"
    if status in (400, 422):
        return BackendRejected(_rejected(text), log_detail=detail)
    if status == 413:
        return BackendRejected("That image is too large for the GPU host.", log_detail=detail)
    if status == 500 and "outofmemory" in json.dumps(body).lower().replace(" ", ""):
        return BackendRejected(
            "The GPU ran out of memory on this one. Try a smaller size or fewer images.", log_detail=detail
        )
    return HostFailure(log_detail=detail)


def _rejected(text: str) -> str:
    return f"The GPU host rejected the request: {text}" if text else "The GPU host rejected the request."
