"""The moderation log channel on Discord (issue 10): refusals, bans and admin actions, one line each."""

from __future__ import annotations

from typing import Any

from tests.fakes.discord import MANAGE_GUILD, MEMBER_PERMISSIONS, SEND_MESSAGES, EaselOnDiscord, FakeDiscord
from tests.helpers.discord_messages import assert_no_pings, ephemeral_reply, result_of

LONG_PROMPT = "a GORE scene at the harbour " + "with many more words " * 20 + "@everyone"


def _lines(fake: FakeDiscord, channel_id: int) -> list[str]:
    return [m.content for m in fake.channel_messages(channel_id)]


async def test_refusals_and_admin_actions_reach_the_modlog_channel(easel_on_discord_factory: Any) -> None:
    first: EaselOnDiscord = await easel_on_discord_factory(blocked_words=["gore"])
    fake = first.fake
    modlog = fake.add_channel(fake.guild)
    await first.close()
    easel: EaselOnDiscord = await easel_on_discord_factory(
        blocked_words=["gore"], discord_modlog_channel=modlog
    )
    manager = fake.add_user("manager", permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)

    refused = await fake.slash("imagine", prompt=LONG_PROMPT)
    assert "not allowed here" in (await ephemeral_reply(fake, refused)).content
    ban = await fake.slash(
        "easel", "admin", "ban", user=manager, account=f"<@{fake.user.id}>", reason="**spam**"
    )
    await ephemeral_reply(fake, ban)
    fake.permit_command(fake.guild, "easel", fake.guild.id)
    await ephemeral_reply(fake, await fake.slash("easel", "admin", "pause"))  # alice is no admin

    await fake.wait_until(lambda: len(_lines(fake, modlog)) >= 3)
    blocked, banned, attempt = _lines(fake, modlog)
    assert f"server {fake.guild.id}" in blocked
    assert f"discord:{fake.user.id} was refused by the prompt block list (rule gore)" in blocked
    assert "a GORE scene at the harbour with many" in blocked and "@everyone" not in blocked
    assert len(blocked.split(" — ", 1)[1]) <= 60  # the prompt, cut to a short excerpt
    assert f"discord:{manager.id} banned discord:{fake.user.id} — \\*\\*spam\\*\\*" in banned
    assert f"discord:{fake.user.id} tried an admin command without permission — pause" in attempt
    for message in fake.channel_messages(modlog):
        assert fake.token not in message.content and message.author.id == fake.bot.id
    assert_no_pings(fake)
    await easel.close()


async def test_a_modlog_channel_that_refuses_posts_never_fails_a_job(easel_on_discord_factory: Any) -> None:
    first: EaselOnDiscord = await easel_on_discord_factory()
    fake = first.fake
    elsewhere = fake.add_guild("no posting here", bot_permissions=0)
    modlog = elsewhere.channel_ids[0]
    await first.close()
    easel: EaselOnDiscord = await easel_on_discord_factory(discord_modlog_channel=modlog)
    manager = fake.add_user("manager", permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
    reply = await ephemeral_reply(
        fake, await fake.slash("easel", "admin", "set", user=manager, name="cooldown", value="0")
    )
    assert reply.content == "cooldown is now 0 here."
    await fake.wait_until(
        lambda: any(c.route.startswith("POST /channels") and c.status == 403 for c in fake.calls)
    )
    message = await result_of(fake, await fake.slash("imagine", prompt="a quiet harbour", samples=1))
    assert len(message.files) == 1
    assert fake.channel_messages(modlog) == []
    assert SEND_MESSAGES & elsewhere.bot_permissions == 0
    await easel.close()
