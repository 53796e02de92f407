"""The data dir and database as the operator sees them: can easel use them, and if not, one line why.

::

    ensure_writable_dir(settings.data_dir)      # StorageUnusable: not writable, read-only, full
    print(probe_database(settings.data_dir))    # read-only: "… opens (schema version 3 of 3)"

:class:`StorageUnusable` is an operator error (``easel`` exits 2): its message names the path,
what is wrong and what to do, and nothing on disk was changed. :mod:`services.db` raises it at
open; ``easel check`` runs the same checks without creating or repairing anything.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import tempfile
from pathlib import Path

from services.errors import StorageBusy, StorageFull
from services.migrations import MIGRATIONS

__all__ = [
    "DB_FILENAME",
    "LOCK_WAIT_S",
    "StorageUnusable",
    "database_path",
    "ensure_writable_dir",
    "is_locked",
    "newer_schema",
    "open_problem",
    "primary_code",
    "probe_database",
]

DB_FILENAME = "easel.sqlite3"
_FILE_SUFFIXES = (".sqlite3", ".sqlite", ".db")

# How long easel waits for another program's write lock before giving up (a backup tool
# holding it for a minute is normal); each attempt waits busy_timeout inside SQLite.
LOCK_WAIT_S = 90.0


class StorageUnusable(Exception):
    """The data dir or database cannot be used as it is; the operator must act (exit 2).

    ``str(err)`` is one line naming the path, what is wrong and what to do. Nothing was
    changed on disk.
    """

    def __init__(self, message: str, *, path: Path) -> None:
        self.path = path
        super().__init__(message)


def database_path(location: Path | str) -> Path:
    """The database file for ``location``: a data dir, or the file itself (``.sqlite3``/…)."""
    given = Path(location)
    return given if given.suffix in _FILE_SUFFIXES else given / DB_FILENAME


def ensure_writable_dir(directory: Path, *, what: str = "EASEL_DATA_DIR") -> None:
    """Create ``directory`` if needed and prove easel can write there (a probe file, removed).

    Blocking: call it off the event loop. Raises :class:`StorageUnusable` naming the path and
    the permission needed; checking by writing is the only test a read-only mount cannot fool.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".easel-write-probe-", dir=directory)
        try:
            os.write(fd, b"easel")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise StorageUnusable(_dir_problem(directory, exc, what), path=directory) from None


def _dir_problem(directory: Path, exc: OSError, what: str) -> str:
    reason = exc.strerror or type(exc).__name__
    if exc.errno == errno.EROFS:
        return (
            f"{what} {directory} is on a read-only file system ({reason}); "
            f"mount it writable or choose another {what}"
        )
    if exc.errno == errno.ENOSPC:
        return f"{what} {directory} has no space left ({reason}); free some space or choose another {what}"
    if exc.errno == errno.ENOTDIR or (exc.errno == errno.EEXIST and not directory.is_dir()):
        return f"{what} {directory} is not a directory; point {what} at a folder"
    return (
        f"{what} {directory} is not writable ({reason}): easel needs permission to create, write "
        f"and delete files there (read, write and search); fix its owner/permissions or choose another {what}"
    )


def _damaged(path: Path, exc: sqlite3.Error) -> StorageUnusable:
    return StorageUnusable(
        f"{path} is damaged or not an easel database ({exc}); easel changed nothing. "
        f"Restore it from a backup, or move it aside (mv {path} {path}.damaged) to start with an empty database",
        path=path,
    )


def primary_code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", -1)) & 0xFF


def is_locked(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and primary_code(exc) in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    )


def probe_database(location: Path | str) -> str:
    """What ``easel check`` says about the database, read-only: never creates or changes it.

    Blocking (call it off the loop). Raises :class:`StorageUnusable` for a damaged file or a
    schema newer than this easel.
    """
    path = database_path(location)
    if not path.exists():
        return f"{path} will be created at first start"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        raise StorageUnusable(f"cannot open {path} ({exc}); check its permissions", path=path) from None
    try:
        verdict = conn.execute("PRAGMA quick_check").fetchone()
        if verdict is None or verdict[0] != "ok":
            raise StorageUnusable(
                f"{path} is damaged ({verdict[0] if verdict else 'no answer'}); easel changed nothing. "
                f"Restore it from a backup, or move it aside (mv {path} {path}.damaged) to start fresh",
                path=path,
            )
        has_versions = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] if has_versions else 0
    except sqlite3.OperationalError as exc:
        if is_locked(exc):
            return f"{path} is locked by another program right now (easel waits up to {LOCK_WAIT_S:.0f} s for it)"
        raise _damaged(path, exc) from None
    except sqlite3.DatabaseError as exc:
        raise _damaged(path, exc) from None
    finally:
        conn.close()
    if int(version or 0) > len(MIGRATIONS):
        raise StorageUnusable(newer_schema(path, int(version)), path=path)
    return f"{path} opens (schema version {int(version or 0)} of {len(MIGRATIONS)})"


def newer_schema(path: Path, version: int) -> str:
    return (
        f"{path} has schema version {version}, newer than this easel "
        f"({len(MIGRATIONS)}); upgrade easel or use another EASEL_DATA_DIR"
    )


def open_problem(path: Path, exc: BaseException, lock_wait_s: float) -> BaseException:
    """What a failure while opening means for the operator (other exceptions pass through)."""
    if isinstance(exc, StorageBusy):
        return StorageUnusable(
            f"{path} is locked by another program (held for more than {lock_wait_s:.0f} s); "
            "let that program finish (a backup?) and start easel again",
            path=path,
        )
    if isinstance(exc, StorageFull):
        return StorageUnusable(
            f"the file system of {path} is full; free some space and start easel again", path=path
        )
    if isinstance(exc, sqlite3.Error):
        code = primary_code(exc)
        if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
            return StorageUnusable(
                f"cannot write {path} ({exc}): easel needs read and write permission on the file "
                "and its folder; fix the permissions or choose another EASEL_DATA_DIR",
                path=path,
            )
        if code == sqlite3.SQLITE_FULL:
            return StorageUnusable(
                f"the file system of {path} is full; free some space and start easel again", path=path
            )
        if isinstance(exc, sqlite3.DatabaseError):
            return _damaged(path, exc)
    return exc
