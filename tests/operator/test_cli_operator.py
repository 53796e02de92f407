"""The CLI as its operator meets it (issue 12): messages naming the cause, quota, Ctrl-C, odd users.

Everything runs the real ``easel`` console script against the fake Stability server.
"""

from __future__ import annotations

import asyncio
import json
import os
import pty
import sys
from pathlib import Path
from typing import Any

from bot.slack.manifest import render_manifest
from tests.helpers.cli import clean_env, easel_command, exits_after_interrupt, interruptible_env, run_easel
from tests.helpers.images import png


def env_for(server: Any, data_dir: Path, **extra: str) -> dict[str, str]:
    return clean_env(
        STABILITY_API_KEY=server.api_key,
        STABILITY_API_HOST=server.url,
        EASEL_DATA_DIR=str(data_dir),
        **extra,
    )


def generations(server: Any) -> int:
    return len(server.requests_for("/v1/generation/"))


async def test_an_unquoted_prompt_gets_the_quoted_command_and_spends_nothing(
    stability_server: Any, tmp_path: Path
) -> None:
    result = await run_easel(
        "imagine", "a", "lighthouse", "at", "dusk", env=env_for(stability_server, tmp_path / "d"), cwd=tmp_path
    )  # fmt: skip
    assert result.code == 2
    assert "unrecognized arguments: lighthouse at dusk" in result.stderr
    assert 'easel imagine "a lighthouse at dusk"' in result.stderr
    assert "Traceback" not in result.stderr and generations(stability_server) == 0


async def test_misspelt_easel_variables_are_named_with_a_suggestion(
    stability_server: Any, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("EASEL_WATERMARK_TXT=hello\n")
    env = env_for(stability_server, tmp_path / "d", EASEL_DAILY_QUOTE="3")
    result = await run_easel("quota", env=env, cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert "EASEL_DAILY_QUOTE in the environment is not an easel setting" in result.stderr
    assert "did you mean EASEL_DAILY_QUOTA?" in result.stderr
    assert "EASEL_WATERMARK_TXT in the .env" in result.stderr and "EASEL_WATERMARK_TEXT?" in result.stderr


async def test_a_missing_image_names_the_option_and_a_bad_one_names_the_file(
    stability_server: Any, tmp_path: Path
) -> None:
    env = env_for(stability_server, tmp_path / "d")
    result = await run_easel("upscale", "--out", str(tmp_path / "o"), env=env, cwd=tmp_path)
    assert result.code == 2
    assert "easel upscale needs --image PATH" in result.stderr
    assert "attach" not in result.stderr.split("(")[0]

    notes = tmp_path / "notes.png"
    notes.write_text("not a picture")
    result = await run_easel("upscale", "--image", str(notes), env=env, cwd=tmp_path)
    assert result.code == 2
    assert f"--image {notes}: " in result.stderr
    assert generations(stability_server) == 0


async def test_quota_shows_resets_and_says_when_generation_is_off(
    stability_server: Any, tmp_path: Path
) -> None:
    env = env_for(stability_server, tmp_path / "d", EASEL_DAILY_QUOTA="2")
    made = await run_easel(
        "imagine", "a cat --n 2", "--user", "ann", "--out", str(tmp_path / "o"), env=env, cwd=tmp_path
    )
    assert made.code == 0, made.stderr
    refused = await run_easel(
        "imagine", "a cat", "--user", "ann", "--out", str(tmp_path / "o"), env=env, cwd=tmp_path
    )
    assert refused.code == 3
    assert "easel quota --reset ann" in refused.stderr and "Nothing was spent." in refused.stderr

    shown = await run_easel("quota", "ann", env=env, cwd=tmp_path)
    assert shown.code == 0, shown.stderr
    assert shown.stdout.startswith("cli:ann: 2 of 2 units used in the last 24 h")
    assert "UTC" in shown.stdout  # when the next one comes back
    reset = await run_easel("quota", "cli:ann", "--reset", env=env, cwd=tmp_path)
    assert reset.code == 0, reset.stderr
    assert "cli:ann: gave back 2 unit(s)." in reset.stdout
    assert "0 of 2 units used" in reset.stdout
    other = await run_easel("quota", "discord:1234", env=env, cwd=tmp_path)
    assert other.stdout.startswith("discord:1234: 0 of 2 units used")
    again = await run_easel(
        "imagine", "a cat", "--user", "ann", "--out", str(tmp_path / "o"), env=env, cwd=tmp_path
    )
    assert again.code == 0, again.stderr

    off = env_for(stability_server, tmp_path / "d", EASEL_DAILY_QUOTA="0")
    before = generations(stability_server)
    refused = await run_easel("imagine", "a cat", "--out", str(tmp_path / "o"), env=off, cwd=tmp_path)
    assert refused.code == 3
    assert "image generation is turned off (EASEL_DAILY_QUOTA=0)" in refused.stderr
    assert "become available" not in refused.stderr and generations(stability_server) == before
    shown = await run_easel("quota", "ann", env=off, cwd=tmp_path)
    assert "image generation is turned off (EASEL_DAILY_QUOTA=0)" in shown.stdout


async def test_progress_goes_to_stderr_as_plain_lines_and_upscales_print_no_seed(
    stability_server: Any, tmp_path: Path
) -> None:
    src = tmp_path / "in.png"
    src.write_bytes(png((512, 512)))
    env = env_for(stability_server, tmp_path / "d")
    result = await run_easel(
        "upscale", "--image", str(src), "--out", str(tmp_path / "o"), env=env, cwd=tmp_path
    )
    assert result.code == 0, result.stderr
    assert "easel: Queued — you're next" in result.stderr and "easel: Working on it…" in result.stderr
    assert "\r" not in result.stderr  # not a terminal: no redrawn bar
    (line,) = result.stdout.splitlines()
    assert line.endswith(".png") and "seed" not in line  # an upscale has no seed
    as_json = await run_easel(
        "upscale", "--image", str(src), "--json", "--out", str(tmp_path / "o"), env=env, cwd=tmp_path
    )  # fmt: skip
    assert json.loads(as_json.stdout)["seed"] is None


async def _read_until(stream: asyncio.StreamReader, text: str, within_s: float = 30) -> str:
    seen = ""
    async with asyncio.timeout(within_s):
        while text not in seen:
            chunk = await stream.readline()
            assert chunk, f"stream ended before {text!r}: {seen}"
            seen += chunk.decode()
    return seen


async def test_ctrl_c_cancels_the_job_refunds_it_and_the_next_run_does_not_resume_it(
    stability_server: Any, tmp_path: Path
) -> None:
    env = env_for(stability_server, tmp_path / "d", EASEL_DAILY_QUOTA="2")
    stability_server.latency_s = 60  # the generation hangs until interrupted
    proc = await asyncio.create_subprocess_exec(
        *easel_command(), "imagine", "a slow cat --n 2", "--out", str(tmp_path / "o"),
        cwd=tmp_path, env=interruptible_env(env), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None and proc.stdout is not None
    await _read_until(proc.stderr, "Working on it")
    rest = (await exits_after_interrupt(proc))[1].decode()
    assert proc.returncode == 130
    assert "cancelled, its quota refunded" in rest and "Traceback" not in rest

    stability_server.latency_s = 0
    shown = await run_easel("quota", env=env, cwd=tmp_path)
    assert " 0 of 2 units used" in shown.stdout  # refunded
    after = await run_easel("imagine", "a quick cat", "--out", str(tmp_path / "o2"), env=env, cwd=tmp_path)
    assert after.code == 0, after.stderr
    assert "resuming" not in after.stderr
    assert len(list((tmp_path / "o2").glob("*.png"))) == 1
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").glob("*.png"))


# A container started with ``--user 54321``: the uid has no passwd entry and there is no $USER.
# The child replaces pwd.getpwuid with what libc answers there (the exact KeyError getpass sees);
# everything else is the real CLI.
_NO_PASSWD = """
import pwd, sys
def getpwuid(uid):
    raise KeyError(f"getpwuid(): uid not found: {uid}")
pwd.getpwuid = getpwuid
from bot.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


async def _easel_without_passwd(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _NO_PASSWD, *args, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_a_uid_without_passwd_entry_gets_an_account_not_a_traceback(
    stability_server: Any, tmp_path: Path
) -> None:
    env = {k: v for k, v in env_for(stability_server, tmp_path / "d").items() if k not in _LOGIN_VARS}
    code, _, err = await _easel_without_passwd(
        "imagine", "a cat", "--out", str(tmp_path / "o"), env=env, cwd=tmp_path
    )
    assert code == 0, err
    assert "Traceback" not in err and "getpwuid" not in err
    code, out, err = await _easel_without_passwd("quota", env=env, cwd=tmp_path)
    assert code == 0, err
    assert out.startswith(f"cli:uid-{os.getuid()}: 1 of 25 units used")


_LOGIN_VARS = ("USER", "LOGNAME", "USERNAME", "LNAME")


async def test_slack_manifest_prints_the_generated_manifest_without_any_settings(tmp_path: Path) -> None:
    url = "https://127.0.0.1:8443/slack/events"
    env = clean_env(EASEL_DAILY_QUOTA="not a number")  # settings are not read at all
    result = await run_easel("slack-manifest", "--url", url, env=env, cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert result.stdout == render_manifest(url)
    socket = await run_easel("slack-manifest", "--socket-mode", env=env, cwd=tmp_path)
    assert socket.stdout == render_manifest(None)
    wrong = await run_easel("slack-manifest", "--bogus", env=env, cwd=tmp_path)
    assert wrong.code == 2 and "unrecognized arguments: --bogus" in wrong.stderr and not wrong.stdout


def _drain(fd: int) -> bytes:
    """Everything written to a pty until its last writer closes (Linux reports EIO then)."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


async def test_on_a_terminal_progress_is_one_bar_erased_before_the_results(
    stability_server: Any, tmp_path: Path
) -> None:
    master, slave = pty.openpty()
    try:
        proc = await asyncio.create_subprocess_exec(
            *easel_command(), "imagine", "a cat", "--out", str(tmp_path / "o"),
            cwd=tmp_path, env=env_for(stability_server, tmp_path / "d"),
            stdout=asyncio.subprocess.PIPE, stderr=slave,
        )  # fmt: skip
        os.close(slave)
        slave = -1
        reading = asyncio.create_task(asyncio.to_thread(_drain, master))
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        terminal = (await asyncio.wait_for(reading, 30)).decode()
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    assert proc.returncode == 0, terminal
    assert "\r\x1b[KQueued — you're next" in terminal and "\r\x1b[KWorking on it…" in terminal
    assert "easel: Queued" not in terminal  # no plain lines on a terminal
    assert terminal.rstrip("\r\n").endswith("\r\x1b[K")  # the bar is gone before the results
    assert out.decode().count("\tseed=") == 1  # results on stdout, untouched by the bar
