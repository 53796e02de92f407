"""/settings defaults: stored per person, applied by the one building rule, always beaten by the call."""

from __future__ import annotations

from pathlib import Path

import pytest

from commands import COMMANDS, Invocation, OptionError
from services.db import Database
from services.types import Requester
from services.user_settings import UserSettingsBook
from tests.helpers.limits import SDXL

ALICE = Requester("discord", "1")


async def test_defaults_are_stored_merged_and_reset(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "data")
    try:
        book = UserSettingsBook(db)
        assert await book.get(ALICE) == {}
        await book.update(ALICE, {"aspect_ratio": "16:9"})
        await book.update(ALICE, {"samples": 3, "style": "anime"})
        assert await book.get(ALICE) == {"aspect_ratio": "16:9", "samples": 3, "style": "anime"}
        assert await book.get(Requester("slack", "1")) == {}
        with pytest.raises(ValueError):
            await book.update(ALICE, {"seed": 7})
        assert await book.reset(ALICE) and await book.get(ALICE) == {}
        assert not await book.reset(ALICE)
    finally:
        await db.close()


async def test_defaults_apply_only_where_the_command_says_nothing() -> None:
    imagine = COMMANDS["imagine"]
    defaults = {"aspect_ratio": "16:9", "samples": 3, "style": "anime"}
    request = await imagine.build(Invocation(text="a fox", defaults=defaults), SDXL)
    assert (request.aspect_ratio, request.samples, request.style_preset) == ("16:9", 3, "anime")
    typed = await imagine.build(
        Invocation(text="a fox --ar 1:1 --style photographic", options={"samples": 1}, defaults=defaults),
        SDXL,
    )
    assert (typed.aspect_ratio, typed.samples, typed.style_preset) == ("1:1", 1, "photographic")
    sized = await imagine.build(Invocation(text="a fox --size 1024x1024", defaults=defaults), SDXL)
    assert (sized.width, sized.height, sized.aspect_ratio) == (1024, 1024, None)


async def test_a_default_the_backend_does_not_offer_is_refused_clearly() -> None:
    with pytest.raises(OptionError) as refused:
        await COMMANDS["imagine"].build(Invocation(text="a fox", defaults={"style": "no-such-style"}), SDXL)
    assert "style" in refused.value.user_message.lower()
