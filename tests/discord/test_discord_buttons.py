"""The buttons under a result: U/V/🔁/✏️/🗑, for anyone in the channel, before and after a restart."""

from __future__ import annotations

from typing import Any

from tests.fakes.discord import (
    DEFERRED_UPDATE,
    MANAGE_MESSAGES,
    MEMBER_PERMISSIONS,
    EaselOnDiscord,
    FakeMessage,
)
from tests.helpers.discord_messages import (
    assert_no_pings,
    assert_watermarked,
    decode,
    ephemeral_reply,
    job_id_of,
    remaining,
    result_of,
)


async def imagine(easel: EaselOnDiscord, prompt: str = "a quiet harbour", samples: int = 2) -> FakeMessage:
    interaction = await easel.fake.slash("imagine", prompt=prompt, samples=samples)
    return await result_of(easel.fake, interaction)


def button(message: FakeMessage, label: str) -> str:
    for b in message.buttons():
        if b.get("label") == label or b.get("emoji", {}).get("name") == label:
            return str(b["custom_id"])
    raise AssertionError(f"no button {label!r} in {message.buttons()}")


async def test_upscale_button_by_anyone_uses_the_clean_original(
    easel_on_discord: EaselOnDiscord, stability_server: Any
) -> None:
    fake = easel_on_discord.fake
    grid = await imagine(easel_on_discord)
    job_id = job_id_of(grid)
    bob = fake.add_user("bob")
    click = await fake.click(grid, button(grid, "U2"), user=bob)
    upscaled = await result_of(fake, click)

    sent = stability_server.requests_for("/upscale")[-1]
    clean = (await easel_on_discord.services.jobs.load_original(job_id, 1)).png
    assert decode(sent.files["image"].data).tobytes() == decode(clean).tobytes()  # not the watermarked copy
    assert decode(upscaled.files[0].data).size == (2048, 2048)
    await assert_watermarked(easel_on_discord, upscaled, job_id_of(upscaled))
    fields = {f["name"]: f["value"] for f in upscaled.embeds[0]["fields"]}
    assert fields["Requested by"] == f"<@{bob.id}>"
    assert await remaining(easel_on_discord, bob.id) == 24  # the clicker pays
    assert await remaining(easel_on_discord, fake.user.id) == 23
    assert fake.violations == []


async def test_variation_remixes_that_image_with_the_same_prompt(
    easel_on_discord: EaselOnDiscord, stability_server: Any
) -> None:
    fake = easel_on_discord.fake
    grid = await imagine(easel_on_discord, prompt="a red fox --no fog")
    job_id = job_id_of(grid)
    click = await fake.click(grid, button(grid, "V1"))
    await result_of(fake, click)
    sent = stability_server.requests_for("/image-to-image")[-1]
    assert sent.form["text_prompts[0][text]"] == "a red fox"
    assert (sent.form["text_prompts[1][text]"], float(sent.form["text_prompts[1][weight]"])) == ("fog", -1.0)
    clean = (await easel_on_discord.services.jobs.load_original(job_id, 0)).png
    assert decode(sent.files["init_image"].data).tobytes() == decode(clean).tobytes()


async def test_reroll_repeats_the_request_with_a_new_seed(
    easel_on_discord: EaselOnDiscord, stability_server: Any
) -> None:
    fake = easel_on_discord.fake
    grid = await fake.slash("imagine", prompt="a tower", seed=1234)
    first = await result_of(fake, grid)
    click = await fake.click(first, button(first, "🔁"))
    second = await result_of(fake, click)
    before, after = stability_server.requests_for("/text-to-image")[-2:]
    assert before.json["seed"] == 1234
    assert after.json.get("seed", 0) != 1234 and after.json["text_prompts"] == before.json["text_prompts"]
    assert second.embeds[0]["fields"][0]["value"] != "1234"


async def test_remix_modal_edits_prompt_and_strength(
    easel_on_discord: EaselOnDiscord, stability_server: Any
) -> None:
    fake = easel_on_discord.fake
    grid = await imagine(easel_on_discord, prompt="a castle **at** dusk")
    open_modal = await fake.click(grid, button(grid, "✏️"))
    await fake.wait_until(lambda: open_modal.modal is not None)
    fields = {c["custom_id"]: c for row in open_modal.modal["components"] for c in row["components"]}  # type: ignore[index]
    assert fields["prompt"]["value"] == "a castle **at** dusk"  # unescaped from the embed
    assert set(fields) == {"prompt", "strength", "image"}
    submit = await fake.submit_modal(
        open_modal, {"prompt": "a castle at dawn", "strength": "0.3", "image": "2"}
    )
    await result_of(fake, submit)
    sent = stability_server.requests_for("/image-to-image")[-1]
    assert sent.form["text_prompts[0][text]"] == "a castle at dawn"
    assert float(sent.form["image_strength"]) == 0.3
    clean = (await easel_on_discord.services.jobs.load_original(job_id_of(grid), 1)).png
    assert decode(sent.files["init_image"].data).tobytes() == decode(clean).tobytes()


async def test_remix_modal_with_a_bad_strength_is_private(easel_on_discord: EaselOnDiscord) -> None:
    fake = easel_on_discord.fake
    grid = await imagine(easel_on_discord, samples=1)
    open_modal = await fake.click(grid, button(grid, "✏️"))
    await fake.wait_until(lambda: open_modal.modal is not None)
    submit = await fake.submit_modal(open_modal, {"strength": "7"})
    reply = await ephemeral_reply(fake, submit)
    assert "strength" in reply.content.lower()


async def test_delete_is_for_the_requester_and_moderators(easel_on_discord: EaselOnDiscord) -> None:
    fake = easel_on_discord.fake
    grid = await imagine(easel_on_discord)
    delete = button(grid, "🗑")
    bob = fake.add_user("bob")
    refused = await fake.click(grid, delete, user=bob)
    # The rule reads the stored requester (never the button's id): the click is acknowledged first.
    await fake.wait_until(lambda: refused.acked_at is not None)
    assert refused.ack_type == DEFERRED_UPDATE
    assert "Only the person" in (await ephemeral_reply(fake, refused)).content
    assert not grid.deleted

    modal = await fake.click(grid, button(grid, "✏️"), user=bob)  # bob opens the remix form …
    await fake.wait_until(lambda: modal.modal is not None)
    moderator = fake.add_user("mod", permissions=MEMBER_PERMISSIONS | MANAGE_MESSAGES)
    await fake.click(grid, delete, user=moderator)
    await fake.wait_until(lambda: grid.deleted)

    # … and submits it after the delete: the stored originals went with the post.
    late = await fake.submit_modal(modal, {"prompt": "too late"})
    reply = await ephemeral_reply(fake, late)
    assert "can't find that image" in reply.content
    assert await remaining(easel_on_discord, bob.id) == 25

    second = await imagine(easel_on_discord)
    await fake.click(second, button(second, "🗑"))  # the requester may delete their own
    await fake.wait_until(lambda: second.deleted)
    assert job_id_of(second) != job_id_of(grid)
    record = await easel_on_discord.services.jobs.get_job(job_id_of(grid))
    assert record.deleted
    assert_no_pings(fake)


async def test_buttons_keep_working_after_a_restart(easel_on_discord: EaselOnDiscord) -> None:
    fake = easel_on_discord.fake
    grid = await imagine(easel_on_discord)
    await easel_on_discord.restart()  # new client, new JobService, same data dir
    await fake.wait_connected()
    click = await fake.click(grid, button(grid, "U1"))
    upscaled = await result_of(fake, click)
    assert decode(upscaled.files[0].data).size == (2048, 2048)
    modal = await fake.click(grid, button(grid, "✏️"))
    await fake.wait_until(lambda: modal.modal is not None)
    submit = await fake.submit_modal(modal, {"prompt": "after the restart"})
    await result_of(fake, submit)
    assert fake.violations == []


async def test_jobs_in_flight_resume_after_a_restart(easel_on_discord_factory: Any) -> None:
    import asyncio

    from tests.fakes.backend import FakeBackend

    backend = FakeBackend(default_size=(256, 256))
    backend.gate = asyncio.Event()
    easel: EaselOnDiscord = await easel_on_discord_factory(backend=backend, max_concurrency=1)
    fake = easel.fake
    running = await fake.slash("imagine", prompt="interrupted while drawing")
    waiting = await fake.slash("imagine", prompt="still in the queue")
    await backend.until_running(1)
    await fake.wait_until(
        lambda: all(fake.messages[i.original_message_id or 0].edits for i in (running, waiting))
    )

    await easel.services.jobs.stop(grace_s=0.1)  # the process goes down mid-job …
    await easel.restart()  # … and comes back: both jobs are resumed from SQLite
    replies = [fake.messages[i.original_message_id or 0] for i in (running, waiting)]
    # The queued one says so; the interrupted one is already running again.
    await fake.wait_until(lambda: "restarted" in replies[1].content and "working" in replies[0].content)

    backend.gate.set()
    for interaction in (running, waiting):
        message = await result_of(fake, interaction)
        assert message.id == interaction.original_message_id  # the deferred reply became the result
    assert fake.violations == []
