"""easel's database: SQLite (one file in the data dir, the default) or PostgreSQL (``EASEL_DATABASE_URL``).

Usage::

    db = await Database.open(settings.data_dir, url=settings.database_url)
    async with db.transaction() as tx:          # one write transaction, exclusive across processes
        row = await tx.fetchone("SELECT …", (key,))
        await tx.execute("INSERT …", (…))
    rows = await db.fetchall("SELECT …")
    await db.close()

SQL is written once, in SQLite's spelling with ``?`` placeholders; on PostgreSQL
:mod:`services.db.dialect` translates it. The same numbered migrations
(:mod:`services.migrations`) build both schemas. Modules: :mod:`~services.db.base` (the
interface, migrations), :mod:`~services.db.sqlite`, :mod:`~services.db.postgres`.
"""

from services.data_dir import (
    DB_FILENAME,
    LOCK_WAIT_S,
    StorageUnusable,
    database_path,
    ensure_writable_dir,
    probe_database,
)
from services.db.base import Database, Params, Row, Transaction, migrate_down, register_engine
from services.db.postgres import PostgresDatabase
from services.db.sqlite import SqliteDatabase
from services.migrations import MIGRATIONS

register_engine(SqliteDatabase.dialect, SqliteDatabase.connect)
register_engine(PostgresDatabase.dialect, PostgresDatabase.connect)

__all__ = [
    "DATABASE_ERRORS",
    "DB_FILENAME",
    "LOCK_WAIT_S",
    "MIGRATIONS",
    "Database",
    "Params",
    "Row",
    "StorageUnusable",
    "Transaction",
    "database_path",
    "ensure_writable_dir",
    "migrate_down",
    "probe_database",
]


def _database_errors() -> tuple[type[Exception], ...]:
    import sqlite3

    import asyncpg

    return (sqlite3.Error, asyncpg.PostgresError, asyncpg.InterfaceError)


DATABASE_ERRORS: tuple[type[Exception], ...] = _database_errors()
"""What either engine raises for a statement it refused (callers that must survive one catch these)."""
