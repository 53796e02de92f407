"""A fake Slack for tests: the Web API, file hosting, response URLs, and a signed-request sender.

Usage::

    async def test_something(slack_server: FakeSlack) -> None:
        settings = Settings(slack_api_url=slack_server.api_url, slack_bot_token=slack_server.bot_token, ...)
        ...
        user = slack_server.user_side(f"http://127.0.0.1:{frontend.port}/slack/events", SIGNING_SECRET)
        sent = await user.slash_command("/imagine", "a red fox --seed 7")
        assert sent.status == 200
        calls = await slack_server.wait_for("files.completeUploadExternal")

What it speaks (on 127.0.0.1, one ephemeral port):

* ``POST /api/<method>`` — auth.test, chat.postMessage / postEphemeral / update / delete, views.open /
  update, files.getUploadURLExternal / completeUploadExternal / info / delete. Arguments are read from the
  query string, a form body or a JSON body, like Slack does; the bot token must come as ``Authorization:
  Bearer``. Answers are Slack-shaped (``{"ok": false, "error": "..."}`` with HTTP 200, 429 +
  ``Retry-After`` for ``ratelimited``).
* ``POST /upload/v1/<file_id>`` — the upload URL handed out by files.getUploadURLExternal.
* ``GET /files-pri/<team>-<file_id>/<name>`` — ``url_private`` downloads; like Slack, a request without
  the bot token gets an HTML login page with status 200.
* ``POST /response/<id>`` — response URLs (at most 5 uses each, like Slack).
* ``GET /socket`` — Socket Mode: ``apps.connections.open`` (with :data:`APP_TOKEN`) hands out this
  websocket; :meth:`FakeSlack.send_envelope` sends an envelope and returns the app's ack payload.

Every request is recorded as a :class:`SlackCall` (``calls``), including downloads (``"download"``),
uploads (``"upload"``) and response URL posts (``"response_url"``). Errors are injected per method with
:meth:`FakeSlack.fail_next`. Blocks and views are checked against Block Kit's main limits so a front end
that would be refused by Slack is refused here too.

:class:`SlackUserSide` plays Slack's side towards the app: it sends correctly signed slash commands, block
actions, view submissions and message shortcuts (signed with
``slack_sdk.signature.SignatureVerifier.generate_signature``), and can forge or age the signature.

Fixtures (in ``harness``): ``slack_server`` (a started fake), ``slack_settings(**overrides)`` (``make_settings`` plus the
Slack variables pointing at the fake) and ``slack_easel`` (a :class:`SlackEasel`: easel's real services
and Slack front end on a free port, started like ``easel run`` does; ``slack_easel_for(settings, fake)``
for other settings or a second run on the same data dir).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.slack.directory import DirectoryMethods
from tests.fakes.slack.file_methods import FileMethods
from tests.fakes.slack.records import SlackCall, StoredFile, StoredMessage, _Injected
from tests.fakes.slack.rules import (
    APP_ID,
    APP_TOKEN,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    RESPONSE_URL_MAX_USES,
    SIGNING_SECRET,
    TEAM_DOMAIN,
    TEAM_ID,
    _ApiError,
    _check_message_blocks,
    _check_view,
    _json_arg,
    _message_api,
    _require,
)
from tests.fakes.slack.user_side import SlackUserSide

__all__ = ["FakeSlack"]


class FakeSlack(FileMethods, DirectoryMethods):
    """The fake Slack Web API server. Start with ``await start()`` or use the ``slack_server`` fixture."""

    def __init__(
        self,
        *,
        bot_token: str = BOT_TOKEN,
        team_id: str = TEAM_ID,
        bot_user_id: str = BOT_USER_ID,
        api_latency_s: float = 0.0,
        share_delay_s: float = 0.0,
    ) -> None:
        self.bot_token = bot_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.api_latency_s = api_latency_s
        self.share_delay_s = share_delay_s
        self.calls: list[SlackCall] = []
        self.download_gate: asyncio.Event | None = None  # when set: file downloads wait for it
        self.downloads_started = 0
        self.files: dict[str, StoredFile] = {}
        self.messages: dict[tuple[str, str], StoredMessage] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.response_urls: dict[str, int] = {}  # id -> uses
        self._injected: dict[str, list[_Injected]] = {}
        self._ids = itertools.count(1)
        self._ts = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.sockets: list[web.WebSocketResponse] = []  # Socket Mode connections
        self._envelopes: dict[str, asyncio.Future[Any]] = {}
        self.port = 0
        self._init_directory()

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/v1/{file_id}", self._upload)
        app.router.add_get("/files-pri/{team_file}/{name}", self._download)
        app.router.add_post("/response/{rid}", self._response_url)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """What ``SLACK_API_URL`` is set to."""
        return f"{self.base_url}/api/"

    # ---------------------------------------------------------------- test helpers

    def fail_next(
        self, method: str, error: str = "ratelimited", *, retry_after: int | None = None, times: int = 1
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``error``.

        ``ratelimited`` answers HTTP 429 with ``Retry-After`` (default 1 s); other errors answer HTTP 200
        with ``{"ok": false, "error": error}`` as Slack does. ``method`` may also be ``"upload"`` or
        ``"download"`` (HTTP 500).
        """
        status = 429 if error == "ratelimited" else 200
        if method in ("upload", "download"):
            status = 500
        if error == "ratelimited" and retry_after is None:
            retry_after = 1
        self._injected.setdefault(method, []).append(_Injected(error, status, retry_after, times))

    def new_response_url(self) -> str:
        rid = secrets.token_hex(8)
        self.response_urls[rid] = 0
        return f"{self.base_url}/response/{rid}"

    def add_user_file(
        self,
        data: bytes,
        *,
        name: str = "upload.png",
        mimetype: str = "image/png",
        user: str = "U0USER0001",
        host: str | None = None,
    ) -> dict[str, Any]:
        """Store a file as if a user had uploaded it; returns its Slack file object.

        ``host`` replaces the ``url_private`` host (e.g. ``"localhost:<port>"``) to play a file whose URL
        points somewhere else than Slack's file host; the fake still serves it there if asked.
        """
        f = self._new_file(name=name, title=name, mimetype=mimetype, data=data, user=user)
        if host is not None:
            f.url_private = f"http://{host}/files-pri/{self.team_id}-{f.id}/{urllib.parse.quote(name)}"
        f.completed = True
        return f.to_api()

    def calls_to(self, method: str) -> list[SlackCall]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        *,
        timeout_s: float = 10.0,
        where: Callable[[SlackCall], bool] | None = None,
    ) -> list[SlackCall]:
        """Wait until at least ``count`` successful calls of ``method`` (matching ``where``) arrived."""

        def matching() -> list[SlackCall]:
            return [c for c in self.calls_to(method) if c.ok and (where is None or where(c))]

        async with asyncio.timeout(timeout_s):
            async with self._changed:
                await self._changed.wait_for(lambda: len(matching()) >= count)
        return matching()

    def channel_messages(self, channel: str) -> list[StoredMessage]:
        return [
            m
            for (ch, _), m in sorted(self.messages.items(), key=lambda kv: float(kv[0][1]))
            if ch == channel and not m.deleted
        ]

    def uploaded_files(self, channel: str | None = None) -> list[StoredFile]:
        return [
            f
            for f in self.files.values()
            if f.completed and f.user == self.bot_user_id and (channel is None or channel in f.channels)
        ]

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        return await _socket_handler(self, request)

    async def send_envelope(
        self, kind: str, payload: Mapping[str, Any], *, retry_attempt: int = 0, timeout_s: float = 10.0
    ) -> tuple[Any, float]:
        """Send a Socket Mode envelope (``slash_commands``, ``interactive``, ``events_api``) to the
        connected app and wait for its acknowledgement; returns (ack payload, seconds taken)."""
        await self.wait_for("socket_connect", timeout_s=timeout_s)
        envelope_id = secrets.token_hex(12)
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._envelopes[envelope_id] = waiter
        started = time.monotonic()
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": dict(payload),
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": retry_attempt,
                "retry_reason": "timeout" if retry_attempt else "",
            }
        )
        async with asyncio.timeout(timeout_s):
            answer = await waiter
        return answer, time.monotonic() - started

    def slash_command_payload(
        self,
        command: str,
        text: str = "",
        *,
        user_id: str = "U0USER0001",
        user_name: str = "ada",
        channel_id: str = "C0CHANNEL1",
        trigger_id: str | None = None,
    ) -> dict[str, str]:
        """The fields Slack sends for a slash command (form fields over HTTP, JSON over Socket Mode)."""
        return {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self.new_response_url(),
            "trigger_id": trigger_id
            or f"{next(self._ids)}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}",
        }

    def user_side(self, endpoint_url: str, signing_secret: str = SIGNING_SECRET) -> SlackUserSide:
        return SlackUserSide(self, endpoint_url, signing_secret)

    # ---------------------------------------------------------------- internals

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}0FAKE{next(self._ids):05d}"

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _new_file(self, *, name: str, title: str, mimetype: str, data: bytes, user: str) -> StoredFile:
        fid = self._next_id("F")
        f = StoredFile(id=fid, name=name, title=title, mimetype=mimetype, data=data, user=user)
        f.url_private = f"{self.base_url}/files-pri/{self.team_id}-{fid}/{urllib.parse.quote(name)}"
        self.files[fid] = f
        return f

    async def _record(self, call: SlackCall) -> None:
        self.calls.append(call)
        async with self._changed:
            self._changed.notify_all()

    def _take_injected(self, method: str) -> _Injected | None:
        queue = self._injected.get(method)
        if not queue:
            return None
        inj = queue[0]
        inj.times -= 1
        if inj.times <= 0:
            queue.pop(0)
        return inj

    @staticmethod
    async def _read_params(request: web.Request) -> tuple[dict[str, Any], bytes]:
        params: dict[str, Any] = dict(request.query)
        body = await request.read()
        ctype = request.content_type
        if ctype == "application/json" and body:
            params.update(json.loads(body))
        elif ctype == "application/x-www-form-urlencoded" and body:
            params.update(dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)))
        elif ctype.startswith("multipart/"):
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params, body

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params, body = await self._read_params(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else params.get("token")
        if self.api_latency_s:
            await asyncio.sleep(self.api_latency_s)

        status = 200
        headers: dict[str, str] = {}
        inj = self._take_injected(method)
        if inj is not None:
            status = inj.status
            if inj.retry_after is not None:
                headers["Retry-After"] = str(inj.retry_after)
            payload: dict[str, Any] = {"ok": False, "error": inj.error}
        elif not token:
            payload = {"ok": False, "error": "not_authed"}
        elif method == "apps.connections.open":
            if token != APP_TOKEN:
                payload = {"ok": False, "error": "invalid_auth"}
            else:
                payload = {
                    "ok": True,
                    "url": f"ws://127.0.0.1:{self.port}/socket?ticket={secrets.token_hex(8)}",
                }
        elif token != self.bot_token:
            payload = {"ok": False, "error": "invalid_auth"}
        else:
            handler = getattr(self, "_m_" + method.replace(".", "_"), None)
            if handler is None:
                status, payload = 404, {"ok": False, "error": "unknown_method"}
            else:
                try:
                    payload = handler(params)
                except _ApiError as e:
                    payload = {"ok": False, "error": e.error, **e.extra}
        await self._record(
            SlackCall(method, params, token, request.path, time.monotonic(), body, status, payload)
        )
        return web.json_response(payload, status=status, headers=headers)

    # ---------------------------------------------------------------- Web API methods

    def _m_auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Easel Test",
            "user": "easel",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _m_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = _require(p, "channel")
        text, blocks = p.get("text") or "", _json_arg(p.get("blocks")) or []
        if not text and not blocks:
            raise _ApiError("no_text")
        _check_message_blocks(blocks)
        self._check_slack_files(blocks, channel)
        ts = self._next_ts()
        msg = StoredMessage(channel, ts, self.bot_user_id, text, blocks, thread_ts=p.get("thread_ts"))
        self.messages[(channel, ts)] = msg
        return {"ok": True, "channel": channel, "ts": ts, "message": _message_api(msg)}

    def _m_chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        _require(p, "channel")
        _require(p, "user")
        text, blocks = p.get("text") or "", _json_arg(p.get("blocks")) or []
        if not text and not blocks:
            raise _ApiError("no_text")
        _check_message_blocks(blocks)
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel, ts = _require(p, "channel"), _require(p, "ts")
        msg = self.messages.get((channel, ts))
        if msg is None or msg.deleted:
            raise _ApiError("message_not_found")
        blocks = _json_arg(p.get("blocks"))
        if blocks is not None:
            _check_message_blocks(blocks)
            self._check_slack_files(blocks, channel)
        msg.history.append(_message_api(msg))
        if "text" in p:
            msg.text = p["text"] or ""
        if blocks is not None:
            msg.blocks = blocks
        return {"ok": True, "channel": channel, "ts": ts, "text": msg.text}

    def _m_chat_delete(self, p: dict[str, Any]) -> dict[str, Any]:
        channel, ts = _require(p, "channel"), _require(p, "ts")
        msg = self.messages.get((channel, ts))
        if msg is None or msg.deleted:
            raise _ApiError("message_not_found")
        if msg.user != self.bot_user_id:
            raise _ApiError("cant_delete_message")
        msg.deleted = True
        return {"ok": True, "channel": channel, "ts": ts}

    def _m_views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        _require(p, "trigger_id")
        view = _json_arg(_require(p, "view"))
        return {"ok": True, "view": self._store_view(view, self._next_id("V"))}

    def _m_views_update(self, p: dict[str, Any]) -> dict[str, Any]:
        view_id = p.get("view_id")
        if not view_id or view_id not in self.views:
            raise _ApiError("not_found")
        view = _json_arg(_require(p, "view"))
        return {"ok": True, "view": self._store_view(view, view_id)}

    def _store_view(self, view: Any, view_id: str) -> dict[str, Any]:
        _check_view(view)
        stored = {
            **view,
            "id": view_id,
            "team_id": self.team_id,
            "state": {"values": {}},
            "hash": secrets.token_hex(6),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "app_id": APP_ID,
            "bot_id": BOT_ID,
        }
        self.views[view_id] = stored
        return stored

    # ---------------------------------------------------------------- non-API endpoints

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        fid = request.match_info["file_id"]
        body = await request.read()
        inj = self._take_injected("upload")
        f = self.files.get(fid)
        if inj is not None:
            status, text = inj.status, "error"
        elif f is None or f.completed:
            status, text = 404, "not found"
        else:
            f.data = body
            status, text = 200, f"OK - {len(body)}"
        await self._record(
            SlackCall("upload", {"file_id": fid}, None, request.path, time.monotonic(), body, status)
        )
        return web.Response(status=status, text=text)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        team_file = request.match_info["team_file"]
        fid = team_file.split("-", 1)[-1]
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        inj = self._take_injected("download")
        f = self.files.get(fid)
        self.downloads_started += 1
        if self.download_gate is not None:
            await self.download_gate.wait()
        resp: web.Response
        if inj is not None:
            resp = web.Response(status=inj.status, text="error")
        elif token != self.bot_token:
            # Slack answers an unauthenticated file request with its sign-in page, status 200.
            resp = web.Response(
                status=200, text="<!DOCTYPE html><html><body>Sign in</body></html>", content_type="text/html"
            )
        elif f is None:
            resp = web.Response(status=404, text="not found")
        else:
            resp = web.Response(
                status=200, body=f.data, content_type=f.mimetype or "application/octet-stream"
            )
        await self._record(
            SlackCall(
                "download",
                {"file": fid, "host": request.host},
                token,
                request.path,
                time.monotonic(),
                b"",
                resp.status,
            )
        )
        return resp

    async def _response_url(self, request: web.Request) -> web.StreamResponse:
        rid = request.match_info["rid"]
        body = await request.read()
        try:
            params = json.loads(body) if body else {}
        except json.JSONDecodeError:
            params = {}
        params = {**params, "_rid": rid}
        if rid not in self.response_urls:
            status, payload = 404, {"ok": False, "error": "expired_url"}
        elif self.response_urls[rid] >= RESPONSE_URL_MAX_USES:
            status, payload = 404, {"ok": False, "error": "used_url"}
        else:
            self.response_urls[rid] += 1
            try:
                _check_message_blocks(params.get("blocks") or [])
                status, payload = 200, {"ok": True}
            except _ApiError as e:
                status, payload = 400, {"ok": False, "error": e.error}
        await self._record(
            SlackCall("response_url", params, None, request.path, time.monotonic(), body, status, payload)
        )
        return web.json_response(payload, status=status)


async def _socket_handler(fake: FakeSlack, request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(autoping=True)
    await ws.prepare(request)
    fake.sockets.append(ws)
    await fake._record(SlackCall("socket_connect", dict(request.query), None, request.path, time.monotonic()))
    await ws.send_json(
        {"type": "hello", "num_connections": len(fake.sockets), "connection_info": {"app_id": APP_ID}}
    )
    try:
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            waiter = fake._envelopes.pop(str(data.get("envelope_id")), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(data.get("payload"))
    finally:
        if ws in fake.sockets:
            fake.sockets.remove(ws)
    return ws
