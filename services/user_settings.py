"""Personal defaults (``/settings``): aspect ratio, style, number of images, model, per person.

This module owns the ``user_settings`` table (migration 4). Values are stored as given and
validated when a command uses them (``commands.building.with_defaults``), so a default the
backend no longer offers is refused with the same message as the option typed by hand::

    book = UserSettingsBook(db)
    await book.update(requester, {"aspect_ratio": "16:9", "samples": 2})
    defaults = await book.get(requester)       # {"aspect_ratio": "16:9", "samples": 2}
    await book.update(requester, {"style": None})  # forget one
    await book.reset(requester)                      # forget all
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping

from services.db import Database
from services.types import Requester

__all__ = ["SETTABLE", "UserSettingsBook"]

SETTABLE = ("aspect_ratio", "style", "samples", "model")


class UserSettingsBook:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    async def get(self, requester: Requester) -> dict[str, object]:
        row = await self.db.fetchone(
            "SELECT settings_json FROM user_settings WHERE requester_key = ?", (requester.key,)
        )
        if row is None:
            return {}
        stored = json.loads(row["settings_json"])
        return {k: v for k, v in stored.items() if k in SETTABLE} if isinstance(stored, dict) else {}

    async def update(self, requester: Requester, changes: Mapping[str, object | None]) -> dict[str, object]:
        """Merge ``changes`` (only :data:`SETTABLE` names) into the person's defaults; returns them.

        A change to None forgets that default (the command's own default applies again).
        """
        unknown = set(changes) - set(SETTABLE)
        if unknown:
            raise ValueError(f"not a personal setting: {sorted(unknown)}")
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT settings_json FROM user_settings WHERE requester_key = ?", (requester.key,)
            )
            merged = {**(json.loads(row["settings_json"]) if row else {}), **changes}
            merged = {k: v for k, v in merged.items() if v is not None}
            await tx.execute(
                "INSERT INTO user_settings (requester_key, settings_json, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (requester_key) DO UPDATE SET settings_json = excluded.settings_json,"
                " updated_at = excluded.updated_at",
                (requester.key, json.dumps(merged, sort_keys=True), self._clock()),
            )
        return {k: v for k, v in merged.items() if k in SETTABLE}

    async def reset(self, requester: Requester) -> bool:
        """Forget every default of the person; False when there were none."""
        return (
            await self.db.execute("DELETE FROM user_settings WHERE requester_key = ?", (requester.key,)) > 0
        )
