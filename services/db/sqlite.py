"""The SQLite database (the embedded default): connection, pragmas, write transactions.

Usage::

    db = await Database.open(settings.data_dir)   # a SqliteDatabase unless a URL is given
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

Storage faults are told, never repaired: a file that is not a database, a data dir easel
cannot write, or a lock that outlasts the bounded wait at start raise
:class:`~services.data_dir.StorageUnusable` (one line for the operator: which path, what to do; the file is
left as it was). While running, a full disk becomes :class:`~services.errors.StorageFull`
and a write lock held past ``lock_wait_s`` by another program (a backup tool)
:class:`~services.errors.StorageBusy` — logged once per wait as ``db.locked``. A
transaction that never began changed nothing, so waiting and giving up never double-charge.

WAL with ``synchronous=NORMAL`` survives process crashes without losing committed
transactions; a power cut may lose the last few, never corrupt the file.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TypeVar

import aiosqlite

from services.data_dir import (
    LOCK_WAIT_S,
    StorageUnusable,
    database_path,
    ensure_writable_dir,
    is_locked,
    open_problem,
    primary_code,
)
from services.db.base import Database, Params, Row, Transaction
from services.errors import StorageBusy, StorageFull

__all__ = ["SqliteDatabase", "SqliteTransaction"]

T = TypeVar("T")


log = logging.getLogger("services.db")


@contextmanager
def _storage_errors(path: Path) -> Iterator[None]:
    """SQLite's "database or disk is full" as :class:`StorageFull` (an operator condition)."""
    try:
        yield
    except sqlite3.Error as exc:
        if primary_code(exc) == sqlite3.SQLITE_FULL:
            raise StorageFull(path=str(path), log_detail=f"sqlite: {exc}") from exc
        raise


class SqliteTransaction(Transaction):
    """Statements inside one ``BEGIN IMMEDIATE`` transaction (see :meth:`SqliteDatabase.transaction`)."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self._path = path

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        with _storage_errors(self._path):
            async with self._conn.execute(sql, params) as cur:
                return cur.rowcount

    async def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        with _storage_errors(self._path):
            async with self._conn.executemany(sql, rows) as cur:
                return cur.rowcount

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self._conn.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await self._conn.execute_fetchall(sql, params))


class SqliteDatabase(Database):
    """The shared connection to ``<data_dir>/easel.sqlite3``. Open with :meth:`Database.open`."""

    dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection, path: Path, *, lock_wait_s: float = LOCK_WAIT_S) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path
        self.lock_wait_s = lock_wait_s

    @property
    def data_dir(self) -> Path:
        return self.path.parent

    @property
    def where(self) -> str:
        return str(self.path)

    @classmethod
    async def connect(
        cls, location: Path | str, *, busy_timeout_ms: int = 2_000, lock_wait_s: float = LOCK_WAIT_S
    ) -> SqliteDatabase:
        """Create the data dir if needed, open the file, set pragmas and migrate the schema.

        ``location`` is the data dir (the file is ``<dir>/easel.sqlite3``) or, if it ends in
        ``.sqlite3``/``.sqlite``/``.db``, the database file itself. Raises
        :class:`StorageUnusable` (nothing changed) when the dir is not writable, the file is
        not a database, or another program holds its write lock for more than ``lock_wait_s``.
        """
        path = database_path(location)
        await asyncio.to_thread(ensure_writable_dir, path.parent)
        # isolation_level=None: autocommit; transactions are explicit BEGIN IMMEDIATE.
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StorageUnusable(f"cannot open {path} ({exc}); check its permissions", path=path) from None
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            db = cls(conn, path, lock_wait_s=lock_wait_s)
            await db._retry_locked("PRAGMA journal_mode", lambda: conn.execute("PRAGMA journal_mode = WAL"))
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await db._migrate()
        except BaseException as exc:
            await conn.close()
            problem = open_problem(path, exc, lock_wait_s)
            if problem is exc:
                raise
            raise problem from None
        return db

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()

    # Statements outside a transaction -------------------------------------------------

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        async with self._lock:
            rows = await self._conn.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._lock:
            return list(await self._conn.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One autocommitted write statement; returns the number of rows changed."""

        async def run() -> int:
            async with self._conn.execute(sql, params) as cur:
                return cur.rowcount

        async with self._lock:
            with _storage_errors(self.path):
                return await self._retry_locked(sql.split(None, 1)[0], run)

    async def _retry_locked(self, what: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt`` again while another program holds the write lock, up to ``lock_wait_s``.

        Only for statements that change nothing when refused (BEGIN IMMEDIATE, one autocommit
        write): SQLite rolls a refused one back entirely, so retrying never applies it twice.
        """
        deadline = time.monotonic() + self.lock_wait_s
        waiting_since: float | None = None
        while True:
            try:
                result = await attempt()
            except sqlite3.OperationalError as exc:
                if not is_locked(exc):
                    raise
                now = time.monotonic()
                if waiting_since is None:
                    waiting_since = now
                    log.warning(
                        "db.locked",
                        extra={
                            "path": str(self.path),
                            "statement": what,
                            "wait_s": self.lock_wait_s,
                            "detail": "another program holds the database's write lock; waiting",
                        },
                    )
                if now >= deadline:
                    log.error(
                        "db.lock_wait_exceeded",
                        extra={"path": str(self.path), "statement": what, "wait_s": self.lock_wait_s},
                    )
                    raise StorageBusy(
                        log_detail=f"{self.path} locked for more than {self.lock_wait_s} s"
                    ) from exc
                await asyncio.sleep(min(0.05, max(deadline - now, 0)))
                continue
            if waiting_since is not None:
                log.info(
                    "db.lock_released",
                    extra={
                        "path": str(self.path),
                        "waited_ms": round((time.monotonic() - waiting_since) * 1000),
                    },
                )
            return result

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:  # type: ignore[override]
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolled back if the block raises or is cancelled.

        Statements already handed to the connection thread run even if the awaiting task is
        cancelled, so BEGIN/COMMIT are shielded and a ROLLBACK is queued behind them on any
        exit by exception: the connection is never left inside a transaction. (A task
        cancelled while awaiting COMMIT sees ``CancelledError`` although the commit happened.)
        """
        async with self._lock:
            try:
                await self._retry_locked("BEGIN IMMEDIATE", self._begin)
            except BaseException:
                await asyncio.shield(self._rollback())
                raise
            try:
                yield SqliteTransaction(self._conn, self.path)
                with _storage_errors(self.path):
                    await asyncio.shield(self._conn.execute("COMMIT"))
            except BaseException:
                await asyncio.shield(self._rollback())
                raise

    async def _begin(self) -> None:
        await asyncio.shield(self._conn.execute("BEGIN IMMEDIATE"))

    async def _rollback(self) -> None:
        """Queue a ROLLBACK behind whatever the connection thread still has to run."""
        try:
            await self._conn.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            if "no transaction is active" not in str(exc):
                log.exception("db.rollback_failed")

    async def table_names(self) -> set[str]:
        rows = await self.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {str(row["name"]) for row in rows} - {"sqlite_sequence"}

    async def column_names(self, table: str) -> list[str]:
        rows = await self.fetchall("SELECT name FROM pragma_table_info(?) ORDER BY cid", (table,))
        return [str(row["name"]) for row in rows]
