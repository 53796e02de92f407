"""easel's one SQLite file: connection, pragmas, schema migrations, write transactions.

Usage::

    db = await Database.open(settings.data_dir)
    async with db.transaction() as tx:          # BEGIN IMMEDIATE … COMMIT
        row = await tx.fetchone("SELECT …", (key,))
        await tx.execute("INSERT …", (…))
    rows = await db.fetchall("SELECT …")
    await db.close()

Why one connection and a lock: aiosqlite runs every statement of a connection on
one thread, in order, so statements never race; but a transaction spans several
awaits, and without the lock another coroutine's statement would slip into it (or
read its uncommitted rows). Every statement therefore runs under one
:class:`asyncio.Lock`; a transaction holds it from ``BEGIN IMMEDIATE`` to ``COMMIT``.
``BEGIN IMMEDIATE`` (not deferred) takes SQLite's write lock up front, so a
read-modify-write (quota!) is atomic even against another process on the same file,
and ``busy_timeout`` makes such a second writer wait instead of failing.

WAL with ``synchronous=NORMAL`` survives process crashes without losing committed
transactions; a power cut may lose the last few, never corrupt the file.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

__all__ = ["DB_FILENAME", "MIGRATIONS", "Database", "Transaction"]

log = logging.getLogger(__name__)

DB_FILENAME = "easel.sqlite3"
_FILE_SUFFIXES = (".sqlite3", ".sqlite", ".db")

Params = Sequence[Any] | dict[str, Any]

# Numbered migrations: MIGRATIONS[i] brings the schema from version i to i + 1.
# Append only; never edit a migration that has shipped.
MIGRATIONS: tuple[str, ...] = (
    # 1: quota ledger, jobs, stored originals.
    """
    CREATE TABLE quota_reservations (
        id             TEXT PRIMARY KEY,
        requester_key  TEXT NOT NULL,
        job_id         TEXT NOT NULL,
        units          INTEGER NOT NULL CHECK (units >= 0),
        charged        INTEGER NOT NULL CHECK (charged >= 0 AND charged <= units),
        state          TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'refunded')),
        created_at     REAL NOT NULL,
        settled_at     REAL
    );
    CREATE INDEX ix_quota_requester_time ON quota_reservations (requester_key, created_at);
    CREATE INDEX ix_quota_open ON quota_reservations (state) WHERE state = 'reserved';

    CREATE TABLE jobs (
        id              TEXT PRIMARY KEY,
        requester_key   TEXT NOT NULL,
        requester_json  TEXT NOT NULL,
        platform        TEXT NOT NULL,
        origin_json     TEXT NOT NULL,
        request_json    TEXT NOT NULL,
        status          TEXT NOT NULL,
        reservation_id  TEXT REFERENCES quota_reservations (id),
        created_at      REAL NOT NULL,
        started_at      REAL,
        finished_at     REAL,
        error_kind      TEXT,
        error           TEXT,
        n_requested     INTEGER NOT NULL,
        n_delivered     INTEGER NOT NULL DEFAULT 0,
        n_filtered      INTEGER NOT NULL DEFAULT 0,
        backend         TEXT,
        model           TEXT,
        seeds_json      TEXT,
        result_text     TEXT,
        deleted_at      REAL
    );
    CREATE INDEX ix_jobs_status ON jobs (status);
    CREATE INDEX ix_jobs_requester ON jobs (requester_key, created_at);

    CREATE TABLE images (
        job_id         TEXT NOT NULL,
        idx            INTEGER NOT NULL,
        seed           INTEGER NOT NULL,
        width          INTEGER NOT NULL,
        height         INTEGER NOT NULL,
        path           TEXT NOT NULL,
        finish_reason  TEXT NOT NULL,
        created_at     REAL NOT NULL,
        PRIMARY KEY (job_id, idx)
    );
    """,
    # 2: the backend's handle on an asynchronous generation (Stability's creative upscale id),
    # so a restart polls the same generation instead of paying for a new one.
    """
    ALTER TABLE jobs ADD COLUMN resume_token TEXT;
    """,
)


class Transaction:
    """Statements inside one ``BEGIN IMMEDIATE`` transaction (see :meth:`Database.transaction`)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        async with self._conn.execute(sql, params) as cur:
            return cur.rowcount

    async def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        async with self._conn.executemany(sql, rows) as cur:
            return cur.rowcount

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self._conn.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return list(await self._conn.execute_fetchall(sql, params))


class Database:
    """The shared connection to ``<data_dir>/easel.sqlite3``. Open with :meth:`open`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path

    @property
    def data_dir(self) -> Path:
        return self.path.parent

    @classmethod
    async def open(cls, location: Path | str, *, busy_timeout_ms: int = 10_000) -> Database:
        """Create the data dir if needed, open the file, set pragmas and migrate the schema.

        ``location`` is the data dir (the file is ``<dir>/easel.sqlite3``) or, if it ends in
        ``.sqlite3``/``.sqlite``/``.db``, the database file itself.
        """
        given = Path(location)
        path = given if given.suffix in _FILE_SUFFIXES else given / DB_FILENAME
        directory = path.parent
        await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
        # isolation_level=None: autocommit; transactions are explicit BEGIN IMMEDIATE.
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            db = cls(conn, path)
            await db._migrate()
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # Statements outside a transaction -------------------------------------------------

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        async with self._lock:
            rows = await self._conn.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        async with self._lock:
            return list(await self._conn.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One autocommitted write statement; returns the number of rows changed."""
        async with self._lock, self._conn.execute(sql, params) as cur:
            return cur.rowcount

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolled back if the block raises or is cancelled.

        Statements already handed to the connection thread run even if the awaiting task is
        cancelled, so BEGIN/COMMIT are shielded and a ROLLBACK is queued behind them on any
        exit by exception: the connection is never left inside a transaction. (A task
        cancelled while awaiting COMMIT sees ``CancelledError`` although the commit happened.)
        """
        async with self._lock:
            try:
                await asyncio.shield(self._conn.execute("BEGIN IMMEDIATE"))
            except BaseException:
                await asyncio.shield(self._rollback())
                raise
            try:
                yield Transaction(self._conn)
                await asyncio.shield(self._conn.execute("COMMIT"))
            except BaseException:
                await asyncio.shield(self._rollback())
                raise

    async def _rollback(self) -> None:
        """Queue a ROLLBACK behind whatever the connection thread still has to run."""
        try:
            await self._conn.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            if "no transaction is active" not in str(exc):
                log.exception("db.rollback_failed")

    # Schema -----------------------------------------------------------------------------

    async def schema_version(self) -> int:
        row = await self.fetchone("SELECT MAX(version) AS v FROM schema_version")
        return int(row["v"] or 0) if row is not None else 0

    async def _migrate(self) -> None:
        await self.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
        )
        async with self.transaction() as tx:
            row = await tx.fetchone("SELECT MAX(version) AS v FROM schema_version")
            current = int(row["v"] or 0) if row is not None else 0
            if current > len(MIGRATIONS):
                raise RuntimeError(
                    f"{self.path} has schema version {current}, newer than this easel "
                    f"({len(MIGRATIONS)}); upgrade easel or use another EASEL_DATA_DIR"
                )
            for version in range(current + 1, len(MIGRATIONS) + 1):
                for statement in _split_statements(MIGRATIONS[version - 1]):
                    await tx.execute(statement)
                await tx.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, julianday('now'))",
                    (version,),
                )
                log.info("db.migrated", extra={"schema_version": version})


def _split_statements(script: str) -> list[str]:
    """Split a migration into statements (``executescript`` would COMMIT our transaction)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
