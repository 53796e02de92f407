"""``DISCORD_SHARDS`` / ``DISCORD_SHARD_COUNT``: parsing, the operator's messages, and what discord.py is given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.errors import StartupError
from bot.settings import SettingsError, load_settings
from bot.shard_plan import ShardPlan
from tests.fakes.discord import FakeDiscord
from tests.helpers.cli import clean_env, run_easel


def test_ranges_and_lists(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_SHARDS", " 8-9, 0,2 ,5 - 6")
    monkeypatch.setenv("DISCORD_SHARD_COUNT", "32")
    assert load_settings().discord_shard_plan == ShardPlan((0, 2, 5, 6, 8, 9), 32)


def test_unset_means_every_shard_and_discords_count(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_SHARDS", "")
    assert load_settings().discord_shard_plan == ShardPlan(None, None)


@pytest.mark.parametrize(
    ("shards", "count", "expected"),
    [
        ("0-7", None, "DISCORD_SHARDS is set but DISCORD_SHARD_COUNT is not"),
        ("0-8", "8", "DISCORD_SHARDS names shard 8, but DISCORD_SHARD_COUNT is 8: shard ids run from 0 to 7"),
        ("0-3,2", "8", "DISCORD_SHARDS: Value error, names shard 2 twice"),
        ("0-3,1-2", "8", "names shard 1 twice"),
        ("0-x", "8", "'0-x' is not a shard id or range; write shard ids and ranges separated by commas"),
        ("1,,2", "8", "'' is not a shard id or range"),
        ("-1", "8", "'-1' is not a shard id or range"),
        ("6-2", "8", "the range '6-2' runs backwards; write it as 2-6"),
        (",", "8", "DISCORD_SHARDS: Value error, is empty"),
        ("0-99999999", "8", "shard 99999999 is out of range"),
        ("0", "0", "DISCORD_SHARD_COUNT: Input should be greater than or equal to 1"),
    ],
)
def test_bad_values_are_refused_with_the_operators_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shards: str, count: str | None, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_SHARDS", shards)
    if count is not None:
        monkeypatch.setenv("DISCORD_SHARD_COUNT", count)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert expected in str(info.value)


@pytest.mark.parametrize("command", ["run", "check"])
async def test_easel_run_and_check_exit_with_the_message(
    command: str, discord_fake: FakeDiscord, tmp_path: Path
) -> None:
    env = clean_env(
        DISCORD_TOKEN=discord_fake.token,
        DISCORD_API_BASE=discord_fake.api_base,
        DISCORD_SHARDS="0-3,8",
        DISCORD_SHARD_COUNT="8",
        EASEL_DATA_DIR=str(tmp_path / "data"),
        EASEL_HTTP_PORT="0",
    )
    result = await run_easel(command, env=env, cwd=tmp_path, deadline_s=60)
    assert result.code == 2, result.stdout + result.stderr
    assert "DISCORD_SHARDS names shard 8, but DISCORD_SHARD_COUNT is 8" in result.stderr
    assert "Traceback" not in result.stderr
    assert discord_fake.token not in result.stdout + result.stderr
    assert discord_fake.connections == [] and discord_fake.calls == []  # refused before connecting


async def test_a_count_alone_connects_every_shard_with_that_count(
    easel_on_discord_factory: Any, discord_fake: FakeDiscord
) -> None:
    discord_fake.shard_count = 3
    easel = await easel_on_discord_factory(discord_shard_count=3)
    assert sorted(i["shard"] for i in discord_fake.identifies) == [[0, 3], [1, 3], [2, 3]]
    assert [s.shard_id for s in easel.frontend.shard_states()] == [0, 1, 2]
    assert all(s.connected for s in easel.frontend.shard_states())


async def test_a_count_discord_rejects_fails_start_up_naming_the_variable(
    easel_on_discord_factory: Any, discord_fake: FakeDiscord
) -> None:
    discord_fake.shard_count = 4  # the bot's count; this process was told 2
    with pytest.raises(StartupError) as info:
        await easel_on_discord_factory(discord_shards=(1,), discord_shard_count=2)
    assert "4010" in info.value.message and "DISCORD_SHARD_COUNT" in info.value.message
    assert [i["shard"] for i in discord_fake.identifies] == [[1, 2]]
