"""A fake Discord (HTTP API v10 + Gateway v10) on 127.0.0.1 for the real, unmodified discord.py.

It speaks enough of the wire protocol for ``discord.ext.commands.AutoShardedBot`` to log in, sync its
command tree, receive interactions over the gateway and answer them over REST, and it enforces the rules
a bot can break on the real service::

    async def test_ack(discord_fake: FakeDiscord) -> None:
        discord.http.Route.BASE = discord_fake.api_base        # what DISCORD_API_BASE does
        ...start a bot with token=discord_fake.token...
        interaction = await discord_fake.slash("imagine", prompt="a cat")
        call = await discord_fake.wait_for_call("POST", "/interactions/{id}/{token}/callback")
        assert call.t < 3.0

What it checks, like Discord does:

* the interaction callback arrives within ``ack_deadline_s`` (3 s) of the INTERACTION_CREATE dispatch,
  else 404 *Unknown interaction* (10062); a second callback gets 400 (40060);
* interaction webhooks (``/webhooks/{app}/{token}/...``) stop working ``token_lifetime_s`` after the
  dispatch (401, 50027) — 15 minutes on Discord, a couple of seconds in tests;
* a message whose files exceed the guild's upload limit gets 413 (40005);
* the first follow-up after a deferred response replaces the loading message and keeps the defer's
  ephemerality (so an "ephemeral" first follow-up after a public defer shows up publicly);
* channel messages need the bot's channel permissions (50013), replies need the referenced message;
* a gateway IDENTIFY asking for privileged intents the application lacks is closed with 4014.

Every REST call is recorded (:class:`RecordedCall`) with its arrival time relative to the dispatch of
the interaction it belongs to, and every message keeps the mentions it would really have pinged
(:attr:`FakeMessage.pings`), computed from ``content`` and ``allowed_mentions`` like Discord does.

The gateway answers HELLO, heartbeats (ACK), IDENTIFY (READY then one GUILD_CREATE per guild of that
shard) and RESUME, and compresses exactly as the client asks in the URL (``compress=zlib-stream``: one
zlib context per connection, each payload flushed with Z_SYNC_FLUSH; ``zstd-stream`` when the
``zstandard`` module is installed). Attachments of fake interactions and of posted messages are served
from ``/attachments/...`` on the same server.

Fixtures (in ``harness``): ``discord_fake`` (a started fake: one guild, one channel, user ``alice``),
``easel_on_discord`` (easel's real services and :class:`bot.discord.DiscordFrontend` connected to
it and to the fake Stability server; ``await easel.restart()`` simulates a process restart) and
``easel_on_discord_factory`` (the same with settings overrides, an in-process backend or a short
interaction-token lifetime). User actions: :meth:`FakeDiscord.slash`, :meth:`~FakeDiscord.click`,
:meth:`~FakeDiscord.submit_modal`, :meth:`~FakeDiscord.autocomplete`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from tests.fakes.discord.command_schema import leaf_options, nest_options, validate_command
from tests.fakes.discord.gateway import GatewaySide, _GatewayConnection
from tests.fakes.discord.members import may_run, member_permissions, member_roles
from tests.fakes.discord.records import (
    _CALL,
    FakeGuild,
    FakeInteraction,
    FakeMessage,
    FakeUser,
    RecordedCall,
    UploadedFile,
    _now_iso,
)
from tests.fakes.discord.rules import (
    _MENTION_RE,
    APPLICATION_COMMAND,
    ATTACH_FILES,
    AUTOCOMPLETE,
    AUTOCOMPLETE_RESULT,
    BOT_PERMISSIONS,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE,
    DISCORD_EPOCH_MS,
    EMBED_LINKS,
    EPHEMERAL,
    LOADING,
    MANAGE_MESSAGES,
    MEMBER_PERMISSIONS,
    MESSAGE_COMPONENT,
    MODAL,
    MODAL_SUBMIT,
    OPTION_TYPES,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    UPDATE_MESSAGE,
    VIEW_CHANNEL,
    DiscordProtocolError,
    MiB,
    component_problem,
)

__all__ = ["FakeDiscord"]


def _json(data: Any, *, status: int = 200) -> web.Response:
    """A JSON response with Discord's exact ``Content-Type`` (discord.py compares it verbatim)."""
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


class FakeDiscord(GatewaySide):
    """The fake service. Start with ``async with FakeDiscord() as fake`` or the ``discord_fake`` fixture."""

    def __init__(
        self,
        *,
        shard_count: int = 1,
        max_concurrency: int = 16,
        token_lifetime_s: float = 15 * 60,
        ack_deadline_s: float = 3.0,
        privileged_intents: int = 0,
        heartbeat_interval_ms: int = 41250,
        identify_window_s: float = 0.0,
    ) -> None:
        self.token = "fake." + secrets.token_urlsafe(24)
        self.shard_count = shard_count
        self.max_concurrency = max_concurrency
        self.token_lifetime_s = token_lifetime_s
        self.ack_deadline_s = ack_deadline_s
        self.privileged_intents = privileged_intents
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.identify_window_s = identify_window_s
        self._identified_at: dict[int, float] = {}
        self._ids = itertools.count(1)
        self.application_id = self.snowflake()
        self.bot = FakeUser(self.application_id, "easel", bot=True)
        self.users: dict[int, FakeUser] = {self.bot.id: self.bot}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, int] = {}  # channel id -> guild id
        self.nsfw_channels: set[int] = set()  # channels marked age-restricted, as the real API reports
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.messages: dict[int, FakeMessage] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self._by_token: dict[str, FakeInteraction] = {}
        self.calls: list[RecordedCall] = []
        self.violations: list[str] = []
        self.attachments: dict[int, UploadedFile] = {}
        self.downloads = 0  # attachment fetches served
        self.attachment_gate: asyncio.Event | None = None  # when set: downloads wait for it (a slow CDN)
        self.connections: list[_GatewayConnection] = []
        self.gateway_gate: asyncio.Event | None = None  # while unset: new gateway sessions get no HELLO
        self.identifies: list[dict[str, Any]] = []
        self.gateway_queries: list[dict[str, str]] = []
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.guild = self.add_guild("easel test guild")
        self.channel_id = self.guild.channel_ids[0]
        self.owner_id = self.add_user("owner").id
        self.user = self.add_user("alice")

    # ---------------------------------------------------------------- set-up

    def snowflake(self, *, shard: int | None = None) -> int:
        """A new id; with ``shard``, one whose server lives on that shard (``(id >> 22) % shard_count``)."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        if shard is not None:
            ms -= (ms - shard) % self.shard_count
        return (ms << 22) | (next(self._ids) & 0x3FFFFF)

    def add_user(self, username: str, *, permissions: int = MEMBER_PERMISSIONS) -> FakeUser:
        user = FakeUser(self.snowflake(), username, global_name=username.title(), permissions=permissions)
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str,
        *,
        premium_tier: int = 0,
        bot_permissions: int = BOT_PERMISSIONS,
        shard: int | None = None,
    ) -> FakeGuild:
        """A server with one text channel; ``shard`` picks an id Discord routes to that shard."""
        guild_id = self.snowflake(shard=shard)
        channel_id = self.snowflake()
        guild = FakeGuild(
            guild_id, name, [channel_id], premium_tier=premium_tier, bot_permissions=bot_permissions
        )
        self.guilds[guild_id] = guild
        self.channels[channel_id] = guild_id
        return guild

    def add_channel(self, guild: FakeGuild, *, nsfw: bool = False) -> int:
        """Another text channel of ``guild``; ``nsfw`` is Discord's age-restricted flag."""
        channel_id = self.snowflake()
        guild.channel_ids.append(channel_id)
        self.channels[channel_id] = guild.id
        if nsfw:
            self.nsfw_channels.add(channel_id)
        return channel_id

    def add_role(self, guild: FakeGuild, name: str, *members: FakeUser) -> int:
        """A role of ``guild`` (sent in GUILD_CREATE) given to ``members``; returns its id."""
        role_id = self.snowflake()
        guild.role_names[role_id] = name
        guild.role_ids.append(role_id)
        for member in members:
            member.role_ids.append(role_id)
        return role_id

    def permit_command(self, guild: FakeGuild, name: str, *ids: int) -> None:
        """Server Settings → Integrations: let these roles, members or @everyone (the guild id) run /name."""
        guild.command_access.setdefault(name, set()).update(ids)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """What ``DISCORD_API_BASE`` should be set to."""
        return f"{self.url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application(client_max_size=512 * MiB, middlewares=[self._record])
        r = app.router
        api = "/api/v10"
        r.add_get(f"{api}/users/@me", self._get_me)
        r.add_get(f"{api}/oauth2/applications/@me", self._get_application)
        r.add_get(f"{api}/applications/@me", self._get_application)
        r.add_get(f"{api}/gateway", self._get_gateway)
        r.add_get(f"{api}/gateway/bot", self._get_gateway_bot)
        r.add_put(f"{api}/applications/{{app}}/commands", self._put_commands)
        r.add_get(f"{api}/applications/{{app}}/commands", self._get_commands)
        r.add_put(f"{api}/applications/{{app}}/guilds/{{guild}}/commands", self._put_commands)
        r.add_get(f"{api}/applications/{{app}}/guilds/{{guild}}/commands", self._get_commands)
        r.add_post(f"{api}/interactions/{{id}}/{{token}}/callback", self._callback)
        r.add_post(f"{api}/webhooks/{{app}}/{{token}}", self._followup)
        r.add_route("*", f"{api}/webhooks/{{app}}/{{token}}/messages/{{message}}", self._webhook_message)
        r.add_post(f"{api}/channels/{{channel}}/messages", self._channel_post)
        r.add_route("*", f"{api}/channels/{{channel}}/messages/{{message}}", self._channel_message)
        r.add_get(f"{api}/channels/{{channel}}", self._get_channel)
        r.add_get("/attachments/{channel}/{id}/{filename}", self._get_attachment)
        r.add_get("/gateway", self._gateway)
        r.add_get("/gateway-proxy", self._gateway)  # a second address, for DISCORD_GATEWAY_URL tests
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def close(self) -> None:
        for conn in self.connections:
            if not conn.ws.closed:
                await conn.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---------------------------------------------------------------- waiting

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_until(self, predicate: Callable[[], Any], *, timeout_s: float = 10.0) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked after every request); return its value."""

        async def waiter() -> Any:
            async with self._changed:
                while True:
                    value = predicate()
                    if value:
                        return value
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(waiter(), timeout_s)
        except TimeoutError:
            raise AssertionError(f"fake Discord: condition not met within {timeout_s} s") from None

    async def wait_for_call(
        self,
        method: str,
        route: str,
        *,
        interaction: FakeInteraction | None = None,
        where: Callable[[RecordedCall], bool] | None = None,
        timeout_s: float = 10.0,
    ) -> RecordedCall:
        """Wait for a finished REST call matching ``METHOD`` and the route template."""

        def find() -> RecordedCall | None:
            for call in self.calls:
                if call.method != method or call.route != f"{method} {route}" or not call.status:
                    continue
                if interaction is not None and call.interaction_id != interaction.id:
                    continue
                if where is None or where(call):
                    return call
            return None

        return await self.wait_until(find, timeout_s=timeout_s)

    def calls_for(self, interaction: FakeInteraction) -> list[RecordedCall]:
        return [c for c in self.calls if c.interaction_id == interaction.id]

    def channel_messages(
        self, channel_id: int | None = None, *, include_ephemeral: bool = False
    ) -> list[FakeMessage]:
        """Messages visible in a channel, oldest first (ephemeral ones are seen by one user only)."""
        cid = channel_id or self.channel_id
        return [
            m
            for m in self.messages.values()
            if m.channel_id == cid and not m.deleted and (include_ephemeral or not m.ephemeral)
        ]

    def messages_sent(self) -> list[FakeMessage]:
        """Every message the bot created (including deleted and ephemeral ones)."""
        return [m for m in self.messages.values() if m.author.id == self.bot.id]

    # ---------------------------------------------------------------- user actions

    def add_attachment(self, data: bytes, filename: str, content_type: str | None = None) -> dict[str, Any]:
        """Store an upload as Discord's CDN would and return its attachment payload."""
        aid = self.snowflake()
        self.attachments[aid] = UploadedFile("", filename, content_type or "", data)
        payload: dict[str, Any] = {
            "id": str(aid),
            "filename": filename,
            "size": len(data),
            "url": f"{self.url}/attachments/{self.channel_id}/{aid}/{filename}",
            "proxy_url": f"{self.url}/attachments/{self.channel_id}/{aid}/{filename}",
        }
        if content_type:
            payload["content_type"] = content_type
        return payload

    def find_command(self, name: str, guild_id: int | None = None) -> dict[str, Any]:
        for scope in (guild_id or self.guild.id, None):
            for command in self.commands.get(scope, []):
                if command["name"] == name:
                    return command
        raise DiscordProtocolError(f"/{name} is not registered (synced: {self.commands!r})")

    async def slash(
        self,
        name: str,
        /,
        *path: str,
        user: FakeUser | None = None,
        guild: FakeGuild | None = None,
        channel_id: int | None = None,
        **options: Any,
    ) -> FakeInteraction:
        """Run ``/name [group] [subcommand] option:value ...`` like the Discord client would (types
        from the synced schema; the client offers no command its ``default_member_permissions`` hide).

        Attachment options take ``(bytes, filename, content_type)`` tuples or attachment payloads.
        """
        guild = guild or self.guild
        command = self.find_command(name, guild.id)
        if not may_run(command, user or self.user, guild, self.owner_id):
            raise DiscordProtocolError(f"the Discord client does not offer /{name} to this member")
        schema = {o["name"]: o for o in leaf_options(command, path)}
        given: list[dict[str, Any]] = []
        resolved: dict[str, dict[str, Any]] = {}
        for key, value in options.items():
            if value is None:
                continue
            if key not in schema:
                raise DiscordProtocolError(f"/{name} has no option {key!r} (has {sorted(schema)})")
            opt = schema[key]
            given.append(
                {"name": key, "type": opt["type"], "value": self._option_value(opt, value, resolved)}
            )
        missing = [o["name"] for o in schema.values() if o.get("required") and o["name"] not in options]
        if missing:
            raise DiscordProtocolError(f"/{name}: the Discord client requires {missing}")
        data: dict[str, Any] = {
            "id": command["id"],
            "name": name,
            "type": 1,
            "options": nest_options(command, path, given),
        }
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        if resolved:
            data["resolved"] = {"attachments": resolved}
        return await self.dispatch_interaction(
            APPLICATION_COMMAND, data, user=user, guild=guild, channel_id=channel_id
        )

    def _option_value(self, opt: dict[str, Any], value: Any, resolved: dict[str, dict[str, Any]]) -> Any:
        kind = opt["type"]
        if kind == OPTION_TYPES["attachment"]:
            if isinstance(value, tuple):
                value = self.add_attachment(*value)
            resolved[value["id"]] = value
            return value["id"]
        if opt.get("choices") and value not in [c["value"] for c in opt["choices"]]:
            raise DiscordProtocolError(f"{opt['name']}={value!r} is not one of the offered choices")
        if kind in (OPTION_TYPES["int"], OPTION_TYPES["float"]):
            low, high = opt.get("min_value"), opt.get("max_value")
            if (low is not None and value < low) or (high is not None and value > high):
                raise DiscordProtocolError(f"{opt['name']}={value} is outside [{low}, {high}]")
        if kind == OPTION_TYPES["str"]:
            if len(value) > opt.get("max_length", 6000) or len(value) < opt.get("min_length", 0):
                raise DiscordProtocolError(f"{opt['name']} has a length the client would refuse")
        return value

    async def autocomplete(
        self, name: str, focused: str, *, user: FakeUser | None = None, **options: Any
    ) -> list[dict[str, Any]]:
        """Type into an autocomplete option; returns the choices the bot offered."""
        command = self.find_command(name)
        schema = {o["name"]: o for o in command.get("options", [])}
        if not schema.get(focused, {}).get("autocomplete"):
            raise DiscordProtocolError(f"/{name} {focused} has no autocomplete")
        given = [
            {"name": k, "type": schema[k]["type"], "value": v, **({"focused": True} if k == focused else {})}
            for k, v in options.items()
        ]
        data = {"id": command["id"], "name": name, "type": 1, "options": given}
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        interaction = await self.dispatch_interaction(AUTOCOMPLETE, data, user=user)
        await self.wait_until(lambda: interaction.choices is not None)
        return interaction.choices or []

    async def click(
        self, message: FakeMessage, custom_id: str, *, user: FakeUser | None = None
    ) -> FakeInteraction:
        """Press a button of ``message``."""
        if message.deleted:
            raise DiscordProtocolError("cannot click a button of a deleted message")
        if custom_id not in message.custom_ids():
            raise DiscordProtocolError(f"message {message.id} has no component {custom_id!r}")
        data = {"custom_id": custom_id, "component_type": 2}
        return await self.dispatch_interaction(
            MESSAGE_COMPONENT,
            data,
            user=user,
            guild=self.guilds.get(message.guild_id or 0),
            channel_id=message.channel_id,
            message=message,
        )

    async def submit_modal(
        self, opened_by: FakeInteraction, values: Mapping[str, str], *, user: FakeUser | None = None
    ) -> FakeInteraction:
        """Fill in and submit the modal the bot showed in response to ``opened_by``."""
        modal = opened_by.modal
        if modal is None:
            raise DiscordProtocolError("that interaction did not open a modal")
        known: set[str] = set()

        def fill(item: dict[str, Any]) -> dict[str, Any]:
            if item.get("type") == 1:
                return {"type": 1, "components": [fill(c) for c in item.get("components", [])]}
            if item.get("type") == 18:
                return {"type": 18, "component": fill(item["component"])}
            cid = item["custom_id"]
            known.add(cid)
            return {"type": item["type"], "custom_id": cid, "value": values.get(cid, item.get("value", ""))}

        components = [fill(c) for c in modal.get("components", [])]
        unknown = set(values) - known
        if unknown:
            raise DiscordProtocolError(f"the modal has no fields {sorted(unknown)}")
        data = {"custom_id": modal["custom_id"], "components": components}
        message = None
        if opened_by.type == MESSAGE_COMPONENT and "message" in opened_by.payload:
            message = self.messages.get(int(opened_by.payload["message"]["id"]))
        return await self.dispatch_interaction(
            MODAL_SUBMIT,
            data,
            user=user or opened_by.user,
            guild=self.guilds.get(opened_by.guild_id or 0),
            channel_id=opened_by.channel_id,
            message=message,
        )

    def interaction_payload(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        user: FakeUser | None = None,
        guild: FakeGuild | None = None,
        channel_id: int | None = None,
        message: FakeMessage | None = None,
    ) -> FakeInteraction:
        """Build (without sending) the INTERACTION_CREATE payload a user action produces."""
        user = user or self.user
        guild = guild or self.guild
        channel_id = channel_id or guild.channel_ids[0]
        interaction_id = self.snowflake()
        token = "itok." + secrets.token_urlsafe(48)
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "guild_locale": "en-US",
            "channel_id": str(channel_id),
            "channel": self._channel_payload(channel_id),
            "member": {
                "user": user.to_dict(),
                "roles": member_roles(user, guild),
                "joined_at": _now_iso(),
                "deaf": False,
                "mute": False,
                "flags": 0,
                "pending": False,
                "nick": None,
                "avatar": None,
                "permissions": str(member_permissions(user, guild, self.owner_id)),
            },
            "token": token,
            "version": 1,
            "app_permissions": str(guild.bot_permissions),
            "locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": guild.advertised_upload_limit or guild.upload_limit,
        }
        if message is not None:
            payload["message"] = message.to_dict(self)
        return FakeInteraction(
            id=interaction_id,
            token=token,
            type=kind,
            payload=payload,
            user=user,
            channel_id=channel_id,
            guild_id=guild.id,
            dispatched_at=0.0,
            original_message_id=message.id if message is not None else None,
        )

    async def dispatch_interaction(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        user: FakeUser | None = None,
        guild: FakeGuild | None = None,
        channel_id: int | None = None,
        message: FakeMessage | None = None,
    ) -> FakeInteraction:
        """Send INTERACTION_CREATE on the shard that owns the guild; returns once it is on the wire."""
        interaction = self.interaction_payload(
            kind, data, user=user, guild=guild, channel_id=channel_id, message=message
        )
        await self.send_interaction(interaction)
        return interaction

    async def send_interaction(self, interaction: FakeInteraction) -> None:
        conn = self._connection_for(interaction.guild_id)
        self.interactions[interaction.id] = interaction
        self._by_token[interaction.token] = interaction
        interaction.dispatched_at = time.monotonic()
        await conn.send({"op": 0, "t": "INTERACTION_CREATE", "d": interaction.payload})

    def _connection_for(self, guild_id: int | None) -> _GatewayConnection:
        shard = ((guild_id or 0) >> 22) % self.shard_count
        for conn in reversed(self.connections):
            if conn.identified.is_set() and conn.shard == (shard, self.shard_count) and not conn.ws.closed:
                return conn
        raise DiscordProtocolError(f"no gateway session is identified for shard {shard}")

    async def wait_connected(self, shards: int | None = None, *, timeout_s: float = 10.0) -> None:
        want = shards or self.shard_count
        await self.wait_until(
            lambda: (
                len({c.shard for c in self.connections if c.identified.is_set() and not c.ws.closed}) >= want
            ),
            timeout_s=timeout_s,
        )

    # ---------------------------------------------------------------- recording

    @web.middleware
    async def _record(self, request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        if not request.path.startswith("/api/v10/"):
            return await handler(request)
        info = request.match_info
        route_path = info.route.resource.canonical if info.route.resource else request.path
        route = request.method + " " + route_path.removeprefix("/api/v10")
        route = route.replace("{app}", "{application_id}").replace("{guild}", "{guild_id}")
        arrived = time.monotonic()
        json_body, files = await self._read_body(request)
        interaction = None
        if "token" in info:
            interaction = self._by_token.get(info["token"])
        if interaction is None and "id" in info and info["id"].isdigit():
            interaction = self.interactions.get(int(info["id"]))
        call = RecordedCall(
            method=request.method,
            path=request.path.removeprefix("/api/v10"),
            route=route,
            at=arrived,
            interaction_id=interaction.id if interaction else None,
            json=json_body,
            files=files,
            query=dict(request.query),
        )
        if interaction is not None:
            call.t = call.at - interaction.dispatched_at
        self.calls.append(call)
        request[_CALL] = call
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        call.status = response.status
        if isinstance(response, web.Response) and response.body is not None and response.status != 204:
            with contextlib.suppress(ValueError, TypeError):
                call.response = json.loads(response.body)  # type: ignore[arg-type]
        await self._notify()
        return response

    async def _read_body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        """JSON, or multipart ``payload_json`` + ``files[n]`` (split in one pass: uploads are large)."""
        raw = await request.read() if request.can_read_body else b""
        if request.content_type.startswith("multipart/"):
            boundary = _boundary(request.headers["Content-Type"])
            return _split_multipart(raw, boundary.encode())
        if raw and request.content_type == "application/json":
            return json.loads(raw), []
        return None, []

    @staticmethod
    def _error(status: int, code: int, message: str) -> web.Response:
        return _json({"code": code, "message": message}, status=status)

    def _check_auth(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bot {self.token}":
            return self._error(401, 0, "401: Unauthorized")
        return None

    # ---------------------------------------------------------------- REST: bot & application

    async def _get_me(self, request: web.Request) -> web.Response:
        return self._check_auth(request) or _json({**self.bot.to_dict(), "verified": True, "flags": 0})

    async def _get_application(self, request: web.Request) -> web.Response:
        if denied := self._check_auth(request):
            return denied
        owner = self.users[self.owner_id]
        return _json(
            {
                "id": str(self.application_id),
                "name": "easel",
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": owner.to_dict(),
                "verify_key": secrets.token_hex(32),
                "flags": 0,
                "team": None,
                "summary": "",
                "interactions_endpoint_url": None,
                "bot": self.bot.to_dict(),
            }
        )

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return _json({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        if denied := self._check_auth(request):
            return denied
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": self.max_concurrency}
        return _json({"url": self.gateway_url, "shards": self.shard_count, "session_start_limit": limit})

    async def _put_commands(self, request: web.Request) -> web.Response:
        if denied := self._check_auth(request):
            return denied
        if request.match_info["app"] != str(self.application_id):
            return self._error(403, 50001, "Missing Access")
        guild = request.match_info.get("guild")
        scope = int(guild) if guild else None
        if scope is not None and scope not in self.guilds:
            return self._error(403, 50001, "Missing Access")
        body = request[_CALL].json or []
        out: list[dict[str, Any]] = []
        for command in body:
            problem = validate_command(command)
            if problem:
                return _json({"code": 50035, "message": f"Invalid Form Body: {problem}"}, status=400)
            permissions = command.get("default_member_permissions")
            stored = {
                "id": str(self.snowflake()),
                "application_id": str(self.application_id),
                "version": str(self.snowflake()),
                "type": command.get("type", 1),
                "nsfw": command.get("nsfw", False),
                **command,
                # Discord answers with the permission integer as a string, however it was sent
                "default_member_permissions": None if permissions is None else str(permissions),
            }
            if scope is not None:
                stored["guild_id"] = str(scope)
            out.append(stored)
        self.commands[scope] = out
        return _json(out)

    async def _get_commands(self, request: web.Request) -> web.Response:
        guild = request.match_info.get("guild")
        return _json(self.commands.get(int(guild) if guild else None, []))

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel"])
        if channel_id not in self.channels:
            return self._error(404, 10003, "Unknown Channel")
        return _json(self._channel_payload(channel_id))

    def _channel_payload(self, channel_id: int) -> dict[str, Any]:
        return {
            "id": str(channel_id),
            "type": 0,
            "guild_id": str(self.channels[channel_id]),
            "name": f"channel-{channel_id % 1000}",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": channel_id in self.nsfw_channels,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }

    async def _get_attachment(self, request: web.Request) -> web.StreamResponse:
        upload = self.attachments.get(int(request.match_info["id"]))
        if upload is None or upload.filename != request.match_info["filename"]:
            raise web.HTTPNotFound()
        self.downloads += 1
        if self.attachment_gate is not None:
            await self.attachment_gate.wait()
        return web.Response(body=upload.data, content_type=upload.content_type or "application/octet-stream")

    # ---------------------------------------------------------------- REST: interactions

    async def _callback(self, request: web.Request) -> web.Response:
        interaction = self.interactions.get(int(request.match_info["id"]))
        if interaction is None or interaction.token != request.match_info["token"]:
            return self._error(404, 10062, "Unknown interaction")
        call: RecordedCall = request[_CALL]
        if interaction.acked_at is not None:
            self.violations.append(f"interaction {interaction.id} acknowledged twice")
            return self._error(400, 40060, "Interaction has already been acknowledged.")
        if call.at - interaction.dispatched_at > self.ack_deadline_s:
            self.violations.append(
                f"interaction {interaction.id} acknowledged after {call.at - interaction.dispatched_at:.2f} s"
            )
            return self._error(404, 10062, "Unknown interaction")
        body = call.payload
        kind = body.get("type")
        data = body.get("data") or {}
        allowed = {
            APPLICATION_COMMAND: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL},
            MESSAGE_COMPONENT: {
                CHANNEL_MESSAGE,
                DEFERRED_CHANNEL_MESSAGE,
                DEFERRED_UPDATE,
                UPDATE_MESSAGE,
                MODAL,
            },
            MODAL_SUBMIT: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE},
            AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
        }[interaction.type]
        if kind not in allowed:
            return self._error(
                400, 50035, f"Invalid Form Body: callback type {kind} for interaction {interaction.type}"
            )
        if kind in (CHANNEL_MESSAGE, UPDATE_MESSAGE) and (
            problem := self._check_upload(interaction.guild_id, call)
        ):
            return problem
        interaction.acked_at = call.at
        interaction.ack_type = kind
        interaction.ack_data = data
        interaction.acked.set()
        resource: dict[str, Any] = {"type": kind}
        if kind == CHANNEL_MESSAGE:
            msg = self._new_message(interaction.channel_id, data, call, webhook=True, interaction=interaction)
            interaction.original_message_id = msg.id
            resource["message"] = msg.to_dict(self)
        elif kind == DEFERRED_CHANNEL_MESSAGE:
            flags = LOADING | (data.get("flags", 0) & EPHEMERAL)
            msg = self._new_message(
                interaction.channel_id, {"flags": flags}, call, webhook=True, interaction=interaction
            )
            interaction.original_message_id = msg.id
            resource["message"] = msg.to_dict(self)
        elif kind == UPDATE_MESSAGE:
            msg = self.messages[interaction.original_message_id or 0]
            self._apply_edit(msg, data, call)
            resource["message"] = msg.to_dict(self)
        elif kind == MODAL:
            if not data.get("custom_id") or not data.get("title") or not data.get("components"):
                return self._error(
                    400, 50035, "Invalid Form Body: a modal needs custom_id, title, components"
                )
            interaction.modal = data
        elif kind == AUTOCOMPLETE_RESULT:
            choices = data.get("choices", [])
            if len(choices) > 25:
                return self._error(400, 50035, "Invalid Form Body: at most 25 choices")
            interaction.choices = choices
        response = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "response_message_loading": kind == DEFERRED_CHANNEL_MESSAGE,
                "response_message_ephemeral": bool(data.get("flags", 0) & EPHEMERAL),
            },
            "resource": resource,
        }
        if interaction.original_message_id and kind in (
            CHANNEL_MESSAGE,
            DEFERRED_CHANNEL_MESSAGE,
            UPDATE_MESSAGE,
        ):
            response["interaction"]["response_message_id"] = str(interaction.original_message_id)
        if request.query.get("with_response") in ("1", "true", "True"):
            return _json(response)
        return web.Response(status=204)

    def _webhook_interaction(self, request: web.Request) -> FakeInteraction | web.Response:
        interaction = self._by_token.get(request.match_info["token"])
        if request.match_info["app"] != str(self.application_id) or interaction is None:
            return self._error(404, 10015, "Unknown Webhook")
        age = request[_CALL].at - interaction.dispatched_at
        if age > self.token_lifetime_s:
            self.violations.append(f"interaction token used {age:.1f} s after dispatch")
            return self._error(401, 50027, "Invalid Webhook Token")
        if interaction.acked_at is None:
            return self._error(404, 10015, "Unknown Webhook")
        return interaction

    async def _followup(self, request: web.Request) -> web.Response:
        interaction = self._webhook_interaction(request)
        if isinstance(interaction, web.Response):
            return interaction
        call: RecordedCall = request[_CALL]
        if problem := self._check_upload(interaction.guild_id, call):
            return problem
        original = self.messages.get(interaction.original_message_id or 0)
        if interaction.ack_type == DEFERRED_CHANNEL_MESSAGE and original is not None and original.loading:
            # Discord: the first follow-up after a deferred response replaces the loading message and keeps
            # the ephemerality chosen when deferring.
            flags = (original.flags & EPHEMERAL) | (call.payload.get("flags", 0) & ~EPHEMERAL)
            self._apply_edit(original, {**call.payload, "flags": flags}, call)
            original.flags &= ~LOADING
            return _json(original.to_dict(self))
        msg = self._new_message(
            interaction.channel_id, call.payload, call, webhook=True, interaction=interaction
        )
        interaction.followup_ids.append(msg.id)
        return _json(msg.to_dict(self))

    async def _webhook_message(self, request: web.Request) -> web.Response:
        interaction = self._webhook_interaction(request)
        if isinstance(interaction, web.Response):
            return interaction
        call: RecordedCall = request[_CALL]
        ref = request.match_info["message"]
        if ref == "@original":
            message_id = interaction.original_message_id
        else:
            message_id = int(ref) if ref.isdigit() else None
            if message_id not in (*interaction.followup_ids, interaction.original_message_id):
                message_id = None
        msg = self.messages.get(message_id or 0)
        if msg is None or msg.deleted:
            return self._error(404, 10008, "Unknown Message")
        if request.method == "GET":
            return _json(msg.to_dict(self))
        if request.method == "DELETE":
            msg.deleted = True
            return web.Response(status=204)
        if request.method != "PATCH":
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "PATCH", "DELETE"])
        if problem := self._check_upload(interaction.guild_id, call):
            return problem
        self._apply_edit(msg, call.payload, call)
        msg.flags &= ~LOADING
        return _json(msg.to_dict(self))

    # ---------------------------------------------------------------- REST: channels

    async def _channel_post(self, request: web.Request) -> web.Response:
        if denied := self._check_auth(request):
            return denied
        call: RecordedCall = request[_CALL]
        channel_id = int(request.match_info["channel"])
        guild = self.guilds.get(self.channels.get(channel_id, 0))
        if guild is None:
            return self._error(404, 10003, "Unknown Channel")
        body = call.payload
        need = VIEW_CHANNEL | SEND_MESSAGES
        if call.files:
            need |= ATTACH_FILES
        if body.get("embeds"):
            need |= EMBED_LINKS
        if body.get("message_reference"):
            need |= READ_MESSAGE_HISTORY
        if need & ~guild.bot_permissions:
            return self._error(403, 50013, "Missing Permissions")
        ref = body.get("message_reference")
        if ref:
            target = self.messages.get(int(ref.get("message_id", 0)))
            if (target is None or target.deleted or target.ephemeral) and ref.get("fail_if_not_exists", True):
                return _json(
                    {"code": 50035, "message": "Invalid Form Body: Unknown message (message_reference)"},
                    status=400,
                )
        if problem := self._check_upload(guild.id, call):
            return problem
        msg = self._new_message(channel_id, body, call, webhook=False, interaction=None)
        return _json(msg.to_dict(self))

    async def _channel_message(self, request: web.Request) -> web.Response:
        if denied := self._check_auth(request):
            return denied
        call: RecordedCall = request[_CALL]
        msg = self.messages.get(int(request.match_info["message"]))
        if (
            msg is None
            or msg.deleted
            or msg.ephemeral
            or msg.channel_id != int(request.match_info["channel"])
        ):
            return self._error(404, 10008, "Unknown Message")
        guild = self.guilds[self.channels[msg.channel_id]]
        if request.method == "GET":
            return _json(msg.to_dict(self))
        if request.method == "DELETE":
            if msg.author.id != self.bot.id and not guild.bot_permissions & MANAGE_MESSAGES:
                return self._error(403, 50013, "Missing Permissions")
            msg.deleted = True
            return web.Response(status=204)
        if request.method != "PATCH":
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "PATCH", "DELETE"])
        if msg.author.id != self.bot.id:
            return self._error(403, 50005, "Cannot edit a message authored by another user")
        if problem := self._check_upload(guild.id, call):
            return problem
        self._apply_edit(msg, call.payload, call)
        return _json(msg.to_dict(self))

    # ---------------------------------------------------------------- messages

    def _check_upload(self, guild_id: int | None, call: RecordedCall) -> web.Response | None:
        if problem := self._check_lengths(call):
            return problem
        limit = self.guilds[guild_id].upload_limit if guild_id in self.guilds else 10 * MiB
        total = sum(len(f.data) for f in call.files)
        if total > limit:
            return self._error(413, 40005, "Request entity too large")
        if len(call.files) > 10:
            return self._error(400, 50035, "Invalid Form Body: at most 10 files")
        return None

    def _check_lengths(self, call: RecordedCall) -> web.Response | None:
        """Discord's length limits: content 2,000 characters; embed title 256, description 4,096,
        6,000 in all embeds of a message (400 / 50035, and the message is not sent)."""
        payload = call.payload if isinstance(call.payload, dict) else {}
        body = payload["data"] if isinstance(payload.get("data"), dict) and "type" in payload else payload
        content = body.get("content")
        if isinstance(content, str) and len(content) > 2000:
            return self._error(400, 50035, "Invalid Form Body: content: Must be 2000 or fewer in length.")
        if problem := component_problem(body.get("components")):
            return self._error(400, 50035, f"Invalid Form Body: {problem}")
        total = 0
        for embed in body.get("embeds") or []:
            title, description = str(embed.get("title") or ""), str(embed.get("description") or "")
            if len(title) > 256 or len(description) > 4096:
                return self._error(400, 50035, "Invalid Form Body: embeds: a field is too long")
            total += len(title) + len(description)
        if total > 6000:
            return self._error(400, 50035, "Invalid Form Body: embeds: 6000 characters in all at most")
        return None

    def _new_message(
        self,
        channel_id: int,
        body: dict[str, Any],
        call: RecordedCall,
        *,
        webhook: bool,
        interaction: FakeInteraction | None,
    ) -> FakeMessage:
        msg = FakeMessage(
            id=self.snowflake(),
            channel_id=channel_id,
            guild_id=self.channels.get(channel_id),
            author=self.bot,
            flags=body.get("flags", 0) & (EPHEMERAL | LOADING | (1 << 2) | (1 << 12)),
            webhook_id=self.application_id if webhook else None,
            interaction_id=interaction.id if interaction else None,
            message_reference=None,
            created_by=call.route,
        )
        ref = body.get("message_reference")
        if ref:
            msg.message_reference = {
                "type": 0,
                "message_id": str(ref["message_id"]),
                "channel_id": str(ref.get("channel_id") or channel_id),
                "guild_id": str(msg.guild_id),
            }
        self.messages[msg.id] = msg
        self._apply_edit(msg, body, call, created=True)
        return msg

    def _apply_edit(
        self, msg: FakeMessage, body: dict[str, Any], call: RecordedCall, *, created: bool = False
    ) -> None:
        if not created:
            msg.edits += 1
        if "content" in body:
            msg.content = body["content"] or ""
        if "embeds" in body:
            msg.embeds = body["embeds"] or []
        if "components" in body:
            msg.components = body["components"] or []
        if "flags" in body and not created:
            msg.flags = (msg.flags & (EPHEMERAL | LOADING)) | (body["flags"] & ~(EPHEMERAL | LOADING))
        if "allowed_mentions" in body or created:
            msg.allowed_mentions = body.get("allowed_mentions")
        by_index = {f.field: f for f in call.files}
        if "attachments" in body or call.files:
            keep: list[dict[str, Any]] = []
            kept_files: list[UploadedFile] = []
            old = {a["id"]: (a, f) for a, f in zip(msg.attachments, msg.files, strict=True)}
            specs = body.get("attachments")
            if specs is None:
                specs = [{"id": i} for i in range(len(call.files))]
                keep = list(msg.attachments)
                kept_files = list(msg.files)
            for spec in specs:
                sid = str(spec.get("id"))
                if sid in old:
                    keep.append(old[sid][0])
                    kept_files.append(old[sid][1])
                    continue
                upload = by_index.get(f"files[{sid}]")
                if upload is None:
                    continue
                aid = self.snowflake()
                self.attachments[aid] = upload
                keep.append(
                    {
                        "id": str(aid),
                        "filename": upload.filename,
                        "size": len(upload.data),
                        "url": f"{self.url}/attachments/{msg.channel_id}/{aid}/{upload.filename}",
                        "proxy_url": f"{self.url}/attachments/{msg.channel_id}/{aid}/{upload.filename}",
                        "content_type": upload.content_type,
                    }
                )
                kept_files.append(upload)
            msg.attachments, msg.files = keep, kept_files
        msg.pings |= self._pings(msg, body)
        msg.history.append(
            {"route": call.route, "content": msg.content, "embeds": msg.embeds, "files": len(msg.files)}
        )

    def _pings(self, msg: FakeMessage, body: dict[str, Any]) -> set[str]:
        """Who this content mentions, as Discord would resolve it with these ``allowed_mentions``.

        Edits count too (stricter than Discord, which notifies only on creation): a bot that leaves
        ``allowed_mentions`` out of an edit is one refactor away from pinging.
        """
        content = body.get("content") or ""
        allowed = body.get("allowed_mentions")
        parse = {"users", "roles", "everyone"} if allowed is None else set(allowed.get("parse", []))
        users = {str(u) for u in (allowed or {}).get("users", [])}
        roles = {str(r) for r in (allowed or {}).get("roles", [])}
        out: set[str] = set()
        for user_id, role_id, everyone in _MENTION_RE.findall(content):
            if user_id and ("users" in parse or user_id in users):
                out.add(f"user:{user_id}")
            elif role_id and ("roles" in parse or role_id in roles):
                out.add(f"role:{role_id}")
            elif everyone and "everyone" in parse:
                out.add(f"@{everyone}")
        ref = body.get("message_reference")
        if ref and (allowed is None or allowed.get("replied_user", True)):
            target = self.messages.get(int(ref.get("message_id", 0)))
            if target is not None and target.author.id != self.bot.id:
                out.add(f"user:{target.author.id}")
        return out


_DISPOSITION_RE = re.compile(rb'(\w+)="([^"]*)"')


def _boundary(content_type: str) -> str:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise web.HTTPBadRequest(text="multipart without boundary")
    return match.group(1)


def _split_multipart(body: bytes, boundary: bytes) -> tuple[Any, list[UploadedFile]]:
    payload: Any = None
    files: list[UploadedFile] = []
    for chunk in body.split(b"--" + boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        headers = {}
        for line in head.split(b"\r\n"):
            key, _, value = line.partition(b":")
            headers[key.strip().lower()] = value.strip()
        params = {
            k.decode(): v.decode()
            for k, v in _DISPOSITION_RE.findall(headers.get(b"content-disposition", b""))
        }
        if params.get("name") == "payload_json":
            payload = json.loads(data)
        else:
            files.append(
                UploadedFile(
                    params.get("name", ""),
                    params.get("filename", ""),
                    headers.get(b"content-type", b"").decode(),
                    data,
                )
            )
    return payload, files
