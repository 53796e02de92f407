"""Capped downloads: refused from the declared size, or stopped mid-stream, with one sentence."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from services.downloads import FileTooLarge, check_size, fetch_capped, read_capped
from services.errors import InvalidRequest

MB = 1024 * 1024


async def chunks(sizes: list[int], pulled: list[int]) -> AsyncIterator[bytes]:
    for size in sizes:
        pulled.append(size)
        yield b"x" * size


async def test_under_the_cap_everything_is_read() -> None:
    pulled: list[int] = []
    assert await read_capped(chunks([3, 4, 3], pulled), max_bytes=10, what="image") == b"x" * 10


async def test_the_stream_stops_as_soon_as_it_passes_the_cap() -> None:
    pulled: list[int] = []
    with pytest.raises(FileTooLarge) as info:
        await read_capped(chunks([MB, MB, MB, MB], pulled), max_bytes=2 * MB, what="mask")
    assert pulled == [MB, MB, MB]  # the fourth chunk was never asked for
    assert str(info.value) == (
        "The mask is larger than 2.0 MB, the largest I accept. Please upload a smaller file."
    )
    assert isinstance(info.value, InvalidRequest) and "limit=2097152" in info.value.log_detail


def test_a_declared_size_is_refused_before_any_byte() -> None:
    check_size(None, max_bytes=MB, what="image")
    check_size(MB, max_bytes=MB, what="image")
    with pytest.raises(
        FileTooLarge, match=r"^The image is 12\.5 MB; the largest I accept is 10\.0 MB\. Please"
    ):
        check_size(int(12.5 * MB), max_bytes=10 * MB, what="image")


@pytest.fixture
async def files_host() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """A local file host: /ok, /big (declared), /stream (undeclared), /hop → /ok, /away → elsewhere."""
    seen: list[dict[str, str]] = []

    async def ok(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.Response(body=b"PNGDATA")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 5000)

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(10):
            await response.write(b"x" * 1000)
        return response

    async def hop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/ok")

    async def away(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://127.0.0.1:9/steal")  # not the allowed host:port

    app = web.Application()
    app.add_routes(
        [
            web.get("/ok", ok),
            web.get("/big", big),
            web.get("/stream", stream),
            web.get("/hop", hop),
            web.get("/away", away),
        ]
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")), seen
    finally:
        await server.close()


async def test_fetch_follows_only_allowed_redirects_within_the_cap(
    files_host: tuple[str, list[dict[str, str]]],
) -> None:
    base, seen = files_host
    own = lambda url: url.startswith(base)  # noqa: E731
    token = {"Authorization": "Bearer xoxb-secret"}
    async with aiohttp.ClientSession() as session:

        async def fetch(path: str) -> bytes:
            return await fetch_capped(
                session,
                f"{base}{path}",
                max_bytes=2000,
                what="image",
                source="Slack",
                headers=token,
                allowed=own,
            )

        assert await fetch("/hop") == b"PNGDATA"
        assert seen[-1]["Authorization"] == "Bearer xoxb-secret"
        with pytest.raises(InvalidRequest, match=r"^I couldn.t download the image from Slack") as refused:
            await fetch("/away")  # the token is never sent off the allowed hosts
        assert "redirect to 127.0.0.1 refused" == refused.value.log_detail and "steal" not in str(
            refused.value
        )
        with pytest.raises(FileTooLarge, match="larger than"):
            await fetch("/big")  # refused from Content-Length
        with pytest.raises(FileTooLarge, match="larger than"):
            await fetch("/stream")
        with pytest.raises(InvalidRequest, match="couldn't download"):
            await fetch("/missing")
