"""The CLI with EASEL_BACKEND=gemini on Vertex AI: a service-account key file, the fake token endpoint
and the fake Vertex AI; the real process, settings and SDK."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from tests.fakes.gemini import VertexSetup
from tests.helpers.cli import clean_env, run_easel


def vertex_env(setup: VertexSetup, data_dir: Path, credentials: Path) -> dict[str, str]:
    env = clean_env(
        EASEL_BACKEND="gemini",
        EASEL_GEMINI_VERTEX_PROJECT=setup.api.project,
        EASEL_GEMINI_VERTEX_LOCATION="us-central1",
        EASEL_GEMINI_VERTEX_CREDENTIALS=str(credentials),
        EASEL_GEMINI_VERTEX_BASE_URL=setup.api.url,
        EASEL_DATA_DIR=str(data_dir),
    )
    for name in (
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GOOGLE_CLOUD_PROJECT",
    ):
        env.pop(name, None)
    return env


async def test_imagine_and_check_through_vertex(vertex_setup: VertexSetup, tmp_path: Path) -> None:
    env = vertex_env(vertex_setup, tmp_path / "data", vertex_setup.credentials_file)
    out = tmp_path / "out"
    result = await run_easel(
        "imagine", "a paper lantern --ar 9:16 --seed 5", "--json", "--out", str(out), env=env, cwd=tmp_path
    )
    assert result.code == 0, result.stderr
    obj = json.loads(result.stdout.strip())
    assert obj["backend"] == "gemini" and obj["seed"] == 5
    with Image.open(obj["path"]) as img:
        assert img.size == (768, 1344)
    assert vertex_setup.api.generations()[0].path.startswith(
        "/v1beta1/projects/easel-test/locations/us-central1/"
    )
    assert len(vertex_setup.oauth.grants) == 1
    quota = await run_easel("quota", env=env, cwd=tmp_path)
    assert " 4 of 25 units used" in quota.stdout, quota.stdout  # one Gemini picture: 4 units
    result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=30)
    lines = [line for line in result.stdout.splitlines() if "gemini" in line]
    assert len(lines) == 2 and all(line.startswith("OK") for line in lines), result.stdout
    assert "Vertex AI project easel-test in us-central1" in result.stdout and "SynthID" in result.stdout
    for token in vertex_setup.api.bearer_tokens:
        assert token not in result.stdout + result.stderr


async def test_revoked_credentials_cost_no_quota_and_fail_the_check(
    vertex_setup: VertexSetup, tmp_path: Path
) -> None:
    revoked = vertex_setup.untrusted_key_file(tmp_path / "revoked.json")
    env = vertex_env(vertex_setup, tmp_path / "data", revoked)
    result = await run_easel(
        "imagine", "a paper lantern", "--out", str(tmp_path / "out"), env=env, cwd=tmp_path
    )
    assert result.code == 1 and "refused easel's credentials" in result.stderr, result.stderr
    assert "invalid_grant" in result.stderr and "Nothing was spent" in result.stderr
    assert vertex_setup.api.requests == []  # refused at the token endpoint: nothing reached the model
    quota = await run_easel("quota", env=env, cwd=tmp_path)
    assert quota.code == 0 and " 0 of 25 units used" in quota.stdout, quota.stdout + quota.stderr
    result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=30)
    (line,) = [line for line in result.stdout.splitlines() if "gemini vertex ai" in line]
    assert line.startswith("FAIL") and "invalid_grant" in line and "EASEL_GEMINI_VERTEX_CREDENTIALS" in line
    assert "PRIVATE KEY" not in result.stdout + result.stderr
