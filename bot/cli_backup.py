"""``easel backup PATH``: a verified copy of the database, safe to take while ``easel run`` is up.

::

    easel backup /backups/easel-$(date +%F).sqlite3

Stored originals stay in the data dir (copy ``originals/`` with any file tool); quotas, jobs,
history, settings, policy rules and the audit log are all in the database file.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli_common import EXIT_BACKEND, EXIT_OK, EXIT_USAGE, fail

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = ["add_backup_command"]


def add_backup_command(sub: Any) -> None:
    p = sub.add_parser(
        "backup",
        help="copy the database to PATH (SQLite online backup; fine while easel run is up)",
        description="Copy the database with SQLite's online backup API and check the copy's integrity.",
    )
    p.add_argument("path", type=Path, help="the new backup file (must not exist yet)")
    p.set_defaults(handler=run_backup)


def run_backup(settings: Settings, args: argparse.Namespace) -> int:
    from services.backup import BackupError, backup_database

    if settings.database:
        return fail(
            "backup: easel backup copies the SQLite file; with EASEL_DATABASE_URL use the server's own"
            " tools (pg_dump) instead.",
            EXIT_USAGE,
        )
    source = settings.data_dir / "easel.sqlite3"
    try:
        report = asyncio.run(asyncio.to_thread(backup_database, source, args.path))
    except BackupError as exc:
        return fail(f"backup: {exc}", EXIT_BACKEND)
    print(
        f"backed up {source} to {report.path} ({report.size_bytes} bytes, schema {report.schema_version}); integrity ok"
    )
    return EXIT_OK
