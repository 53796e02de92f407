"""``easel check`` with a shard cluster: the ``discord shards`` line against Discord's recommendation.

The real console script asks the fake Discord's ``GET /gateway/bot`` (its ``shards`` is the
recommendation). At or above it: OK. Below it: OK with a warning while an average shard stays under
Discord's 2,500 servers; FAIL (4011 Sharding required) when it would not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fakes.discord import FakeDiscord
from tests.helpers.cli import CliResult, clean_env, run_easel


def discord_env(fake: FakeDiscord, stability: Any, tmp_path: Path, **extra: str) -> dict[str, str]:
    return clean_env(
        STABILITY_API_KEY=stability.api_key,
        STABILITY_API_HOST=stability.url,
        EASEL_DATA_DIR=str(tmp_path / "data"),
        DISCORD_TOKEN=fake.token,
        DISCORD_API_BASE=fake.api_base,
        **extra,
    )


def shard_lines(result: CliResult) -> list[str]:
    return [line for line in result.stdout.splitlines() if line[4:].strip().startswith("discord shards:")]


async def check(fake: FakeDiscord, stability: Any, tmp_path: Path, **extra: str) -> CliResult:
    result = await run_easel("check", env=discord_env(fake, stability, tmp_path, **extra), cwd=tmp_path)
    assert "Traceback" not in result.stdout + result.stderr
    assert fake.token not in result.stdout + result.stderr
    return result


async def test_this_process_shards_and_discords_recommendation(
    discord_fake: FakeDiscord, stability_server: Any, tmp_path: Path
) -> None:
    discord_fake.shard_count = 12  # Discord's recommendation
    result = await check(
        discord_fake, stability_server, tmp_path, DISCORD_SHARDS="0-7", DISCORD_SHARD_COUNT="16"
    )
    assert result.code == 0, result.stdout + result.stderr
    assert shard_lines(result) == ["OK   discord shards: 0–7 of 16 (Discord recommends 12)"]
    assert [c.status for c in discord_fake.calls if c.route == "GET /gateway/bot"] == [200]


async def test_a_count_alone_means_every_shard(
    discord_fake: FakeDiscord, stability_server: Any, tmp_path: Path
) -> None:
    discord_fake.shard_count = 3
    result = await check(discord_fake, stability_server, tmp_path, DISCORD_SHARD_COUNT="3")
    assert result.code == 0, result.stdout + result.stderr
    assert shard_lines(result) == ["OK   discord shards: all 3 (Discord recommends 3)"]


async def test_fewer_than_recommended_warns_while_shards_stay_under_discords_limit(
    discord_fake: FakeDiscord, stability_server: Any, tmp_path: Path
) -> None:
    discord_fake.shard_count = 12  # up to 12,000 servers: 8 shards hold 1,500 each at most
    result = await check(
        discord_fake, stability_server, tmp_path, DISCORD_SHARDS="0-3", DISCORD_SHARD_COUNT="8"
    )
    assert result.code == 0, result.stdout + result.stderr
    [line] = shard_lines(result)
    assert line.startswith("OK   discord shards: 0–3 of 8 (Discord recommends 12: raise DISCORD_SHARD_COUNT")


async def test_far_fewer_than_recommended_fails_as_discord_would(
    discord_fake: FakeDiscord, stability_server: Any, tmp_path: Path
) -> None:
    discord_fake.shard_count = 12  # over 11,000 servers: 4 shards would hold over 2,750 each
    result = await check(
        discord_fake, stability_server, tmp_path, DISCORD_SHARDS="0-1", DISCORD_SHARD_COUNT="4"
    )
    assert result.code == 1
    [line] = shard_lines(result)
    assert line.startswith("FAIL discord shards: 0–1 of 4, but Discord recommends 12")
    assert "4011 Sharding required" in line and "DISCORD_SHARD_COUNT=12" in line


@pytest.mark.parametrize("token", ["right", "wrong"])
async def test_no_shard_line_without_shard_settings_or_a_token_discord_accepts(
    discord_fake: FakeDiscord, stability_server: Any, tmp_path: Path, token: str
) -> None:
    extra = {} if token == "right" else {"DISCORD_SHARD_COUNT": "4", "DISCORD_TOKEN": "MTIz.wrong-token"}
    env = {**discord_env(discord_fake, stability_server, tmp_path), **extra}
    result = await run_easel("check", env=env, cwd=tmp_path)
    assert shard_lines(result) == []
    assert [c for c in discord_fake.calls if c.route == "GET /gateway/bot"] == []
