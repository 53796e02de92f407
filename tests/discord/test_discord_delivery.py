"""Getting results to the channel: expired tokens, upload limits, many users at once, shards, gateway."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.fakes.discord import PRIVILEGED_INTENTS, EaselOnDiscord, FakeMessage
from tests.helpers.discord_messages import (
    CALLBACK,
    assert_no_pings,
    assert_watermarked,
    decode,
    job_id_of,
    result_of,
)


async def test_job_outliving_the_token_replies_in_the_channel(
    easel_on_discord_factory: Any, stability_server: Any
) -> None:
    easel: EaselOnDiscord = await easel_on_discord_factory(token_lifetime_s=2.0)
    fake = easel.fake
    fake.token_lifetime_s = 2.0
    stability_server.latency_s = 2.2
    interaction = await fake.slash("imagine", prompt="@everyone a slow <@&456> sunrise", samples=2)
    message = await result_of(fake, interaction, timeout_s=15)

    assert message.created_by == "POST /channels/{channel}/messages"
    assert message.message_reference is not None
    assert int(message.message_reference["message_id"]) == interaction.original_message_id
    assert message.allowed_mentions == {"parse": [], "replied_user": False}
    assert len(message.files) == 2
    await assert_watermarked(easel, message, job_id_of(message))
    assert fake.violations == []  # the expired token was never used
    assert_no_pings(fake)


async def test_token_refused_by_discord_falls_back_to_the_channel(
    easel_on_discord: EaselOnDiscord, stability_server: Any
) -> None:
    fake = easel_on_discord.fake
    fake.token_lifetime_s = 0.5  # Discord expires it earlier than easel expects
    stability_server.latency_s = 0.8
    interaction = await fake.slash("imagine", prompt="a fox")
    message = await result_of(fake, interaction, timeout_s=15)
    assert message.created_by == "POST /channels/{channel}/messages"
    refused = [c for c in fake.calls_for(interaction) if c.status == 401]
    assert refused and all(c.response["code"] == 50027 for c in refused)


async def test_batch_over_the_guild_limit_is_re_encoded(easel_on_discord: EaselOnDiscord) -> None:
    fake = easel_on_discord.fake
    # The invisible mark makes a flat 1024² picture ~270 KB as PNG: 100 KB for two forces re-encoding.
    fake.guild.upload_limit_override = 100_000
    interaction = await fake.slash("imagine", prompt="two lighthouses", samples=2)
    message = await result_of(fake, interaction)
    assert len(message.files) == 2
    assert sum(len(f.data) for f in message.files) <= 100_000
    assert all(decode(f.data).size == (1024, 1024) for f in message.files)
    assert not [c for c in fake.calls if c.status == 413]


async def test_limit_lower_than_advertised_still_delivers(easel_on_discord: EaselOnDiscord) -> None:
    fake = easel_on_discord.fake
    fake.guild.upload_limit_override = 30_000  # enforced …
    fake.guild.advertised_upload_limit = 10 * 1024 * 1024  # … but interactions claim 10 MiB
    interaction = await fake.slash("imagine", prompt="three ships", samples=3)
    message = await result_of(fake, interaction, timeout_s=20)
    assert [c for c in fake.calls_for(interaction) if c.status == 413]
    assert sum(len(f.data) for f in message.files) <= 30_000
    assert len(message.files) == 3


async def test_twenty_users_at_once_are_acked_in_time_and_served_fairly(
    easel_on_discord_factory: Any,
) -> None:
    from tests.fakes.backend import FakeBackend

    backend = FakeBackend(default_size=(256, 256))
    backend.gate = asyncio.Event()  # hold the first jobs until everyone has asked
    easel: EaselOnDiscord = await easel_on_discord_factory(backend=backend, max_concurrency=2)
    fake = easel.fake
    heavy = [await fake.slash("imagine", prompt=f"heavy user's picture {n}") for n in range(6)]

    users = [fake.add_user(f"user{n}") for n in range(20)]
    payloads = [
        fake.interaction_payload(2, _imagine_data(fake, f"picture by user {n}"), user=u)
        for n, u in enumerate(users)
    ]
    for interaction in payloads:  # back to back, as fast as the gateway carries them
        await fake.send_interaction(interaction)
    everyone = [*heavy, *payloads]

    def queued(interaction: Any) -> bool:
        original = fake.messages.get(interaction.original_message_id or 0)
        return original is not None and original.edits > 0

    await fake.wait_until(lambda: all(queued(i) for i in everyone), timeout_s=20)
    acks = [
        c
        for c in fake.calls
        if c.route == f"POST {CALLBACK}" and c.interaction_id in {i.id for i in payloads}
    ]
    assert len(acks) == 20 and all(c.status == 200 and c.t is not None and c.t < 3.0 for c in acks)

    backend.gate.set()
    order: list[int] = []

    def all_done() -> bool:
        for interaction in everyone:
            if interaction.id not in order and _result(fake, interaction) is not None:
                order.append(interaction.id)
        return len(order) == len(everyone)

    await fake.wait_until(all_done, timeout_s=30)
    assert fake.violations == []
    # Round-robin between users: the twenty newcomers do not wait behind the heavy user's batch.
    last_heavy = max(order.index(i.id) for i in heavy)
    assert all(order.index(i.id) < last_heavy for i in payloads)


def _imagine_data(fake: Any, prompt: str) -> dict[str, Any]:
    command = fake.find_command("imagine")
    return {
        "id": command["id"],
        "name": "imagine",
        "type": 1,
        "guild_id": command.get("guild_id"),
        "options": [{"name": "prompt", "type": 3, "value": prompt}],
    }


def _result(fake: Any, interaction: Any) -> FakeMessage | None:
    for msg in fake.messages.values():
        if msg.interaction_id == interaction.id and msg.files and not msg.ephemeral:
            return msg  # type: ignore[no-any-return]
    return None


async def test_shards_global_commands_and_gateway_override(
    easel_on_discord_factory: Any, discord_fake: Any
) -> None:
    fake = discord_fake
    fake.shard_count = 2
    other = fake.add_guild("second server")
    while (other.id >> 22) % 2 == (fake.guild.id >> 22) % 2:
        other = fake.add_guild("second server")
    easel: EaselOnDiscord = await easel_on_discord_factory(
        discord_guild_ids=[], discord_gateway_url=fake.url.replace("http", "ws") + "/gateway-proxy"
    )
    assert {q["path"] for q in fake.gateway_queries} == {"/gateway-proxy"}
    assert sorted(i["shard"] for i in fake.identifies) == [[0, 2], [1, 2]]
    assert all(int(i["intents"]) & PRIVILEGED_INTENTS == 0 for i in fake.identifies)
    assert {c["name"] for c in fake.commands[None]} >= {"imagine", "quota", "help"}  # global sync
    assert fake.guild.id not in fake.commands

    channel = other.channel_ids[0]
    interaction = await fake.slash("imagine", prompt="from the other shard", guild=other, channel_id=channel)
    message = await result_of(fake, interaction)
    assert message.channel_id == channel
    assert easel.frontend.bot.shard_count == 2
    await asyncio.sleep(0)


async def test_progress_edits_are_rate_limited(easel_on_discord_factory: Any) -> None:
    from tests.fakes.backend import FakeBackend

    backend = FakeBackend(latency_s=3.0, progress_steps=30, default_size=(256, 256))
    easel: EaselOnDiscord = await easel_on_discord_factory(backend=backend)
    fake = easel.fake
    interaction = await fake.slash("imagine", prompt="a slow painting")
    await result_of(fake, interaction, timeout_s=15)
    status = [
        c
        for c in fake.calls_for(interaction)
        if c.method == "PATCH" and not c.files and "Imagine" in str(c.payload.get("content", ""))
    ]
    assert 2 <= len(status) <= 3  # 30 progress reports in 3 s: queued, then at most one edit per 2 s
    assert any(" %" in c.payload["content"] for c in status)


async def test_filtered_images_are_left_out_and_said(easel_on_discord_factory: Any) -> None:
    from services.types import Requester
    from tests.fakes.backend import FakeBackend

    easel: EaselOnDiscord = await easel_on_discord_factory(
        backend=FakeBackend(filtered={1}, default_size=(256, 256))
    )
    fake = easel.fake
    interaction = await fake.slash("imagine", prompt="three pictures", samples=3)
    message = await result_of(fake, interaction)
    assert len(message.files) == 2
    fields = {f["name"]: f["value"] for f in message.embeds[0]["fields"]}
    assert "1 image(s) withheld" in fields["Withheld"]
    assert [b["label"] for b in message.buttons() if "label" in b] == ["U1", "U3", "V1", "V3"]
    await easel.services.jobs.wait(job_id_of(message))  # settled: quota committed for what was shown
    status = await easel.services.jobs.quota_status(Requester("discord", str(fake.user.id)))
    assert status.used == 2
