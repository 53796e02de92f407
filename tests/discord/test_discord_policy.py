"""Prompt policy and NSFW gating through the real discord.py client and the fake Discord."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.fakes.discord import EaselOnDiscord
from tests.helpers.chat import DiscordChat, assert_refused_privately_for_free
from tests.helpers.discord_messages import result_of


async def test_adult_only_prompts_run_only_in_channels_discord_marks_nsfw(
    easel_on_discord_factory: Callable[..., Any],
) -> None:
    easel: EaselOnDiscord = await easel_on_discord_factory(adult_words=["nude"], blocked_words=["gore"])
    fake = easel.fake
    chat = DiscordChat(easel)
    nsfw = fake.add_channel(fake.guild, nsfw=True)
    plain = fake.add_channel(fake.guild)

    refused = await fake.slash("imagine", prompt="a nude marble statue", channel_id=plain)
    await assert_refused_privately_for_free(
        chat, refused, "adult-only", "age-restricted (NSFW)", "Nothing was spent"
    )
    blocked = await fake.slash("imagine", prompt="lots of GORE", channel_id=nsfw)
    await assert_refused_privately_for_free(chat, blocked, "not allowed here", "Nothing was spent")

    allowed = await fake.slash("imagine", prompt="a nude marble statue", channel_id=nsfw)
    message = await result_of(fake, allowed)
    assert len(message.files) == 1
    actions = [(e.action, e.server_id) for e in await easel.services.policy.audit.recent()]
    assert actions == [("policy.blocked", str(fake.guild.id)), ("policy.adult_refused", str(fake.guild.id))]
