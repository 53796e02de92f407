"""Operator configuration: environment variables and an optional ``.env`` file.

:class:`Settings` holds the core (chat platforms, data, quota, watermark, ports) and, for every
registered backend plugin, that plugin's own settings model (:mod:`services.backends.registry`).
Keyword arguments go to whichever model declares them, so tests and benchmarks write
``Settings(stability_api_host=..., gpu_host_url=[...], data_dir=...)`` as before::

    settings = load_settings()                  # environment + .env
    settings.backend_plugin.name                # "stability" (EASEL_BACKEND)
    settings.backend_settings.problems()        # what is missing for it, e.g. STABILITY_API_KEY

Names are public (README, Docker configs) and stable. Validation errors name the variable,
never echo a secret's value, and ``repr(settings)`` masks secrets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import NoDecode

from bot.errors import SettingsError
from bot.routing_settings import RoutingSettings
from bot.shard_plan import MAX_SHARD_COUNT, ShardPlan, check_shard_count, shard_ids_setting
from services.backends import registry
from services.backends.plugin import BackendPlugin
from services.backends.settings import BackendSettings, http_url, setting, split_commas
from services.jobs.roles import Role
from services.stores.location import S3Options, StoreLocation, parse_store_url

__all__ = [
    "Settings",
    "SettingsError",
    "load_settings",
    "missing_chat",
    "missing_for_run",
]

S = TypeVar("S", bound=BackendSettings)

_SLACK_HTTP = "Slack front end over HTTP (`/slack/events` on `EASEL_SLACK_PORT`)"


class Settings(RoutingSettings):
    """The core settings, carrying every backend plugin's own (:attr:`backend_settings` is the chosen one).

    See the README's table for meanings.
    """

    # Discord
    discord_token: SecretStr | None = setting(
        "DISCORD_TOKEN", None, meaning="bot token; the Discord front end starts when set"
    )
    discord_api_base: str = setting(
        "DISCORD_API_BASE",
        "https://discord.com/api/v10",
        meaning="Discord REST base URL (REST proxies, tests); applied to `discord.http.Route.BASE` before login",
    )
    discord_gateway_url: str | None = setting(
        "DISCORD_GATEWAY_URL",
        None,
        meaning="gateway websocket URL override; by default it comes from `GET /gateway/bot`",
    )
    discord_guild_ids: Annotated[list[int], NoDecode] = setting(
        "DISCORD_GUILD_IDS",
        default_factory=list,
        meaning="comma list: sync commands to these servers (instant) instead of globally (up to an hour)",
    )
    discord_shards: Annotated[tuple[int, ...] | None, NoDecode] = setting(
        "DISCORD_SHARDS",
        None,
        meaning="shard ids this gateway process connects (`0-7`, `0,2,5-6`); other processes run the rest; needs `DISCORD_SHARD_COUNT`",
        shown_default="every shard",
    )
    discord_shard_count: int | None = setting(
        "DISCORD_SHARD_COUNT",
        None,
        ge=1,
        le=MAX_SHARD_COUNT,
        validate_default=True,  # DISCORD_SHARDS without it is refused here
        meaning="total number of shards across every gateway process (the same in each)",
        shown_default="Discord's recommendation",
    )
    discord_admin_role: str | None = setting(
        "EASEL_DISCORD_ADMIN_ROLE",
        None,
        meaning="role id or name whose members may use `/easel admin` besides members with Manage Server",
    )
    discord_modlog_channel: int | None = setting(
        "EASEL_DISCORD_MODLOG_CHANNEL",
        None,
        meaning="channel id that receives one line per policy refusal and admin action on Discord",
    )

    # Slack
    slack_bot_token: SecretStr | None = setting("SLACK_BOT_TOKEN", None, meaning=_SLACK_HTTP)
    slack_signing_secret: SecretStr | None = setting("SLACK_SIGNING_SECRET", None, meaning=_SLACK_HTTP)
    slack_app_token: SecretStr | None = setting(
        "SLACK_APP_TOKEN", None, meaning="Slack Socket Mode instead of HTTP (no public URL needed)"
    )
    slack_api_url: str = setting(
        "SLACK_API_URL", "https://slack.com/api/", meaning="Slack Web API base URL (proxies, tests)"
    )
    slack_admin_group: str | None = setting(
        "EASEL_SLACK_ADMIN_GROUP",
        None,
        meaning="Slack user group id whose members may use `/easel admin` besides workspace admins (needs `usergroups:read`)",
    )
    slack_modlog_channel: str | None = setting(
        "EASEL_SLACK_MODLOG_CHANNEL",
        None,
        meaning="channel id that receives one line per policy refusal and admin action on Slack (invite easel there)",
    )
    slack_port: int = setting(
        "EASEL_SLACK_PORT", 3000, ge=0, le=65535, meaning="port for Slack's HTTP requests"
    )

    # Core
    data_dir: Path = setting(
        "EASEL_DATA_DIR",
        Path("./data"),
        meaning="SQLite database and stored originals",
        shown_default="`./data`",
    )
    database_url: SecretStr | None = setting(
        "EASEL_DATABASE_URL",
        None,
        meaning="`postgresql://user:password@host:5432/easel`: every table in PostgreSQL instead of SQLite",
        shown_default="SQLite in the data dir",
    )
    role: Role = setting(
        "EASEL_ROLE",
        Role.ALL,
        meaning="what `easel run` does: `all` (everything), `gateway` (chat connections) or `worker` (runs jobs); not `all` needs `EASEL_DATABASE_URL`; `--role` wins",
    )
    store_url: str | None = setting(
        "EASEL_STORE_URL",
        None,
        meaning="where images live, shared by every easel process: a directory (`/mnt/easel` or `file:///mnt/easel`) or `s3://bucket/prefix`",
        shown_default="the data dir",
    )
    s3_endpoint_url: str | None = setting(
        "EASEL_S3_ENDPOINT_URL",
        None,
        meaning="S3-compatible endpoint (MinIO, Ceph, Garage, R2), e.g. `http://minio:9000`; unset is AWS S3",
    )
    s3_region: str | None = setting(
        "EASEL_S3_REGION", None, meaning="bucket region; unset uses `AWS_DEFAULT_REGION` or `us-east-1`"
    )
    s3_access_key_id: SecretStr | None = setting(
        "EASEL_S3_ACCESS_KEY_ID",
        None,
        meaning="S3 access key; unset uses the standard AWS chain (`AWS_ACCESS_KEY_ID`, `~/.aws`, instance role)",
    )
    s3_secret_access_key: SecretStr | None = setting(
        "EASEL_S3_SECRET_ACCESS_KEY", None, meaning="secret of `EASEL_S3_ACCESS_KEY_ID`"
    )
    daily_quota: int = setting(
        "EASEL_DAILY_QUOTA",
        25,
        ge=0,
        le=100_000,
        meaning="cost units per user per rolling 24 h: one per image unless its model costs more (`0` disables generation)",
    )
    server_daily_units: int = setting(
        "EASEL_SERVER_DAILY_UNITS",
        0,
        ge=0,
        le=10_000_000,
        meaning="cost units per Discord server / Slack workspace per UTC day (`0`: no limit; admins override)",
    )
    server_monthly_units: int = setting(
        "EASEL_SERVER_MONTHLY_UNITS",
        0,
        ge=0,
        le=100_000_000,
        meaning="cost units per server / workspace per calendar month, UTC (`0`: no limit)",
    )
    jobs_per_person: int = setting(
        "EASEL_JOBS_PER_PERSON", 0, ge=0, le=1_000, meaning="jobs one person may have at once (`0`: no limit)"
    )
    cooldown_s: int = setting(
        "EASEL_COOLDOWN_S", 0, ge=0, le=86_400, meaning="seconds a person waits between requests (`0`: none)"
    )
    max_concurrency: int = setting(
        "EASEL_MAX_CONCURRENCY", 2, ge=1, le=64, meaning="jobs running at once (workers)"
    )
    watermark_text: str = setting(
        "EASEL_WATERMARK_TEXT", "AI generated", max_length=80, meaning="visible watermark text"
    )
    watermark_image: Path | None = setting(
        "EASEL_WATERMARK_IMAGE", None, meaning="optional logo (PNG) drawn beside the watermark text"
    )
    instance_id: str | None = setting(
        "EASEL_INSTANCE_ID",
        None,
        pattern=r"^[0-9a-fA-F]{8}$",
        meaning="8 hex digits naming this installation in the invisible mark on published images",
        shown_default="random, kept in `<data dir>/instance_id`",
    )
    c2pa_cert: Path | None = setting(
        "EASEL_C2PA_CERT",
        None,
        meaning="PEM file: the C2PA signing certificate followed by its CA chain (`easel keys init` makes a development pair)",
    )
    c2pa_key: Path | None = setting(
        "EASEL_C2PA_KEY", None, meaning="PEM file: the private key of `EASEL_C2PA_CERT`"
    )
    policy_file: Path | None = setting(
        "EASEL_POLICY_FILE",
        None,
        meaning="file of blocked prompt words, one a line (`re:` before a regular expression, `#` comments)",
    )
    blocked_words: Annotated[list[str], NoDecode] = setting(
        "EASEL_BLOCKED_WORDS",
        default_factory=list,
        meaning="comma list: more blocked words (`re:` for a regex)",
    )
    adult_words: Annotated[list[str], NoDecode] = setting(
        "EASEL_ADULT_WORDS",
        default_factory=list,
        meaning="comma list: words that make a request adult-only (Discord: NSFW channels only)",
    )
    slack_adult_channels: Annotated[list[str], NoDecode] = setting(
        "EASEL_SLACK_ADULT_CHANNELS",
        default_factory=list,
        meaning="comma list: Slack channel ids where adult-only requests may run (none by default)",
    )
    retention_days: int | None = setting(
        "EASEL_RETENTION_DAYS",
        None,
        ge=1,
        le=36_500,
        meaning="delete stored originals and inputs older than this many days (posted results stay in the chat)",
        shown_default="— (keep)",
    )
    c2pa_include_prompt: bool = setting(
        "EASEL_C2PA_INCLUDE_PROMPT",
        False,
        meaning="put the prompt itself in the content credentials instead of its SHA-256",
    )
    http_port: int = setting(
        "EASEL_HTTP_PORT",
        8080,
        ge=0,
        le=65535,
        meaning="`/healthz`, Prometheus `/metrics` and the operator's `/status`",
    )
    log_level: str = setting("EASEL_LOG_LEVEL", "INFO", meaning="`DEBUG`, `INFO`, `WARNING` or `ERROR`")

    _backends: dict[str, BackendSettings] = PrivateAttr(default_factory=dict)

    def __init__(self, **values: Any) -> None:
        """Validate the core and every plugin's settings; one :class:`SettingsError` lists every problem.

        Options such as ``_env_file=None`` apply to every model; any other keyword goes to the
        model that declares it (field name or variable name).
        """
        options = {k: v for k, v in values.items() if k.startswith("_")}
        routed: dict[str, dict[str, Any]] = {plugin.name: {} for plugin in registry.PLUGINS}
        core: dict[str, Any] = {}
        for key, value in values.items():
            if key in options:
                continue
            owner = next((p for p in registry.PLUGINS if p.settings_model.accepts(key)), None)
            (routed[owner.name] if owner else core)[key] = value
        problems: list[str] = []
        try:
            super().__init__(**options, **core)
        except ValidationError as exc:
            problems.extend(type(self).error_lines(exc))
        backends: dict[str, BackendSettings] = {}
        for plugin in registry.PLUGINS:
            try:
                backends[plugin.name] = plugin.settings_model(**options, **routed[plugin.name])
            except ValidationError as exc:
                problems.extend(plugin.settings_model.error_lines(exc))
        if problems:
            raise SettingsError("invalid configuration:\n  " + "\n  ".join(problems))
        self._backends = backends

    @field_validator("discord_guild_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        parts = split_commas(value)
        if isinstance(parts, list):
            try:
                return [int(p) for p in parts]
            except ValueError:
                raise ValueError("must be a comma-separated list of numeric server (guild) ids") from None
        return value

    _parse_shards = field_validator("discord_shards", mode="before")(shard_ids_setting)
    _check_shards = field_validator("discord_shard_count")(check_shard_count)

    _split_lists = field_validator("blocked_words", "adult_words", "slack_adult_channels", mode="before")(
        split_commas
    )

    _check_base = field_validator("discord_api_base", "slack_api_url")(http_url)

    @field_validator("s3_endpoint_url")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        return None if not value else http_url(value)

    @field_validator("store_url")
    @classmethod
    def _check_store(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            parse_store_url(value)  # ValueError names what is wrong, never echoes the URL
            return value.strip()
        return None

    @model_validator(mode="after")
    def _s3_pair(self) -> Settings:
        if (self.s3_access_key_id is None) != (self.s3_secret_access_key is None):
            raise ValueError("set both EASEL_S3_ACCESS_KEY_ID and EASEL_S3_SECRET_ACCESS_KEY, or neither")
        return self

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
    def discord_shard_plan(self) -> ShardPlan:
        """The gateway shards this process connects (``DISCORD_SHARDS`` of ``DISCORD_SHARD_COUNT``)."""
        return ShardPlan(self.discord_shards, self.discord_shard_count)

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None and bool(self.slack_bot_token.get_secret_value())

    @property
    def backend_plugin(self) -> BackendPlugin[Any]:
        """The plugin ``EASEL_BACKEND`` selects."""
        return registry.get(self.backend)

    @property
    def backend_settings(self) -> BackendSettings:
        """The selected plugin's settings."""
        return self._backends[self.backend]

    def plugin_settings(self, model: type[S]) -> S:
        """One plugin's settings by model, typed (``settings.plugin_settings(A1111Settings).gpu_host_url``)."""
        for values in self._backends.values():
            if isinstance(values, model):
                return values
        raise LookupError(f"{model.__name__} is not the settings model of a registered backend")

    @property
    def database(self) -> str | None:
        """``EASEL_DATABASE_URL`` revealed, for :meth:`services.db.Database.open` only (never log it)."""
        return (self.database_url.get_secret_value() or None) if self.database_url is not None else None

    @property
    def store_location(self) -> StoreLocation | None:
        """Where ``EASEL_STORE_URL`` puts images (``None``: the data dir)."""
        return None if self.store_url is None else parse_store_url(self.store_url)

    def s3_options(self) -> S3Options:
        def reveal(secret: SecretStr | None) -> str | None:
            return None if secret is None else secret.get_secret_value()

        return S3Options(
            endpoint_url=self.s3_endpoint_url,
            region=self.s3_region,
            access_key_id=reveal(self.s3_access_key_id),
            secret_access_key=reveal(self.s3_secret_access_key),
        )

    def backend_problems(self) -> list[str]:
        """Missing variables that stop the configured backend(s) from working."""
        return [p for name in self.backend_names for p in self._backends[name].problems()]

    def settings_of(self, plugin: str) -> BackendSettings:
        """The settings of the enabled plugin called ``plugin``."""
        return self._backends[plugin]

    def secret_values(self) -> list[str]:
        """Every secret set (platform tokens, backend keys), for scrubbing logs and messages."""
        values = super().secret_values()
        for backend in self._backends.values():
            values.extend(backend.secret_values())
        return values


def missing_chat(settings: Settings) -> str | None:
    """What to set for a chat front end, when none is configured (the CLI needs none; ``run`` does)."""
    if settings.discord_enabled or settings.slack_enabled:
        return None
    return (
        "DISCORD_TOKEN (Discord bot token) and/or SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET "
        "(or SLACK_APP_TOKEN for Socket Mode) for Slack"
    )


def missing_for_run(settings: Settings) -> list[str]:
    """What must be set before ``easel run`` can do anything useful (empty when ready)."""
    chat = missing_chat(settings)
    return ([chat] if chat else []) + settings.backend_problems()


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment (and ``.env``); raises :class:`SettingsError` naming each variable."""
    return Settings(**overrides)
