"""``easel migrate``: show the schema version, take it back with ``--down N``, or copy to PostgreSQL.

::

    easel migrate                          # the database's schema version
    easel migrate --down 3                 # undo every migration newer than 3 (before an older easel)
    easel migrate --to "postgresql://…"    # copy the data dir's SQLite tables into an empty PostgreSQL database

Opening the database brings it up to this easel's version first, so ``--down`` always starts
from the newest schema; the next ``easel run`` of this easel migrates up again. ``--to`` copies
a snapshot taken with SQLite's online backup API (safe while ``easel run`` is up; what happens
after the snapshot stays in SQLite, so stop easel first for a final copy) and prints the URL
without its password.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli_common import EXIT_BACKEND, EXIT_OK, EXIT_USAGE, fail

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = ["add_migrate_command"]


def add_migrate_command(sub: Any) -> None:
    p = sub.add_parser(
        "migrate",
        help="show the database schema version, or --down N to undo newer migrations",
        description="Show the schema version of EASEL_DATA_DIR's database, or take it back to version N.",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--down", type=int, default=None, metavar="N", help="undo every migration newer than N"
    )
    which.add_argument(
        "--to",
        default=None,
        metavar="URL",
        help="copy EASEL_DATA_DIR's SQLite database into an empty PostgreSQL one",
    )
    p.set_defaults(handler=run_migrate)


def run_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from services.migrations import MIGRATIONS

    if args.down is not None and not 0 <= args.down <= len(MIGRATIONS):
        return fail(f"--down takes a version from 0 to {len(MIGRATIONS)}.", EXIT_USAGE)
    if args.to is not None:
        return asyncio.run(_copy_to(settings, args.to))
    return asyncio.run(_migrate(settings, args.down))


async def _copy_to(settings: Settings, url: str) -> int:
    from services.backup import BackupError, backup_database
    from services.db import DB_FILENAME, Database
    from services.db.copy import TargetNotEmpty, copy_database
    from services.db.postgres import redacted

    if not url.startswith(("postgresql://", "postgres://")):
        return fail("--to takes a postgresql:// URL.", EXIT_USAGE)
    source_file = settings.data_dir / DB_FILENAME
    if not source_file.is_file():
        return fail(f"migrate: there is no SQLite database at {source_file} to copy.", EXIT_USAGE)
    with tempfile.TemporaryDirectory(prefix="easel-migrate-") as tmp:
        snapshot = Path(tmp) / DB_FILENAME
        try:
            await asyncio.to_thread(backup_database, source_file, snapshot)
        except BackupError as exc:
            return fail(f"migrate: {exc}", EXIT_BACKEND)
        async with (
            await Database.open(snapshot) as source,
            await Database.open(settings.data_dir, url=url) as target,
        ):
            try:
                report = await copy_database(source, target)
            except TargetNotEmpty as exc:
                return fail(f"migrate: {exc}.", EXIT_USAGE)
    print(
        f"copied {report.rows} rows in {len(report.tables)} tables from {source_file} to {redacted(url)}; "
        "set EASEL_DATABASE_URL to it and start easel."
    )
    return EXIT_OK


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
