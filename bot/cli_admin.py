"""``easel admin …``: the operator's admin commands (the same grammar as ``/easel admin`` in chat).

::

    easel admin --server 81384788765712384 limits
    easel admin --server T024BE7LH set server_day 200
    easel admin grant discord:1234 10
    easel admin ban slack:U024BE7LH spam
    easel admin pause                      # these four act on the running ``easel run``
    easel admin cancel 6f1c2a

The operator is the actor recorded in the audit log (``cli:<login name>``). Works while
``easel run`` is up: it opens the database only. ``pause``, ``resume``, ``queue`` and ``cancel``
live in the running process, so they are sent to it through the database and answered within
about a second (:mod:`services.jobs.control`); with no ``easel run`` on this data dir they are
withdrawn after a few seconds and the command says so (exit 1).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

from bot.cli_common import EXIT_BACKEND, EXIT_OK, EXIT_USAGE, fail, login_name

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = ["CONTROL_WAIT_S", "add_admin_command"]

CONTROL_WAIT_S = 5.0  # several poll intervals of the running bot (services.jobs.control)


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
    from commands.admin import JOB_SUBCOMMANDS, run_admin
    from services.db import Database
    from services.errors import InvalidRequest
    from services.jobs.control import ControlRequests

    async with await Database.open(settings.data_dir, url=settings.database) as db:
        if words and words[0] in JOB_SUBCOMMANDS:
            actor = f"cli:{login_name()}"
            answer = await ControlRequests(db).ask(
                words, actor=actor, server_id=server_id, timeout_s=CONTROL_WAIT_S
            )
            if answer is None:
                return fail(
                    f"no running easel answered within {CONTROL_WAIT_S:g} s; `easel admin {words[0]}` acts on "
                    f"`easel run`, which must be up on this data dir ({settings.data_dir}). Nothing was done.",
                    EXIT_BACKEND,
                )
            if not answer.ok:
                return fail(answer.text.replace("/easel admin", "easel admin"), EXIT_USAGE)
            print(answer.text)
            return EXIT_OK
        try:
            reply = await run_admin(budget_book(db, settings), f"cli:{login_name()}", server_id, words)
        except InvalidRequest as exc:
            return fail(exc.user_message.replace("/easel admin", "easel admin"), EXIT_USAGE)
    print(reply)
    return EXIT_OK
