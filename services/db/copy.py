"""Copy every easel table from one database into another (``easel migrate --to postgresql://…``).

For operators moving off SQLite: the target has the same schema (both were opened, so both
are migrated to this easel's version) and must hold no easel data yet. Rows keep their
insertion order (SQLite's ``rowid`` becomes the target's explicit ``rowid``, ``audit_log`` keeps
its ids) and the target's identity counters continue after the copied rows, so recovery order,
``/history`` order and new audit ids are what they were. Everything is written in one target
transaction: a copy that fails half-way leaves the target empty.

Read a snapshot, not the live file: :func:`services.backup.backup_database` makes one while
``easel run`` goes on (the CLI does so).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.db.base import Database, Transaction

__all__ = ["CopyReport", "TargetNotEmpty", "copy_database"]

BATCH_ROWS = 1_000
_FIRST = ("quota_reservations",)  # jobs.reservation_id refers to it
_SEEDED = ("queue_state",)  # a migration writes their one row: replaced by the source's


class TargetNotEmpty(Exception):
    """The target already holds easel rows; copying would mix two histories."""


@dataclass(frozen=True, slots=True)
class CopyReport:
    tables: dict[str, int]
    """Rows copied per table."""

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


async def copy_database(source: Database, target: Database) -> CopyReport:
    """Copy every row of the SQLite ``source``'s tables into the empty PostgreSQL ``target``."""
    if source.dialect != "sqlite" or target.dialect != "postgresql":
        raise ValueError("copy_database copies a SQLite database into a PostgreSQL one")
    if await source.schema_version() != await target.schema_version():
        raise ValueError("source and target have different schema versions")
    tables = sorted(await source.table_names() - {"schema_version"}, key=lambda t: (t not in _FIRST, t))
    missing = set(tables) - await target.table_names()
    if missing:
        raise ValueError(f"the target has no table {sorted(missing)[0]}")
    for table in (t for t in tables if t not in _SEEDED):
        if await target.fetchone(f"SELECT 1 AS x FROM {table} LIMIT 1") is not None:
            raise TargetNotEmpty(f"the target already has rows in {table}; copy into an empty database")
    copied: dict[str, int] = {}
    async with target.transaction() as tx:
        for table in tables:
            if table in _SEEDED:
                await tx.execute(f"DELETE FROM {table}")
            copied[table] = await _copy_table(source, tx, table, await _identity(target, table))
    return CopyReport(copied)


async def _copy_table(source: Database, tx: Transaction, table: str, identity: str | None) -> int:
    """``table`` in SQLite rowid order, ``BATCH_ROWS`` at a time; the target's identity continues after it."""
    columns = await source.column_names(table)
    names = [*columns, "rowid"] if identity == "rowid" else columns  # else rowid *is* the id column
    insert = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
    select = (
        f"SELECT {', '.join(columns)}, rowid AS copy_key FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?"
    )
    count, after = 0, -(2**63)
    while rows := await source.fetchall(select, (after, BATCH_ROWS)):
        for row in rows:
            values = [row[c] for c in columns]
            await tx.execute(insert, [*values, row["copy_key"]] if identity == "rowid" else values)
        count += len(rows)
        after = rows[-1]["copy_key"]
    if identity is not None:
        await tx.fetchone(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{identity}'),"
            f" COALESCE((SELECT MAX({identity}) FROM {table}), 0) + 1, false) AS v"
        )
    return count


async def _identity(target: Database, table: str) -> str | None:
    """The target table's identity column: ``rowid`` (added by the dialect) or its own ``id``."""
    row = await target.fetchone(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = ? AND is_identity = 'YES'",
        (table,),
    )
    return str(row["column_name"]) if row is not None else None
