"""The admin grammar (issue 10), declared once: ``/easel admin …`` on Discord and Slack, ``easel admin …`` at the CLI.

Front ends check who may run it (Manage Server / a configured role on Discord, workspace admins
or a configured user group on Slack; the operator at the CLI) and hand the words here. Every
change goes through :class:`services.budgets.BudgetBook`, which writes its audit entry in
the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from services.budgets import LIMIT_NAMES, BudgetBook, Limits
from services.errors import InvalidRequest, JobNotFound
from services.jobs import JobRecord, JobService
from services.types import Requester

__all__ = [
    "ADMIN_SUBCOMMANDS",
    "GRANT_MAX",
    "JOB_SUBCOMMANDS",
    "AdminArg",
    "AdminSubcommand",
    "PostRemover",
    "admin_table_markdown",
    "admin_usage",
    "limits_text",
    "run_admin",
]

GRANT_MAX = 100_000

#: What the front end does to take a deleted result's post out of the chat (``admin delete``);
#: returns whether it could.
PostRemover = Callable[[JobRecord], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class AdminArg:
    """One argument of a subcommand: Discord makes it an option, the usage line a word.

    ``kind`` "account" is ``platform:user_id`` or a chat mention (``<@…>``) of the caller's
    platform; ``rest`` takes every remaining word (a reason).
    """

    name: str
    help: str
    kind: Literal["text", "integer", "account"] = "text"
    required: bool = True
    rest: bool = False
    min_value: int | None = None
    max_value: int | None = None

    @property
    def usage(self) -> str:
        word = self.name.upper() + ("…" if self.rest else "")
        return word if self.required else f"[{word}]"


@dataclass(frozen=True, slots=True)
class AdminSubcommand:
    name: str
    arguments: tuple[AdminArg, ...]
    help: str
    needs_jobs: bool = False  # acts on the running bot: chat only

    @property
    def args(self) -> str:
        return " ".join(a.usage for a in self.arguments)


_ACCOUNT = AdminArg("account", "the person: an @mention or platform:user_id (e.g. discord:1234)", "account")
_JOB = AdminArg("job", "the job id (or its first characters, as /easel admin queue shows it)")

ADMIN_SUBCOMMANDS: tuple[AdminSubcommand, ...] = (
    AdminSubcommand("limits", (), "show this server's limits"),
    AdminSubcommand(
        "set",
        (
            AdminArg("name", f"the limit: {', '.join(LIMIT_NAMES)}"),
            AdminArg("value", "a whole number, channel ids, or 'default' to remove the override"),
        ),
        f"set a limit ({', '.join(LIMIT_NAMES)}); VALUE 'default' removes it",
    ),
    AdminSubcommand(
        "grant",
        (
            _ACCOUNT,
            AdminArg("units", "extra units for the next 24 h", "integer", min_value=1, max_value=GRANT_MAX),
        ),
        "give a person extra units for 24 h (ACCOUNT: platform:user_id)",
    ),
    AdminSubcommand(
        "ban",
        (_ACCOUNT, AdminArg("reason", "why (kept in the audit log)", required=False, rest=True)),
        "block a person from the bot",
    ),
    AdminSubcommand("unban", (_ACCOUNT,), "lift a ban"),
    AdminSubcommand("audit", (), "the last 20 admin actions and refusals here"),
    AdminSubcommand("pause", (), "stop starting jobs (queued ones wait, their requesters are told)", True),
    AdminSubcommand("resume", (), "start queued jobs again", True),
    AdminSubcommand("queue", (), "the waiting jobs", True),
    AdminSubcommand("cancel", (_JOB,), "cancel a job; its units are refunded and its requester told", True),
    AdminSubcommand(
        "delete",
        (_JOB,),
        "delete anyone's result: its stored images, and its post on Discord (chat only)",
        True,
    ),
)
JOB_SUBCOMMANDS = frozenset(("pause", "resume", "queue", "cancel"))
"""Act on the running bot: the CLI sends them to ``easel run`` (:mod:`services.jobs.control`)."""


def admin_usage(prefix: str = "/easel admin") -> str:
    return "\n".join(f"{prefix} {s.name} {s.args}".rstrip() + f" — {s.help}" for s in ADMIN_SUBCOMMANDS)


def admin_table_markdown() -> str:
    """The README's table of subcommands (``python -m bot.readme`` writes it)."""
    lines = ["| subcommand | what it does |", "| --- | --- |"]
    lines += [
        f"| `{f'{s.name} {s.args}'.rstrip()}` | {s.help.replace('<', '&lt;')} |" for s in ADMIN_SUBCOMMANDS
    ]
    return "\n".join(lines) + "\n"


def limits_text(limits: Limits) -> str:
    def n(v: int) -> str:
        return str(v) if v > 0 else "no limit"

    lines = [
        f"person_day: {limits.person_day} units per person per rolling 24 h",
        f"server_day: {n(limits.server_day)}",
        f"server_month: {n(limits.server_month)}",
        f"concurrent: {n(limits.concurrent)} jobs per person",
        f"cooldown: {limits.cooldown_s} s" if limits.cooldown_s else "cooldown: none",
        f"allow_channels: {' '.join(sorted(limits.allow_channels)) or 'every channel'}",
        f"deny_channels: {' '.join(sorted(limits.deny_channels)) or 'none'}",
    ]
    lines += [f"role:{role}: {units} units per 24 h" for role, units in sorted(limits.role_day.items())]
    return "\n".join(lines)


_MENTION_RE = re.compile(r"^<@!?([A-Za-z0-9]+)(?:\|[^>]*)?>$")  # Discord <@1234> <@!1234>, Slack <@U123|ann>


# A role or user group mentioned where a limit name goes: Discord <@&1234>, Slack <!subteam^S0123|@mods>.
_GROUP_MENTION_RE = re.compile(r"^(?:role:)?(?:<@&(\d+)>|<!subteam\^([A-Za-z0-9]+)(?:\|[^>]*)?>)$")


def _limit_name(word: str) -> str:
    mention = _GROUP_MENTION_RE.match(word)
    return f"role:{mention[1] or mention[2]}" if mention else word


def _account(word: str, actor: Requester | str) -> str:
    mention = _MENTION_RE.match(word)
    if mention and not isinstance(actor, str):
        return f"{actor.platform}:{mention[1]}"
    platform, sep, user = word.partition(":")
    if not sep or platform not in ("discord", "slack", "cli") or not user:
        raise InvalidRequest(f"{word!r} is not an account; write it as platform:user_id (e.g. discord:1234).")
    return word


async def run_admin(
    budgets: BudgetBook,
    actor: Requester | str,
    server_id: str,
    words: list[str],
    *,
    jobs: JobService | None = None,
    remove_post: PostRemover | None = None,
) -> str:
    """Run one admin subcommand; returns the reply. Bad usage raises :class:`InvalidRequest`.

    ``jobs``: the running job service (chat front ends); without it the job subcommands are refused.
    ``remove_post``: how ``delete`` takes the result out of the chat (without it only the stored
    images go).
    """
    spec = _SPECS.get(words[0]) if words else None
    if spec is None:
        raise InvalidRequest("Admin commands:\n" + admin_usage())
    name, rest = words[0], words[1:]
    if spec.needs_jobs:
        if jobs is None:
            raise InvalidRequest(f"{name} acts on the running bot: use /easel admin {name} in chat.")
        return await _job_admin(budgets, jobs, actor, server_id, name, rest, remove_post)
    if name == "limits":
        return limits_text(await budgets.limits_for(server_id))
    if name == "set" and len(rest) >= 2:
        value, limit = " ".join(rest[1:]), _limit_name(rest[0])
        await budgets.set_limit(actor, server_id, limit, value)
        return f"{limit} is now {value} here."
    if name == "grant" and len(rest) == 2:
        if not rest[1].isdigit():
            raise InvalidRequest(f"A grant is a whole number of units from 1 to {GRANT_MAX}.")
        account = _account(rest[0], actor)
        await budgets.grant(actor, account, int(rest[1]), server_id)
        return f"Granted {rest[1]} extra units to {account} for the next 24 h."
    if name == "ban" and rest:
        account = _account(rest[0], actor)
        done = await budgets.ban(actor, account, " ".join(rest[1:]), server_id)
        return f"{account} is banned from the bot." if done else f"{account} was already banned."
    if name == "unban" and len(rest) == 1:
        account = _account(rest[0], actor)
        done = await budgets.unban(actor, account, server_id)
        return f"{account} may use the bot again." if done else f"{account} was not banned."
    if name == "audit" and not rest:
        entries = await budgets.audit.recent(limit=20, server_id=server_id)
        if not entries:
            return "Nothing recorded here yet."
        return "\n".join(
            f"{e.at:%Y-%m-%d %H:%M} UTC {e.actor_key} {e.action} {e.target} {e.detail}".rstrip()
            for e in entries
        )
    raise _usage(name)


_SPECS = {s.name: s for s in ADMIN_SUBCOMMANDS}


def _usage(name: str) -> InvalidRequest:
    spec = _SPECS[name]
    return InvalidRequest(f"Usage: /easel admin {spec.name} {spec.args}".rstrip())


async def _job_admin(
    budgets: BudgetBook,
    jobs: JobService,
    actor: Requester | str,
    server_id: str,
    name: str,
    rest: list[str],
    remove_post: PostRemover | None,
) -> str:
    audit = budgets.audit
    # The operator at the shell without --server answers for every community; chat admins only for theirs.
    scope = None if isinstance(actor, str) and not server_id else server_id
    if name == "pause" and not rest:
        changed = jobs.pause()
        await audit.record(actor, "pause", server_id=server_id)
        return "Generation is paused; queued jobs wait." if changed else "Generation was already paused."
    if name == "resume" and not rest:
        changed = jobs.resume()
        await audit.record(actor, "resume", server_id=server_id)
        return "Generation resumed." if changed else "Generation was not paused."
    if name == "queue" and not rest:
        queue = await jobs.queued()
        waiting = [(place, q) for place, q in enumerate(queue, 1) if scope is None or q.server_id == scope]
        if not waiting:
            return "No jobs from here are waiting." if queue else "No jobs are waiting."
        return "\n".join(
            f"{place}. {q.job_id[:12]} {q.requester_key} ({q.images} images)" for place, q in waiting
        )
    if name == "cancel" and len(rest) == 1:
        record = _here(await jobs.find_job(rest[0]), scope)
        cancelled = await jobs.cancel(record.job_id)
        await audit.record(
            actor, "cancel", target=record.job_id, detail=record.requester.key, server_id=server_id
        )
        return (
            f"Cancelled {record.job_id[:12]}; its units were refunded."
            if cancelled
            else "That job has already finished."
        )
    if name == "delete" and len(rest) == 1:
        return await _delete(budgets, jobs, actor, server_id, rest[0], remove_post)
    raise _usage(name)


def _here(record: JobRecord | None, server_id: str | None) -> JobRecord:
    """The job, if it was asked for in this server (``None``: anywhere, for the operator): admins of
    one community never reach another's."""
    if record is None or (server_id is not None and record.requester.venue.server_id != server_id):
        raise JobNotFound()
    return record


async def _delete(
    budgets: BudgetBook,
    jobs: JobService,
    actor: Requester | str,
    server_id: str,
    prefix: str,
    remove_post: PostRemover | None,
) -> str:
    """A moderator's delete: the one rule of :meth:`JobService.delete`, with ``moderator=True``."""
    found = _here(await jobs.find_job(prefix), server_id)
    if found.deleted or isinstance(actor, str):
        raise JobNotFound()
    record = await jobs.delete(found.job_id, by=actor, moderator=True)
    removed = await remove_post(record) if remove_post is not None else False
    await budgets.audit.record(
        actor, "delete", target=record.job_id, detail=record.requester.key, server_id=server_id
    )
    if removed:
        return f"Deleted {record.job_id[:12]} by {record.requester.key}: its post and stored images are gone."
    return (
        f"Deleted {record.job_id[:12]} by {record.requester.key}: its stored images are gone and its "
        "buttons stop working; remove the post itself from the chat if it is still there."
    )
