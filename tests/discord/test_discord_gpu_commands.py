"""On a GPU host, commands the web UI API cannot run are not registered or listed (issue 11, item 2).

A1111, Forge and SD.Next have no search-and-replace or background-removal endpoint, so /replace and
/cutout must not reach Discord's command list or /help.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.a1111 import FakeA1111
from tests.fakes.discord import EaselOnDiscord


async def test_replace_and_cutout_are_not_registered_or_listed_on_a_gpu_host(
    easel_on_discord_factory: Any, a1111_server: FakeA1111
) -> None:
    easel: EaselOnDiscord = await easel_on_discord_factory(
        easel_backend="gpu-host", gpu_host_url=a1111_server.url
    )
    fake = easel.fake
    synced = {c["name"] for c in fake.commands[fake.guild.id]}
    assert {"imagine", "remix", "inpaint", "outpaint", "upscale", "describe"} <= synced
    assert not {"replace", "cutout"} & synced
    help_ = await fake.slash("help")
    await fake.wait_until(lambda: help_.acked_at is not None)
    listed = " ".join(f["value"] for f in help_.ack_data["embeds"][0]["fields"])
    assert "/imagine" in listed and "/replace" not in listed and "/cutout" not in listed
