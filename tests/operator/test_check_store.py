"""``easel check``'s ``image store`` line, the real console script against a local S3 server (moto).

OK means: endpoint reachable, bucket present, a probe object written, read back and deleted.
Each FAIL names the operator's problem (bucket missing, access denied, endpoint unreachable)
and never prints a credential.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes.s3.server import ACCESS_KEY, SECRET_KEY, FakeS3
from tests.helpers.cli import CliResult, clean_env, run_easel
from tests.helpers.network import dead_port


def store_env(stability: Any, tmp_path: Path, store_url: str, **extra: str) -> dict[str, str]:
    return clean_env(
        STABILITY_API_KEY=stability.api_key,
        STABILITY_API_HOST=stability.url,
        EASEL_DATA_DIR=str(tmp_path / "data"),
        EASEL_STORE_URL=store_url,
        **extra,
    )


def s3_env(server_url: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> dict[str, str]:
    return {
        "EASEL_S3_ENDPOINT_URL": server_url,
        "EASEL_S3_REGION": "us-east-1",
        "EASEL_S3_ACCESS_KEY_ID": access_key,
        "EASEL_S3_SECRET_ACCESS_KEY": secret_key,
    }


def store_line(result: CliResult) -> str:
    lines = [line for line in result.stdout.splitlines() if line[4:].strip().startswith("image store:")]
    assert len(lines) == 1, result.stdout + result.stderr
    return lines[0]


async def test_s3_store_ok_leaves_nothing_behind(
    s3_server: FakeS3, s3_bucket: str, stability_server: Any, tmp_path: Path
) -> None:
    env = store_env(stability_server, tmp_path, f"s3://{s3_bucket}/easel", **s3_env(s3_server.endpoint_url))
    result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=60)
    line = store_line(result)
    assert line.startswith("OK") and s3_bucket in line and "writable" in line
    assert result.code == 0, result.stdout + result.stderr
    assert s3_server.keys(s3_bucket) == []  # the probe object was deleted
    assert SECRET_KEY not in result.stdout + result.stderr


async def test_directory_store_ok(stability_server: Any, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    env = store_env(stability_server, tmp_path, shared.as_uri())
    result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=60)
    line = store_line(result)
    assert line.startswith("OK") and str(shared) in line
    assert [p for p in shared.rglob("*") if p.is_file()] == []


async def test_missing_bucket_is_named(s3_server: FakeS3, stability_server: Any, tmp_path: Path) -> None:
    env = store_env(stability_server, tmp_path, "s3://easel-no-such-bucket", **s3_env(s3_server.endpoint_url))
    result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=60)
    line = store_line(result)
    assert line.startswith("FAIL") and "easel-no-such-bucket" in line and "does not exist" in line
    assert result.code == 1
    assert "Traceback" not in result.stderr


async def test_wrong_credentials_are_access_denied_and_not_printed(
    s3_server: FakeS3, s3_bucket: str, stability_server: Any, tmp_path: Path
) -> None:
    key_id, secret = s3_server.iam_user()
    wrong_secret = "wrong-" + secret[::-1]
    s3_server.require_auth(True)
    try:
        env = store_env(
            stability_server,
            tmp_path,
            f"s3://{s3_bucket}",
            **s3_env(s3_server.endpoint_url, key_id, wrong_secret),
        )
        result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=60)
    finally:
        s3_server.require_auth(False)
    line = store_line(result)
    assert line.startswith("FAIL") and "access denied" in line
    assert wrong_secret not in result.stdout + result.stderr and secret not in result.stdout + result.stderr


async def test_unreachable_endpoint_is_named(stability_server: Any, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{dead_port()}"
    env = store_env(stability_server, tmp_path, "s3://easel-images", **s3_env(url))
    result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=90)
    line = store_line(result)
    assert line.startswith("FAIL") and "unreachable" in line and url in line
    assert "Traceback" not in result.stderr


async def test_malformed_store_url_stops_with_the_variable_named(
    stability_server: Any, tmp_path: Path
) -> None:
    env = store_env(stability_server, tmp_path, "s3://Not_A_Bucket/x")
    result = await run_easel("check", env=env, cwd=tmp_path, deadline_s=60)
    assert result.code != 0
    assert "EASEL_STORE_URL" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


async def test_cli_imagine_stores_originals_in_the_bucket(
    s3_server: FakeS3, s3_bucket: str, stability_server: Any, tmp_path: Path
) -> None:
    env = store_env(stability_server, tmp_path, f"s3://{s3_bucket}/easel", **s3_env(s3_server.endpoint_url))
    out = tmp_path / "out"
    result = await run_easel("imagine", "a lighthouse --n 2", "--out", str(out), env=env, cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert len(list(out.glob("*.png"))) == 2
    keys = s3_server.keys(s3_bucket)
    assert len(keys) == 2 and all(k.startswith("easel/originals/") and k.endswith(".png") for k in keys)
    assert not (tmp_path / "data" / "originals").exists()


async def test_cli_imagine_with_a_missing_bucket_fails_politely(
    s3_server: FakeS3, stability_server: Any, tmp_path: Path
) -> None:
    env = store_env(stability_server, tmp_path, "s3://easel-gone-bucket", **s3_env(s3_server.endpoint_url))
    out = tmp_path / "out"
    result = await run_easel("imagine", "a lighthouse", "--out", str(out), env=env, cwd=tmp_path)
    assert result.code != 0
    assert "storage is unavailable" in result.stderr and "quota was not spent" in result.stderr
    assert "Traceback" not in result.stderr and SECRET_KEY not in result.stderr
    assert not out.exists() or not list(out.glob("*.png"))
