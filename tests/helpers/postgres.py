"""A real PostgreSQL server for the tests: started once per session on 127.0.0.1, in a temp data dir.

``postgres_server`` (session) runs the distribution's own binaries (``initdb``, ``pg_ctl``,
``postgres``; Debian: ``apt-get install -y postgresql``, which ``.ci/run`` does). The server
refuses to run as root, so under root it runs as the ``postgres`` user the package creates.
No binaries: every test that needs the server fails with one line saying what to install;
nothing is skipped. ``database_url`` gives each test a fresh, empty database on that server;
``storage`` (parametrised: ``sqlite``, ``postgresql``) is what storage tests take to run
against both engines: ``None`` (SQLite in the data dir) or such a URL.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

__all__ = ["PostgresServer", "database_url", "find_bin_dir", "postgres_server", "storage"]

_NEEDED = ("initdb", "pg_ctl", "postgres")
_MISSING = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: install them "
    "(Debian/Ubuntu: apt-get install -y postgresql) or set EASEL_TEST_PG_BINDIR to their folder"
)
_names = itertools.count(1)


def find_bin_dir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, newest version first; None if there is none."""
    candidates: list[str] = []
    if os.environ.get("EASEL_TEST_PG_BINDIR"):
        candidates.append(os.environ["EASEL_TEST_PG_BINDIR"])
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    for folder in candidates:
        if all((Path(folder) / name).is_file() for name in _NEEDED):
            return Path(folder)
    return None


def _version(folder: str) -> float:
    try:
        return float(Path(folder).parent.name)
    except ValueError:
        return 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int
    user: str = "easel"

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    async def create_database(self) -> str:
        """A new empty database; returns its URL."""
        name = f"t{os.getpid()}_{next(_names)}"
        conn = await asyncpg.connect(self.url("postgres"))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url(name)


def _as_server_user(argv: list[str]) -> list[str]:
    """``argv`` run as an unprivileged user: postgres refuses root."""
    if os.geteuid() != 0:
        return argv
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError(
            "running as root and there is no 'postgres' user to run the test server as; "
            "apt-get install -y postgresql creates it"
        ) from None
    return ["runuser", "-u", "postgres", "--", *argv]


def _run(argv: list[str]) -> None:
    done = subprocess.run(_as_server_user(argv), capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:2])} failed ({done.returncode}): {done.stderr.strip()[-800:]}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    if find_bin_dir() is None:
        pytest.fail(_MISSING, pytrace=False)
    with running_postgres() as server:
        yield server


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server on 127.0.0.1 in a temp dir, removed at the end (tests and bench/)."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError(_MISSING)
    root = Path(tempfile.mkdtemp(prefix="easel-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(root, entry.pw_uid, entry.pw_gid)
    data = root / "data"
    server = PostgresServer(bin_dir, root, _free_port())
    _run([str(bin_dir / "initdb"), "-D", str(data), "-U", server.user, "--auth=trust", "-E", "UTF8",
          "--locale=C", "--no-sync"])  # fmt: skip
    options = (
        f"-c listen_addresses=127.0.0.1 -p {server.port} -c unix_socket_directories={root}"
        " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    )
    _run(
        [
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        ]
    )
    try:
        yield server
    finally:
        subprocess.run(
            _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def database_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """A fresh database on the session's server (left for the server's removal at the end)."""
    yield await postgres_server.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[str | None]:
    """``None`` (SQLite in the test's data dir) or the URL of a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    yield await server.create_database()
