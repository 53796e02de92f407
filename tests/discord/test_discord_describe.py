"""/describe on Discord: the caption as a reply, a 🎨 button that imagines it, and where it is absent."""

from __future__ import annotations

from typing import Any

from tests.fakes.a1111 import FakeA1111
from tests.fakes.discord import (
    DiscordProtocolError,
    EaselOnDiscord,
    FakeDiscord,
    FakeInteraction,
    FakeMessage,
)
from tests.helpers.discord_messages import assert_no_pings, job_id_of, remaining, result_of
from tests.helpers.images import png

IMAGINE_THIS = "Imagine this"


async def gpu_easel(factory: Any, a1111: FakeA1111) -> EaselOnDiscord:
    # ``backend=`` of the factory is an in-process backend; the setting goes by its env alias.
    easel: EaselOnDiscord = await factory(easel_backend="gpu-host", gpu_host_url=a1111.url)
    return easel


async def text_result_of(fake: FakeDiscord, interaction: FakeInteraction) -> FakeMessage:
    """The public, finished reply (an embed, no files) that answered ``interaction``."""

    def find() -> FakeMessage | None:
        for msg in fake.messages.values():
            answers = msg.interaction_id == interaction.id or (
                int((msg.message_reference or {}).get("message_id", 0)) == interaction.original_message_id
            )
            if answers and msg.embeds and not msg.deleted and not msg.ephemeral and not msg.loading:
                return msg
        return None

    message: FakeMessage = await fake.wait_until(find)
    return message


def imagine_button(message: FakeMessage) -> str:
    for b in message.buttons():
        if b.get("label") == IMAGINE_THIS:
            return str(b["custom_id"])
    raise AssertionError(f"no {IMAGINE_THIS!r} button in {message.buttons()}")


async def describe(easel: EaselOnDiscord) -> FakeMessage:
    interaction = await easel.fake.slash("describe", image=(png((320, 192)), "photo.png", "image/png"))
    return await text_result_of(easel.fake, interaction)


async def test_describe_shows_the_caption_with_an_imagine_button(
    easel_on_discord_factory: Any, a1111_server: FakeA1111
) -> None:
    easel = await gpu_easel(easel_on_discord_factory, a1111_server)
    fake = easel.fake
    message = await describe(easel)

    assert a1111_server.calls("/sdapi/v1/interrogate")
    assert not message.files
    embed: dict[str, Any] = message.embeds[0]
    assert "320x192 test pattern" in embed["description"]
    assert "Describe" in embed["title"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Requested by"] == f"<@{fake.user.id}>"
    custom_id = imagine_button(message)
    assert custom_id == f"easel:i:{job_id_of(message)}"
    assert fake.violations == []
    assert_no_pings(fake)


async def test_imagine_button_paints_the_caption_for_whoever_presses_it(
    easel_on_discord_factory: Any, a1111_server: FakeA1111
) -> None:
    easel = await gpu_easel(easel_on_discord_factory, a1111_server)
    fake = easel.fake
    message = await describe(easel)
    caption = (await easel.services.jobs.get_job(job_id_of(message))).text
    assert caption and "test pattern" in caption

    bob = fake.add_user("bob")
    before = await remaining(easel, bob.id)
    click = await fake.click(message, imagine_button(message), user=bob)
    result = await result_of(fake, click)

    assert a1111_server.last("/sdapi/v1/txt2img").json["prompt"] == caption
    assert result.files
    fields = {f["name"]: f["value"] for f in result.embeds[0]["fields"]}
    assert fields["Requested by"] == f"<@{bob.id}>"
    assert await remaining(easel, bob.id) == before - len(result.files)  # the presser pays
    assert fake.violations == []
    assert_no_pings(fake)


async def test_imagine_button_works_after_a_restart(
    easel_on_discord_factory: Any, a1111_server: FakeA1111
) -> None:
    easel = await gpu_easel(easel_on_discord_factory, a1111_server)
    fake = easel.fake
    message = await describe(easel)
    caption = (await easel.services.jobs.get_job(job_id_of(message))).text

    await easel.restart()  # new client, new JobService, same data dir
    await fake.wait_connected()
    click = await fake.click(message, imagine_button(message))
    result = await result_of(fake, click)
    assert result.files
    assert a1111_server.last("/sdapi/v1/txt2img").json["prompt"] == caption
    assert fake.violations == []


async def test_describe_is_not_offered_on_stability(easel_on_discord: EaselOnDiscord) -> None:
    fake = easel_on_discord.fake
    names = {c["name"] for c in fake.commands.get(fake.guild.id, [])}
    assert "imagine" in names and "describe" not in names
    try:
        await fake.slash("describe", image=(png(), "photo.png", "image/png"))
    except DiscordProtocolError as exc:
        assert "not registered" in str(exc)
    else:
        raise AssertionError("/describe is registered on the Stability backend")
    help_reply = await fake.slash("help")
    await fake.wait_until(lambda: help_reply.acked_at is not None)
    assert "/describe" not in str(help_reply.ack_data)
