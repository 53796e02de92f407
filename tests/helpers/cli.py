"""Run the real ``easel`` console script as a subprocess from async tests.

The fakes live in the test's event loop, so the CLI must run without blocking it
(``asyncio.create_subprocess_exec``, never ``subprocess.run``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


def easel_command() -> list[str]:
    script = Path(sys.executable).parent / "easel"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "SLACK_", "STABILITY_", "EASEL_"))
    }
    env.update(extra)
    return env


async def run_easel(
    *args: str, env: dict[str, str], cwd: Path, deadline_s: float = 60, wrapper: tuple[str, ...] = ()
) -> CliResult:
    """``wrapper``: a command that runs easel, e.g. ``setpriv …`` to run it as another user."""
    proc = await asyncio.create_subprocess_exec(
        *wrapper, *easel_command(), *args, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), deadline_s)
    assert proc.returncode is not None
    return CliResult(proc.returncode, out.decode(), err.decode())


async def exits_after_interrupt(
    proc: asyncio.subprocess.Process, within_s: float = 30
) -> tuple[bytes, bytes]:
    """Ctrl-C ``proc`` (started with :func:`interruptible_env`) and collect its output as it exits.

    If it has not exited within ``within_s``, it is aborted and the failure carries every thread's
    stack (``PYTHONFAULTHANDLER`` dumps them on SIGABRT): what it was stuck on, not only that it was.
    """
    proc.send_signal(signal.SIGINT)
    try:
        return await asyncio.wait_for(proc.communicate(), within_s)
    except TimeoutError:
        proc.send_signal(signal.SIGABRT)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        raise AssertionError(
            f"easel did not exit within {within_s} s of Ctrl-C; its threads:\n{err.decode(errors='replace')[-6000:]}"
        ) from None


def interruptible_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a child that :func:`exits_after_interrupt` may have to abort (stacks on SIGABRT)."""
    return {**env, "PYTHONFAULTHANDLER": "1"}
