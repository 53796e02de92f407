"""Reversible migrations (issue 10): latest -> 3 -> latest round-trips, data in older tables kept.

Each test runs on SQLite and on PostgreSQL (``storage``): the same migrations build both.
"""

from __future__ import annotations

from pathlib import Path

from services.db import MIGRATIONS, Database, migrate_down
from tests.helpers.cli import clean_env, run_easel


async def _tables(db: Database) -> set[str]:
    return await db.table_names()


async def _columns(db: Database, table: str) -> set[str]:
    return set(await db.column_names(table))


async def test_latest_down_to_three_and_up_again(tmp_path: Path, storage: str | None) -> None:
    db = await Database.open(tmp_path / "d", url=storage)
    assert await db.schema_version() == len(MIGRATIONS) >= 4
    await db.execute(
        "INSERT INTO quota_reservations (id, requester_key, job_id, units, charged, state, created_at, server_id)"
        " VALUES ('r1', 'discord:1', 'j1', 2, 2, 'reserved', 1.0, 'g1')"
    )
    await db.execute("INSERT INTO audit_log (at, actor_key, action) VALUES (1.0, 'discord:9', 'ban')")
    assert {"audit_log", "budget_overrides", "budget_grants", "bans"} <= await _tables(db)

    assert await migrate_down(db, 3) == 3
    assert await db.schema_version() == 3
    tables = await _tables(db)
    assert not {"audit_log", "budget_overrides", "budget_grants", "bans"} & tables
    assert "server_id" not in await _columns(db, "quota_reservations")
    row = await db.fetchone("SELECT requester_key, units FROM quota_reservations WHERE id = 'r1'")
    assert row is not None and (row["requester_key"], row["units"]) == ("discord:1", 2)
    await db.close()

    again = await Database.open(tmp_path / "d", url=storage)  # this easel migrates up again at open
    assert await again.schema_version() == len(MIGRATIONS)
    assert "server_id" in await _columns(again, "quota_reservations")
    assert await again.fetchall("SELECT * FROM audit_log") == []  # the down dropped the log
    await again.close()


async def test_all_the_way_down_leaves_no_tables(tmp_path: Path, storage: str | None) -> None:
    db = await Database.open(tmp_path / "d", url=storage)
    assert await migrate_down(db, 0) == 0
    assert await _tables(db) == {"schema_version"}
    await db.close()


async def test_easel_migrate_down_from_the_cli(tmp_path: Path, storage: str | None) -> None:
    env = clean_env(
        EASEL_DATA_DIR=str(tmp_path / "d"), **({"EASEL_DATABASE_URL": storage} if storage else {})
    )
    shown = await run_easel("migrate", env=env, cwd=tmp_path)
    assert shown.code == 0 and f"schema version {len(MIGRATIONS)}." in shown.stdout
    down = await run_easel("migrate", "--down", "3", env=env, cwd=tmp_path)
    assert down.code == 0 and f"schema version {len(MIGRATIONS)} -> 3." in down.stdout
    bad = await run_easel("migrate", "--down", str(len(MIGRATIONS) + 1), env=env, cwd=tmp_path)
    assert bad.code == 2 and f"--down takes a version from 0 to {len(MIGRATIONS)}." in bad.stderr
