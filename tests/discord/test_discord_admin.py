"""``/easel admin …`` through the real discord.py client (issue 10): who may, what it does, what is logged."""

from __future__ import annotations

from typing import Any

import pytest

from commands.admin import ADMIN_SUBCOMMANDS
from tests.fakes.discord import (
    ADMINISTRATOR,
    MANAGE_GUILD,
    MEMBER_PERMISSIONS,
    DiscordProtocolError,
    EaselOnDiscord,
    FakeDiscord,
    FakeInteraction,
    FakeUser,
)
from tests.helpers.discord_messages import ephemeral_reply, job_id_of, result_of
from tests.helpers.waiting import rows_until

# One invocation of every subcommand, as a member would type it (values are valid for an admin).
EVERY_SUBCOMMAND: dict[str, dict[str, Any]] = {
    "limits": {},
    "set": {"name": "server_day", "value": "5"},
    "grant": {"account": "discord:42", "units": 3},
    "ban": {"account": "discord:42", "reason": "spam"},
    "unban": {"account": "discord:42"},
    "audit": {},
    "pause": {},
    "resume": {},
    "queue": {},
    "cancel": {"job": "abc123"},
    "delete": {"job": "abc123"},
}


def test_every_declared_subcommand_is_exercised() -> None:
    assert set(EVERY_SUBCOMMAND) == {s.name for s in ADMIN_SUBCOMMANDS}


async def admin(fake: FakeDiscord, sub: str, user: FakeUser, **options: Any) -> FakeInteraction:
    return await fake.slash("easel", "admin", sub, user=user, **options)


async def answer(fake: FakeDiscord, interaction: FakeInteraction) -> str:
    return (await ephemeral_reply(fake, interaction)).content


async def test_the_group_is_registered_from_the_admin_grammar_and_hidden_from_members(
    easel_on_discord: EaselOnDiscord,
) -> None:
    command = easel_on_discord.fake.find_command("easel")
    assert command["default_member_permissions"] == str(MANAGE_GUILD)
    assert command["dm_permission"] is False
    [group] = command["options"]
    assert (group["type"], group["name"]) == (2, "admin")
    subs = {s["name"]: s for s in group["options"]}
    assert list(subs) == [s.name for s in ADMIN_SUBCOMMANDS]
    for spec in ADMIN_SUBCOMMANDS:
        options = subs[spec.name].get("options") or []
        assert subs[spec.name]["type"] == 1
        assert [(o["name"], bool(o.get("required"))) for o in options] == [
            (a.name, a.required) for a in spec.arguments
        ]
    units = next(o for o in subs["grant"]["options"] if o["name"] == "units")
    assert (units["type"], units["min_value"], units["max_value"]) == (4, 1, 100_000)
    with pytest.raises(DiscordProtocolError, match="does not offer /easel"):
        await admin(easel_on_discord.fake, "limits", easel_on_discord.fake.user)


async def test_members_without_manage_server_are_refused_every_subcommand_and_logged(
    easel_on_discord: EaselOnDiscord,
) -> None:
    fake = easel_on_discord.fake
    fake.permit_command(fake.guild, "easel", fake.guild.id)  # the server showed /easel to @everyone
    db = easel_on_discord.services.db
    for sub, options in EVERY_SUBCOMMAND.items():
        reply = await answer(fake, await admin(fake, sub, fake.user, **options))
        assert reply.startswith("Only members with Manage Server"), (sub, reply)
    rows = await rows_until(
        db,
        "SELECT actor_key, server_id, detail FROM audit_log WHERE action = 'admin_refused'",
        len(EVERY_SUBCOMMAND),
    )
    assert [r["detail"].split()[0] for r in rows] == list(EVERY_SUBCOMMAND)
    assert {(r["actor_key"], r["server_id"]) for r in rows} == {
        (f"discord:{fake.user.id}", str(fake.guild.id))
    }
    assert await db.fetchall("SELECT * FROM budget_overrides") == []
    assert await db.fetchall("SELECT * FROM bans") == []
    assert await db.fetchall("SELECT * FROM budget_grants") == []
    assert not easel_on_discord.services.jobs.paused


async def test_manage_server_administrators_and_the_admin_role_may(
    easel_on_discord_factory: Any,
) -> None:
    easel: EaselOnDiscord = await easel_on_discord_factory(discord_admin_role="easel mods")
    fake = easel.fake
    manager = fake.add_user("manager", permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
    boss = fake.add_user("boss", permissions=MEMBER_PERMISSIONS | ADMINISTRATOR)
    mod = fake.add_user("mod")
    role = fake.add_role(fake.guild, "easel mods", mod)
    await easel.restart()  # the guild cache (with the new role) comes with GUILD_CREATE
    fake.permit_command(fake.guild, "easel", role)  # Integrations: the role sees /easel

    assert await answer(fake, await admin(fake, "set", manager, name="server_day", value="5")) == (
        "server_day is now 5 here."
    )
    reply = await answer(fake, await admin(fake, "ban", boss, account=f"<@{fake.user.id}>", reason="spam"))
    assert reply == f"discord:{fake.user.id} is banned from the bot."
    mentioned = await admin(fake, "set", mod, name=f"<@&{role}>", value="40")  # the role picked by mention
    assert await answer(fake, mentioned) == f"role:{role} is now 40 here."
    assert await answer(fake, await admin(fake, "pause", mod)) == "Generation is paused; queued jobs wait."
    assert easel.services.jobs.paused
    assert await answer(fake, await admin(fake, "resume", mod)) == "Generation resumed."
    audit = await answer(fake, await admin(fake, "audit", mod))
    assert f"discord:{boss.id} ban discord:{fake.user.id} spam" in audit
    rows = await easel.services.db.fetchall("SELECT actor_key, action FROM audit_log ORDER BY id")
    assert [(r["actor_key"], r["action"]) for r in rows] == [
        (f"discord:{manager.id}", "set_limit"),
        (f"discord:{boss.id}", "ban"),
        (f"discord:{mod.id}", "set_limit"),
        (f"discord:{mod.id}", "pause"),
        (f"discord:{mod.id}", "resume"),
    ]
    banned = await fake.slash("imagine", prompt="a boat")
    assert "blocked you from the bot" in (await ephemeral_reply(fake, banned)).content


async def test_the_admin_role_may_be_named_by_id_and_a_wrong_name_grants_nothing(
    easel_on_discord_factory: Any,
) -> None:
    first: EaselOnDiscord = await easel_on_discord_factory(discord_admin_role="somebody else")
    fake = first.fake
    mod = fake.add_user("mod")
    role = fake.add_role(fake.guild, "easel mods", mod)
    await first.restart()
    fake.permit_command(fake.guild, "easel", role)
    assert (await answer(fake, await admin(fake, "limits", mod))).startswith("Only members")
    await first.close()
    second: EaselOnDiscord = await easel_on_discord_factory(discord_admin_role=str(role))
    assert (await answer(fake, await admin(fake, "limits", mod))).startswith("person_day: 25 units")
    await second.close()


async def test_admin_delete_removes_anyones_result_and_its_originals(
    easel_on_discord: EaselOnDiscord,
) -> None:
    fake = easel_on_discord.fake
    jobs = easel_on_discord.services.jobs
    grid = await result_of(fake, await fake.slash("imagine", prompt="a harbour", samples=1))
    job_id = job_id_of(grid)
    manager = fake.add_user("manager", permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
    reply = await answer(fake, await admin(fake, "delete", manager, job=job_id[:10]))
    assert reply == f"Deleted {job_id[:12]} by discord:{fake.user.id}: its post and stored images are gone."
    await fake.wait_until(lambda: grid.deleted)
    assert (await jobs.get_job(job_id)).deleted
    rows = await easel_on_discord.services.db.fetchall(
        "SELECT actor_key, target, detail FROM audit_log WHERE action = 'delete'"
    )
    assert [tuple(r) for r in rows] == [(f"discord:{manager.id}", job_id, f"discord:{fake.user.id}")]
    again = await answer(fake, await admin(fake, "delete", manager, job=job_id[:10]))
    assert "can't find" in again.lower() or "no longer" in again.lower(), again


async def test_admins_may_press_delete_on_anyones_result(easel_on_discord_factory: Any) -> None:
    easel: EaselOnDiscord = await easel_on_discord_factory(discord_admin_role="easel mods")
    fake = easel.fake
    mod = fake.add_user("mod")  # neither Manage Messages nor Manage Server: the role alone
    fake.add_role(fake.guild, "easel mods", mod)
    await easel.restart()
    grid = await result_of(fake, await fake.slash("imagine", prompt="a harbour", samples=1))
    delete = next(str(b["custom_id"]) for b in grid.buttons() if b.get("emoji", {}).get("name") == "🗑")
    await fake.click(grid, delete, user=mod)
    await fake.wait_until(lambda: grid.deleted)
    assert (await easel.services.jobs.get_job(job_id_of(grid))).deleted
    rows = await rows_until(easel.services.db, "SELECT actor_key FROM audit_log WHERE action = 'delete'", 1)
    assert [r["actor_key"] for r in rows] == [f"discord:{mod.id}"]


async def test_an_admin_of_one_server_cannot_reach_another_servers_jobs(
    easel_on_discord_factory: Any,
) -> None:
    easel: EaselOnDiscord = await easel_on_discord_factory()
    fake = easel.fake
    grid = await result_of(fake, await fake.slash("imagine", prompt="a harbour", samples=1))
    other = fake.add_guild("another server")
    await easel.close()
    elsewhere: EaselOnDiscord = await easel_on_discord_factory(discord_guild_ids=[fake.guild.id, other.id])
    manager = fake.add_user("manager", permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
    interaction = await fake.slash("easel", "admin", "delete", user=manager, guild=other, job=job_id_of(grid))
    assert "can't find" in (await answer(fake, interaction)).lower()
    assert not grid.deleted
    assert not (await elsewhere.services.jobs.get_job(job_id_of(grid))).deleted
