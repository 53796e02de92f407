"""Pause and resume seen from a waiting member's placeholder on Discord (issue 10)."""

from __future__ import annotations

import asyncio
from typing import Any

from commands.replies import PAUSED_LINE
from tests.fakes.backend import FakeBackend
from tests.fakes.discord import MANAGE_GUILD, MEMBER_PERMISSIONS, EaselOnDiscord, FakeMessage
from tests.helpers.discord_messages import ephemeral_reply, result_of


def _texts(message: FakeMessage) -> list[str]:
    return [str(h.get("content") or "") for h in message.history] + [message.content]


async def test_queued_members_are_told_of_the_pause_and_of_the_resume(easel_on_discord_factory: Any) -> None:
    backend = FakeBackend(default_size=(64, 64))
    easel: EaselOnDiscord = await easel_on_discord_factory(backend=backend, max_concurrency=1)
    fake = easel.fake
    manager = fake.add_user("manager", permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
    bob = fake.add_user("bob")
    paused = await fake.slash("easel", "admin", "pause", user=manager)
    assert (await ephemeral_reply(fake, paused)).content == "Generation is paused; queued jobs wait."

    first = await fake.slash("imagine", prompt="a lighthouse", samples=1)
    second = await fake.slash("imagine", prompt="a harbour", samples=1, user=bob)
    placeholders = []
    for interaction in (first, second):
        message = await fake.wait_until(lambda i=interaction: fake.messages.get(i.original_message_id or 0))
        await fake.wait_until(lambda m=message: PAUSED_LINE[:40].lower() in m.content.lower())
        placeholders.append(message)
    assert backend.calls == []
    listed = (await ephemeral_reply(fake, await fake.slash("easel", "admin", "queue", user=manager))).content
    assert [line.split()[0] + line.split()[2] for line in listed.splitlines()] == [
        f"1.discord:{fake.user.id}",
        f"2.discord:{bob.id}",
    ]

    backend.gate = asyncio.Event()  # the first job will hold the only worker
    resumed = await fake.slash("easel", "admin", "resume", user=manager)
    assert (await ephemeral_reply(fake, resumed)).content == "Generation resumed."
    await backend.until_running(1)
    waiting = placeholders[1]
    await fake.wait_until(lambda: "generation resumed; queued — you're next" in waiting.content.lower())
    backend.gate.set()
    for interaction in (first, second):
        await result_of(fake, interaction)
    for message in placeholders:  # each was told of the pause once
        told = [t for t in _texts(message) if PAUSED_LINE[:40].lower() in t.lower()]
        assert len(told) == 1, _texts(message)
