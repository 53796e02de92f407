"""/upscale's prompt: offered, sent and required exactly where a guided mode can be chosen (issue 11, item 1)."""

from __future__ import annotations

import pytest

from commands import COMMANDS, Invocation
from commands.forms import command_form
from commands.upscale import build
from services.backends.base import BackendLimits
from services.backends.stability.models import limits_for_model
from services.errors import InvalidRequest
from tests.helpers.images import png
from tests.helpers.limits import FREE, SDXL

CORE = limits_for_model("core")


def test_the_form_offers_a_prompt_where_a_guided_mode_can_be_chosen() -> None:
    form = command_form(COMMANDS["upscale"], CORE)
    prompt, mode = form.field("prompt"), form.field("upscale_mode")
    assert prompt is not None and not prompt.required and prompt.multiline
    assert mode is not None and {"conservative", "creative"} <= {c.value for c in mode.offered}
    assert "conservative" in prompt.description


@pytest.mark.parametrize("limits", [FREE, SDXL], ids=["gpu-host", "stability-v1"])
def test_no_prompt_field_where_no_mode_takes_one(limits: BackendLimits) -> None:
    form = command_form(COMMANDS["upscale"], limits)
    assert form.field("prompt") is None and form.field("upscale_mode") is None


@pytest.mark.parametrize("mode", ["conservative", "creative"])
async def test_guided_modes_carry_the_text_typed_or_given_in_the_field(mode: str) -> None:
    typed = await build(Invocation(text=f"crisp details --mode {mode}", images={"image": png()}), CORE)
    assert [p.text for p in typed.prompts] == ["crisp details"]
    field = await build(
        Invocation(options={"prompt": "crisp details", "upscale_mode": mode}, images={"image": png()}), CORE
    )
    assert [p.text for p in field.prompts] == ["crisp details"]


async def test_a_guided_mode_without_a_prompt_gets_a_clear_message() -> None:
    with pytest.raises(InvalidRequest) as info:
        await build(Invocation(text="--mode conservative", images={"image": png()}), CORE)
    assert str(info.value) == (
        '--mode conservative needs a prompt saying what the picture shows, e.g. "crisp details, sharp focus '
        '--mode conservative"; or use --mode fast, which takes none.'
    )


async def test_the_fast_mode_and_backends_without_modes_send_no_prompt() -> None:
    fast = await build(Invocation(text="bigger please --mode fast", images={"image": png()}), CORE)
    plain = await build(Invocation(text="bigger please", images={"image": png()}), FREE)
    assert fast.prompts == () and plain.prompts == ()
