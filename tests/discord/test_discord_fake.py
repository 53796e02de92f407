"""The fake Discord against the unmodified discord.py: login, sync, gateway, interaction round trip.

These tests use a minimal bot written here, not easel's front end, so a failure points at the fake.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord import FakeDiscord


class _Bot(commands.AutoShardedBot):
    def __init__(self, guild_id: int, intents: discord.Intents | None = None) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents or discord.Intents(guilds=True),
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.guild_id = guild_id
        self.connected = asyncio.Event()
        self.interaction_seen = asyncio.Event()

        @app_commands.command(name="paint", description="Paint something")
        @app_commands.describe(prompt="What to paint")
        async def paint(
            interaction: discord.Interaction, prompt: str, count: app_commands.Range[int, 1, 4] = 1
        ) -> None:
            await interaction.response.defer(thinking=True)
            await interaction.edit_original_response(content=f"painting {count}: {prompt}")
            assert interaction.channel is not None
            channel = self.get_channel(interaction.channel.id) or interaction.channel
            await channel.send(  # type: ignore[union-attr]
                content="done",
                files=[discord.File(io.BytesIO(b"\x89PNG fake"), filename="a.png")],
            )

        self.tree.add_command(paint)

    async def setup_hook(self) -> None:
        guild = discord.Object(self.guild_id)
        self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """The fake allows every shard to identify at once (max_concurrency 16)."""

    async def on_shard_connect(self, shard_id: int) -> None:
        if self.shard_count is not None and len(self.shards) >= self.shard_count:
            self.connected.set()


@pytest.fixture
async def route_base(discord_fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    monkeypatch.setattr(discord.http.Route, "BASE", discord_fake.api_base)
    yield


async def _run_bot(fake: FakeDiscord) -> tuple[_Bot, asyncio.Task[None]]:
    bot = _Bot(fake.guild.id)
    task = asyncio.create_task(bot.start(fake.token))
    done, _ = await asyncio.wait(
        {task, asyncio.create_task(bot.connected.wait())}, timeout=10, return_when="FIRST_COMPLETED"
    )
    if task in done:
        task.result()
    await fake.wait_connected()
    return bot, task


def _app_webhook(bot: _Bot, token: str) -> discord.Webhook:
    """The interaction webhook, built the way ``Interaction.followup`` builds it."""
    data = {"id": bot.application_id, "type": 3, "token": token}
    return discord.Webhook.from_state(data=data, state=bot._connection)  # type: ignore[arg-type]


async def _stop(bot: _Bot, task: asyncio.Task[None]) -> None:
    await bot.close()
    await asyncio.wait_for(task, 10)


@pytest.mark.usefixtures("route_base")
async def test_unmodified_discord_py_logs_in_syncs_and_answers(discord_fake: FakeDiscord) -> None:
    bot, task = await _run_bot(discord_fake)
    try:
        # The client asked /gateway/bot and connected with zlib-stream like the installed library does.
        assert (
            discord_fake.gateway_queries[0]["compress"]
            == discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE
        )
        assert discord_fake.identifies[0]["shard"] == [0, 1]
        await discord_fake.wait_until(
            lambda: discord_fake.connections[0].heartbeats >= 1
        )  # answered with ACK
        synced = discord_fake.commands[discord_fake.guild.id]
        paint = next(c for c in synced if c["name"] == "paint")
        assert [o["name"] for o in paint["options"]] == ["prompt", "count"]

        interaction = await discord_fake.slash("paint", prompt="a <@123> cat", count=2)
        callback = await discord_fake.wait_for_call(
            "POST", "/interactions/{id}/{token}/callback", interaction=interaction
        )
        assert callback.status == 200 and callback.t is not None and callback.t < 3.0
        assert callback.payload["type"] == 5
        edit = await discord_fake.wait_for_call(
            "PATCH", "/webhooks/{application_id}/{token}/messages/{message}", interaction=interaction
        )
        assert edit.payload["content"] == "painting 2: a <@123> cat"
        assert edit.payload["allowed_mentions"]["parse"] == []
        post = await discord_fake.wait_for_call("POST", "/channels/{channel}/messages")
        assert post.status == 200
        assert [f.filename for f in post.files] == ["a.png"]
        assert post.files[0].data == b"\x89PNG fake"
        messages = discord_fake.channel_messages()
        assert [m.content for m in messages] == ["painting 2: a <@123> cat", "done"]
        assert all(not m.pings for m in messages)
        assert discord_fake.violations == []
    finally:
        await _stop(bot, task)


@pytest.mark.usefixtures("route_base")
async def test_fake_enforces_single_ack_deadline_and_first_followup_rule(discord_fake: FakeDiscord) -> None:
    bot, task = await _run_bot(discord_fake)
    try:
        interaction = await discord_fake.slash("paint", prompt="x")
        await discord_fake.wait_for_call("POST", "/channels/{channel}/messages")
        # A second acknowledgement is refused like Discord does.
        webhook = _app_webhook(bot, interaction.token)
        with pytest.raises(discord.HTTPException) as second:
            await bot.http.request(
                discord.http.Route(
                    "POST", "/interactions/{id}/{token}/callback", id=interaction.id, token=interaction.token
                ),
                json={"type": 5},
            )
        assert second.value.code == 40060
        # A follow-up is a new message, and may be ephemeral, once the original was edited.
        followup = await webhook.send("only you", ephemeral=True, wait=True)
        assert discord_fake.messages[followup.id].ephemeral

        # After a public defer, the first follow-up replaces the loading message and stays public.
        late = discord_fake.interaction_payload(2, {"id": "1", "name": "nothing", "type": 1})
        await discord_fake.send_interaction(late)
        await bot.http.request(
            discord.http.Route("POST", "/interactions/{id}/{token}/callback", id=late.id, token=late.token),
            json={"type": 5},
        )
        hook = _app_webhook(bot, late.token)
        first = await hook.send("meant to be ephemeral", ephemeral=True, wait=True)
        assert first.id == late.original_message_id
        assert not discord_fake.messages[first.id].ephemeral
    finally:
        await _stop(bot, task)


async def test_fake_rejects_late_ack_expired_token_and_big_uploads(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeDiscord(ack_deadline_s=0.2, token_lifetime_s=0.5) as fake:
        monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
        bot, task = await _run_bot(fake)
        try:
            late = fake.interaction_payload(2, {"id": "1", "name": "nothing", "type": 1})
            await fake.send_interaction(late)
            await asyncio.sleep(0.3)
            route = discord.http.Route(
                "POST", "/interactions/{id}/{token}/callback", id=late.id, token=late.token
            )
            with pytest.raises(discord.NotFound) as unknown:
                await bot.http.request(route, json={"type": 5})
            assert unknown.value.code == 10062

            ok = fake.interaction_payload(2, {"id": "1", "name": "nothing", "type": 1})
            await fake.send_interaction(ok)
            route = discord.http.Route(
                "POST", "/interactions/{id}/{token}/callback", id=ok.id, token=ok.token
            )
            await bot.http.request(route, json={"type": 5})
            hook = _app_webhook(bot, ok.token)
            big = discord.File(io.BytesIO(b"\0" * (10 * 1024 * 1024 + 1)), filename="big.png")
            with pytest.raises(discord.HTTPException) as too_big:
                await hook.edit_message(ok.original_message_id or 0, attachments=[big])
            assert too_big.value.status == 413 and too_big.value.code == 40005
            await asyncio.sleep(0.5)
            with pytest.raises(discord.HTTPException) as expired:
                await hook.send("late")
            assert expired.value.code == 50027
            assert len(fake.violations) == 2
        finally:
            await _stop(bot, task)


async def test_fake_refuses_privileged_intents_and_shards_by_guild(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeDiscord(shard_count=2) as fake:
        second = fake.add_guild("other")
        while (second.id >> 22) % 2 == (fake.guild.id >> 22) % 2:
            second = fake.add_guild("other")
        monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
        bot, task = await _run_bot(fake)
        try:
            assert sorted(i["shard"][0] for i in fake.identifies) == [0, 1]
            assert all(i["intents"] & (1 << 1 | 1 << 8 | 1 << 15) == 0 for i in fake.identifies)
            await fake.wait_until(lambda: len(bot.guilds) == len(fake.guilds))
            assert {g.id: g.shard_id for g in bot.guilds}[second.id] != bot.get_guild(fake.guild.id).shard_id  # type: ignore[union-attr]
        finally:
            await _stop(bot, task)

        greedy = _Bot(fake.guild.id, intents=discord.Intents.all())
        with pytest.raises(discord.PrivilegedIntentsRequired):
            await asyncio.wait_for(greedy.start(fake.token), 10)
        await greedy.close()
