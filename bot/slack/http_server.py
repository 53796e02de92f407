"""Serve a bolt ``AsyncApp`` on ``/slack/events`` with aiohttp (Slack's HTTP mode).

bolt's own ``AsyncSlackAppServer`` runs its own event loop; easel shares one loop between
Discord, Slack, the job workers and the health endpoint, so the app is served by an
``aiohttp.web.AppRunner`` started on the running loop instead.
"""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

__all__ = ["EVENTS_PATH", "SlackHttpServer"]

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
_MAX_BODY_BYTES = 1024 * 1024  # Slack payloads are small; modals with many blocks stay far below this


class SlackHttpServer:
    """``await start()`` binds ``host:port`` (port 0 picks a free one, see ``.port``)."""

    def __init__(self, app: AsyncApp, *, host: str, port: int) -> None:
        self._app = app
        self._host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            bolt_req = await to_bolt_request(request)
        except Exception as exc:  # bolt parses the body before it checks the signature
            # Anyone can post here: a body bolt cannot parse (not JSON, a payload that is not an
            # object, ...) gets a 400 and one log line, not a 500 with a traceback.
            log.warning("slack.unreadable_request", extra={"error_kind": type(exc).__name__})
            return web.Response(status=400, text="unreadable request")
        bolt_resp = await self._app.async_dispatch(bolt_req)
        return await to_aiohttp_response(bolt_resp)

    async def start(self) -> None:
        web_app = web.Application(client_max_size=_MAX_BODY_BYTES)
        web_app.router.add_post(EVENTS_PATH, self._handle)
        self._runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self.port)
        await site.start()
        for addr in self._runner.addresses:
            if isinstance(addr, tuple) and len(addr) >= 2:
                self.port = int(addr[1])
                break
        log.info("slack.http_listening", extra={"host": self._host, "port": self.port, "path": EVENTS_PATH})

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
