"""``easel migrate``: show the schema version, or take it back with ``--down N`` (before running an older easel).

::

    easel migrate              # the data dir's schema version
    easel migrate --down 3     # undo every migration newer than 3

Opening the database brings it up to this easel's version first, so ``--down`` always starts
from the newest schema; the next ``easel run`` of this easel migrates up again.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

from bot.cli_common import EXIT_OK, EXIT_USAGE, fail

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = ["add_migrate_command"]


def add_migrate_command(sub: Any) -> None:
    p = sub.add_parser(
        "migrate",
        help="show the database schema version, or --down N to undo newer migrations",
        description="Show the schema version of EASEL_DATA_DIR's database, or take it back to version N.",
    )
    p.add_argument("--down", type=int, default=None, metavar="N", help="undo every migration newer than N")
    p.set_defaults(handler=run_migrate)


def run_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from services.migrations import MIGRATIONS

    if args.down is not None and not 0 <= args.down <= len(MIGRATIONS):
        return fail(f"--down takes a version from 0 to {len(MIGRATIONS)}.", EXIT_USAGE)
    return asyncio.run(_migrate(settings, args.down))


async def _migrate(settings: Settings, down: int | None) -> int:
    from services.db import Database, migrate_down

    async with await Database.open(settings.data_dir, url=settings.database) as db:
        if down is not None:
            before = await db.schema_version()
            after = await migrate_down(db, down)
            print(f"schema version {before} -> {after}.")
        else:
            print(f"schema version {await db.schema_version()}.")
    return EXIT_OK
