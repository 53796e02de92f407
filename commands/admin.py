"""The admin grammar (issue 10), declared once: ``/easel admin …`` on Discord and Slack, ``easel admin …`` at the CLI.

Front ends check who may run it (Manage Server / a configured role on Discord, workspace admins
or a configured user group on Slack; the operator at the CLI) and hand the words here. Every
change goes through :class:`services.budgets.BudgetBook`, which writes its audit entry in
the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.budgets import LIMIT_NAMES, BudgetBook, Limits
from services.errors import InvalidRequest, JobNotFound
from services.jobs import JobService
from services.types import Requester

__all__ = ["ADMIN_SUBCOMMANDS", "JOB_SUBCOMMANDS", "AdminSubcommand", "admin_usage", "limits_text", "run_admin"]


@dataclass(frozen=True, slots=True)
class AdminSubcommand:
    name: str
    args: str
    help: str


ADMIN_SUBCOMMANDS: tuple[AdminSubcommand, ...] = (
    AdminSubcommand("limits", "", "show this server's limits"),
    AdminSubcommand(
        "set", "NAME VALUE", f"set a limit ({', '.join(LIMIT_NAMES)}); VALUE 'default' removes it"
    ),
    AdminSubcommand(
        "grant", "ACCOUNT UNITS", "give a person extra units for 24 h (ACCOUNT: platform:user_id)"
    ),
    AdminSubcommand("ban", "ACCOUNT [REASON…]", "block a person from the bot"),
    AdminSubcommand("unban", "ACCOUNT", "lift a ban"),
    AdminSubcommand("audit", "", "the last 20 admin actions and refusals here"),
    AdminSubcommand("pause", "", "stop starting jobs (queued ones wait)"),
    AdminSubcommand("resume", "", "start queued jobs again"),
    AdminSubcommand("queue", "", "the waiting jobs"),
    AdminSubcommand("cancel", "JOB", "cancel a job; its units are refunded and its requester told"),
)
_NEED_JOBS = ("pause", "resume", "queue", "cancel")
JOB_SUBCOMMANDS = frozenset(_NEED_JOBS)
"""Act on the running bot: the CLI sends them to ``easel run`` (:mod:`services.jobs.control`)."""


def admin_usage(prefix: str = "/easel admin") -> str:
    return "\n".join(f"{prefix} {s.name} {s.args}".rstrip() + f" — {s.help}" for s in ADMIN_SUBCOMMANDS)


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


def _account(word: str) -> str:
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
) -> str:
    """Run one admin subcommand; returns the reply. Bad usage raises :class:`InvalidRequest`.

    ``jobs``: the running job service (chat front ends); without it the job subcommands are refused.
    """
    if not words or words[0] not in {s.name for s in ADMIN_SUBCOMMANDS}:
        raise InvalidRequest("Admin commands:\n" + admin_usage())
    name, rest = words[0], words[1:]
    if name in _NEED_JOBS:
        if jobs is None:
            raise InvalidRequest(f"{name} acts on the running bot: use /easel admin {name} in chat.")
        return await _job_admin(budgets, jobs, actor, server_id, name, rest)
    if name == "limits":
        return limits_text(await budgets.limits_for(server_id))
    if name == "set" and len(rest) >= 2:
        value = " ".join(rest[1:])
        await budgets.set_limit(actor, server_id, rest[0], value)
        return f"{rest[0]} is now {value} here."
    if name == "grant" and len(rest) == 2:
        if not rest[1].isdigit():
            raise InvalidRequest("A grant is a whole number of units from 1 to 100000.")
        await budgets.grant(actor, _account(rest[0]), int(rest[1]), server_id)
        return f"Granted {rest[1]} extra units to {rest[0]} for the next 24 h."
    if name == "ban" and rest:
        done = await budgets.ban(actor, _account(rest[0]), " ".join(rest[1:]), server_id)
        return f"{rest[0]} is banned from the bot." if done else f"{rest[0]} was already banned."
    if name == "unban" and len(rest) == 1:
        done = await budgets.unban(actor, _account(rest[0]), server_id)
        return f"{rest[0]} may use the bot again." if done else f"{rest[0]} was not banned."
    if name == "audit" and not rest:
        entries = await budgets.audit.recent(limit=20, server_id=server_id)
        if not entries:
            return "Nothing recorded here yet."
        return "\n".join(
            f"{e.at:%Y-%m-%d %H:%M} UTC {e.actor_key} {e.action} {e.target} {e.detail}".rstrip()
            for e in entries
        )
    raise _usage(name)


def _usage(name: str) -> InvalidRequest:
    spec = next(s for s in ADMIN_SUBCOMMANDS if s.name == name)
    return InvalidRequest(f"Usage: /easel admin {spec.name} {spec.args}".rstrip())


async def _job_admin(
    budgets: BudgetBook, jobs: JobService, actor: Requester | str, server_id: str, name: str, rest: list[str]
) -> str:
    audit = budgets.audit
    if name == "pause" and not rest:
        changed = jobs.pause()
        await audit.record(actor, "pause", server_id=server_id)
        return "Generation is paused; queued jobs wait." if changed else "Generation was already paused."
    if name == "resume" and not rest:
        changed = jobs.resume()
        await audit.record(actor, "resume", server_id=server_id)
        return "Generation resumed." if changed else "Generation was not paused."
    if name == "queue" and not rest:
        waiting = jobs.queued()
        if not waiting:
            return "No jobs are waiting."
        return "\n".join(
            f"{i}. {q.job_id[:12]} {q.requester_key} ({q.images} images)" for i, q in enumerate(waiting, 1)
        )
    if name == "cancel" and len(rest) == 1:
        record = await jobs.find_job(rest[0])
        if record is None:
            raise JobNotFound()
        cancelled = await jobs.cancel(record.job_id)
        await audit.record(
            actor, "cancel", target=record.job_id, detail=record.requester.key, server_id=server_id
        )
        return (
            f"Cancelled {record.job_id[:12]}; its units were refunded."
            if cancelled
            else "That job has already finished."
        )
    raise _usage(name)
