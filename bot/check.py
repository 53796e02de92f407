"""``easel check``: configuration and reachability, without starting or generating anything.

The backend's lines come from its plugin (:meth:`BackendPlugin.check`), or, when jobs are routed by
model, from every enabled plugin plus a ``models`` line (a per-command default that no backend serves
fails it, as ``easel run`` would refuse to start); the platform probes
live here, and ``easel run`` reuses :func:`slack_app_token_error` before starting Socket Mode.

With ``DISCORD_SHARDS``/``DISCORD_SHARD_COUNT`` a ``discord shards`` line compares the count with
Discord's recommendation (``GET /gateway/bot``, about one shard per 1,000 servers). Fewer shards
than recommended still connect while no shard holds more than 2,500 servers; past that Discord
closes the shard with 4011 (sharding required). So the line fails only when even the fewest
servers the recommendation stands for would put more than 2,500 on an average shard, and warns
(OK, with the recommendation to follow) below the recommendation otherwise.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

import aiohttp

from bot.app import backend_context, build_backend, build_blob_store, build_signer
from bot.errors import SettingsError
from bot.settings import Settings, missing_chat
from commands.status import format_shard_ids
from services.backends import registry
from services.backends.plugin import BackendConfigError
from services.data_dir import StorageUnusable, ensure_writable_dir, probe_database
from services.errors import EaselError, StorageError
from services.types import CheckResult

_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=5)
SERVERS_PER_RECOMMENDED_SHARD = 1_000
MAX_SERVERS_PER_SHARD = 2_500  # Discord's limit; a shard over it is closed with 4011


async def check_discord(settings: Settings, session: aiohttp.ClientSession) -> CheckResult:
    assert settings.discord_token is not None
    url = settings.discord_api_base.rstrip("/") + "/users/@me"
    headers = {"Authorization": f"Bot {settings.discord_token.get_secret_value()}"}
    try:
        async with session.get(url, headers=headers) as resp:
            if resp.status == 200:
                me = await resp.json()
                return CheckResult(
                    "discord", True, f"logged in as {me.get('username', '?')} (id {me.get('id', '?')})"
                )
            if resp.status == 401:
                return CheckResult("discord", False, "Discord rejected DISCORD_TOKEN (401)")
            return CheckResult("discord", False, f"unexpected HTTP {resp.status} from the Discord API")
    except (aiohttp.ClientError, TimeoutError) as exc:
        return CheckResult(
            "discord",
            False,
            f"cannot reach DISCORD_API_BASE {settings.discord_api_base}: {type(exc).__name__}",
        )


def shard_count_result(shard_ids: tuple[int, ...] | None, count: int, recommended: int) -> CheckResult:
    """The ``discord shards`` line for ``count`` configured shards against Discord's ``recommended``."""
    which = f"all {count}" if shard_ids is None else f"{format_shard_ids(shard_ids)} of {count}"
    if count >= recommended:
        return CheckResult("discord shards", True, f"{which} (Discord recommends {recommended})")
    fewest_servers = (recommended - 1) * SERVERS_PER_RECOMMENDED_SHARD + 1
    if fewest_servers > count * MAX_SERVERS_PER_SHARD:
        return CheckResult(
            "discord shards",
            False,
            f"{which}, but Discord recommends {recommended}: {count} shards would hold more than "
            f"{MAX_SERVERS_PER_SHARD:,} servers each and Discord refuses them (4011 Sharding "
            f"required); set DISCORD_SHARD_COUNT={recommended} in every gateway process",
        )
    return CheckResult(
        "discord shards",
        True,
        f"{which} (Discord recommends {recommended}: raise DISCORD_SHARD_COUNT in every gateway "
        f"process before a shard reaches {MAX_SERVERS_PER_SHARD:,} servers, when Discord refuses it)",
    )


async def check_discord_shards(settings: Settings, session: aiohttp.ClientSession) -> CheckResult:
    """``DISCORD_SHARD_COUNT`` against the recommendation of ``GET /gateway/bot`` (changes nothing)."""
    assert settings.discord_token is not None and settings.discord_shard_count is not None
    url = settings.discord_api_base.rstrip("/") + "/gateway/bot"
    headers = {"Authorization": f"Bot {settings.discord_token.get_secret_value()}"}
    try:
        async with session.get(url, headers=headers) as resp:
            if resp.status != 200:
                return CheckResult(
                    "discord shards", False, f"unexpected HTTP {resp.status} from GET /gateway/bot"
                )
            recommended = int((await resp.json())["shards"])
    except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as exc:
        return CheckResult(
            "discord shards", False, f"cannot read Discord's shard recommendation: {type(exc).__name__}"
        )
    return shard_count_result(settings.discord_shards, settings.discord_shard_count, recommended)


async def check_slack(settings: Settings, session: aiohttp.ClientSession) -> CheckResult:
    assert settings.slack_bot_token is not None
    url = settings.slack_api_url.rstrip("/") + "/auth.test"
    headers = {"Authorization": f"Bearer {settings.slack_bot_token.get_secret_value()}"}
    try:
        async with session.post(url, headers=headers) as resp:
            body = await resp.json(content_type=None)
            if body.get("ok"):
                return CheckResult(
                    "slack", True, f"team {body.get('team', '?')}, bot user {body.get('user', '?')}"
                )
            return CheckResult(
                "slack", False, f"Slack said {body.get('error', 'not ok')} for SLACK_BOT_TOKEN"
            )
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return CheckResult(
            "slack", False, f"cannot reach SLACK_API_URL {settings.slack_api_url}: {type(exc).__name__}"
        )


async def slack_app_token_error(settings: Settings, session: aiohttp.ClientSession) -> str | None:
    """Slack's error code for ``SLACK_APP_TOKEN`` (``None`` when accepted); raises when Slack is unreachable.

    ``apps.connections.open`` only hands out a websocket URL; nothing connects. The Socket Mode
    client retries a refused token forever, so this is the one place a wrong token shows up.
    """
    assert settings.slack_app_token is not None
    url = settings.slack_api_url.rstrip("/") + "/apps.connections.open"
    headers = {"Authorization": f"Bearer {settings.slack_app_token.get_secret_value()}"}
    async with session.post(url, headers=headers) as resp:
        body = await resp.json(content_type=None)
    return None if body.get("ok") else str(body.get("error") or "not ok")


async def check_slack_app_token(settings: Settings, session: aiohttp.ClientSession) -> CheckResult:
    try:
        error = await slack_app_token_error(settings, session)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return CheckResult(
            "slack socket mode",
            False,
            f"cannot reach SLACK_API_URL {settings.slack_api_url}: {type(exc).__name__}",
        )
    if error is None:
        return CheckResult("slack socket mode", True, "SLACK_APP_TOKEN accepted")
    return CheckResult("slack socket mode", False, f"Slack said {error} for SLACK_APP_TOKEN")


def check_data_dir(settings: Settings) -> list[CheckResult]:
    """What ``easel run`` needs of ``EASEL_DATA_DIR``: a folder it can write, a database that opens.

    Blocking (file system); read-only towards the database, which it never creates or repairs.
    """
    try:
        ensure_writable_dir(settings.data_dir)
    except StorageUnusable as exc:
        return [CheckResult("data dir", False, str(exc))]
    results = [CheckResult("data dir", True, f"{settings.data_dir} is writable")]
    if settings.database:  # PostgreSQL: probed by check_postgres (async), not the data dir's file
        return results
    try:
        results.append(CheckResult("database", True, probe_database(settings.data_dir)))
    except StorageUnusable as exc:
        results.append(CheckResult("database", False, str(exc)))
    return results


async def check_postgres(settings: Settings, url: str) -> CheckResult:
    """``EASEL_DATABASE_URL``: the server answers and its schema is not newer (read-only)."""
    from services.db.postgres import probe_postgres

    try:
        return CheckResult("database", True, await probe_postgres(url, settings.data_dir))
    except StorageUnusable as exc:
        return CheckResult("database", False, str(exc))


async def check_store(settings: Settings) -> CheckResult:
    """``EASEL_STORE_URL``: reachable, bucket present, writable (a probe object written and deleted)."""
    blobs = build_blob_store(settings)
    try:
        return CheckResult("image store", True, await blobs.probe())
    except StorageError as exc:
        return CheckResult("image store", False, exc.log_detail or f"{blobs.description}: {exc}")
    finally:
        await blobs.close()


async def check_backends(settings: Settings) -> list[CheckResult]:
    """Each enabled backend's own lines; when routed, through the router so its model offers and
    per-command defaults (``EASEL_DEFAULT_MODELS``) are checked as ``easel run`` would use them."""
    if not settings.routed:
        name = settings.backend_names[0]
        return await registry.get(name).check(settings.settings_of(name), backend_context())
    if settings.backend_problems():
        return []  # reported as configuration lines
    try:
        backend = build_backend(settings)
    except SettingsError as exc:
        return [CheckResult("configuration", False, str(exc))]
    try:
        await backend.start()
        return await backend.check()
    except (BackendConfigError, EaselError) as exc:
        detail = str(exc) if isinstance(exc, BackendConfigError) else exc.log_detail or exc.user_message
        return [CheckResult("models", False, detail)]
    finally:
        await backend.close()


def check_credentials(settings: Settings) -> CheckResult:
    """``content credentials: off`` / ``on (signer …)``, or what is wrong with the pair."""
    try:
        signer = build_signer(settings)
    except SettingsError as exc:
        return CheckResult("content credentials", False, str(exc))
    if signer is None:
        return CheckResult(
            "content credentials", True, "off (set EASEL_C2PA_CERT and EASEL_C2PA_KEY to sign)"
        )
    return CheckResult("content credentials", True, f"on (signer {signer.name})")


async def collect_checks(settings: Settings) -> list[CheckResult]:
    results: list[CheckResult] = [CheckResult("configuration", True, "all variables valid")]
    for problem in settings.backend_problems():
        results.append(CheckResult("configuration", False, "missing " + problem))
    results.extend(await asyncio.to_thread(check_data_dir, settings))
    if settings.database:
        results.append(await check_postgres(settings, settings.database))
    if settings.store_location is not None:  # the default store is the data dir, checked above
        results.append(await check_store(settings))
    chat = missing_chat(settings)
    if chat is not None:  # fine for CLI use; only `easel run` needs a chat front end
        results.append(
            CheckResult("chat", True, f"no front end configured (CLI only); `easel run` needs {chat}")
        )
    results.append(check_credentials(settings))
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as session:
        results.extend(await check_backends(settings))
        if settings.discord_enabled:
            results.append(discord := await check_discord(settings, session))
            if discord.ok and settings.discord_shard_count is not None:
                results.append(await check_discord_shards(settings, session))
        if settings.slack_enabled:
            results.append(await check_slack(settings, session))
            if settings.slack_app_token is not None:
                results.append(await check_slack_app_token(settings, session))
    return results


async def run_check(settings: Settings, out: TextIO | None = None) -> int:
    """Print one line per check; exit status 0 only when everything is OK.

    2 when the data dir or database is unusable (as ``easel run`` would exit), else 1 on any FAIL.
    """
    out = out or sys.stdout
    results = await collect_checks(settings)
    for r in results:
        print(f"{'OK  ' if r.ok else 'FAIL'} {r.name}: {r.detail}", file=out)
    if any(not r.ok and r.name in _STORAGE_CHECKS for r in results):
        return 2
    return 0 if all(r.ok for r in results) else 1


_STORAGE_CHECKS = frozenset({"data dir", "database"})
