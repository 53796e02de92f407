"""Real storage faults for tests: small or read-only tmpfs mounts, an unprivileged user, a held lock.

Mounting needs root (the CI container runs as root); where mounting is refused, only the test
that needs the mount is skipped, with the reason. Permission tests run the CLI as ``nobody``
(uid 65534) because root ignores file modes.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers.cli import CliResult, run_easel

NOBODY = 65534


@contextmanager
def tmpfs(path: Path, *, size: str = "1m", readonly: bool = False) -> Iterator[Path]:
    """Mount a fresh tmpfs of ``size`` on ``path`` (created) for the block; skip if we cannot mount."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size},mode=0777" + (",ro" if readonly else "")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip() or done.returncode}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def fill(directory: Path) -> list[Path]:
    """Fill the file system of ``directory`` until the kernel answers ENOSPC; returns the filler files."""
    fillers = []
    for n, chunk_size in enumerate((1 << 16, 512)):
        filler = directory / f"filler-{n}.bin"
        fillers.append(filler)
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            while True:
                os.write(fd, b"\0" * chunk_size)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        finally:
            os.close(fd)
    return fillers


def require_unprivileged_user() -> None:
    """As root, permission tests need ``setpriv`` to drop to ``nobody``; as a normal user they run as
    that user, whom file modes bind already."""
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed: cannot drop root to test permissions")


@contextmanager
def shared_dir() -> Iterator[Path]:
    """A fresh root-owned folder every user can enter (pytest's tmp_path is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="easel-perm-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


async def run_easel_as(
    uid: int, *args: str, env: dict[str, str], cwd: Path, deadline_s: float = 60
) -> CliResult:
    """The real console script as user ``uid`` (so file permissions bite even when tests run as root).

    ``setpriv`` rather than Popen's ``user=``: it is what an operator would use, and it also works
    where the interpreter lives below a folder only root may list.
    """
    if os.geteuid() != 0:  # a normal user already cannot write where the modes say so
        return await run_easel(*args, env=env, cwd=cwd, deadline_s=deadline_s)
    switch = ("setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups")
    return await run_easel(*args, env=env, cwd=cwd, deadline_s=deadline_s, wrapper=switch)


class ExclusiveHolder:
    """Another program holding ``BEGIN EXCLUSIVE`` on a database file, in its own thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._held = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=5)
        try:
            conn.execute("BEGIN EXCLUSIVE")
            self._held.set()
            self._release.wait(60)
            conn.execute("ROLLBACK")
        finally:
            conn.close()

    def __enter__(self) -> ExclusiveHolder:
        self._thread.start()
        assert self._held.wait(5), "the other connection did not get the lock"
        return self

    def release(self) -> None:
        self._release.set()
        self._thread.join(5)

    def __exit__(self, *exc: object) -> None:
        self.release()
