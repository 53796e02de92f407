"""The PostgreSQL database (``EASEL_DATABASE_URL=postgresql://…``): a pool, and exclusive write transactions.

For operators who outgrow one SQLite file: several easel processes, on several machines,
share the same tables. The guarantees stay SQLite's:

- **A write transaction excludes every other one**, from any process: it runs at READ
  COMMITTED and first takes a transaction-level advisory lock
  (``pg_advisory_xact_lock``), released by COMMIT or ROLLBACK — PostgreSQL's counterpart of
  SQLite's ``BEGIN IMMEDIATE``. Every read after the lock sees every earlier commit, so a
  quota read-modify-write (count the window, insert the reservation) is exact under any
  concurrency, and nothing needs a retry loop that an ``async with`` block could not give.
  Plain reads and one-statement writes (``commit``/``refund`` a reservation: a conditional
  UPDATE) take no lock: PostgreSQL's row locks make each of them atomic on its own.
- Waiting for that lock is bounded by ``lock_wait_s`` (``lock_timeout``); past it the
  transaction never began and :class:`~services.errors.StorageBusy` is raised, as on SQLite.
- A full disk on the server (SQLSTATE 53100) is :class:`~services.errors.StorageFull`.
- A server that cannot be reached at open is :class:`~services.data_dir.StorageUnusable`,
  named by its URL **without the password**.

Statements are translated from SQLite's spelling by :mod:`services.db.dialect`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import asyncpg

from services.data_dir import LOCK_WAIT_S, StorageUnusable, ensure_writable_dir
from services.db.base import Database, Params, Row, Transaction
from services.db.dialect import to_postgres
from services.errors import StorageBusy, StorageFull
from services.migrations import MIGRATIONS

__all__ = ["WRITE_LOCK_KEY", "PostgresDatabase", "PostgresTransaction", "probe_postgres", "redacted"]

log = logging.getLogger("services.db")

WRITE_LOCK_KEY = 0x6561_7365_6C_5752  # "easelWR": the advisory lock every write transaction holds
JOBS_LOCK_KEY = 0x6561_7365_6C_4A42  # "easelJB": held for its lifetime by the process running the jobs
POOL_MAX_SIZE = 10
CONNECT_TIMEOUT_S = 10.0


def redacted(url: str) -> str:
    """``url`` without its password (for every message and log line that names the database)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        netloc = (f"{parts.username}@" if parts.username else "") + host
        if parts.port:
            netloc += f":{parts.port}"
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "the EASEL_DATABASE_URL database"


def _unreachable(url: str, exc: BaseException, data_dir: Path) -> StorageUnusable:
    shown = redacted(url)
    reason = str(exc).replace(url, shown) or type(exc).__name__
    return StorageUnusable(
        f"cannot connect to the PostgreSQL database {shown} ({reason}); "
        "check EASEL_DATABASE_URL and that the server is running",
        path=data_dir,
    )


_CONNECT_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError)


async def probe_postgres(url: str, data_dir: Path) -> str:
    """What ``easel check`` says about the database: reachable, and its schema version. Changes nothing.

    Raises :class:`StorageUnusable` for a server that cannot be reached or a newer schema.
    """
    shown = redacted(url)
    try:
        conn = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT_S)
    except _CONNECT_ERRORS as exc:
        raise _unreachable(url, exc, data_dir) from None
    try:
        if await conn.fetchval("SELECT to_regclass('schema_version')") is None:
            return f"{shown} is reachable; easel creates its tables at first start"
        version = int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))
    finally:
        await conn.close()
    if version > len(MIGRATIONS):
        raise _newer(shown, version, data_dir)
    return f"{shown} is reachable, schema version {version}"


def _newer(shown: str, version: int, data_dir: Path) -> StorageUnusable:
    return StorageUnusable(
        f"{shown} has schema version {version}, newer than this easel ({len(MIGRATIONS)}); "
        "upgrade easel or point EASEL_DATABASE_URL at another database",
        path=data_dir,
    )


def _args(params: Params) -> Sequence[Any]:
    if isinstance(params, dict):
        raise TypeError("PostgreSQL statements take positional ? parameters, not named ones")
    return params


def _rowcount(status: str) -> int:
    """Rows changed, from a command tag such as ``UPDATE 3`` or ``INSERT 0 1``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


@contextmanager
def _storage_errors(where: str) -> Iterator[None]:
    """The server's "disk full" as :class:`StorageFull` (an operator condition, not a bug)."""
    try:
        yield
    except asyncpg.DiskFullError as exc:
        raise StorageFull(path=where, log_detail=f"postgresql: {exc}") from exc


class PostgresTransaction(Transaction):
    """Statements on the pooled connection that holds the write lock (see the module docstring)."""

    def __init__(self, conn: asyncpg.Connection, where: str) -> None:
        self._conn = conn
        self._where = where

    async def execute(self, sql: str, params: Params = ()) -> int:
        with _storage_errors(self._where):
            return _rowcount(await self._conn.execute(to_postgres(sql), *_args(params)))

    async def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        return sum([await self.execute(sql, row) for row in rows])

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        with _storage_errors(self._where):
            row: Row | None = await self._conn.fetchrow(to_postgres(sql), *_args(params))
            return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        with _storage_errors(self._where):
            return list(await self._conn.fetch(to_postgres(sql), *_args(params)))


class PostgresDatabase(Database):
    """A connection pool to one PostgreSQL database. Open with :meth:`Database.open` and a URL."""

    dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool, url: str, data_dir: Path, *, lock_wait_s: float) -> None:
        self._pool = pool
        self._where = redacted(url)
        self._data_dir = data_dir
        self._url = url
        self._jobs_conn: asyncpg.Connection | None = None
        self._listen_conn: asyncpg.Connection | None = None
        self.lock_wait_s = lock_wait_s

    @property
    def data_dir(self) -> Path:
        return self._data_dir

    @property
    def where(self) -> str:
        return self._where

    @classmethod
    async def connect(
        cls, url: str, data_dir: Path, *, lock_wait_s: float = LOCK_WAIT_S, max_size: int = POOL_MAX_SIZE
    ) -> PostgresDatabase:
        """Create the data dir (it still holds the image files), connect the pool, migrate."""
        await asyncio.to_thread(ensure_writable_dir, data_dir)
        try:
            pool = await asyncpg.create_pool(url, min_size=1, max_size=max_size, timeout=CONNECT_TIMEOUT_S)
        except _CONNECT_ERRORS as exc:
            raise _unreachable(url, exc, data_dir) from None
        db = cls(pool, url, data_dir, lock_wait_s=lock_wait_s)
        try:
            await db._migrate()
        except BaseException:
            await pool.close()
            raise
        return db

    async def close(self) -> None:
        await self.release_jobs()
        conn, self._listen_conn = self._listen_conn, None
        if conn is not None:
            with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                await conn.close()
        await self._pool.close()

    async def listen(self, channel: str, on_notify: Callable[[str], None]) -> bool:
        """LISTEN on a connection of its own (a pooled one would be handed to others)."""
        if self._listen_conn is None or self._listen_conn.is_closed():
            try:
                self._listen_conn = await asyncpg.connect(self._url, timeout=CONNECT_TIMEOUT_S)
            except _CONNECT_ERRORS:
                log.warning("db.listen_failed", extra={"path": self._where, "channel": channel})
                return False

        def deliver(_conn: object, _pid: int, _channel: str, payload: str) -> None:
            on_notify(payload)

        await self._listen_conn.add_listener(channel, deliver)
        return True

    async def notify(self, channel: str, payload: str = "") -> None:
        await self.execute("SELECT pg_notify(?, ?)", (channel, payload))

    async def claim_jobs(self) -> bool:
        """A session advisory lock on a connection of its own: the server drops it when we die."""
        if self._jobs_conn is not None:
            return True
        conn = await asyncpg.connect(self._url, timeout=CONNECT_TIMEOUT_S)
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", JOBS_LOCK_KEY):
            await conn.close()
            return False
        self._jobs_conn = conn
        return True

    async def release_jobs(self) -> None:
        conn, self._jobs_conn = self._jobs_conn, None
        if conn is not None:
            await conn.close()  # ending the session releases the lock

    # Statements outside a transaction -------------------------------------------------

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        with _storage_errors(self._where):
            row: Row | None = await self._pool.fetchrow(to_postgres(sql), *_args(params))
            return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        with _storage_errors(self._where):
            return list(await self._pool.fetch(to_postgres(sql), *_args(params)))

    async def execute(self, sql: str, params: Params = ()) -> int:
        with _storage_errors(self._where):
            return _rowcount(await self._pool.execute(to_postgres(sql), *_args(params)))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:  # type: ignore[override]
        """READ COMMITTED plus the write lock; committed at the end, rolled back on any exception.

        COMMIT and ROLLBACK are shielded: a task cancelled meanwhile never leaves the pooled
        connection inside a transaction (asyncpg would roll it back on release anyway).
        """
        async with self._pool.acquire() as conn:
            xact = conn.transaction()
            await xact.start()
            try:
                await self._take_write_lock(conn)
                yield PostgresTransaction(conn, self._where)
            except BaseException:
                await asyncio.shield(self._rollback(xact))
                raise
            with _storage_errors(self._where):
                await asyncio.shield(xact.commit())

    async def _take_write_lock(self, conn: asyncpg.Connection) -> None:
        wait_ms = max(int(self.lock_wait_s * 1000), 1)
        await conn.execute(f"SET LOCAL lock_timeout = {wait_ms}")
        try:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK_KEY)
        except asyncpg.LockNotAvailableError as exc:
            log.error(
                "db.lock_wait_exceeded",
                extra={"path": self._where, "statement": "BEGIN", "wait_s": self.lock_wait_s},
            )
            raise StorageBusy(
                log_detail=f"{self._where} write lock held for more than {self.lock_wait_s} s"
            ) from exc
        await conn.execute("SET LOCAL lock_timeout = 0")

    @staticmethod
    async def _rollback(xact: Any) -> None:
        try:
            await xact.rollback()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            log.exception("db.rollback_failed")

    # Schema -----------------------------------------------------------------------------

    async def table_names(self) -> set[str]:
        rows = await self.fetchall(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
        return {str(row["table_name"]) for row in rows}

    async def column_names(self, table: str) -> list[str]:
        rows = await self.fetchall(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = ? AND column_name <> 'rowid' ORDER BY ordinal_position",
            (table,),
        )
        return [str(row["column_name"]) for row in rows]

    def _newer_schema(self, version: int) -> StorageUnusable:
        return _newer(self._where, version, self._data_dir)
