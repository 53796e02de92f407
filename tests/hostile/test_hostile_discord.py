"""Hostile input on Discord: every refusal is private, polite and free, and the next user is served.

Each case is what a user (or a modified client, or a stale message) can send: a bad flag, a fake or
oversize picture, a mask of the wrong shape, a failing image service, no quota left, a button of a
job that is gone. For each the test checks (a) a clear ephemeral reply, (b) the sender's quota is
unchanged, (c) another user's /imagine right afterwards is still served.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.fakes.discord import (
    APPLICATION_COMMAND,
    DEFERRED_CHANNEL_MESSAGE,
    MESSAGE_COMPONENT,
    EaselOnDiscord,
    FakeDiscord,
    FakeInteraction,
    FakeMessage,
)
from tests.fakes.stability import FakeStabilityServer
from tests.helpers.discord_messages import ephemeral_reply, job_id_of, remaining, result_of
from tests.helpers.images import grey_png as grey
from tests.helpers.images import png
from tests.helpers.images import png_header_only as png_bomb

QUOTA = 25


async def assert_private_and_free(
    easel: EaselOnDiscord, interaction: FakeInteraction, *expected: str, quota: int = QUOTA
) -> str:
    """(a) one ephemeral reply containing ``expected``, nothing public left; (b) quota unchanged."""
    fake = easel.fake
    reply = await ephemeral_reply(fake, interaction)
    for words in expected:
        assert words in reply.content, (words, reply.content)
    assert reply.content.startswith(("⚠️", "⛔")), reply.content
    if interaction.ack_type == DEFERRED_CHANNEL_MESSAGE:  # the public "thinking…" placeholder goes away
        await fake.wait_until(lambda: fake.messages[interaction.original_message_id or 0].deleted)
    public = [m for m in fake.channel_messages() if m.interaction_id == interaction.id]
    assert public == [], [m.content for m in public]
    assert await remaining(easel, interaction.user.id) == quota
    assert "Traceback" not in reply.content and "Something went wrong" not in reply.content
    return reply.content


async def assert_others_served(easel: EaselOnDiscord) -> None:
    """(c) the bot still serves someone else right away."""
    fake = easel.fake
    other = fake.add_user(f"passer-by-{fake.snowflake()}")
    interaction = await fake.slash("imagine", prompt="a calm lake", user=other)
    message = await result_of(fake, interaction, timeout_s=15)
    assert len(message.files) == 1
    assert fake.violations == []


# ---------------------------------------------------------------- bad input to slash commands

BAD_INPUT: dict[str, tuple[str, Callable[[int], dict[str, Any]], tuple[str, ...]]] = {
    "unknown flag": ("imagine", lambda _: {"prompt": "a cat --sed 7"}, ("--sed", "--seed")),
    "flag out of range": ("imagine", lambda _: {"prompt": "a cat --n 50"}, ("--n", "between 1 and 10")),
    "bad flag value": ("imagine", lambda _: {"prompt": "a cat --cfg lots"}, ("--cfg", "lots")),
    "empty prompt": ("imagine", lambda _: {"prompt": "--seed 5"}, ("describe the image",)),
    "prompt over 2000 characters": ("imagine", lambda _: {"prompt": "a" * 2001}, ("2001", "2000")),
    "text file named .png": (
        "remix",
        lambda _: {"prompt": "x", "image": (b"hello, I am text", "cat.png", "image/png")},
        ("PNG, JPEG or WebP",),
    ),
    "text file declared as text": (
        "upscale",
        lambda _: {"image": (b"hello", "notes.txt", "text/plain")},
        ("PNG, JPEG or WebP", "text/plain"),
    ),
    "20000x20000 PNG bomb": (
        "upscale",
        lambda _: {"image": (png_bomb(), "bomb.png", "image/png")},
        ("20000×20000", "megapixels"),
    ),
    "oversize upload": (
        "remix",
        lambda limit: {"prompt": "x", "image": (b"\x89PNG" + b"\0" * limit, "huge.png", "image/png")},
        ("MB", "smaller file"),
    ),
    "mask of another shape": (
        "inpaint",
        lambda _: {
            "prompt": "a door",
            "image": (png((512, 512)), "wall.png", "image/png"),
            "mask": (grey((300, 200)), "mask.png", "image/png"),
        },
        ("300×200", "512×512", "same shape"),
    ),
    "inpaint without mask on an opaque image": (
        "inpaint",
        lambda _: {"prompt": "a door", "image": (png((512, 512)), "wall.png", "image/png")},
        ("mask", "transparent"),
    ),
    "mask source without a mask": (
        "inpaint",
        lambda _: {
            "prompt": "a door --mask-source black",
            "image": (png((512, 512), hole=True), "wall.png", "image/png"),
        },
        ("--mask-source black", "mask"),
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
async def test_bad_input_is_refused_privately_for_free(
    easel_on_discord: EaselOnDiscord, stability_server: FakeStabilityServer, case: str
) -> None:
    fake = easel_on_discord.fake
    command, options, expected = BAD_INPUT[case]
    limit = easel_on_discord.services.backend.limits.max_input_bytes
    interaction = await fake.slash(command, **options(limit))
    await assert_private_and_free(easel_on_discord, interaction, *expected)
    assert stability_server.requests_for("/generation") == []
    await assert_others_served(easel_on_discord)


async def test_upload_larger_than_it_claims_is_cut_off(easel_on_discord: EaselOnDiscord) -> None:
    """The declared size is the client's word; the download itself stops at the byte limit."""
    fake = easel_on_discord.fake
    limit = easel_on_discord.services.backend.limits.max_input_bytes
    attachment = fake.add_attachment(b"\x89PNG\r\n\x1a\n" + b"\0" * limit, "liar.png", "image/png")
    attachment["size"] = 1234
    interaction = await fake.slash("remix", prompt="x", image=attachment)
    await assert_private_and_free(easel_on_discord, interaction, "larger than", "MB")
    await assert_others_served(easel_on_discord)


# ---------------------------------------------------------------- typed values the schema forbids


def forged_slash(fake: FakeDiscord, name: str, **options: Any) -> FakeInteraction:
    """A slash command as a modified client (or one holding a stale command list) sends it:
    typed values outside the synced ``min_value``/``max_value``/``choices``."""
    command = fake.find_command(name)
    schema = {o["name"]: o for o in command.get("options", [])}
    data: dict[str, Any] = {
        "id": command["id"],
        "name": name,
        "type": 1,
        "options": [{"name": k, "type": schema[k]["type"], "value": v} for k, v in options.items()],
    }
    if command.get("guild_id"):
        data["guild_id"] = command["guild_id"]
    return fake.interaction_payload(APPLICATION_COMMAND, data)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"samples": 50}, ("samples", "between 1 and 10", "50")),
        ({"samples": 0}, ("samples", "between 1 and 10")),
        ({"seed": -3}, ("seed", "-3")),
        ({"aspect_ratio": "99:1"}, ("99:1",)),
    ],
    ids=["samples 50", "samples 0", "negative seed", "ratio not offered"],
)
async def test_typed_values_outside_the_schema_get_the_specific_message(
    easel_on_discord: EaselOnDiscord, options: dict[str, Any], expected: tuple[str, ...]
) -> None:
    fake = easel_on_discord.fake
    interaction = forged_slash(fake, "imagine", prompt="a cat", **options)
    await fake.send_interaction(interaction)
    await assert_private_and_free(easel_on_discord, interaction, *expected)
    await assert_others_served(easel_on_discord)


# ---------------------------------------------------------------- the image service fails


@pytest.fixture
async def quick_backend(stability_server: FakeStabilityServer) -> AsyncIterator[Any]:
    """Stability v1 against the fake, with retries and timeouts short enough for a test."""
    from services.backends.stability_v1 import StabilityV1Backend

    backend = StabilityV1Backend(
        stability_server.api_key,
        host=stability_server.url,
        max_attempts=2,
        retry_base_delay_s=0.01,
        timeout_s=1.5,
    )
    try:
        yield backend
    finally:
        await backend.close()


BACKEND_FAULTS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "400 refusal shows its message": (
        {"status": 400, "message": "invalid_prompts: One or more prompts contains filtered words."},
        ("refused", "filtered words"),
    ),
    "500s until retries run out": ({"status": 500, "times": 2}, ("busy or unreachable", "not spent")),
    "429s until retries run out": (
        {"status": 429, "retry_after": 0, "times": 2},
        ("busy or unreachable", "not spent"),
    ),
    "content filter": ({"content_filtered": True}, ("safety filter", "not spent")),
    "timeout": ({"delay_s": 30, "times": 2}, ("busy or unreachable", "not spent")),
}


@pytest.mark.parametrize("case", list(BACKEND_FAULTS))
async def test_backend_failure_is_private_and_refunded(
    easel_on_discord_factory: Any, stability_server: FakeStabilityServer, quick_backend: Any, case: str
) -> None:
    easel: EaselOnDiscord = await easel_on_discord_factory(backend=quick_backend)
    fault, expected = BACKEND_FAULTS[case]
    stability_server.inject(**fault)
    interaction = await easel.fake.slash("imagine", prompt="a lighthouse", samples=2)
    await assert_private_and_free(easel, interaction, *expected)
    await assert_others_served(easel)


async def test_quota_exceeded_says_when_and_others_go_on(easel_on_discord_factory: Any) -> None:
    easel: EaselOnDiscord = await easel_on_discord_factory(daily_quota=2)
    fake = easel.fake
    await result_of(fake, await fake.slash("imagine", prompt="a boat", samples=2))
    refused = await fake.slash("imagine", prompt="one more boat")
    await assert_private_and_free(easel, refused, "0 of your 2", "<t:", "Nothing was spent", quota=0)
    await assert_others_served(easel)


# ---------------------------------------------------------------- buttons of jobs that are gone


def stale_message(fake: FakeDiscord, custom_ids: list[str]) -> FakeMessage:
    """A result easel posted earlier whose job is unknown now (say, the data dir was lost)."""
    message = FakeMessage(
        id=fake.snowflake(),
        channel_id=fake.channel_id,
        guild_id=fake.guild.id,
        author=fake.bot,
        content="",
        webhook_id=fake.application_id,
        components=[
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 2, "label": str(n), "custom_id": cid}
                    for n, cid in enumerate(custom_ids)
                ],
            }
        ],
    )
    fake.messages[message.id] = message
    return message


@pytest.mark.parametrize(
    "custom_id",
    ["easel:u:doesnotexist:0", "easel:v:doesnotexist:1", "easel:r:doesnotexist", "easel:i:doesnotexist"],
)
async def test_button_of_an_unknown_job_says_it_is_gone(
    easel_on_discord: EaselOnDiscord, custom_id: str
) -> None:
    fake = easel_on_discord.fake
    message = stale_message(fake, [custom_id])
    click = await fake.click(message, custom_id)
    await assert_private_and_free(easel_on_discord, click, "can't find that image")
    assert not message.deleted
    await assert_others_served(easel_on_discord)


async def test_remix_form_of_an_unknown_job_says_it_is_gone(easel_on_discord: EaselOnDiscord) -> None:
    fake = easel_on_discord.fake
    message = stale_message(fake, ["easel:m:doesnotexist:0"])
    opened = await fake.click(message, "easel:m:doesnotexist:0")
    await fake.wait_until(lambda: opened.modal is not None)
    submit = await fake.submit_modal(opened, {"prompt": "again"})
    await assert_private_and_free(easel_on_discord, submit, "can't find that image")
    await assert_others_served(easel_on_discord)


async def test_buttons_of_a_deleted_result_say_it_is_gone(easel_on_discord: EaselOnDiscord) -> None:
    """A click racing the delete (the user's client still shows the message) finds nothing to use."""
    fake = easel_on_discord.fake
    grid = await result_of(fake, await fake.slash("imagine", prompt="a kite", samples=2))
    job_id = job_id_of(grid)
    before = await remaining(easel_on_discord, fake.user.id)
    await fake.click(grid, f"easel:d:{job_id}:{fake.user.id}")
    await fake.wait_until(lambda: grid.deleted)
    for custom_id in (f"easel:u:{job_id}:0", f"easel:v:{job_id}:1", f"easel:r:{job_id}"):
        click = fake.interaction_payload(
            MESSAGE_COMPONENT, {"custom_id": custom_id, "component_type": 2}, message=grid
        )
        await fake.send_interaction(click)
        await assert_private_and_free(easel_on_discord, click, "can't find that image", quota=before)
    await assert_others_served(easel_on_discord)


async def test_button_for_an_image_index_that_does_not_exist(easel_on_discord: EaselOnDiscord) -> None:
    fake = easel_on_discord.fake
    grid = await result_of(fake, await fake.slash("imagine", prompt="a kite"))
    job_id = job_id_of(grid)
    message = stale_message(fake, [f"easel:u:{job_id}:7", f"easel:v:{job_id}:99999999999"])
    for custom_id in message.custom_ids():
        click = await fake.click(message, custom_id)
        await assert_private_and_free(easel_on_discord, click, "can't find that image", quota=QUOTA - 1)
    await assert_others_served(easel_on_discord)


@pytest.mark.parametrize(
    "custom_id",
    ["easel:x:abc", "easel:u:" + "a" * 70 + ":0", "easel:u:abc:one", "easel:mm:abc:0"],
    ids=["unknown verb", "job id too long", "index not a number", "modal id on a button"],
)
async def test_button_no_template_matches_is_answered(
    easel_on_discord: EaselOnDiscord, custom_id: str
) -> None:
    """An ``easel:`` button of an older version (or a forged one) gets a word, not "interaction failed"."""
    fake = easel_on_discord.fake
    message = stale_message(fake, [custom_id])
    click = await fake.click(message, custom_id)
    await assert_private_and_free(easel_on_discord, click, "don't recognise that button")
    assert click.ack_type == 4 and click.ack_delay is not None and click.ack_delay < 3.0
    await assert_others_served(easel_on_discord)
