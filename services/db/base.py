"""What every easel database offers, whichever engine is behind it (see :mod:`services.db`).

The interface is SQLite's, because SQLite was first and every owning module (quota, jobs,
store, budgets …) writes its SQL in SQLite's spelling; the PostgreSQL implementation
translates (:mod:`services.db.dialect`). A :meth:`Database.transaction` is a *write*
transaction on both: it excludes every other write transaction on the same database, from
any process, for as long as it is open, so a read-modify-write (quota!) is exact.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol

from services.data_dir import LOCK_WAIT_S, StorageUnusable, database_path, newer_schema
from services.migrations import MIGRATIONS

__all__ = ["Database", "Params", "Row", "Transaction", "migrate_down", "register_engine", "split_statements"]

log = logging.getLogger("services.db")

Params = Sequence[Any] | dict[str, Any]

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")

_ENGINES: dict[str, Callable[..., Awaitable[Database]]] = {}


def register_engine(dialect: str, connect: Callable[..., Awaitable[Database]]) -> None:
    """Called by :mod:`services.db` for each engine, so this module imports neither (no cycle)."""
    _ENGINES[dialect] = connect


class Row(Protocol):
    """One result row: by column name (``row["id"]``) or position; ``keys()`` names the columns."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def keys(self) -> Any: ...


class Transaction(ABC):
    """Statements inside one write transaction (see :meth:`Database.transaction`)."""

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return the number of rows it changed."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Params]) -> int: ...

    @abstractmethod
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...


class Database(ABC):
    """easel's database. Open with :meth:`open`; SQLite or PostgreSQL behind the same methods."""

    dialect: str
    """``"sqlite"`` or ``"postgresql"``: for the few callers that must know (backup, copy)."""

    lock_wait_s: float

    @property
    @abstractmethod
    def data_dir(self) -> Path:
        """The data dir this process keeps its files in (originals, inputs, the run lock)."""

    @property
    @abstractmethod
    def where(self) -> str:
        """Where the data lives, for the operator's messages (a path, or a URL without password)."""

    @classmethod
    async def open(
        cls,
        location: Path | str,
        *,
        url: str | None = None,
        busy_timeout_ms: int = 2_000,
        lock_wait_s: float = LOCK_WAIT_S,
    ) -> Database:
        """Open (and migrate) the database: SQLite in ``location``, or PostgreSQL at ``url``.

        ``location`` is the data dir (or the SQLite file itself). ``url`` (``EASEL_DATABASE_URL``,
        ``postgresql://…``) moves the tables to PostgreSQL; the data dir still holds the files.
        Raises :class:`StorageUnusable` (nothing changed) when the database cannot be used.
        """
        if url:
            if not url.startswith(_POSTGRES_SCHEMES):
                raise StorageUnusable(
                    "EASEL_DATABASE_URL must start with postgresql:// (leave it unset for SQLite)",
                    path=Path(location),
                )
            data_dir = Path(location)
            data_dir = data_dir.parent if database_path(data_dir) == data_dir else data_dir
            return await _ENGINES["postgresql"](url, data_dir, lock_wait_s=lock_wait_s)
        return await _ENGINES["sqlite"](location, busy_timeout_ms=busy_timeout_ms, lock_wait_s=lock_wait_s)

    @abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @abstractmethod
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """One autocommitted write statement; returns the number of rows changed."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A write transaction: committed at the end of the block, rolled back if it raises."""

    async def claim_jobs(self) -> bool:
        """Become the one process that runs this database's jobs; False if another one is.

        Two processes recovering the same unfinished jobs would run (and post) them twice. On
        SQLite the data dir's ``flock`` (:mod:`services.jobs.lock`) already says it: one file,
        one data dir. A shared server needs its own claim, held until :meth:`release_jobs` or
        until the process dies (``kill -9`` included).
        """
        return True

    async def release_jobs(self) -> None:
        """Give up :meth:`claim_jobs` (idempotent)."""
        return None

    async def listen(self, channel: str, on_notify: Callable[[str], None]) -> bool:
        """Call ``on_notify(payload)`` whenever any process runs :meth:`notify` on ``channel``.

        True when the engine delivers notifications (PostgreSQL's LISTEN); False when the
        caller must poll instead (SQLite has one process, which wakes itself). Best effort:
        a lost listening connection only makes the caller's polling the wakeup.
        """
        return False

    async def notify(self, channel: str, payload: str = "") -> None:
        """Wake every process listening on ``channel`` (PostgreSQL's NOTIFY); nothing on SQLite."""
        return None

    @abstractmethod
    async def table_names(self) -> set[str]:
        """easel's tables in this database (``schema_version`` included)."""

    @abstractmethod
    async def column_names(self, table: str) -> list[str]:
        """The columns of ``table`` in order (PostgreSQL's explicit ``rowid`` left out)."""

    # Schema -----------------------------------------------------------------------------

    async def schema_version(self) -> int:
        row = await self.fetchone("SELECT MAX(version) AS v FROM schema_version")
        return int(row["v"] or 0) if row is not None else 0

    def _newer_schema(self, version: int) -> StorageUnusable:
        return StorageUnusable(newer_schema(Path(self.where), version), path=Path(self.where))

    async def _migrate(self) -> None:
        """Bring the schema to this easel's version in one transaction (both engines' DDL is transactional)."""
        async with self.transaction() as tx:
            await tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
            )
            row = await tx.fetchone("SELECT MAX(version) AS v FROM schema_version")
            current = int(row["v"] or 0) if row is not None else 0
            if current > len(MIGRATIONS):
                raise self._newer_schema(current)
            for version in range(current + 1, len(MIGRATIONS) + 1):
                for statement in split_statements(MIGRATIONS[version - 1].up):
                    await tx.execute(statement)
                await tx.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (version, _julian_now())
                )
                log.info("db.migrated", extra={"schema_version": version})


def _julian_now() -> float:
    """Now as a Julian day number (what ``schema_version.applied_at`` has always held)."""
    return time.time() / 86400.0 + 2440587.5


async def migrate_down(db: Database, target: int) -> int:
    """Undo migrations newer than ``target`` (newest first) in one transaction; returns the new version.

    For going back to an older easel: the next open by this easel migrates up again.
    """
    if target < 0:
        raise ValueError("target must be >= 0")
    async with db.transaction() as tx:
        row = await tx.fetchone("SELECT MAX(version) AS v FROM schema_version")
        current = int(row["v"] or 0) if row is not None else 0
        for version in range(current, target, -1):
            for statement in split_statements(MIGRATIONS[version - 1].down):
                await tx.execute(statement)
            await tx.execute("DELETE FROM schema_version WHERE version = ?", (version,))
            log.info("db.migrated_down", extra={"schema_version": version - 1})
    return min(current, target)


def split_statements(script: str) -> list[str]:
    """Split a migration into statements (``executescript`` would COMMIT our transaction)."""
    return list(_statements(script))


def _statements(script: str) -> Iterator[str]:
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer.strip()
            buffer = ""
    if buffer.strip():
        yield buffer.strip()
