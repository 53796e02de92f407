"""``EASEL_STORE_URL`` and the ``EASEL_S3_*`` variables: parsed once, errors name the variable, secrets hidden."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings
from services.stores import FileLocation, S3Location, parse_store_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/mnt/easel", FileLocation(Path("/mnt/easel"))),
        ("relative/dir", FileLocation(Path("relative/dir"))),
        ("file:///srv/easel%20images", FileLocation(Path("/srv/easel images"))),
        ("file://localhost/srv/easel", FileLocation(Path("/srv/easel"))),
        ("s3://easel-images", S3Location("easel-images", "")),
        ("s3://easel-images/", S3Location("easel-images", "")),
        ("s3://easel.images/prod/bot1/", S3Location("easel.images", "prod/bot1/")),
    ],
)
def test_store_urls(url: str, expected: object) -> None:
    assert parse_store_url(url) == expected


@pytest.mark.parametrize(
    "url",
    ["s3://", "s3://UPPER", "s3://a", "s3://bucket?x=1", "file://otherhost/dir", "gs://bucket", "   "],
)
def test_malformed_store_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        parse_store_url(url)


def test_default_store_is_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.store_url is None and settings.store_location is None


def test_s3_settings_and_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EASEL_STORE_URL", "s3://easel-images/prod")
    monkeypatch.setenv("EASEL_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("EASEL_S3_REGION", "eu-west-1")
    monkeypatch.setenv("EASEL_S3_ACCESS_KEY_ID", "AKIA-s3-key-id")
    monkeypatch.setenv("EASEL_S3_SECRET_ACCESS_KEY", "s3-very-secret-value")
    settings = load_settings()
    assert settings.store_location == S3Location("easel-images", "prod/")
    options = settings.s3_options()
    assert (options.endpoint_url, options.region) == ("http://127.0.0.1:9000", "eu-west-1")
    assert (options.access_key_id, options.secret_access_key) == ("AKIA-s3-key-id", "s3-very-secret-value")
    assert "s3-very-secret-value" in settings.secret_values()  # scrubbed from logs like every secret
    assert "s3-very-secret-value" not in repr(settings) and "s3-very-secret-value" not in repr(options)


def test_half_a_key_pair_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EASEL_S3_SECRET_ACCESS_KEY", "lonely-secret")
    with pytest.raises(SettingsError, match="EASEL_S3_ACCESS_KEY_ID") as info:
        load_settings()
    assert "lonely-secret" not in str(info.value)


def test_bad_store_url_names_the_variable_and_hides_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EASEL_STORE_URL", "s3://key:hunter2-secret@easel-images/prod")
    monkeypatch.setenv("EASEL_S3_ENDPOINT_URL", "127.0.0.1:9000")
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "EASEL_STORE_URL" in message and "EASEL_S3_ENDPOINT_URL" in message
    assert "hunter2" not in message
