"""What the fake Discord holds and records: users, guilds, messages, interactions, REST calls."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes.discord.rules import BOT_PERMISSIONS, EPHEMERAL, LOADING, MEMBER_PERMISSIONS, MiB

if TYPE_CHECKING:
    from tests.fakes.discord.server import FakeDiscord


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class UploadedFile:
    """One ``files[n]`` part of a multipart request."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class RecordedCall:
    """One REST request as the fake received it.

    ``route`` is the path template (``POST /interactions/{id}/{token}/callback``); ``t`` is seconds since
    the related interaction was dispatched (``None`` when the call belongs to no interaction).
    """

    method: str
    path: str
    route: str
    at: float
    interaction_id: int | None
    json: Any
    files: list[UploadedFile]
    query: dict[str, str]
    status: int = 0
    response: Any = None
    t: float | None = None

    @property
    def payload(self) -> dict[str, Any]:
        return self.json if isinstance(self.json, dict) else {}


_CALL = web.RequestKey("call", RecordedCall)


@dataclass
class FakeUser:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    permissions: int = MEMBER_PERMISSIONS  # granted by their roles in every guild
    role_ids: list[int] = field(
        default_factory=list
    )  # roles of the guilds they are in (FakeDiscord.add_role)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.global_name,
            "discriminator": "0",
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }


@dataclass
class FakeGuild:
    id: int
    name: str
    channel_ids: list[int]
    premium_tier: int = 0
    role_ids: list[int] = field(default_factory=list)
    role_names: dict[int, str] = field(default_factory=dict)  # the guild's roles besides @everyone
    command_access: dict[str, set[int]] = field(default_factory=dict)  # Integrations: command → role/user ids
    bot_permissions: int = BOT_PERMISSIONS
    upload_limit_override: int | None = None  # tests: a small limit forces re-encoding and splitting
    advertised_upload_limit: int | None = None  # what interactions claim, if not the enforced limit

    @property
    def upload_limit(self) -> int:
        """Bytes a message's files may total (Discord: 10 MiB, boosted guilds 50/100 MiB)."""
        if self.upload_limit_override is not None:
            return self.upload_limit_override
        return {0: 10 * MiB, 1: 10 * MiB, 2: 50 * MiB, 3: 100 * MiB}[self.premium_tier]


@dataclass
class FakeMessage:
    id: int
    channel_id: int
    guild_id: int | None
    author: FakeUser
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    files: list[UploadedFile] = field(default_factory=list)
    flags: int = 0
    webhook_id: int | None = None
    interaction_id: int | None = None
    message_reference: dict[str, Any] | None = None
    allowed_mentions: dict[str, Any] | None = None
    pings: set[str] = field(default_factory=set)
    deleted: bool = False
    edits: int = 0
    created_by: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & LOADING)

    def custom_ids(self) -> list[str]:
        out: list[str] = []

        def walk(items: list[dict[str, Any]]) -> None:
            for item in items:
                if "custom_id" in item:
                    out.append(item["custom_id"])
                walk(item.get("components", []))

        walk(self.components)
        return out

    def buttons(self) -> list[dict[str, Any]]:
        return [c for row in self.components for c in row.get("components", []) if c.get("type") == 2]

    def to_dict(self, fake: FakeDiscord) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "author": self.author.to_dict(),
            "content": self.content,
            "timestamp": _now_iso(),
            "edited_timestamp": _now_iso() if self.edits else None,
            "tts": False,
            "mention_everyone": "@everyone" in self.pings or "@here" in self.pings,
            "mentions": [
                fake.users[int(p[5:])].to_dict()
                for p in sorted(self.pings)
                if p.startswith("user:") and int(p[5:]) in fake.users
            ],
            "mention_roles": [p[5:] for p in sorted(self.pings) if p.startswith("role:")],
            "attachments": self.attachments,
            "embeds": self.embeds,
            "components": self.components,
            "pinned": False,
            "type": 19 if self.message_reference else 0,
            "flags": self.flags,
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
            data["application_id"] = str(self.webhook_id)
        if self.message_reference:
            data["message_reference"] = self.message_reference
        return data


@dataclass
class FakeInteraction:
    """An interaction the fake dispatched, and what the bot did with it."""

    id: int
    token: str
    type: int
    payload: dict[str, Any]
    user: FakeUser
    channel_id: int
    guild_id: int | None
    dispatched_at: float
    acked_at: float | None = None
    ack_type: int | None = None
    ack_data: dict[str, Any] = field(default_factory=dict)
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    modal: dict[str, Any] | None = None
    choices: list[dict[str, Any]] | None = None
    acked: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def ack_delay(self) -> float | None:
        return None if self.acked_at is None else self.acked_at - self.dispatched_at
