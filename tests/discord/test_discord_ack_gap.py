"""The gap between Discord's acknowledgement and the job row: a restart there tells the person.

The attachment download of ``/remix`` is held at the fake CDN, so the request is acknowledged
("easel is thinking…") but not yet a job when easel goes down. The next start finds the
request recorded at the ack and replaces the placeholder with a private "not started, nothing
spent" note; no job, no quota.
"""

from __future__ import annotations

import asyncio
from typing import Any

from services.jobs.pending import NOT_STARTED
from tests.fakes.discord import EaselOnDiscord
from tests.helpers.discord_messages import ephemeral_reply, remaining, result_of
from tests.helpers.images import png
from tests.helpers.waiting import until


async def test_restart_during_the_download_tells_the_person_and_spends_nothing(
    easel_on_discord: EaselOnDiscord, stability_server: Any
) -> None:
    fake = easel_on_discord.fake
    fake.attachment_gate = asyncio.Event()
    interaction = await fake.slash(
        "remix", prompt="as a watercolour", image=(png((512, 512)), "cat.png", "image/png")
    )
    db = easel_on_discord.services.db
    await until(
        lambda: fake.downloads >= 1, within_s=10
    )  # held at the CDN (wait_until re-checks after replies)
    assert len(await db.fetchall("SELECT id FROM pending_requests")) == 1
    placeholder = fake.messages[interaction.original_message_id or 0]
    assert placeholder.loading

    await easel_on_discord.restart()  # the download never finished: the request is no job yet
    fake.attachment_gate.set()

    reply = await ephemeral_reply(fake, interaction)
    assert NOT_STARTED in reply.content and "Nothing was spent" in reply.content
    await fake.wait_until(lambda: placeholder.deleted or not placeholder.loading)
    assert not [m for m in fake.channel_messages() if m.interaction_id == interaction.id]
    db = easel_on_discord.services.db
    assert await db.fetchall("SELECT id FROM pending_requests") == []
    assert await db.fetchall("SELECT id FROM jobs") == []
    assert await remaining(easel_on_discord, fake.user.id) == 25
    assert not stability_server.requests_for("/image-to-image")


async def test_a_queued_request_leaves_no_pending_row(easel_on_discord: EaselOnDiscord) -> None:
    fake = easel_on_discord.fake
    interaction = await fake.slash("imagine", prompt="a lighthouse")
    await result_of(fake, interaction)
    db = easel_on_discord.services.db
    assert len(await db.fetchall("SELECT id FROM jobs")) == 1
    assert await db.fetchall("SELECT id FROM pending_requests") == []  # deleted with the job insert
