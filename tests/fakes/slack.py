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

Fixtures: ``slack_server`` (a started fake), ``slack_settings(**overrides)`` (``make_settings`` plus the
Slack variables pointing at the fake) and ``slack_easel`` (a :class:`SlackEasel`: easel's real services
and Slack front end on a free port, started like ``easel run`` does; ``slack_easel_for(settings, fake)``
for other settings or a second run on the same data dir).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

__all__ = [
    "APP_TOKEN",
    "BOT_TOKEN",
    "BOT_USER_ID",
    "SIGNING_SECRET",
    "TEAM_ID",
    "FakeSlack",
    "SentRequest",
    "SlackCall",
    "SlackEasel",
    "SlackUserSide",
    "slack_easel",
    "slack_easel_for",
    "slack_server",
    "slack_settings",
]

BOT_TOKEN = "xoxb-fake-0000-easel-test-token"
APP_TOKEN = "xapp-1-fake-0000-easel-app-token"
SIGNING_SECRET = "fake-signing-secret-for-tests"
TEAM_ID = "T0EASEL01"
TEAM_DOMAIN = "easel-test"
BOT_USER_ID = "U0EASELBOT"
BOT_ID = "B0EASELBOT"
APP_ID = "A0EASEL01"

RESPONSE_URL_MAX_USES = 5


@dataclass(frozen=True)
class SlackCall:
    """One request the fake received."""

    method: str  # "chat.postMessage", …, or "upload", "download", "response_url"
    params: Mapping[str, Any]
    token: str | None
    path: str
    at: float  # time.monotonic()
    body: bytes = b""
    status: int = 200
    response: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok", True))


@dataclass
class _Injected:
    error: str
    status: int
    retry_after: int | None
    times: int


@dataclass
class StoredFile:
    """A file held by the fake (uploaded by the app or added by a test as a user's upload)."""

    id: str
    name: str
    title: str
    mimetype: str
    data: bytes
    user: str
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None
    thread_ts: str | None = None
    url_private: str = ""
    completed: bool = False
    shares: dict[str, str] = field(default_factory=dict)  # channel -> ts of the message sharing it

    def to_api(self) -> dict[str, Any]:
        filetype = self.name.rsplit(".", 1)[-1].lower() if "." in self.name else "binary"
        return {
            "id": self.id,
            "created": int(time.time()),
            "name": self.name,
            "title": self.title,
            "mimetype": self.mimetype,
            "filetype": filetype,
            "user": self.user,
            "size": len(self.data),
            "url_private": self.url_private,
            "url_private_download": self.url_private + "?download=1" if self.url_private else "",
            "channels": list(self.channels),
            "is_public": True,
            "shares": {
                "public": {ch: [{"ts": ts, "channel_name": "general"}] for ch, ts in self.shares.items()}
            },
        }


@dataclass
class StoredMessage:
    channel: str
    ts: str
    user: str
    text: str
    blocks: list[Any]
    files: list[str] = field(default_factory=list)
    thread_ts: str | None = None
    deleted: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)  # previous versions (chat.update)


class FakeSlack:
    """The fake Slack Web API server. Start with ``await start()`` or use the ``slack_server`` fixture."""

    def __init__(
        self,
        *,
        bot_token: str = BOT_TOKEN,
        team_id: str = TEAM_ID,
        bot_user_id: str = BOT_USER_ID,
        api_latency_s: float = 0.0,
    ) -> None:
        self.bot_token = bot_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.api_latency_s = api_latency_s
        self.calls: list[SlackCall] = []
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

    @staticmethod
    def _json_arg(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                return value
        return value

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
        text, blocks = p.get("text") or "", self._json_arg(p.get("blocks")) or []
        if not text and not blocks:
            raise _ApiError("no_text")
        _check_blocks(blocks)
        ts = self._next_ts()
        msg = StoredMessage(channel, ts, self.bot_user_id, text, blocks, thread_ts=p.get("thread_ts"))
        self.messages[(channel, ts)] = msg
        return {"ok": True, "channel": channel, "ts": ts, "message": _message_api(msg)}

    def _m_chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        _require(p, "channel")
        _require(p, "user")
        text, blocks = p.get("text") or "", self._json_arg(p.get("blocks")) or []
        if not text and not blocks:
            raise _ApiError("no_text")
        _check_blocks(blocks)
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel, ts = _require(p, "channel"), _require(p, "ts")
        msg = self.messages.get((channel, ts))
        if msg is None or msg.deleted:
            raise _ApiError("message_not_found")
        blocks = self._json_arg(p.get("blocks"))
        if blocks is not None:
            _check_blocks(blocks)
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
        view = self._json_arg(_require(p, "view"))
        return {"ok": True, "view": self._store_view(view, self._next_id("V"))}

    def _m_views_update(self, p: dict[str, Any]) -> dict[str, Any]:
        view_id = p.get("view_id")
        if not view_id or view_id not in self.views:
            raise _ApiError("not_found")
        view = self._json_arg(_require(p, "view"))
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

    def _m_files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        filename = _require(p, "filename")
        length = int(_require(p, "length"))
        if length <= 0:
            raise _ApiError("invalid_arguments")
        f = self._new_file(name=filename, title=filename, mimetype="", data=b"", user=self.bot_user_id)
        f.title = ""
        return {"ok": True, "upload_url": f"{self.base_url}/upload/v1/{f.id}", "file_id": f.id}

    def _m_files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        items = self._json_arg(_require(p, "files"))
        if not isinstance(items, list) or not items:
            raise _ApiError("invalid_arguments")
        channel = p.get("channel_id") or p.get("channels")
        stored: list[StoredFile] = []
        for item in items:
            f = self.files.get(item.get("id", ""))
            if f is None or not f.data:
                raise _ApiError("file_not_found")
            f.title = item.get("title") or f.name
            f.mimetype = _sniff_mimetype(f.data)
            f.completed = True
            if channel:
                f.channels = [c for c in str(channel).split(",") if c]
            f.initial_comment = p.get("initial_comment")
            f.thread_ts = p.get("thread_ts")
            stored.append(f)
        # Like Slack: ``blocks`` are ignored when an ``initial_comment`` is given.
        blocks: list[Any] = []
        if not p.get("initial_comment") and p.get("blocks"):
            blocks = self._json_arg(p["blocks"])
            _check_blocks(blocks)
        if channel:
            for ch in str(channel).split(","):
                ts = self._next_ts()
                text = p.get("initial_comment") or ""
                msg = StoredMessage(
                    ch,
                    ts,
                    self.bot_user_id,
                    text,
                    blocks,
                    files=[f.id for f in stored],
                    thread_ts=p.get("thread_ts"),
                )
                self.messages[(ch, ts)] = msg
                for f in stored:
                    f.shares[ch] = ts
        return {"ok": True, "files": [{"id": f.id, "title": f.title} for f in stored]}

    def _m_files_info(self, p: dict[str, Any]) -> dict[str, Any]:
        f = self.files.get(_require(p, "file"))
        if f is None or not f.completed:
            raise _ApiError("file_not_found")
        return {"ok": True, "file": f.to_api()}

    def _m_files_delete(self, p: dict[str, Any]) -> dict[str, Any]:
        f = self.files.get(_require(p, "file"))
        if f is None or not f.completed:
            raise _ApiError("file_not_found")
        if f.user != self.bot_user_id:
            raise _ApiError("cant_delete_file")
        del self.files[f.id]
        for msg in self.messages.values():
            if f.id in msg.files:
                msg.files.remove(f.id)
                if not msg.files and not msg.text and not msg.blocks:
                    msg.deleted = True
        return {"ok": True}

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
                _check_blocks(params.get("blocks") or [])
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


class _ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def _require(p: Mapping[str, Any], name: str) -> Any:
    value = p.get(name)
    if value in (None, ""):
        raise _ApiError(
            "invalid_arguments", response_metadata={"messages": [f"[ERROR] missing required field: {name}"]}
        )
    return value


def _message_api(msg: StoredMessage) -> dict[str, Any]:
    return {
        "type": "message",
        "user": msg.user,
        "bot_id": BOT_ID,
        "text": msg.text,
        "blocks": msg.blocks,
        "ts": msg.ts,
    }


def _sniff_mimetype(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


# Block Kit limits the fake enforces (the ones a front end is likely to hit).
_MAX_BLOCKS_MESSAGE = 50
_MAX_BLOCKS_VIEW = 100
_MAX_ACTION_ELEMENTS = 25
_MAX_ACTION_ID = 255
_MAX_BUTTON_VALUE = 2000
_MAX_BUTTON_TEXT = 75
_MAX_SECTION_TEXT = 3000
_MAX_TITLE = 24
_MAX_PRIVATE_METADATA = 3000
_MAX_CONTEXT_ELEMENTS = 10


def _invalid_blocks(why: str) -> _ApiError:
    return _ApiError("invalid_blocks", response_metadata={"messages": [f"[ERROR] {why}"]})


def _check_text(obj: Any, limit: int, where: str) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        raise _invalid_blocks(f"{where}: text object expected")
    text = obj.get("text")
    if not isinstance(text, str) or not text or len(text) > limit:
        raise _invalid_blocks(f"{where}: text must be 1..{limit} characters")


def _check_element(el: Any, where: str, action_ids: set[str]) -> None:
    if not isinstance(el, dict) or "type" not in el:
        raise _invalid_blocks(f"{where}: element without type")
    action_id = el.get("action_id")
    if action_id is not None:
        if not isinstance(action_id, str) or not action_id or len(action_id) > _MAX_ACTION_ID:
            raise _invalid_blocks(f"{where}: action_id must be 1..{_MAX_ACTION_ID} characters")
        if action_id in action_ids:
            raise _invalid_blocks(f"{where}: duplicate action_id {action_id}")
        action_ids.add(action_id)
    if el["type"] == "button":
        _check_text(el.get("text"), _MAX_BUTTON_TEXT, where)
        if el["text"]["type"] != "plain_text":
            raise _invalid_blocks(f"{where}: button text must be plain_text")
        if len(str(el.get("value", ""))) > _MAX_BUTTON_VALUE:
            raise _invalid_blocks(f"{where}: button value over {_MAX_BUTTON_VALUE} characters")
        if el.get("style") not in (None, "primary", "danger"):
            raise _invalid_blocks(f"{where}: bad button style")


def _check_blocks(blocks: Any, *, limit: int = _MAX_BLOCKS_MESSAGE, inputs_allowed: bool = False) -> None:
    if not isinstance(blocks, list):
        raise _invalid_blocks("blocks must be an array")
    if len(blocks) > limit:
        raise _invalid_blocks(f"no more than {limit} blocks")
    block_ids: set[str] = set()
    action_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        if not isinstance(block, dict):
            raise _invalid_blocks(f"{where}: object expected")
        kind = block.get("type")
        bid = block.get("block_id")
        if bid is not None:
            if bid in block_ids:
                raise _invalid_blocks(f"{where}: duplicate block_id")
            block_ids.add(bid)
        if kind == "section":
            if "text" in block:
                _check_text(block["text"], _MAX_SECTION_TEXT, where)
            elif "fields" not in block:
                raise _invalid_blocks(f"{where}: section needs text or fields")
            if "accessory" in block:
                _check_element(block["accessory"], where, action_ids)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= _MAX_ACTION_ELEMENTS:
                raise _invalid_blocks(f"{where}: actions need 1..{_MAX_ACTION_ELEMENTS} elements")
            for el in elements:
                _check_element(el, where, action_ids)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= _MAX_CONTEXT_ELEMENTS:
                raise _invalid_blocks(f"{where}: context needs 1..{_MAX_CONTEXT_ELEMENTS} elements")
        elif kind == "input":
            if not inputs_allowed:
                raise _invalid_blocks(f"{where}: input blocks are only allowed in views")
            _check_text(block.get("label"), 2000, where)
            _check_element(block.get("element"), where, action_ids)
        elif kind in ("divider", "header", "image", "rich_text"):
            if kind == "header":
                _check_text(block.get("text"), 150, where)
        else:
            raise _invalid_blocks(f"{where}: unknown block type {kind!r}")


def _check_view(view: Any) -> None:
    if not isinstance(view, dict) or view.get("type") != "modal":
        raise _ApiError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] view.type must be modal"]}
        )
    _check_text(view.get("title"), _MAX_TITLE, "view.title")
    for key in ("submit", "close"):
        if key in view:
            _check_text(view[key], _MAX_TITLE, f"view.{key}")
    if len(view.get("private_metadata", "")) > _MAX_PRIVATE_METADATA:
        raise _ApiError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] private_metadata too long"]}
        )
    blocks = view.get("blocks", [])
    _check_blocks(blocks, limit=_MAX_BLOCKS_VIEW, inputs_allowed=True)
    has_input = any(b.get("type") == "input" for b in blocks)
    if has_input and "submit" not in view:
        raise _ApiError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] input blocks need a submit"]}
        )


# -------------------------------------------------------------------- Slack's side towards the app


@dataclass(frozen=True)
class SentRequest:
    """What the app answered to one signed request, and how fast."""

    status: int
    text: str
    elapsed_s: float
    trigger_id: str
    response_url: str

    @property
    def json(self) -> Any:
        return json.loads(self.text) if self.text.strip().startswith("{") else None


class SlackUserSide:
    """Sends what Slack sends to an app's request URL: signed, form-encoded, with a fresh trigger id."""

    def __init__(self, fake: FakeSlack, endpoint_url: str, signing_secret: str = SIGNING_SECRET) -> None:
        self.fake = fake
        self.endpoint_url = endpoint_url
        self.verifier = SignatureVerifier(signing_secret)
        self.session: aiohttp.ClientSession | None = None  # set to reuse connections (benchmarks)

    async def send(
        self,
        body: str,
        *,
        retry_num: int | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
        timeout_s: float = 10.0,
    ) -> tuple[int, str, float]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sig = signature or self.verifier.generate_signature(timestamp=ts, body=body)
        assert sig is not None
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sig,
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        started = time.monotonic()
        if self.session is not None:
            async with self.session.post(
                self.endpoint_url, data=body.encode(), headers=headers, timeout=timeout
            ) as resp:
                text = await resp.text()
                return resp.status, text, time.monotonic() - started
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.post(self.endpoint_url, data=body.encode(), headers=headers) as resp:
                text = await resp.text()
                return resp.status, text, time.monotonic() - started

    def _trigger_id(self) -> str:
        return f"{next(self.fake._ids)}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"

    async def _send_payload(
        self, payload: dict[str, Any], trigger_id: str, response_url: str, **kw: Any
    ) -> SentRequest:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        status, text, elapsed = await self.send(body, **kw)
        return SentRequest(status, text, elapsed, trigger_id, response_url)

    async def slash_command(
        self,
        command: str,
        text: str = "",
        *,
        user_id: str = "U0USER0001",
        user_name: str = "ada",
        channel_id: str = "C0CHANNEL1",
        trigger_id: str | None = None,
        response_url: str | None = None,
        **kw: Any,
    ) -> SentRequest:
        form = self.fake.slash_command_payload(
            command, text, user_id=user_id, user_name=user_name, channel_id=channel_id, trigger_id=trigger_id
        )
        if response_url is not None:
            form["response_url"] = response_url
        trigger_id, response_url = form["trigger_id"], form["response_url"]
        status, body, elapsed = await self.send(urllib.parse.urlencode(form), **kw)
        return SentRequest(status, body, elapsed, trigger_id, response_url)

    def _common(self, user_id: str, user_name: str) -> dict[str, Any]:
        return {
            "team": {"id": self.fake.team_id, "domain": TEAM_DOMAIN},
            "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": self.fake.team_id},
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "is_enterprise_install": False,
            "enterprise": None,
        }

    def _message_with_files(self, message: StoredMessage) -> dict[str, Any]:
        api = _message_api(message)
        if message.files:
            api["files"] = [self.fake.files[f].to_api() for f in message.files if f in self.fake.files]
            api["upload"] = True
        return api

    async def block_action(
        self,
        action_id: str,
        *,
        message: StoredMessage,
        user_id: str = "U0USER0001",
        user_name: str = "ada",
        trigger_id: str | None = None,
        response_url: str | None = None,
        **kw: Any,
    ) -> SentRequest:
        """Click the element ``action_id`` of ``message`` (a message the app posted)."""
        element, block_id = _find_element(message.blocks, action_id)
        trigger_id = trigger_id or self._trigger_id()
        response_url = response_url or self.fake.new_response_url()
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": element["type"],
            "action_ts": f"{time.time():.6f}",
        }
        if element["type"] == "button":
            action["text"] = element["text"]
            if "value" in element:
                action["value"] = element["value"]
        payload = {
            "type": "block_actions",
            **self._common(user_id, user_name),
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": False,
            },
            "trigger_id": trigger_id,
            "channel": {"id": message.channel, "name": "general"},
            "message": self._message_with_files(message),
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [action],
        }
        return await self._send_payload(payload, trigger_id, response_url, **kw)

    async def view_action(
        self,
        view: Mapping[str, Any],
        action_id: str,
        *,
        user_id: str = "U0USER0001",
        user_name: str = "ada",
        trigger_id: str | None = None,
        **kw: Any,
    ) -> SentRequest:
        """Click the element ``action_id`` inside an open modal ``view`` (as stored by the fake)."""
        element, block_id = _find_element(view.get("blocks", []), action_id)
        trigger_id = trigger_id or self._trigger_id()
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": element["type"],
            "action_ts": f"{time.time():.6f}",
        }
        if element["type"] == "button":
            action["text"] = element["text"]
            if "value" in element:
                action["value"] = element["value"]
        payload = {
            "type": "block_actions",
            **self._common(user_id, user_name),
            "container": {"type": "view", "view_id": view["id"]},
            "trigger_id": trigger_id,
            "view": view,
            "actions": [action],
        }
        return await self._send_payload(payload, trigger_id, "", **kw)

    async def message_shortcut(
        self,
        callback_id: str,
        *,
        channel_id: str = "C0CHANNEL1",
        message_ts: str | None = None,
        text: str = "",
        files: list[dict[str, Any]] | None = None,
        author: str = "U0USER0002",
        user_id: str = "U0USER0001",
        user_name: str = "ada",
        trigger_id: str | None = None,
        **kw: Any,
    ) -> SentRequest:
        trigger_id = trigger_id or self._trigger_id()
        response_url = self.fake.new_response_url()
        ts = message_ts or self.fake._next_ts()
        message: dict[str, Any] = {"type": "message", "user": author, "text": text, "ts": ts}
        if files:
            message["files"] = files
            message["upload"] = True
        payload = {
            "type": "message_action",
            **self._common(user_id, user_name),
            "callback_id": callback_id,
            "trigger_id": trigger_id,
            "response_url": response_url,
            "channel": {"id": channel_id, "name": "general"},
            "message_ts": ts,
            "message": message,
            "action_ts": f"{time.time():.6f}",
        }
        return await self._send_payload(payload, trigger_id, response_url, **kw)

    async def view_submission(
        self,
        view: Mapping[str, Any],
        values: Mapping[str, Any],
        *,
        user_id: str = "U0USER0001",
        user_name: str = "ada",
        trigger_id: str | None = None,
        **kw: Any,
    ) -> SentRequest:
        """Submit ``view`` (as returned by views.open) with inputs filled by action_id.

        ``values`` maps an input's action_id to: a string (text/number input, or the value of a select's
        option), a list of Slack file objects (file_input), or ``None`` (left empty).
        """
        state: dict[str, dict[str, Any]] = {}
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                continue
            el = block["element"]
            aid = el["action_id"]
            filled = _fill(el, values.get(aid))
            state.setdefault(block["block_id"], {})[aid] = filled
        unknown = set(values) - {a for b in state.values() for a in b}
        assert not unknown, f"no input with action_id {unknown} in the view"
        trigger_id = trigger_id or self._trigger_id()
        submitted = {**view, "state": {"values": state}}
        payload = {
            "type": "view_submission",
            **self._common(user_id, user_name),
            "trigger_id": trigger_id,
            "view": submitted,
            "response_urls": [],
        }
        return await self._send_payload(payload, trigger_id, "", **kw)


def _find_element(blocks: list[Any], action_id: str) -> tuple[dict[str, Any], str]:
    for block in blocks:
        elements = list(block.get("elements", []))
        if "accessory" in block:
            elements.append(block["accessory"])
        for el in elements:
            if isinstance(el, dict) and el.get("action_id") == action_id:
                return el, block.get("block_id", "")
    raise AssertionError(f"no element with action_id {action_id!r} in the message")


def _fill(el: Mapping[str, Any], value: Any) -> dict[str, Any]:
    kind = el["type"]
    if kind == "file_input":
        return {"type": kind, "files": list(value or [])}
    if kind in ("static_select", "radio_buttons"):
        if value is None:
            return {"type": kind, "selected_option": el.get("initial_option")}
        options = el.get("options") or [o for g in el.get("option_groups", []) for o in g["options"]]
        chosen = [o for o in options if o["value"] == value]
        assert chosen, f"{value!r} is not an option of {el['action_id']}"
        return {"type": kind, "selected_option": chosen[0]}
    if kind == "checkboxes":
        options = el.get("options", [])
        picked = [o for o in options if value and o["value"] in value]
        return {"type": kind, "selected_options": picked}
    # plain_text_input, number_input, …
    if value is None:
        value = el.get("initial_value")
    return {"type": kind, "value": None if value is None else str(value)}


@pytest.fixture
async def slack_server() -> AsyncIterator[FakeSlack]:
    """A started :class:`FakeSlack` on 127.0.0.1."""
    fake = FakeSlack()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


# -------------------------------------------------------------------- easel wired to the fake


@dataclass
class SlackEasel:
    """easel's real services and Slack front end, talking to a :class:`FakeSlack`."""

    slack: FakeSlack
    services: Any  # bot.app.Services
    frontend: Any  # bot.slack.SlackFrontend
    user: SlackUserSide

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.frontend.port}/slack/events"

    def user_side(self, signing_secret: str = SIGNING_SECRET) -> SlackUserSide:
        return self.slack.user_side(self.endpoint, signing_secret)


@contextlib.asynccontextmanager
async def slack_easel_for(
    settings: Any, slack: FakeSlack, *, backend: Any = None
) -> AsyncIterator[SlackEasel]:
    """Start easel (services, job workers, Slack front end on a free port) like ``easel run`` does."""
    from bot.app import open_services
    from bot.slack import SlackFrontend

    async with open_services(settings, backend=backend) as services:
        frontend = SlackFrontend(services, host="127.0.0.1", port=0)
        await services.jobs.start()
        try:
            await frontend.start()
            endpoint = f"http://127.0.0.1:{frontend.port}/slack/events"
            yield SlackEasel(slack, services, frontend, slack.user_side(endpoint))
        finally:
            await services.jobs.stop()
            await frontend.close()


@pytest.fixture
def slack_settings(make_settings: Callable[..., Any], slack_server: FakeSlack) -> Callable[..., Any]:
    """``make_settings`` plus the Slack variables pointing at the fake Slack."""

    def make(**overrides: Any) -> Any:
        values: dict[str, Any] = {
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": slack_server.api_url,
            "slack_port": 0,
        }
        values.update(overrides)
        return make_settings(**values)

    return make


@pytest.fixture
async def slack_easel(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> AsyncIterator[SlackEasel]:
    """easel with the Slack front end against the fake Slack and the fake Stability server."""
    async with slack_easel_for(slack_settings(), slack_server) as running:
        yield running
