"""The gateway side of the fake Discord: one websocket session per shard, HELLO, heartbeats,
IDENTIFY (READY + GUILD_CREATE), RESUME, and zlib-stream / zstd-stream compression.

Sharding as Discord does it: IDENTIFY's ``shard`` must be ``[id, count]`` with ``0 <= id < count``
and ``count`` the shard count ``GET /gateway/bot`` gave (else close 4010); each shard's READY and
GUILD_CREATEs carry only the servers ``(guild_id >> 22) % count`` routes to it, and so do
INTERACTION_CREATEs (DMs: shard 0). With ``identify_window_s`` (Discord: 5 s) a second IDENTIFY in
the same bucket ``shard_id % max_concurrency`` within the window is answered with op 9 (invalid
session) and recorded in ``violations``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import zlib
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tests.fakes.discord.records import FakeGuild, FakeUser, _now_iso
from tests.fakes.discord.rules import MEMBER_PERMISSIONS, PRIVILEGED_INTENTS


class _GatewayConnection:
    """One websocket session: sequence numbers, compression context, shard."""

    def __init__(self, ws: web.WebSocketResponse, compress: str | None) -> None:
        self.ws = ws
        self.seq = 0
        self.shard: tuple[int, int] = (0, 1)
        self.session_id = secrets.token_hex(16)
        self.identified = asyncio.Event()
        self.heartbeats = 0
        self._lock = asyncio.Lock()
        self._zlib = zlib.compressobj() if compress == "zlib-stream" else None
        self._zstd: Any = None
        if compress == "zstd-stream":
            import zstandard  # the client only asks for zstd when it has it

            self._zstd = zstandard.ZstdCompressor().compressobj()
        self.compress = compress

    async def send(self, payload: dict[str, Any]) -> None:
        async with self._lock:
            if payload.get("op") == 0:
                self.seq += 1
                payload = {**payload, "s": self.seq}
            raw = json.dumps(payload).encode()
            if self._zlib is not None:
                await self.ws.send_bytes(self._zlib.compress(raw) + self._zlib.flush(zlib.Z_SYNC_FLUSH))
            elif self._zstd is not None:
                import zstandard

                chunk = self._zstd.compress(raw) + self._zstd.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
                await self.ws.send_bytes(chunk)
            else:
                await self.ws.send_str(raw.decode())


class GatewaySide:
    """The websocket half of :class:`~tests.fakes.discord.server.FakeDiscord` (mixed into it).

    It reads the fake's state (token, shards, guilds, users) and records connections and IDENTIFYs.
    """

    token: str
    shard_count: int
    max_concurrency: int
    identify_window_s: float
    _identified_at: dict[int, float]
    violations: list[str]
    privileged_intents: int
    heartbeat_interval_ms: int
    application_id: int
    owner_id: int
    bot: FakeUser
    users: dict[int, FakeUser]
    guilds: dict[int, FakeGuild]
    connections: list[_GatewayConnection]
    gateway_gate: asyncio.Event | None
    identifies: list[dict[str, Any]]
    gateway_queries: list[dict[str, str]]

    if TYPE_CHECKING:  # provided by FakeDiscord

        @property
        def gateway_url(self) -> str: ...

        async def _notify(self) -> None: ...

        def _channel_payload(self, channel_id: int) -> dict[str, Any]: ...

        def _connection_for(self, guild_id: int | None) -> _GatewayConnection: ...

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        query = dict(request.query)
        self.gateway_queries.append({**query, "path": request.path})
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        if query.get("v") != "10" or query.get("encoding") != "json":
            await ws.close(code=4012, message=b"Invalid API version")
            return ws
        compress = query.get("compress")
        if compress not in (None, "zlib-stream", "zstd-stream"):
            await ws.close(code=4000, message=b"Unknown compression")
            return ws
        if self.gateway_gate is not None:  # Discord unreachable for a while: no HELLO yet
            await self.gateway_gate.wait()
        conn = _GatewayConnection(ws, compress)
        self.connections.append(conn)
        await conn.send(
            {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None, "t": None}
        )
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                continue
            await self._gateway_op(conn, json.loads(message.data))
        await self._notify()
        return ws

    async def _gateway_op(self, conn: _GatewayConnection, msg: dict[str, Any]) -> None:
        op, data = msg.get("op"), msg.get("d") or {}
        if op == 1:
            conn.heartbeats += 1
            await conn.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            self.identifies.append(data)
            if data.get("token") != self.token:
                await conn.ws.close(code=4004, message=b"Authentication failed.")
                return
            intents = int(data.get("intents", 0))
            if intents & PRIVILEGED_INTENTS & ~self.privileged_intents:
                await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
                return
            shard = data.get("shard") or [0, 1]
            if not _valid_shard(shard, self.shard_count):
                await conn.ws.close(code=4010, message=b"Invalid shard.")
                return
            if not self._identify_allowed(int(shard[0])):
                await conn.send({"op": 9, "d": False, "s": None, "t": None})
                return
            conn.shard = (int(shard[0]), int(shard[1]))
            await self._send_ready(conn)
        elif op == 6:
            resumed = [
                c for c in self.connections if c.session_id == data.get("session_id") and c is not conn
            ]
            if data.get("token") != self.token or not resumed:
                await conn.send({"op": 9, "d": False, "s": None, "t": None})
                return
            conn.shard, conn.session_id, conn.seq = resumed[0].shard, resumed[0].session_id, resumed[0].seq
            await conn.send({"op": 0, "t": "RESUMED", "d": {}})
            conn.identified.set()
        await self._notify()

    def _identify_allowed(self, shard_id: int) -> bool:
        """Discord's identify rate limit: one per bucket ``shard_id % max_concurrency`` per window."""
        if not self.identify_window_s:
            return True
        bucket = shard_id % self.max_concurrency
        now = time.monotonic()
        last = self._identified_at.get(bucket)
        if last is not None and now - last < self.identify_window_s:
            self.violations.append(
                f"IDENTIFY of shard {shard_id} {now - last:.2f} s after another one in bucket {bucket}"
            )
            return False
        self._identified_at[bucket] = now
        return True

    async def drop_shard(self, shard_id: int) -> None:
        """Close the shard's session the way Discord does on a server restart (4000: resumable)."""
        for conn in self.connections:
            if conn.shard == (shard_id, self.shard_count) and not conn.ws.closed:
                await conn.ws.close(code=4000, message=b"Unknown error.")

    async def announce_guild(self, guild: FakeGuild) -> None:
        """The bot joins ``guild`` while connected: GUILD_CREATE on the shard that owns it."""
        conn = self._connection_for(guild.id)
        await conn.send({"op": 0, "t": "GUILD_CREATE", "d": self._guild_payload(guild)})

    def _guilds_of(self, shard: tuple[int, int]) -> list[FakeGuild]:
        return [g for g in self.guilds.values() if (g.id >> 22) % shard[1] == shard[0]]

    async def _send_ready(self, conn: _GatewayConnection) -> None:
        guilds = self._guilds_of(conn.shard)
        ready = {
            "v": 10,
            "user": {**self.bot.to_dict(), "verified": True, "flags": 0},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": conn.session_id,
            "resume_gateway_url": self.gateway_url,
            "shard": list(conn.shard),
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
        }
        await conn.send({"op": 0, "t": "READY", "d": ready})
        conn.identified.set()
        for guild in guilds:
            await conn.send({"op": 0, "t": "GUILD_CREATE", "d": self._guild_payload(guild)})

    def _guild_payload(self, guild: FakeGuild) -> dict[str, Any]:
        everyone = {
            "id": str(guild.id),
            "name": "@everyone",
            "permissions": str(MEMBER_PERMISSIONS),
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "owner_id": str(self.owner_id),
            "roles": [everyone, *(_role(role_id, name) for role_id, name in guild.role_names.items())],
            "channels": [self._channel_payload(c) for c in guild.channel_ids],
            "members": [
                {
                    "user": self.bot.to_dict(),
                    "roles": [],
                    "joined_at": _now_iso(),
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                }
            ],
            "member_count": len(self.users),
            "emojis": [],
            "stickers": [],
            "features": [],
            "premium_tier": guild.premium_tier,
            "unavailable": False,
            "large": False,
            "joined_at": _now_iso(),
            "presences": [],
            "voice_states": [],
            "threads": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "mfa_level": 0,
            "verification_level": 0,
            "explicit_content_filter": 0,
            "default_message_notifications": 0,
            "system_channel_flags": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
        }


def _valid_shard(shard: object, shard_count: int) -> bool:
    """``[id, count]``: two integers, ``count`` the bot's shard count and ``0 <= id < count``."""
    if not isinstance(shard, list) or len(shard) != 2:
        return False
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in shard):
        return False
    return bool(shard[1] == shard_count and 0 <= shard[0] < shard[1])


def _role(role_id: int, name: str) -> dict[str, Any]:
    """A role as GUILD_CREATE lists it (no permissions of its own: FakeUser.permissions holds them)."""
    return {
        "id": str(role_id),
        "name": name,
        "permissions": "0",
        "position": 1,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }
