"""SD.Next is detected from its API and spoken to as SD.Next (issue 11, item 3).

The fake in ``kind="sdnext"`` is SD.Next's API: ``/sdapi/v1/version`` names the app, captions come from
``POST /sdapi/v1/openclip`` (there is no ``/interrogate``), and ``scheduler`` is not a field of its
request models (a value sent there is dropped; the fake records it in ``ignored_fields``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from commands import COMMANDS, Invocation
from services.backends.a1111 import A1111Backend
from services.errors import InvalidRequest
from tests.fakes.a1111 import FakeA1111
from tests.helpers.images import png


async def _started(host: FakeA1111) -> A1111Backend:
    backend = A1111Backend([host.url], reprobe_interval_s=0)
    await backend.start()
    return backend


async def test_describe_uses_sdnext_caption_endpoint(
    a1111_factory: Callable[..., Awaitable[FakeA1111]],
) -> None:
    host = await a1111_factory(kind="sdnext")
    backend = await _started(host)
    try:
        request = await COMMANDS["describe"].build(
            Invocation(images={"image": png((320, 192))}), backend.limits
        )
        result = await backend.generate(request)
    finally:
        await backend.close()
    assert result.text == "a photo of a 320x192 test pattern"
    assert host.calls("/sdapi/v1/openclip") and not host.calls("/sdapi/v1/interrogate")


async def test_scheduler_is_refused_on_sdnext_not_dropped(
    a1111_factory: Callable[..., Awaitable[FakeA1111]],
) -> None:
    host = await a1111_factory(kind="sdnext")
    backend = await _started(host)
    try:
        with pytest.raises(InvalidRequest, match="--scheduler isn't available on this backend"):
            await COMMANDS["imagine"].build(Invocation(text="a fox --scheduler karras"), backend.limits)
        request = await COMMANDS["imagine"].build(Invocation(text="a fox"), backend.limits)
        await backend.generate(request)
    finally:
        await backend.close()
    assert host.ignored_fields == []


async def test_a_mixed_pool_sends_a_scheduler_only_to_hosts_that_take_it(
    a1111_factory: Callable[..., Awaitable[FakeA1111]],
) -> None:
    sdnext, a1111 = await a1111_factory(kind="sdnext"), await a1111_factory()
    backend = A1111Backend([sdnext.url, a1111.url], reprobe_interval_s=0)
    await backend.start()
    try:
        request = await COMMANDS["imagine"].build(Invocation(text="a fox --scheduler karras"), backend.limits)
        for _ in range(3):
            await backend.generate(request)
    finally:
        await backend.close()
    assert sdnext.ignored_fields == [] and len(a1111.calls("/sdapi/v1/txt2img")) == 3
