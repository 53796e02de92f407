"""Operator configuration: environment variables and an optional ``.env`` file.

Names are public (README, Docker configs) and stable. Validation errors name the
variable, never echo a secret's value, and ``repr(settings)`` masks secrets.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class BackendKind(StrEnum):
    STABILITY = "stability"
    GPU_HOST = "gpu-host"


def _env(name: str) -> Any:
    """Map a field to exactly one public environment variable name."""
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    """Everything an operator can set. See the README's table for meanings."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        case_sensitive=False,
    )

    # Discord
    discord_token: SecretStr | None = Field(None, validation_alias=_env("DISCORD_TOKEN"))
    discord_api_base: str = Field("https://discord.com/api/v10", validation_alias=_env("DISCORD_API_BASE"))
    discord_gateway_url: str | None = Field(None, validation_alias=_env("DISCORD_GATEWAY_URL"))
    discord_guild_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, validation_alias=_env("DISCORD_GUILD_IDS")
    )

    # Slack
    slack_bot_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(None, validation_alias=_env("SLACK_SIGNING_SECRET"))
    slack_app_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_APP_TOKEN"))
    slack_api_url: str = Field("https://slack.com/api/", validation_alias=_env("SLACK_API_URL"))
    slack_port: int = Field(3000, ge=0, le=65535, validation_alias=_env("EASEL_SLACK_PORT"))

    # Backend
    backend: BackendKind = Field(BackendKind.STABILITY, validation_alias=_env("EASEL_BACKEND"))
    stability_api_key: SecretStr | None = Field(None, validation_alias=_env("STABILITY_API_KEY"))
    stability_api_host: str = Field("https://api.stability.ai", validation_alias=_env("STABILITY_API_HOST"))
    stability_organization: str | None = Field(None, validation_alias=_env("STABILITY_ORGANIZATION"))
    stability_engine: str = Field("stable-diffusion-xl-1024-v1-0", validation_alias=_env("STABILITY_ENGINE"))
    stability_model: str = Field("sdxl-v1", validation_alias=_env("EASEL_STABILITY_MODEL"))
    stability_models: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_env("EASEL_STABILITY_MODELS")
    )
    stability_timeout_s: float = Field(120.0, gt=0, validation_alias=_env("STABILITY_TIMEOUT_S"))
    gpu_host_url: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_env("EASEL_GPU_HOST_URL")
    )
    gpu_host_auth: SecretStr | None = Field(None, validation_alias=_env("EASEL_GPU_HOST_AUTH"))
    gpu_host_token: SecretStr | None = Field(None, validation_alias=_env("EASEL_GPU_HOST_TOKEN"))
    gpu_upscaler: str | None = Field(None, validation_alias=_env("EASEL_GPU_UPSCALER"))
    gpu_host_concurrency: int = Field(1, ge=1, le=16, validation_alias=_env("EASEL_GPU_HOST_CONCURRENCY"))
    gpu_timeout_s: float = Field(600.0, gt=0, validation_alias=_env("EASEL_GPU_TIMEOUT_S"))
    gpu_max_side: int = Field(2048, ge=256, le=8192, validation_alias=_env("EASEL_GPU_MAX_SIDE"))

    # Core
    data_dir: Path = Field(Path("./data"), validation_alias=_env("EASEL_DATA_DIR"))
    daily_quota: int = Field(25, ge=0, le=100_000, validation_alias=_env("EASEL_DAILY_QUOTA"))
    max_concurrency: int = Field(2, ge=1, le=64, validation_alias=_env("EASEL_MAX_CONCURRENCY"))
    watermark_text: str = Field("AI generated", max_length=80, validation_alias=_env("EASEL_WATERMARK_TEXT"))
    watermark_image: Path | None = Field(None, validation_alias=_env("EASEL_WATERMARK_IMAGE"))
    http_port: int = Field(8080, ge=0, le=65535, validation_alias=_env("EASEL_HTTP_PORT"))
    log_level: str = Field("INFO", validation_alias=_env("EASEL_LOG_LEVEL"))

    @field_validator("discord_guild_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            try:
                return [int(p) for p in parts]
            except ValueError:
                raise ValueError("must be a comma-separated list of numeric server (guild) ids") from None
        return value

    @field_validator("gpu_host_url", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if isinstance(value, str):
            return [p.strip().rstrip("/") for p in value.split(",") if p.strip()]
        return value

    @field_validator("stability_models", mode="before")
    @classmethod
    def _split_models(cls, value: object) -> object:
        if isinstance(value, str):
            return [p.strip() for p in value.split(",") if p.strip()]
        return value

    @field_validator("stability_model")
    @classmethod
    def _check_model(cls, value: str) -> str:
        from services.backends.stability_v2 import known_models

        allowed = ("sdxl-v1", *known_models())
        if value not in allowed:
            raise ValueError(f"{value!r} is not a Stability model easel knows; choose one of: {', '.join(allowed)}")
        return value

    @field_validator("stability_models")
    @classmethod
    def _check_models(cls, value: list[str]) -> list[str]:
        from services.backends.stability_v2 import known_models

        unknown = [m for m in value if m not in known_models()]
        if unknown:
            raise ValueError(f"unknown model {unknown[0]!r}; choose from: {', '.join(known_models())}")
        return value

    @field_validator("gpu_host_url")
    @classmethod
    def _check_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} must start with http:// or https://")
        return value

    @field_validator("discord_api_base", "slack_api_url", "stability_api_host")
    @classmethod
    def _check_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("gpu_host_auth")
    @classmethod
    def _check_auth(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and ":" not in value.get_secret_value():
            raise ValueError("must look like user:password")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    @model_validator(mode="after")
    def _watermark_present(self) -> Settings:
        if not self.watermark_text.strip() and self.watermark_image is None:
            raise ValueError(
                "EASEL_WATERMARK_TEXT is empty and EASEL_WATERMARK_IMAGE is not set: "
                "published images must carry a visible watermark"
            )
        return self

    @model_validator(mode="after")
    def _gpu_auth_one_way(self) -> Settings:
        if self.gpu_host_auth is not None and self.gpu_host_token is not None:
            raise ValueError("set EASEL_GPU_HOST_AUTH or EASEL_GPU_HOST_TOKEN, not both")
        return self

    @model_validator(mode="after")
    def _slack_pairs(self) -> Settings:
        if (
            self.slack_bot_token is not None
            and self.slack_signing_secret is None
            and self.slack_app_token is None
        ):
            raise ValueError(
                "SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET (HTTP mode) "
                "nor SLACK_APP_TOKEN (Socket Mode) is"
            )
        return self

    # What is configured -------------------------------------------------------

    @property
    def discord_enabled(self) -> bool:
        return self.discord_token is not None and bool(self.discord_token.get_secret_value())

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None and bool(self.slack_bot_token.get_secret_value())

    def backend_problems(self) -> list[str]:
        """Missing variables that stop the configured backend from working."""
        if self.backend is BackendKind.STABILITY and not (
            self.stability_api_key and self.stability_api_key.get_secret_value()
        ):
            return [
                "STABILITY_API_KEY (your Stability AI key), or EASEL_BACKEND=gpu-host with EASEL_GPU_HOST_URL"
            ]
        if self.backend is BackendKind.GPU_HOST and not self.gpu_host_url:
            return [
                "EASEL_GPU_HOST_URL (e.g. http://gpu-box:7860, the A1111/Forge/SD.Next web UI started with --api)"
            ]
        return []


# Field name → public variable, for error messages.
ENV_NAMES: dict[str, str] = {
    name: str(field.validation_alias.choices[0])
    for name, field in Settings.model_fields.items()
    if isinstance(field.validation_alias, AliasChoices)
}


class SettingsError(Exception):
    """Configuration is invalid; the message names each variable and never a secret value."""


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment (and ``.env``), turning errors into one readable message."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_input=False, include_url=False):
            loc = err.get("loc") or ()
            field = str(loc[0]) if loc else ""
            name = ENV_NAMES.get(field, field.upper() or "configuration")
            lines.append(f"{name}: {err['msg']}")
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(lines)) from None
