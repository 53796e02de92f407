"""post_within: images fitted to a platform's limit, split into messages, shrunk when refused."""

from __future__ import annotations

import pytest

from services.types import PublishedImage
from services.uploads import MIN_BUDGET_BYTES, UploadPart, UploadTooLarge, post_within
from tests.fakes.backend import render_png


def images(count: int, noise: float = 40.0) -> list[PublishedImage]:
    return [
        PublishedImage(
            i, render_png(256, 256, i, noise=noise), f"easel-j-{i + 1}.png", "image/png", i, 256, 256
        )
        for i in range(count)
    ]


async def test_a_batch_is_split_into_messages_in_order() -> None:
    posted: list[UploadPart] = []

    async def post(part: UploadPart) -> None:
        posted.append(part)

    batch = images(5, noise=0)
    assert await post_within(batch, 10 * 1024 * 1024, post, max_files=2, job_id="j") == 3
    assert [[i.index for i in p.images] for p in posted] == [[0, 1], [2, 3], [4]]
    assert [(p.number, p.count) for p in posted] == [(1, 3), (2, 3), (3, 3)]
    assert [f.data for p in posted for f in p.files] == [i.data for i in batch]  # small enough: as is


async def test_a_refused_message_is_shrunk_and_posted_again() -> None:
    refusals = 2
    sizes: list[int] = []

    async def post(part: UploadPart) -> None:
        nonlocal refusals
        sizes.append(sum(f.size for f in part.files))
        if refusals:
            refusals -= 1
            raise UploadTooLarge()

    await post_within(images(2), 10 * 1024 * 1024, post, max_files=10, job_id="j")
    assert len(sizes) == 3 and sizes[2] < sizes[1] < sizes[0]


async def test_it_gives_up_below_the_floor() -> None:
    calls = 0

    async def refuse(part: UploadPart) -> None:
        nonlocal calls
        calls += 1
        raise UploadTooLarge()

    with pytest.raises(UploadTooLarge):
        await post_within(images(1), 64 * MIN_BUDGET_BYTES, refuse, max_files=10, job_id="j")
    assert 2 <= calls <= 7  # halved each time, from at most 1 MB down to the 16 kB floor
