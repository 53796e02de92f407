"""``easel quota``: show or reset one account's daily quota, from the operator's shell.

::

    easel quota                      # your own CLI account (your login name)
    easel quota discord:80351110224678912
    easel quota slack:U024BE7LH --reset

An account is ``platform:user_id``, the key quotas are kept under (a bare name means a CLI
account, ``cli:<name>``). Works while ``easel run`` is up: it opens the database only, not
the job runner's data-dir lock, and SQLite serialises the write.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

from bot.cli_common import EXIT_OK, login_name

if TYPE_CHECKING:
    from bot.settings import Settings
    from services.quota import QuotaStatus
    from services.types import Requester

__all__ = ["add_quota_command", "parse_account"]

_PLATFORMS = ("cli", "discord", "slack")


def add_quota_command(sub: Any) -> None:
    p = sub.add_parser(
        "quota",
        help="show (or --reset) an account's daily image quota",
        description="Show an account's cost units left in the rolling 24 h window, or give them back.",
    )
    p.add_argument(
        "account",
        nargs="?",
        default=None,
        help="platform:user_id (discord:…, slack:…, cli:…) or a CLI user name (default: your login name)",
    )
    p.add_argument("--reset", action="store_true", help="give back every unit charged in the window")
    p.set_defaults(handler=run_quota)


def parse_account(account: str | None) -> Requester:
    """``"slack:U1"`` → Requester("slack", "U1"); a bare name (or nothing) is a CLI account."""
    from services.types import Requester

    text = account or login_name()
    platform, sep, user_id = text.partition(":")
    if sep and platform in _PLATFORMS and user_id:
        return Requester(platform, user_id, user_id)
    return Requester("cli", text, text)


def run_quota(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_quota(settings, args))


def _status_line(key: str, status: QuotaStatus) -> str:
    from commands.replies import PLAIN, quota_text

    if status.limit == 0:
        return f"{key}: image generation is turned off (EASEL_DAILY_QUOTA=0)."
    used = f"{status.used} of {status.limit} units used in the last 24 h (EASEL_DAILY_QUOTA)"
    return f"{key}: {used}. {quota_text(status, PLAIN)}"


async def _quota(settings: Settings, args: argparse.Namespace) -> int:
    from services.db import Database
    from services.quota import QuotaBook

    requester = parse_account(args.account)
    async with await Database.open(settings.data_dir, url=settings.database) as db:
        book = QuotaBook(db, daily_limit=settings.daily_quota)
        if args.reset:
            given_back = await book.reset(requester)
            print(f"{requester.key}: gave back {given_back} unit(s).")
        print(_status_line(requester.key, await book.status(requester)))
    return EXIT_OK
