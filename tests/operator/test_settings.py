"""Settings: public variable names, validation messages that name the variable, secrets masked."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings
from bot.variables import ENV_NAMES


def test_reads_public_variable_names(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_TOKEN", "discord-secret-token")
    monkeypatch.setenv("DISCORD_GUILD_IDS", "123, 456")
    monkeypatch.setenv("EASEL_BACKEND", "gpu-host")
    monkeypatch.setenv("EASEL_GPU_HOST_URL", "http://127.0.0.1:7860/, http://127.0.0.1:7861")
    monkeypatch.setenv("EASEL_DAILY_QUOTA", "7")
    s = load_settings()
    assert s.discord_enabled and not s.slack_enabled
    assert s.discord_guild_ids == [123, 456]
    assert s.backend == "gpu-host"
    assert s.backend_settings.gpu_host_url == ["http://127.0.0.1:7860", "http://127.0.0.1:7861"]
    assert s.daily_quota == 7
    assert s.backend_problems() == []
    assert "discord-secret-token" not in repr(s)
    assert "discord-secret-token" not in str(s.model_dump())


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("STABILITY_API_KEY=sk-from-dotenv\nEASEL_WATERMARK_TEXT=made by bots\n")
    s = load_settings()
    key = s.backend_settings.stability_api_key
    assert key is not None
    assert key.get_secret_value() == "sk-from-dotenv"
    assert s.watermark_text == "made by bots"


def test_errors_name_the_variable_and_hide_the_secret(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EASEL_DAILY_QUOTA", "lots")
    monkeypatch.setenv("EASEL_GPU_HOST_AUTH", "hunter2-no-colon")
    monkeypatch.setenv("DISCORD_GUILD_IDS", "abc")
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "EASEL_DAILY_QUOTA" in message
    assert "EASEL_GPU_HOST_AUTH" in message
    assert "DISCORD_GUILD_IDS" in message
    assert "hunter2" not in message


def test_slack_token_without_secret_or_app_token_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-abc")
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        load_settings()


def test_backend_problems_name_what_to_set(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    assert "STABILITY_API_KEY" in load_settings().backend_problems()[0]
    monkeypatch.setenv("EASEL_BACKEND", "gpu-host")
    assert "EASEL_GPU_HOST_URL" in load_settings().backend_problems()[0]


def test_every_field_has_one_public_name() -> None:
    assert ENV_NAMES["data_dir"] == "EASEL_DATA_DIR"
    assert ENV_NAMES["slack_port"] == "EASEL_SLACK_PORT"
    assert len(set(ENV_NAMES.values())) == len(ENV_NAMES)


def test_readme_documents_every_variable() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [name for name in ENV_NAMES.values() if f"`{name}`" not in readme]
    assert missing == []
