"""The generated Slack manifest keeps Slack's documented limits, whatever ``--name`` says (issue 11, item 8)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.slack.manifest import build_manifest
from tests.fakes.slack.manifest_rules import manifest_problems


def test_the_shipped_manifest_keeps_slacks_limits() -> None:
    assert manifest_problems(build_manifest()) == []
    assert manifest_problems(build_manifest(None)) == []


@pytest.mark.parametrize(
    ("name", "bot_name"),
    [
        ("Team Easel", "team-easel"),
        ("ACME Art Bot!", "acme-art-bot"),
        ("easel", "easel"),
        ("Ünïcode ✨", "unicode"),
    ],
)
def test_any_name_gives_a_valid_bot_display_name(name: str, bot_name: str) -> None:
    manifest = build_manifest(name=name)
    assert manifest_problems(manifest) == []
    assert manifest["display_information"]["name"] == name  # the app's name is shown as typed
    assert manifest["features"]["bot_user"]["display_name"] == bot_name


def test_a_name_slack_cannot_take_is_refused_with_the_limit() -> None:
    with pytest.raises(ValueError, match="at most 35 characters"):
        build_manifest(name="x" * 36)
    with pytest.raises(ValueError, match="letter or digit"):
        build_manifest(name="✨✨")
    cli = subprocess.run(
        [sys.executable, "-m", "bot.slack.manifest", "--name", "x" * 36],
        capture_output=True,
        text=True,
        check=False,
    )
    assert cli.returncode == 2 and "at most 35 characters" in cli.stderr
