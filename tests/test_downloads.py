"""Capped downloads: refused from the declared size, or stopped mid-stream, with one sentence."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.downloads import FileTooLarge, check_size, read_capped
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
