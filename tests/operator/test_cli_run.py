"""``easel run`` / ``easel check`` as an operator meets them on a fresh machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def easel(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the installed console script (falls back to ``python -m bot.cli``) with a clean environment."""
    script = Path(sys.executable).parent / "easel"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "SLACK_", "STABILITY_", "EASEL_"))
    }
    base.update(env or {})
    return subprocess.run([*cmd, *args], cwd=cwd, env=base, capture_output=True, text=True, timeout=timeout)


def test_run_with_nothing_configured_names_the_variables(tmp_path: Path) -> None:
    result = easel("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "DISCORD_TOKEN" in result.stderr
    assert "SLACK_BOT_TOKEN" in result.stderr
    assert "STABILITY_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_with_invalid_value_names_it(tmp_path: Path) -> None:
    result = easel("run", cwd=tmp_path, env={"EASEL_DAILY_QUOTA": "many", "DISCORD_TOKEN": "tok-secret-123"})
    assert result.returncode == 2
    assert "EASEL_DAILY_QUOTA" in result.stderr
    assert "tok-secret-123" not in result.stderr + result.stdout


def test_generation_without_backend_says_what_to_set(tmp_path: Path) -> None:
    result = easel("imagine", "a cat", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2
    assert "STABILITY_API_KEY" in result.stderr
    assert not (tmp_path / "out").exists()


def test_check_reports_missing_configuration(tmp_path: Path) -> None:
    result = easel("check", cwd=tmp_path)
    assert result.returncode == 1
    assert "FAIL" in result.stdout and "STABILITY_API_KEY" in result.stdout


def test_unknown_subcommand_is_a_usage_error(tmp_path: Path) -> None:
    result = easel("paint", cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
