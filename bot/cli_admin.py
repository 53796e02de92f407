"""``easel admin …``: the operator's admin commands (the same grammar as ``/easel admin`` in chat).

::

    easel admin --server 81384788765712384 limits
    easel admin --server T024BE7LH set server_day 200
    easel admin grant discord:1234 10
    easel admin ban slack:U024BE7LH spam

The operator is the actor recorded in the audit log (``cli:<login name>``). Works while
``easel run`` is up: it opens the database only.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

from bot.cli_common import EXIT_OK, EXIT_USAGE, fail, login_name

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = ["add_admin_command"]


def add_admin_command(sub: Any) -> None:
    p = sub.add_parser(
        "admin",
        help="show/set limits, grant units, ban/unban, read the audit log",
        description="The admin commands; `easel admin` alone lists them (commands/admin.py declares them).",
    )
    p.add_argument("--server", default="", help="Discord server (guild) id or Slack team id ('' = global)")
    p.add_argument("words", nargs=argparse.REMAINDER, help="the subcommand and its arguments")
    p.set_defaults(handler=run_admin_cli)


def run_admin_cli(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_admin(settings, args.server, list(args.words)))


async def _admin(settings: Settings, server_id: str, words: list[str]) -> int:
    from bot.app import budget_book
    from commands.admin import run_admin
    from services.db import Database
    from services.errors import InvalidRequest

    async with await Database.open(settings.data_dir, url=settings.database) as db:
        try:
            reply = await run_admin(budget_book(db, settings), f"cli:{login_name()}", server_id, words)
        except InvalidRequest as exc:
            return fail(exc.user_message.replace("/easel admin", "easel admin"), EXIT_USAGE)
    print(reply)
    return EXIT_OK
