"""One ComfyUI host over HTTP and its websocket; knows ComfyUI's wire shapes, not easel's requests.

::

    client = ComfyClient("http://gpu-box:8188", session)
    info = await client.object_info()                       # node classes and their inputs
    name = await client.upload_image(png, "easel-in.png")   # POST /upload/image → the stored name
    async with client.events() as events:                   # /ws?clientId=…, opened before submitting
        prompt_id = await client.submit(graph)
        async for event in events.until_done(prompt_id): ...
    images = await client.outputs(prompt_id, node="9")      # /history/{id} then /view
    entry = await client.history(prompt_id)                 # None until it has finished
    waiting = await client.queued()                         # ids running or pending (GET /queue)
    await client.interrupt()

Failures: connection errors and 5xx raise :class:`~services.backends.retry.TransientError` (the
backend retries them); a refused graph (400 from ``/prompt``) raises ``BackendRejected`` naming
the first node error, which is an operator problem when easel's own mapping produced it.
"""

from __future__ import annotations

import json
import struct
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from services.backends.retry import TransientError
from services.errors import BackendError, BackendMisconfigured, BackendRejected, JobCancelled

__all__ = ["ComfyClient", "ComfyEvents", "Event", "PreviewFrame"]

PREVIEW_IMAGE = 1  # binary websocket frame: 4-byte event type, 4-byte image format, image bytes
_FORMATS = {1: "jpeg", 2: "png"}


@dataclass(frozen=True, slots=True)
class Event:
    """One JSON websocket message (``{"type": ..., "data": {...}}``)."""

    type: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PreviewFrame:
    """A live preview the sampler sent as a binary frame."""

    image: bytes
    format: str  # "jpeg" or "png"


class ComfyEvents:
    """The websocket of one client id; yields this prompt's events until it has finished."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws

    async def until_done(self, prompt_id: str) -> AsyncIterator[Event | PreviewFrame]:
        """Events of ``prompt_id`` (previews too) until ``executing`` with ``node: null``.

        Raises ``BackendError`` for ``execution_error`` and ``JobCancelled`` for an interrupt.
        """
        running = False
        async for message in self._ws:
            if message.type is aiohttp.WSMsgType.BINARY:
                frame = _preview(message.data)
                if frame is not None and running:
                    yield frame
                continue
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            parsed = json.loads(message.data)
            event = Event(str(parsed.get("type")), parsed.get("data") or {})
            if event.data.get("prompt_id") not in (None, prompt_id):
                continue
            if event.type == "execution_start":
                running = True
            elif event.type == "execution_error":
                raise BackendError(
                    log_detail=f"comfyui: {event.data.get('node_type')} failed: "
                    f"{str(event.data.get('exception_message', ''))[:200]}"
                )
            elif event.type == "execution_interrupted":
                raise JobCancelled(log_detail="comfyui: interrupted")
            elif event.type == "executing" and event.data.get("node") is None and running:
                yield event
                return
            if running:
                yield event
        raise TransientError("comfyui: the websocket closed before the prompt finished")


class ComfyClient:
    def __init__(self, base_url: str, session: aiohttp.ClientSession, *, timeout_s: float = 600.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = uuid.uuid4().hex
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=10)

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            async with self._session.request(
                method, self.base_url + path, timeout=self._timeout, **kwargs
            ) as resp:
                body = await resp.read()
                status = resp.status
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise TransientError(f"comfyui {path}: {type(exc).__name__}") from exc
        if status >= 500:
            raise TransientError(f"comfyui {path}: HTTP {status}")
        if status in (401, 403):
            raise BackendMisconfigured(log_detail=f"comfyui {path}: HTTP {status} (proxy authentication?)")
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            raise BackendError(log_detail=f"comfyui {path}: HTTP {status}, not JSON") from None
        if status >= 400:
            raise _refusal(path, status, parsed)
        return parsed

    async def object_info(self) -> dict[str, Any]:
        info = await self._json("GET", "/object_info")
        if not isinstance(info, dict):
            raise BackendError(log_detail="comfyui /object_info: unexpected answer")
        return info

    async def upload_image(self, data: bytes, filename: str) -> str:
        """Store ``data`` in the host's input folder; the name LoadImage nodes take."""
        form = aiohttp.FormData()
        form.add_field("image", data, filename=filename, content_type="image/png")
        form.add_field("type", "input")
        form.add_field("overwrite", "true")
        answer = await self._json("POST", "/upload/image", data=form)
        name, subfolder = str(answer.get("name", filename)), str(answer.get("subfolder") or "")
        return f"{subfolder}/{name}" if subfolder else name

    async def submit(self, graph: dict[str, Any]) -> str:
        answer = await self._json("POST", "/prompt", json={"prompt": graph, "client_id": self.client_id})
        prompt_id = answer.get("prompt_id") if isinstance(answer, dict) else None
        if not prompt_id:
            raise BackendError(log_detail="comfyui /prompt: no prompt_id")
        return str(prompt_id)

    @asynccontextmanager
    async def events(self) -> AsyncIterator[ComfyEvents]:
        url = self.base_url.replace("http", "ws", 1) + f"/ws?clientId={self.client_id}"
        try:
            ws = await self._session.ws_connect(url, heartbeat=30, max_msg_size=64 * 1024 * 1024)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"comfyui /ws: {type(exc).__name__}") from exc
        try:
            yield ComfyEvents(ws)
        finally:
            await ws.close()

    async def history(self, prompt_id: str) -> dict[str, Any] | None:
        """``prompt_id``'s entry in ``/history`` (``outputs``, ``status``), None while it has none."""
        history = await self._json("GET", f"/history/{prompt_id}")
        entry = history.get(prompt_id) if isinstance(history, dict) else None
        return entry if isinstance(entry, dict) else None

    async def queued(self) -> set[str]:
        """The prompt ids the host is running or has waiting (``GET /queue``)."""
        answer = await self._json("GET", "/queue")
        ids = set()
        for key in ("queue_running", "queue_pending"):
            for item in (answer or {}).get(key) or []:
                if isinstance(item, list) and len(item) > 1:  # [number, prompt_id, prompt, extra, outputs]
                    ids.add(str(item[1]))
        return ids

    async def outputs(self, prompt_id: str, node: str) -> list[bytes]:
        """The images node ``node`` saved for ``prompt_id``, from ``/history`` and ``/view``."""
        entry = await self.history(prompt_id) or {}
        images = ((entry.get("outputs") or {}).get(node) or {}).get("images") or []
        result = []
        for image in images:
            params = {k: str(image.get(k, "")) for k in ("filename", "subfolder", "type")}
            try:
                async with self._session.get(
                    self.base_url + "/view", params=params, timeout=self._timeout
                ) as resp:
                    if resp.status != 200:
                        raise TransientError(f"comfyui /view: HTTP {resp.status}")
                    result.append(await resp.read())
            except (aiohttp.ClientConnectionError, TimeoutError) as exc:
                raise TransientError(f"comfyui /view: {type(exc).__name__}") from exc
        if not result:
            raise BackendError(log_detail=f"comfyui: node {node} saved no images")
        return result

    async def interrupt(self) -> None:
        await self._json("POST", "/interrupt")


def _preview(data: bytes) -> PreviewFrame | None:
    if len(data) < 8:
        return None
    event, fmt = struct.unpack(">II", data[:8])
    if event != PREVIEW_IMAGE or fmt not in _FORMATS:
        return None
    return PreviewFrame(bytes(data[8:]), _FORMATS[fmt])


def _refusal(path: str, status: int, body: Any) -> BackendError:
    """ComfyUI's ``{"error": {...}, "node_errors": {id: {"errors": [...]}}}`` as one readable line."""
    error = body.get("error") if isinstance(body, dict) else None
    message = str(error.get("message")) if isinstance(error, dict) else f"HTTP {status}"
    for node_id, node in ((body or {}).get("node_errors") or {}).items():
        for item in node.get("errors") or []:
            message = f"{message}: node {node_id} ({node.get('class_type')}): {item.get('details') or item.get('message')}"
            break
        break
    return BackendRejected(
        f"The GPU host refused the workflow: {message[:300]}", log_detail=f"comfyui {path}: {message[:500]}"
    )
