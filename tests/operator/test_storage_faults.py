"""Storage faults as an operator meets them: a damaged database, a data dir or ``--out`` easel cannot
write, an ``--image`` that is not a file. Each gets one line naming the path and what to do, exit 2,
nothing changed on disk and nothing sent to the image service.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Any

from tests.fakes.discord import FakeDiscord
from tests.helpers.cli import CliResult, clean_env, easel_command, run_easel
from tests.helpers.filesystems import NOBODY, require_unprivileged_user, run_easel_as, shared_dir, tmpfs
from tests.helpers.network import free_port

GARBAGE = b"this is a half-copied backup, not SQLite\n" * 200


def env_for(server: Any, data_dir: Path, **extra: str) -> dict[str, str]:
    return clean_env(
        STABILITY_API_KEY=server.api_key, STABILITY_API_HOST=server.url, EASEL_DATA_DIR=str(data_dir), **extra
    )


def one_clean_line(result: CliResult) -> str:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("easel: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def fail_line(result: CliResult, name: str) -> str:
    (line,) = [line for line in result.stdout.splitlines() if line.startswith(f"FAIL {name}:")]
    return line


def corrupt_data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "easel.sqlite3").write_bytes(GARBAGE)
    return data


def nothing_generated(server: Any) -> bool:
    return not [r for r in server.requests if "/generation/" in r.path or "/stable-image/" in r.path]


async def test_corrupt_database_is_named_left_alone_and_exits_2(
    stability_server: Any, tmp_path: Path
) -> None:
    data = corrupt_data_dir(tmp_path)
    env = env_for(stability_server, data)
    result = await run_easel("imagine", "a cat", "--out", str(tmp_path / "out"), env=env, cwd=tmp_path)
    assert result.code == 2
    line = one_clean_line(result)
    assert str(data / "easel.sqlite3") in line and "damaged" in line
    assert "backup" in line and "move it aside" in line
    assert (data / "easel.sqlite3").read_bytes() == GARBAGE  # never repaired or overwritten
    assert sorted(p.name for p in data.iterdir()) == ["easel.sqlite3"]
    assert nothing_generated(stability_server)

    check = await run_easel("check", env=env, cwd=tmp_path)
    assert check.code == 2
    assert "damaged" in fail_line(check, "database") and str(data / "easel.sqlite3") in check.stdout
    assert "OK   data dir:" in check.stdout
    assert (data / "easel.sqlite3").read_bytes() == GARBAGE


async def test_corrupt_database_stops_easel_run_with_exit_2(
    stability_server: Any, discord_fake: FakeDiscord, tmp_path: Path
) -> None:
    data = corrupt_data_dir(tmp_path)
    env = env_for(
        stability_server, data,
        DISCORD_TOKEN=discord_fake.token, DISCORD_API_BASE=discord_fake.api_base,
        EASEL_HTTP_PORT=str(free_port()),
    )  # fmt: skip
    result = await run_easel("run", env=env, cwd=tmp_path)
    assert result.code == 2
    assert "damaged" in one_clean_line(result)
    assert (data / "easel.sqlite3").read_bytes() == GARBAGE


async def test_healthy_database_passes_check_without_being_created(
    stability_server: Any, tmp_path: Path
) -> None:
    check = await run_easel("check", env=env_for(stability_server, tmp_path / "data"), cwd=tmp_path)
    assert "OK   data dir:" in check.stdout
    assert "will be created at first start" in check.stdout
    assert not (tmp_path / "data" / "easel.sqlite3").exists()


async def test_read_only_data_dir_is_named_with_exit_2(stability_server: Any, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", readonly=True) as mount:
        env = env_for(stability_server, mount)
        result = await run_easel("imagine", "a cat", "--out", str(tmp_path / "out"), env=env, cwd=tmp_path)
        assert result.code == 2
        line = one_clean_line(result)
        assert str(mount) in line and "read-only file system" in line and "EASEL_DATA_DIR" in line
        check = await run_easel("check", env=env, cwd=tmp_path)
        assert check.code == 2
        assert "read-only" in fail_line(check, "data dir")
    assert nothing_generated(stability_server)


async def test_data_dir_without_permission_is_named_with_exit_2(
    stability_server: Any, tmp_path: Path
) -> None:
    require_unprivileged_user()
    with shared_dir() as root_only:  # owned by root, 0755: nobody may enter it but not write in it
        env = env_for(stability_server, root_only / "data", HOME=str(root_only))
        out = tempfile.gettempdir()  # world-writable: only the data dir is refused
        result = await run_easel_as(NOBODY, "imagine", "a cat", "--out", out, env=env, cwd=root_only)
        assert result.code == 2
        line = one_clean_line(result)
        assert str(root_only / "data") in line and "Permission denied" in line and "write" in line
        check = await run_easel_as(NOBODY, "check", env=env, cwd=root_only)
        assert check.code == 2
        assert "Permission denied" in fail_line(check, "data dir")
    assert nothing_generated(stability_server)


async def test_out_that_is_a_file_spends_nothing(stability_server: Any, tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    out.write_bytes(b"not a folder")
    result = await run_easel(
        "imagine", "a cat", "--out", str(out), env=env_for(stability_server, tmp_path / "data"), cwd=tmp_path
    )
    assert result.code == 2
    assert "--out" in one_clean_line(result) and "not a folder" in result.stderr
    assert nothing_generated(stability_server)
    assert out.read_bytes() == b"not a folder"


async def test_out_without_permission_spends_nothing(stability_server: Any, tmp_path: Path) -> None:
    require_unprivileged_user()
    with shared_dir() as shared:
        data = shared / "data"
        data.mkdir()
        data.chmod(0o777)
        out = shared / "root-only-out"
        out.mkdir(mode=0o755)
        env = env_for(stability_server, data, HOME=str(shared))
        result = await run_easel_as(NOBODY, "imagine", "a cat", "--out", str(out), env=env, cwd=shared)
        assert result.code == 2
        line = one_clean_line(result)
        assert f"--out {out}" in line and "Permission denied" in line
        assert list(out.iterdir()) == []
    assert nothing_generated(stability_server)


async def test_image_that_is_a_fifo_is_refused_at_once(stability_server: Any, tmp_path: Path) -> None:
    fifo = tmp_path / "in.png"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    result = await run_easel(
        "remix", "a cat", "--image", str(fifo), "--out", str(tmp_path / "out"),
        env=env_for(stability_server, tmp_path / "data"), cwd=tmp_path, deadline_s=30,
    )  # fmt: skip
    assert result.code == 2
    assert "named pipe" in one_clean_line(result) and "not a regular file" in result.stderr
    assert nothing_generated(stability_server)


async def test_image_that_is_a_folder_is_refused(stability_server: Any, tmp_path: Path) -> None:
    (tmp_path / "pics").mkdir()
    result = await run_easel(
        "remix", "a cat", "--image", str(tmp_path / "pics"), "--out", str(tmp_path / "out"),
        env=env_for(stability_server, tmp_path / "data"), cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 2
    assert "is a folder, not a regular file" in one_clean_line(result)
    assert nothing_generated(stability_server)


async def test_prompt_with_bytes_that_are_not_utf8_is_refused_before_sending(
    stability_server: Any, tmp_path: Path
) -> None:
    env = env_for(stability_server, tmp_path / "data", LC_ALL="C.UTF-8")
    proc = await asyncio.create_subprocess_exec(
        *easel_command(), "imagine", b"a caf\xe9 in Latin-1 \xff", "--out", str(tmp_path / "out"),
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    stderr = err.decode("utf-8", "replace")
    assert proc.returncode == 2, stderr
    assert "valid UTF-8" in stderr and 'after "a caf"' in stderr
    assert "Traceback" not in stderr
    assert nothing_generated(stability_server)
