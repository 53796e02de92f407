"""``/models`` and the model select through the fake Slack, with stability+openai+gemini enabled."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from services.backends.costs import units_per_image
from tests.fakes.gemini import FakeGemini
from tests.fakes.openai.server import FakeOpenAI
from tests.fakes.slack import FakeSlack
from tests.fakes.slack.harness import SlackEasel, slack_easel_for


@asynccontextmanager
async def three_services(
    slack_settings: Callable[..., Any],
    slack: FakeSlack,
    openai: FakeOpenAI,
    gemini: FakeGemini,
    **extra: Any,
) -> AsyncIterator[SlackEasel]:
    settings = slack_settings(
        backends=["stability", "openai", "gemini"],
        openai_api_key=openai.api_key,
        openai_base_url=openai.url,
        gemini_api_key=gemini.api_key,
        gemini_base_url=gemini.url,
        model_costs={"gpt-image-2": 12},
        **extra,
    )
    async with slack_easel_for(settings, slack) as easel:
        yield easel


def _texts(blocks: list[dict[str, Any]], kind: str) -> list[str]:
    if kind == "context":
        return [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    return [b["text"]["text"] for b in blocks if b["type"] == kind]


async def test_overview_then_one_command_privately(
    slack_server: FakeSlack,
    slack_settings: Callable[..., Any],
    openai_server: FakeOpenAI,
    gemini_server: FakeGemini,
) -> None:
    async with three_services(slack_settings, slack_server, openai_server, gemini_server) as easel:
        sent = await easel.user.slash_command("/models")
        assert sent.status == 200 and not sent.text  # acked at once; the listing follows
        [overview] = await slack_server.wait_for("response_url")
        assert overview.params["response_type"] == "ephemeral"
        sections = _texts(overview.params["blocks"], "section")
        imagine = next(s for s in sections if s.startswith("*/imagine*"))
        gemini_units = units_per_image("gemini", "gemini-3-pro-image")  # the plugin's own price
        assert "gpt-image-2 (12 units)" in imagine and f"gemini-3-pro-image ({gemini_units} units)" in imagine
        assert not any(s.startswith("*/inpaint*") and "gemini" in s for s in sections)

        await easel.user.slash_command("/models", "imagine")
        calls = await slack_server.wait_for("response_url", 2)
        blocks = calls[-1].params["blocks"]
        assert _texts(blocks, "header") == ["/imagine — models you can use now"]
        models = _texts(blocks, "section")
        gemini = [m for m in models if "(gemini)" in m]
        assert len(gemini) == 3 and all("SynthID" in m and "aspect ratios: 1:1" in m for m in gemini)
        assert any("(openai) · 12 units per image" in m for m in models)
        assert "— default" in models[0]


async def test_service_down_unknown_command_and_easel_models(
    slack_server: FakeSlack,
    slack_settings: Callable[..., Any],
    openai_server: FakeOpenAI,
    gemini_server: FakeGemini,
) -> None:
    async with three_services(slack_settings, slack_server, openai_server, gemini_server) as easel:
        await openai_server.close()  # the OpenAI API goes away after easel started
        await easel.user.slash_command("/easel", "models remix")
        [call] = await slack_server.wait_for("response_url")
        models = _texts(call.params["blocks"], "section")
        assert all("unavailable right now: failed its last check" in m for m in models if "(openai)" in m)
        assert not any("unavailable" in m for m in models if "(openai)" not in m)

        await easel.user.slash_command("/models")
        calls = await slack_server.wait_for("response_url", 2)
        notes = _texts(calls[-1].params["blocks"], "context")
        assert any("openai is unavailable right now" in n for n in notes)

        await easel.user.slash_command("/models", "paint")
        calls = await slack_server.wait_for("response_url", 3)
        assert "No enabled model serves `/paint`" in calls[-1].params["text"]
        assert "`/imagine`" in calls[-1].params["text"]


async def test_a_long_catalogue_stays_within_block_kit_limits(
    slack_server: FakeSlack,
    slack_settings: Callable[..., Any],
    openai_server: FakeOpenAI,
    gemini_server: FakeGemini,
) -> None:
    many = ["gpt-image-2", *(f"proxy-model-with-a-rather-long-name-{i:03d}" for i in range(120))]
    async with three_services(
        slack_settings, slack_server, openai_server, gemini_server, openai_models=many
    ) as easel:
        await easel.user.slash_command("/models", "imagine")
        await easel.user.slash_command("/models")
        calls = await slack_server.wait_for("response_url", 2)  # the fake refuses blocks Slack would
        assert all(len(c.params["blocks"]) <= 50 for c in calls)
        detail = next(c for c in calls if "/imagine" in _texts(c.params["blocks"], "header")[0])
        assert _texts(detail.params["blocks"], "context")[-1].startswith("…and ")
        await easel.user.slash_command("/imagine")  # more models than a select holds: typed instead
        [opened] = await slack_server.wait_for("views.open")
        block = next(b for b in opened.params["view"]["blocks"] if b.get("block_id") == "opt:model")
        assert block["element"]["type"] == "plain_text_input"


async def test_the_model_select_offers_only_models_that_can_run_the_command(
    slack_server: FakeSlack,
    slack_settings: Callable[..., Any],
    openai_server: FakeOpenAI,
    gemini_server: FakeGemini,
) -> None:
    async with three_services(slack_settings, slack_server, openai_server, gemini_server) as easel:
        for command in ("/imagine", "/inpaint"):
            await easel.user.slash_command(command)
        opened = await slack_server.wait_for("views.open", 2)
        offered = {}
        for call in opened:
            view = call.params["view"]
            block = next(b for b in view["blocks"] if b.get("block_id") == "opt:model")
            assert block["element"]["type"] == "static_select"
            offered[view["title"]["text"]] = [o["value"] for o in block["element"]["options"]]
        assert any(v.startswith("gemini") for v in offered["Imagine"])
        assert "gpt-image-2" in offered["Inpaint"] and not any(
            v.startswith("gemini") for v in offered["Inpaint"]
        )
