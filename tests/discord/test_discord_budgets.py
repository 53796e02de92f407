"""Community budgets through the real discord.py client (issue 10): refusals private, nothing spent."""

from __future__ import annotations

from typing import Any

from tests.fakes.discord import EaselOnDiscord
from tests.helpers.discord_messages import ephemeral_reply, remaining, result_of


async def test_a_spent_server_budget_is_refused_privately_and_quota_lists_it(
    easel_on_discord_factory: Any, stability_server: Any
) -> None:
    easel: EaselOnDiscord = await easel_on_discord_factory(server_daily_units=2)
    fake = easel.fake
    await result_of(fake, await fake.slash("imagine", prompt="a boat", samples=2))
    calls = len(stability_server.requests_for("/generation"))
    second = await fake.slash("imagine", prompt="another boat")
    reply = await ephemeral_reply(fake, second)
    assert "This server's daily budget has 0 of 2 units left and this request needs 1." in reply.content
    assert "It resets <t:" in reply.content and reply.content.endswith("Nothing was spent.")
    assert reply.ephemeral  # the public "thinking…" placeholder goes, as for every refusal
    await fake.wait_until(lambda: fake.messages[second.original_message_id or 0].deleted)
    assert len(stability_server.requests_for("/generation")) == calls
    assert await remaining(easel, fake.user.id) == 23

    shown = await ephemeral_reply(fake, await fake.slash("quota"))
    assert "This server's daily budget: 0 of 2 left, resets <t:" in shown.content
