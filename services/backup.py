"""A consistent copy of easel's database while ``easel run`` keeps writing to it.

SQLite's online backup API (``sqlite3.Connection.backup``) copies the database page by page
and restarts whatever pages a concurrent writer changes, so the copy is one committed state.
It is written beside ``dest`` first, checked with ``PRAGMA integrity_check``, then moved into
place, so a failed or interrupted backup never leaves a half-written file at ``dest``::

    report = backup_database(data_dir / "easel.sqlite3", Path("/backups/easel-2026-12-02.sqlite3"))

Restoring: stop easel, put the copy at ``<EASEL_DATA_DIR>/easel.sqlite3``, start it again.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BackupError", "BackupReport", "backup_database"]

_PAGES_PER_STEP = 256


class BackupError(Exception):
    """The backup could not be made or did not verify; the message is for the operator."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    size_bytes: int
    schema_version: int


def backup_database(source: Path, dest: Path) -> BackupReport:
    """Copy ``source`` to ``dest`` (which must not exist) with the online backup API, and verify it."""
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    if dest.exists():
        raise BackupError(f"{dest} already exists; choose a new file name")
    if not dest.parent.is_dir():
        raise BackupError(f"the folder {dest.parent} does not exist")
    partial = dest.with_name(dest.name + ".partial")
    try:
        with (
            closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)) as src,
            closing(sqlite3.connect(partial)) as dst,
        ):
            src.backup(dst, pages=_PAGES_PER_STEP, sleep=0.005)
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
            verdict = dst.execute("PRAGMA integrity_check").fetchone()[0]
            version = int(dst.execute("PRAGMA user_version").fetchone()[0])
        if verdict != "ok":
            raise BackupError(f"the copy failed its integrity check: {verdict}")
        os.replace(partial, dest)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not back up {source}: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return BackupReport(dest, dest.stat().st_size, version)
