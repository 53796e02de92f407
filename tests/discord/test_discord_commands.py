"""Slash commands end to end: real discord.py + easel's front end + real services, fake Discord and Stability."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from tests.fakes.discord import EaselOnDiscord
from tests.helpers.discord_messages import (
    CALLBACK,
    assert_no_pings,
    assert_watermarked,
    decode,
    ephemeral_reply,
    job_id_of,
    remaining,
    result_of,
)
from tests.helpers.images import png


async def test_imagine_end_to_end(easel_on_discord: EaselOnDiscord) -> None:
    fake = easel_on_discord.fake
    interaction = await fake.slash("imagine", prompt="a lighthouse at dusk", samples=2, aspect_ratio="7:4")
    message = await result_of(fake, interaction)

    ack = next(c for c in fake.calls_for(interaction) if c.route == f"POST {CALLBACK}")
    assert ack.payload["type"] == 5 and ack.t is not None and ack.t < 3.0
    assert len(message.files) == 2
    job_id = job_id_of(message)
    await assert_watermarked(easel_on_discord, message, job_id)
    assert all(decode(f.data).size == (1344, 768) for f in message.files)
    embed: dict[str, Any] = message.embeds[0]
    assert embed["description"] == "a lighthouse at dusk"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Size"] == "1344×768"
    assert fields["Requested by"] == f"<@{fake.user.id}>"
    assert "stable-diffusion" in fields["Model"]
    assert len(fields["Seed"].split(", ")) == 2
    labels = [b.get("label") or b.get("emoji", {}).get("name") for b in message.buttons()]
    assert labels == ["U1", "U2", "V1", "V2", "🔁", "✏️", "🗑"]
    assert fake.violations == []
    assert_no_pings(fake)


async def test_flags_in_prompt_and_typed_options_reach_the_backend(
    easel_on_discord: EaselOnDiscord, stability_server: Any
) -> None:
    fake = easel_on_discord.fake
    interaction = await fake.slash(
        "imagine", prompt="a red fox --seed 7 --no fog", style="anime", negative="rain"
    )
    message = await result_of(fake, interaction)
    sent = stability_server.requests_for("/text-to-image")[-1].json
    assert sent["seed"] == 7 and sent["style_preset"] == "anime"
    prompts = {(p["text"], p["weight"]) for p in sent["text_prompts"]}
    assert ("a red fox", 1) in prompts and ("fog", -1) in prompts and ("rain", -1) in prompts
    assert message.embeds[0]["description"].startswith("a red fox")


async def test_remix_end_to_end(easel_on_discord: EaselOnDiscord, stability_server: Any) -> None:
    fake = easel_on_discord.fake
    source = png((512, 512))
    interaction = await fake.slash(
        "remix", prompt="as a watercolour", image=(source, "cat.png", "image/png"), strength=0.4
    )
    message = await result_of(fake, interaction)
    sent = stability_server.requests_for("/image-to-image")[-1]
    assert float(sent.form["image_strength"]) == 0.4
    assert sent.files["init_image"].size > 0
    await assert_watermarked(easel_on_discord, message, job_id_of(message))
    assert fake.violations == []


async def test_inpaint_uses_the_alpha_channel_without_a_mask(
    easel_on_discord: EaselOnDiscord, stability_server: Any
) -> None:
    fake = easel_on_discord.fake
    interaction = await fake.slash(
        "inpaint", prompt="a red door", image=(png((1024, 1024), hole=True), "door.png", "image/png")
    )
    message = await result_of(fake, interaction)
    sent = stability_server.requests_for("/masking")[-1]
    assert sent.form["mask_source"] == "INIT_IMAGE_ALPHA"
    await assert_watermarked(easel_on_discord, message, job_id_of(message))


async def test_inpaint_with_a_mask(easel_on_discord: EaselOnDiscord, stability_server: Any) -> None:
    fake = easel_on_discord.fake
    mask = Image.new("L", (1024, 1024), 0)
    mask.paste(255, (0, 0, 512, 512))
    out = io.BytesIO()
    mask.save(out, format="PNG")
    interaction = await fake.slash(
        "inpaint",
        prompt="a window",
        image=(png((1024, 1024)), "wall.png", "image/png"),
        mask=(out.getvalue(), "mask.png", "image/png"),
    )
    await result_of(fake, interaction)
    sent = stability_server.requests_for("/masking")[-1]
    assert sent.form["mask_source"] == "MASK_IMAGE_WHITE"
    assert "mask_image" in sent.files


async def test_upscale_end_to_end(easel_on_discord: EaselOnDiscord) -> None:
    fake = easel_on_discord.fake
    interaction = await fake.slash("upscale", image=(png((512, 384)), "small.png", "image/png"))
    message = await result_of(fake, interaction)
    assert decode(message.files[0].data).size == (1024, 768)
    await assert_watermarked(easel_on_discord, message, job_id_of(message))
    labels = [b.get("emoji", {}).get("name") for b in message.buttons()]
    assert labels == ["✏️", "🗑"]


async def test_quota_and_help_are_private(easel_on_discord: EaselOnDiscord) -> None:
    fake = easel_on_discord.fake
    quota = await fake.slash("quota")
    reply = await ephemeral_reply(fake, quota)
    assert "**25** of your 25" in reply.content

    imagine = await fake.slash("imagine", prompt="two birds", samples=2)
    await result_of(fake, imagine)
    quota = await fake.slash("quota")
    reply = await ephemeral_reply(fake, quota)
    assert "**23** of your 25" in reply.content and "<t:" in reply.content

    help_ = await fake.slash("help")
    await fake.wait_until(lambda: help_.acked_at is not None)
    assert help_.ack_type == 4 and help_.ack_data["flags"] & 64
    embed = help_.ack_data["embeds"][0]
    assert "--ar" in embed["description"] and "--no" in embed["description"]
    assert "/imagine" in embed["fields"][0]["value"]


async def test_commands_are_generated_from_the_option_specs(easel_on_discord: EaselOnDiscord) -> None:
    from commands import COMMANDS

    synced = {c["name"]: c for c in easel_on_discord.fake.commands[easel_on_discord.fake.guild.id]}
    assert set(synced) == {
        "imagine",
        "remix",
        "inpaint",
        "upscale",
        "quota",
        "help",
        "verify",
        "status",
        "models",
        "easel",
        "history",
        "settings",
    }
    limits = easel_on_discord.services.backend.limits
    for name in ("imagine", "remix", "inpaint", "upscale"):
        spec = COMMANDS[name]
        options = {o["name"]: o for o in synced[name]["options"]}
        expected = [o for o in spec.typed_options if o.supported_by(limits)]
        assert set(options) == {o.name for o in expected}
        for option in expected:
            assert options[option.name]["description"] == option.help
            assert bool(options[option.name].get("required")) == option.required
    imagine = {o["name"]: o for o in synced["imagine"]["options"]}
    assert (imagine["samples"]["min_value"], imagine["samples"]["max_value"]) == limits.samples
    assert imagine["style"]["autocomplete"] is True
    ratios = [c["value"] for c in imagine["aspect_ratio"]["choices"]]
    assert "1:1" in ratios and "7:4" in ratios


async def test_style_autocomplete_follows_the_backend(easel_on_discord: EaselOnDiscord) -> None:
    fake = easel_on_discord.fake
    choices = await fake.autocomplete("imagine", "style", prompt="x", style="an")
    values = [c["value"] for c in choices]
    assert values[:2] == ["analog-film", "anime"]  # prefix matches first, then the rest containing "an"
    assert set(values) == {p for p in easel_on_discord.services.backend.limits.style_presets if "an" in p}


async def test_bad_option_is_private_and_free(
    easel_on_discord: EaselOnDiscord, stability_server: Any
) -> None:
    fake = easel_on_discord.fake
    before = len(stability_server.requests_for("/generation"))
    interaction = await fake.slash("imagine", prompt="a cat --ar banana")
    reply = await ephemeral_reply(fake, interaction)
    assert "--ar" in reply.content and "banana" in reply.content
    # Private from the first moment (issue 11 item 7): no public "thinking…" ever, not even briefly.
    ours = [m for m in fake.messages_sent() if m.interaction_id == interaction.id]
    assert ours and all(m.ephemeral and not m.loading for m in ours)
    assert len(stability_server.requests_for("/generation")) == before
    assert await remaining(easel_on_discord, fake.user.id) == 25


async def test_flag_typos_are_answered_privately_before_any_deferral(
    easel_on_discord: EaselOnDiscord, stability_server: Any
) -> None:
    fake = easel_on_discord.fake
    before = len(stability_server.requests_for("/generation"))
    for prompt, expected in [
        ("a cat --n 11", "--n"),
        ("a cat --sed 3", "--sed"),
        ("a cat --seed 99999999999", "--seed"),
    ]:
        interaction = await fake.slash("imagine", prompt=prompt)
        reply = await ephemeral_reply(fake, interaction)
        assert expected in reply.content
        ours = [m for m in fake.messages_sent() if m.interaction_id == interaction.id]
        assert all(m.ephemeral and not m.loading for m in ours), prompt
    assert len(stability_server.requests_for("/generation")) == before
    assert await remaining(easel_on_discord, fake.user.id) == 25
    assert await easel_on_discord.services.db.fetchall("SELECT id FROM pending_requests") == []


async def test_quota_exceeded_says_when_it_resets(
    easel_on_discord_factory: Any, stability_server: Any
) -> None:
    easel: EaselOnDiscord = await easel_on_discord_factory(daily_quota=3)
    fake = easel.fake
    first = await fake.slash("imagine", prompt="a boat", samples=2)
    await result_of(fake, first)
    calls = len(stability_server.requests_for("/generation"))
    second = await fake.slash("imagine", prompt="another boat", samples=2)
    reply = await ephemeral_reply(fake, second)
    assert "1 of your 3" in reply.content and "<t:" in reply.content
    assert len(stability_server.requests_for("/generation")) == calls
    assert await remaining(easel, fake.user.id) == 1


async def test_backend_refusal_is_private_and_refunded(
    easel_on_discord: EaselOnDiscord, stability_server: Any
) -> None:
    fake = easel_on_discord.fake
    stability_server.inject(
        status=400, message="invalid_prompts: One or more prompts contains filtered words."
    )
    interaction = await fake.slash("imagine", prompt="something the service refuses")
    reply = await ephemeral_reply(fake, interaction)
    assert "refused" in reply.content and "filtered words" in reply.content
    await fake.wait_until(lambda: fake.messages[interaction.original_message_id or 0].deleted)
    assert await remaining(easel_on_discord, fake.user.id) == 25


async def test_attachments_that_are_not_images_or_too_large(easel_on_discord: EaselOnDiscord) -> None:
    fake = easel_on_discord.fake
    limits = easel_on_discord.services.backend.limits
    text = await fake.slash("upscale", image=(b"hello, not a picture", "notes.txt", "text/plain"))
    reply = await ephemeral_reply(fake, text)
    assert "PNG, JPEG or WebP" in reply.content

    disguised = await fake.slash("upscale", image=(b"hello, not a picture either", "cat.png", "image/png"))
    reply = await ephemeral_reply(fake, disguised)
    assert "PNG" in reply.content

    huge = await fake.slash(
        "remix", prompt="x", image=(b"\x89PNG" + b"\0" * limits.max_input_bytes, "huge.png", "image/png")
    )
    reply = await ephemeral_reply(fake, huge)
    assert "MB" in reply.content
    assert fake.downloads == 1  # only the disguised text file was fetched; the others were refused unread
    assert await remaining(easel_on_discord, fake.user.id) == 25
    assert fake.violations == []


async def test_mention_laden_prompt_pings_nobody(easel_on_discord: EaselOnDiscord) -> None:
    fake = easel_on_discord.fake
    prompt = "@everyone <@123> <@&456> @here **bold** a cat"
    interaction = await fake.slash("imagine", prompt=prompt)
    message = await result_of(fake, interaction)
    assert message.embeds[0]["description"] == "@everyone <@123> <@&456> @here \\*\\*bold\\*\\* a cat"
    bad = await fake.slash("imagine", prompt=prompt + " --ar nope")
    await ephemeral_reply(fake, bad)
    assert_no_pings(fake)


async def test_no_token_reaches_the_logs(easel_on_discord: EaselOnDiscord, caplog: Any) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    fake = easel_on_discord.fake
    interaction = await fake.slash("imagine", prompt="a secretive cat")
    await result_of(fake, interaction)
    bad = await fake.slash("imagine", prompt="a cat --seed -5")
    await ephemeral_reply(fake, bad)
    assert caplog.records  # easel and discord.py did log, at DEBUG
    for secret in (fake.token, interaction.token, bad.token):
        assert secret not in caplog.text
