"""``easel history [ACCOUNT]``: an account's last 20 jobs, newest first, from the operator's shell.

::

    easel history                        # your own CLI account
    easel history discord:80351110224678912

Reads the database only, so it works while ``easel run`` is up.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

from bot.cli_common import EXIT_OK
from bot.cli_quota import parse_account

if TYPE_CHECKING:
    from bot.settings import Settings
    from services.jobs.records import JobRecord

__all__ = ["add_history_command", "history_line"]


def add_history_command(sub: Any) -> None:
    p = sub.add_parser(
        "history", help="show an account's last 20 jobs", description="An account's last 20 jobs."
    )
    p.add_argument("account", nargs="?", default=None, help="platform:user_id or a CLI user name")
    p.set_defaults(handler=run_history)


def history_line(record: JobRecord) -> str:
    """``2026-12-02 20:15 UTC  done  /imagine  a lighthouse at dusk  (job 1a2b3c4d)``."""
    from services.audit import excerpt

    request = record.request
    command = f"/{request.operation.value}" if request is not None else "/?"
    prompt = excerpt(request.positive_prompt, 60) if request is not None else ""
    when = f"{record.created_at:%Y-%m-%d %H:%M} UTC"
    return f"{when}  {record.status.value:<9} {command:<9} {prompt}  (job {record.job_id[:8]})"


def run_history(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_history(settings, args))


async def _history(settings: Settings, args: argparse.Namespace) -> int:
    from services.db import Database
    from services.jobs.records import JobRecords
    from services.store import ImageStore

    requester = parse_account(args.account)
    async with await Database.open(settings.data_dir, url=settings.database) as db:
        records = await JobRecords(db, ImageStore(settings.data_dir, db)).recent_of(requester.key, 20)
    if not records:
        print(f"{requester.key}: no jobs yet.")
    for record in records:
        print(history_line(record))
    return EXIT_OK
