"""``easel verify`` end to end: a CLI-made picture, its re-encodes, unmarked and bad files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image

from tests.helpers.cli import clean_env, run_easel
from tests.helpers.images import png


def env_for(server: Any, data_dir: Path) -> dict[str, str]:
    return clean_env(
        STABILITY_API_KEY=server.api_key, STABILITY_API_HOST=server.url, EASEL_DATA_DIR=str(data_dir)
    )


async def made_by_easel(server: Any, tmp_path: Path) -> tuple[Path, str]:
    data, out = tmp_path / "data", tmp_path / "out"
    result = await run_easel(
        "imagine", "a lighthouse at dusk", "--json", "--out", str(out),
        env=env_for(server, data), cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    made = json.loads(result.stdout.splitlines()[0])
    return Path(made["path"]), made["job_id"]


async def test_verify_finds_the_mark_on_the_picture_and_a_screenshot_of_it(
    stability_server: Any, tmp_path: Path
) -> None:
    published, job_id = await made_by_easel(stability_server, tmp_path)
    shot = tmp_path / "shot.jpg"
    with Image.open(published) as img:  # a phone screenshot: smaller, edges cut, JPEG
        small = img.convert("RGB").resize((img.width * 4 // 5, img.height * 4 // 5))
        small.crop((20, 20, small.width - 20, small.height - 20)).save(shot, quality=85)
    env = env_for(stability_server, tmp_path / "data")

    result = await run_easel("verify", str(published), str(shot), "--json", env=env, cwd=tmp_path)
    assert result.code == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["path"] for a in answers] == [str(published), str(shot)]
    for answer in answers:
        assert answer["mark"] is True and answer["this_instance"] is True
        assert answer["job_id"] == job_id and answer["job"] == job_id[:12]
        assert answer["command"] == "imagine" and answer["model"]
        assert answer["requested_by"].startswith("cli:")  # the CLI is the operator
    instance = (tmp_path / "data" / "instance_id").read_text().strip()
    assert answers[0]["instance"] == instance

    text = await run_easel("verify", str(shot), env=env, cwd=tmp_path)
    assert text.code == 0
    assert (
        f"{shot}: easel mark found: made by this bot (instance {instance}, job {job_id[:12]})." in text.stdout
    )
    assert f"{shot}: Made on " in text.stdout and "by /imagine" in text.stdout


async def test_verify_exit_codes_for_unmarked_and_bad_input(stability_server: Any, tmp_path: Path) -> None:
    published, _ = await made_by_easel(stability_server, tmp_path)
    env = env_for(stability_server, tmp_path / "data")
    plain = tmp_path / "plain.png"
    plain.write_bytes(png((640, 480), (30, 120, 200)))
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture at all")

    mixed = await run_easel("verify", str(published), str(plain), env=env, cwd=tmp_path)
    assert mixed.code == 1
    assert f"{plain}: No easel mark found." in mixed.stdout

    bad = await run_easel(
        "verify", str(notes), str(tmp_path / "missing.png"), "--json", env=env, cwd=tmp_path
    )
    assert bad.code == 2
    answers = [json.loads(line) for line in bad.stdout.splitlines()]
    assert [a["mark"] for a in answers] == [False, False]
    assert "PNG, JPEG or WebP" in answers[0]["error"] and "can't read" in answers[1]["error"]

    usage = await run_easel("verify", env=env, cwd=tmp_path)
    assert usage.code == 2


async def test_verify_without_a_data_dir_still_reads_marks(stability_server: Any, tmp_path: Path) -> None:
    published, job_id = await made_by_easel(stability_server, tmp_path)
    elsewhere = clean_env(EASEL_DATA_DIR=str(tmp_path / "empty"))
    result = await run_easel("verify", str(published), "--json", env=elsewhere, cwd=tmp_path)
    assert result.code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["mark"] is True and answer["this_instance"] is False and answer["job"] == job_id[:12]
    assert not (tmp_path / "empty").exists()  # verifying never creates a data dir


async def test_keys_init_then_signed_results_verify_with_credentials(
    stability_server: Any, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    env = env_for(stability_server, data)
    made = await run_easel("keys", "init", env=env, cwd=tmp_path)
    assert made.code == 0, made.stderr
    assert "untrusted" in made.stdout
    cert, key = data / "c2pa" / "cert.pem", data / "c2pa" / "key.pem"
    assert cert.is_file() and key.stat().st_mode & 0o077 == 0
    assert (await run_easel("keys", "init", env=env, cwd=tmp_path)).code == 2  # never overwrites

    signed_env = {**env, "EASEL_C2PA_CERT": str(cert), "EASEL_C2PA_KEY": str(key)}
    check = await run_easel("check", env=signed_env, cwd=tmp_path)
    assert "OK   content credentials: on (signer easel development signer" in check.stdout
    plain_check = await run_easel("check", env=env, cwd=tmp_path)
    assert "OK   content credentials: off" in plain_check.stdout

    result = await run_easel(
        "imagine", "a lighthouse", "--json", "--out", str(tmp_path / "out"), env=signed_env, cwd=tmp_path
    )
    assert result.code == 0, result.stderr
    published = Path(json.loads(result.stdout.splitlines()[0])["path"])
    [original] = sorted((data / "originals").rglob("*.png"))
    answers = await run_easel("verify", str(published), str(original), "--json", env=signed_env, cwd=tmp_path)
    published_answer, original_answer = (json.loads(line) for line in answers.stdout.splitlines())
    assert published_answer["mark"] is True and published_answer["c2pa"] == "valid, untrusted"
    assert (
        original_answer["mark"] is False and original_answer["c2pa"] == "valid, untrusted"
    )  # clean, credited
    text = await run_easel("verify", str(published), env=signed_env, cwd=tmp_path)
    assert "Content credentials (C2PA) valid: signed by easel development signer" in text.stdout
