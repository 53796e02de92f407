"""The operator's commands with ``EASEL_DATABASE_URL``: check, run, backup — the password never shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers.cli import clean_env, run_easel
from tests.helpers.network import free_port
from tests.helpers.postgres import PostgresServer

SECRET = "not-a-real-secret"


def _env(server: Any, data_dir: Path, url: str) -> dict[str, str]:
    return clean_env(
        STABILITY_API_KEY=server.api_key,
        STABILITY_API_HOST=server.url,
        EASEL_DATA_DIR=str(data_dir),
        EASEL_DATABASE_URL=url,
    )


async def test_check_probes_the_server_read_only(
    stability_server: Any, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    url = (await postgres_server.create_database()).replace("easel@", f"easel:{SECRET}@")
    fresh = await run_easel("check", env=_env(stability_server, tmp_path / "data", url), cwd=tmp_path)
    assert "OK   database: postgresql://easel@127.0.0.1:" in fresh.stdout
    assert "creates its tables at first start" in fresh.stdout
    assert not (tmp_path / "data" / "easel.sqlite3").exists()  # no SQLite file made on the side
    assert SECRET not in fresh.stdout + fresh.stderr

    migrated = await run_easel("migrate", env=_env(stability_server, tmp_path / "data", url), cwd=tmp_path)
    assert migrated.code == 0
    known = await run_easel("check", env=_env(stability_server, tmp_path / "data", url), cwd=tmp_path)
    assert "is reachable, schema version" in known.stdout


async def test_an_unreachable_server_fails_check_and_run_with_exit_2(
    stability_server: Any, tmp_path: Path
) -> None:
    url = f"postgresql://easel:{SECRET}@127.0.0.1:{free_port()}/easel"
    env = _env(stability_server, tmp_path / "data", url)
    check = await run_easel("check", env=env, cwd=tmp_path)
    assert check.code == 2
    (line,) = [line for line in check.stdout.splitlines() if line.startswith("FAIL database:")]
    assert "cannot connect to the PostgreSQL database postgresql://easel@127.0.0.1:" in line
    quota = await run_easel("quota", "alice", env=env, cwd=tmp_path)
    assert quota.code == 2 and "EASEL_DATABASE_URL" in quota.stderr and "Traceback" not in quota.stderr
    for result in (check, quota):
        assert SECRET not in result.stdout + result.stderr


async def test_backup_points_to_the_servers_own_tools(stability_server: Any, tmp_path: Path) -> None:
    url = f"postgresql://easel:{SECRET}@127.0.0.1:{free_port()}/easel"
    result = await run_easel(
        "backup", str(tmp_path / "b.sqlite3"), env=_env(stability_server, tmp_path, url), cwd=tmp_path
    )
    assert result.code == 2 and "pg_dump" in result.stderr and SECRET not in result.stderr
