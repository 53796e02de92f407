"""``easel admin …`` (issue 10): the operator sets limits, grants, bans; each action is in the audit log."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.cli import clean_env, run_easel


async def test_admin_from_the_cli_sets_limits_bans_and_records_who_did_it(tmp_path: Path) -> None:
    env = clean_env(EASEL_DATA_DIR=str(tmp_path / "d"), EASEL_SERVER_DAILY_UNITS="50")

    async def admin(*words: str) -> tuple[int, str, str]:
        r = await run_easel("admin", "--server", "g1", *words, env=env, cwd=tmp_path)
        return r.code, r.stdout, r.stderr

    code, out, _ = await admin("limits")
    assert code == 0 and "server_day: 50" in out and "cooldown: none" in out
    assert (await admin("set", "server_day", "200"))[0] == 0
    assert (await admin("set", "role:r1", "40"))[0] == 0
    code, out, _ = await admin("limits")
    assert "server_day: 200" in out and "role:r1: 40 units per 24 h" in out
    code, out, _ = await admin("ban", "discord:77", "spam")
    assert code == 0 and "discord:77 is banned from the bot." in out
    code, out, _ = await admin("grant", "slack:U1", "5")
    assert code == 0 and "Granted 5 extra units to slack:U1" in out

    code, _, err = await admin("set", "server_day", "lots")
    assert code == 2 and "server_day takes a whole number" in err
    code, _, err = await admin("ban", "nobody")
    assert code == 2 and "platform:user_id" in err
    code, _, err = await admin()
    assert code == 2 and "easel admin grant ACCOUNT UNITS" in err

    code, out, _ = await admin("audit")
    lines = out.splitlines()
    assert [line.split()[4] for line in lines] == ["grant", "ban", "set_limit", "set_limit"]
    assert all(line.split()[3].startswith("cli:") for line in lines)
