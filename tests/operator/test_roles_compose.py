"""``compose.yaml`` says only what easel understands: real variables, real commands, no inlined secret.

* every easel container runs ``easel run --role gateway|worker`` (the real parser), two gateways
  and three workers, each with a healthcheck on ``/healthz``, after PostgreSQL and the bucket;
* every variable an easel container gets is one easel reads (:data:`bot.variables.ENV_NAMES`),
  and with the ``${…}`` placeholders filled in the values pass easel's own settings validation;
* the gateways' Discord shards are disjoint and cover every shard;
* no password, token or key is written in the file: each comes from ``.env`` as ``${VAR}``.
"""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path
from typing import Any

import yaml

from bot.cli import build_parser
from bot.settings import Settings
from bot.variables import ENV_NAMES
from services.jobs import Role
from services.stores.location import parse_store_url

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
EASEL = {
    name: svc for name, svc in SERVICES.items() if svc.get("build") == "." or svc.get("image") == "easel"
}

_PLACEHOLDER = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::?[-?](?P<rest>[^}]*))?\}")
_SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY", re.I)
# What an operator's .env would hold, to check the values compose builds from it.
_DOT_ENV = {
    "POSTGRES_PASSWORD": "pw",
    "EASEL_S3_ACCESS_KEY_ID": "key",
    "EASEL_S3_SECRET_ACCESS_KEY": "secret",
    "EASEL_INSTANCE_ID": "0a1b2c3d",
}


def _filled(value: str) -> str:
    return _PLACEHOLDER.sub(lambda m: _DOT_ENV[m["name"]], value)


def _role(service: dict[str, Any]) -> Role:
    args, extras = build_parser().parse_known_args(service["command"])
    assert args.command == "run" and not extras, service["command"]
    assert args.role is not None, "compose names each container's role"
    return Role(args.role)


def _shards(spec: str) -> set[int]:
    """``0-3,6`` → {0, 1, 2, 3, 6}."""
    shards: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.partition("-")
        shards.update(range(int(first), int(last or first) + 1))
    return shards


def test_two_gateways_and_three_workers_of_the_easel_image() -> None:
    roles = [(_role(svc), svc.get("deploy", {}).get("replicas", 1)) for svc in EASEL.values()]
    assert sum(n for role, n in roles if role is Role.GATEWAY) == 2
    assert sum(n for role, n in roles if role is Role.WORKER) == 3
    assert all(role is not Role.ALL for role, _ in roles)
    for name, svc in EASEL.items():
        assert svc["env_file"] == ".env", name  # the tokens and keys
        assert svc["depends_on"]["postgres"]["condition"] == "service_healthy", name
        assert svc["depends_on"]["store-bucket"]["condition"] == "service_completed_successfully", name
        check = " ".join(svc["healthcheck"]["test"])
        assert "/healthz" in check and "EASEL_HTTP_PORT" in check, name


def test_the_database_and_the_object_store_are_part_of_it() -> None:
    assert SERVICES["postgres"]["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(SERVICES["postgres"]["healthcheck"]["test"])
    assert SERVICES["store"]["image"].startswith("minio/minio")
    bucket = parse_store_url(_filled(EASEL["worker"]["environment"]["EASEL_STORE_URL"]))
    assert f"mc mb --ignore-existing store/{bucket.bucket}" in " ".join(SERVICES["store-bucket"]["command"])


def test_every_variable_is_a_real_easel_variable_with_a_valid_value() -> None:
    known = set(ENV_NAMES.values())
    for name, svc in EASEL.items():
        env = {key: _filled(str(value)) for key, value in svc["environment"].items()}
        assert set(env) <= known, (name, set(env) - known)
        assert env["EASEL_DATABASE_URL"].startswith("postgresql://"), name
        endpoint = urllib.parse.urlsplit(env["EASEL_S3_ENDPOINT_URL"])
        assert endpoint.hostname in SERVICES and SERVICES[endpoint.hostname]["image"].startswith("minio/"), (
            name
        )
        settings = Settings(_env_file=None, **env)  # raises SettingsError naming a bad value
        assert settings.database is not None and settings.store_location is not None


def test_the_gateways_split_the_discord_shards() -> None:
    gateways = [svc["environment"] for svc in EASEL.values() if _role(svc) is Role.GATEWAY]
    [count] = {int(env["DISCORD_SHARD_COUNT"]) for env in gateways}
    first, second = (_shards(env["DISCORD_SHARDS"]) for env in gateways)
    assert first and second and not first & second
    assert first | second == set(range(count))


def test_no_secret_is_written_in_the_file() -> None:
    for name, svc in SERVICES.items():
        for key, value in (svc.get("environment") or {}).items():
            value = str(value)
            if _SECRET_NAME.search(key):
                assert _PLACEHOLDER.fullmatch(value), f"{name}: {key} must come from .env as ${{VAR}}"
            for password in re.findall(r"://[^:/@]+:([^@]+)@", value):
                assert _PLACEHOLDER.fullmatch(password), f"{name}: {key} inlines a password"
    for name, svc in EASEL.items():  # the chat tokens and backend keys come from env_file only
        for key in svc["environment"]:
            assert not key.startswith(("DISCORD_TOKEN", "SLACK_", "STABILITY_API_KEY")), (name, key)
