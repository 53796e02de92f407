"""The community limits (issue 10) as values: the operator's defaults and one server's overrides.

Every limit counts cost units (one per image unless a model declares more). ``0`` means
"no limit" for the server day/month budgets, concurrency and cool-down; role overrides
replace the person's daily quota for members of that role (the largest one wins).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

__all__ = ["LIMIT_NAMES", "LimitName", "Limits"]


class LimitName(StrEnum):
    """The names admins use (``/easel admin set NAME VALUE``) and refusals cite."""

    BAN = "ban"
    PAUSED = "paused"
    CHANNEL = "channel"
    COOLDOWN = "cooldown"
    CONCURRENT = "concurrent"
    PERSON_DAY = "person_day"
    SERVER_DAY = "server_day"
    SERVER_MONTH = "server_month"


SETTABLE = ("person_day", "server_day", "server_month", "concurrent", "cooldown")
LIMIT_NAMES: tuple[str, ...] = (*SETTABLE, "allow_channels", "deny_channels", "role:<role id>")


@dataclass(frozen=True, slots=True)
class Limits:
    """What applies in one server; ``allow_channels`` empty means every channel not denied."""

    person_day: int
    server_day: int = 0
    server_month: int = 0
    concurrent: int = 0
    cooldown_s: int = 0
    allow_channels: frozenset[str] = frozenset()
    deny_channels: frozenset[str] = frozenset()
    role_day: dict[str, int] = field(default_factory=dict)

    def person_limit(self, role_ids: frozenset[str]) -> int:
        """The person's daily units: the largest override among their roles, else the default."""
        overrides = [self.role_day[r] for r in role_ids if r in self.role_day]
        return max(overrides) if overrides else self.person_day

    def channel_allowed(self, channel_id: str) -> bool:
        if not channel_id:
            return True  # the CLI and DMs have no channel to restrict
        if channel_id in self.deny_channels:
            return False
        return not self.allow_channels or channel_id in self.allow_channels

    def with_override(self, name: str, value: str) -> Limits:
        """These limits with one stored override applied (unknown names are ignored: a newer easel's)."""
        if name.startswith("role:"):
            return replace(self, role_day={**self.role_day, name[5:]: int(value)})
        ids = frozenset(v for v in value.replace(",", " ").split() if v)
        number = int(value) if value.isdigit() else 0
        changes: dict[str, Limits] = {
            "allow_channels": replace(self, allow_channels=ids),
            "deny_channels": replace(self, deny_channels=ids),
            "cooldown": replace(self, cooldown_s=number),
            "person_day": replace(self, person_day=number),
            "server_day": replace(self, server_day=number),
            "server_month": replace(self, server_month=number),
            "concurrent": replace(self, concurrent=number),
        }
        return changes.get(name, self)
