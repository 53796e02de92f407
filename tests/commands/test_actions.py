"""The result-action grammar: one regex for both platforms, ids posted before the upgrade still
work, and nothing carried in an id is trusted (Discord's old delete ids carried a user id)."""

from __future__ import annotations

import pytest

from commands.actions import ACTION_RE, Action, Verb, decode, encode, is_stale
from tests.fakes.discord import DEFERRED_UPDATE, EaselOnDiscord, FakeDiscord, FakeInteraction, FakeMessage

JOB = "4963f4d8a1254aecb9dedbd3e7a1215c"


@pytest.mark.parametrize("verb", list(Verb))
@pytest.mark.parametrize("index", [None, 0, 9, 10**19])
def test_every_action_round_trips_within_discords_limit(verb: Verb, index: int | None) -> None:
    value = encode(verb, "j" * 64, index)
    assert len(value) <= 100  # Discord's custom_id limit (Slack's action_id allows 255)
    expected = None if verb is Verb.DELETE else index  # delete takes no index
    assert decode(value) == Action(verb, "j" * 64, expected)
    assert ACTION_RE.fullmatch(value) and not is_stale(value)


@pytest.mark.parametrize(
    ("old", "action"),
    [
        (f"easel:u:{JOB}:2", Action(Verb.UPSCALE, JOB, 2)),  # both platforms
        (f"easel:v:{JOB}:0", Action(Verb.VARY, JOB, 0)),
        (f"easel:r:{JOB}", Action(Verb.REROLL, JOB)),
        (f"easel:m:{JOB}:1", Action(Verb.REMIX, JOB, 1)),
        (f"easel:i:{JOB}", Action(Verb.IMAGINE_THIS, JOB)),
        (f"easel:d:{JOB}", Action(Verb.DELETE, JOB)),  # Slack's delete
        (f"easel:d:{JOB}:80351110224678912", Action(Verb.DELETE, JOB)),  # Discord's, with a user id
        (f"easel:mm:{JOB}:3", Action(Verb.REMIX_SUBMIT, JOB, 3)),  # Discord's remix modal
    ],
)
def test_ids_posted_before_the_upgrade_still_decode(old: str, action: Action) -> None:
    assert decode(old) == action
    assert action.image == (action.index or 0)


@pytest.mark.parametrize(
    "forged",
    [
        "easel:x:abc",  # unknown verb
        "easel:u:",  # no job
        "easel:u:" + "j" * 65,  # job id too long
        "easel:u:ab/c:0",  # not a job id
        "easel:u:abc:-1",
        "easel:u:abc:1:2",
        "easel:u:abc:" + "9" * 21,  # index out of bounds
        "easel:u:abc:0\n",
        " easel:u:abc:0",
        "easel:img:0",  # a Slack block id, not an action
    ],
)
def test_forged_ids_do_not_decode(forged: str) -> None:
    assert decode(forged) is None
    assert is_stale(forged) == forged.startswith("easel:")


def test_encode_refuses_what_decode_would_not_read() -> None:
    with pytest.raises(ValueError):
        encode(Verb.UPSCALE, "no spaces")
    assert not is_stale("something:else")  # not ours at all: left to other handlers


# ---------------------------------------------------------------- end to end, on Discord


def as_posted_before_the_upgrade(message: FakeMessage, bob_id: int) -> str:
    """Give ``message``'s delete button the old Discord spelling, naming ``bob`` as its owner."""
    [delete] = [b for b in message.buttons() if str(b["custom_id"]).startswith("easel:d:")]
    delete["custom_id"] = f"{delete['custom_id']}:{bob_id}"
    return str(delete["custom_id"])


async def answer_of(fake: FakeDiscord, interaction: FakeInteraction, *, ephemeral: bool) -> FakeMessage:
    def find() -> FakeMessage | None:
        for msg in fake.messages.values():
            if msg.interaction_id == interaction.id and msg.ephemeral == ephemeral and not msg.loading:
                if msg.files or (ephemeral and msg.content):
                    return msg
        return None

    message: FakeMessage = await fake.wait_until(find)
    return message


async def test_old_discord_buttons_work_and_their_user_id_is_not_trusted(
    easel_on_discord: EaselOnDiscord,
) -> None:
    fake = easel_on_discord.fake
    result = await answer_of(fake, await fake.slash("imagine", prompt="a kite"), ephemeral=False)
    job = next(c.split(":")[2] for c in result.custom_ids() if c.startswith("easel:"))
    bob = fake.add_user("bob")
    forged = as_posted_before_the_upgrade(result, bob.id)  # the old id named who may delete: bob's

    refused = await fake.click(result, forged, user=bob)
    assert "Only the person" in (await answer_of(fake, refused, ephemeral=True)).content
    assert refused.ack_type == DEFERRED_UPDATE and not result.deleted
    assert not (await easel_on_discord.services.jobs.get_job(job)).deleted

    upscaled = await answer_of(fake, await fake.click(result, f"easel:u:{job}:0"), ephemeral=False)
    assert upscaled.embeds and "Upscale" in upscaled.embeds[0]["title"]

    await fake.click(result, forged)  # the requester may, whatever id the old button carries
    await fake.wait_until(lambda: result.deleted)
    assert (await easel_on_discord.services.jobs.get_job(job)).deleted
