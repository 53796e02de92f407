"""Serving a fake's aiohttp app on 127.0.0.1 (a free port): the start and close every fake needs."""

from __future__ import annotations

from aiohttp import web

__all__ = ["LocalHttp"]


class LocalHttp:
    """One app on ``http://127.0.0.1:<free port>``; :attr:`url` is set once :meth:`serve` returns."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def serve(self, app: web.Application) -> str:
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
