"""``/models`` and the model picker through the fake Discord, with stability+openai+gemini enabled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.backends.costs import units_per_image
from tests.fakes.discord import EaselOnDiscord
from tests.fakes.discord.records import FakeInteraction, FakeMessage
from tests.fakes.gemini import FakeGemini
from tests.fakes.openai.server import FakeOpenAI


def three_services(openai: FakeOpenAI, gemini: FakeGemini, **extra: Any) -> dict[str, Any]:
    return {
        "backends": ["stability", "openai", "gemini"],
        "openai_api_key": openai.api_key,
        "openai_base_url": openai.url,
        "gemini_api_key": gemini.api_key,
        "gemini_base_url": gemini.url,
        "model_costs": {"gpt-image-2": 12},
        **extra,
    }


async def embed_reply(easel: EaselOnDiscord, interaction: FakeInteraction) -> dict[str, Any]:
    """The private embed that replaced the "thinking…" message of ``interaction``."""

    def find() -> FakeMessage | None:
        for msg in easel.fake.messages.values():
            if msg.interaction_id == interaction.id and msg.embeds and not msg.loading:
                return msg
        return None

    message: FakeMessage = await easel.fake.wait_until(find)
    assert message.ephemeral
    embed: dict[str, Any] = message.embeds[0]
    return embed


async def test_overview_and_detail_list_every_service_privately(
    easel_on_discord_factory: Callable[..., Any], openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    easel: EaselOnDiscord = await easel_on_discord_factory(**three_services(openai_server, gemini_server))
    overview = await embed_reply(easel, await easel.fake.slash("models"))
    imagine = next(line for line in overview["description"].splitlines() if line.startswith("**/imagine**"))
    gemini_units = units_per_image("gemini", "gemini-3-pro-image")  # the plugin's own price
    assert "gpt-image-2 (12 units)" in imagine and f"gemini-3-pro-image ({gemini_units} units)" in imagine
    assert "(1 unit, default)" in imagine
    assert "unavailable" not in overview["description"]

    detail = await embed_reply(easel, await easel.fake.slash("models", command="imagine"))
    assert detail["title"].startswith("/imagine")
    lines = detail["description"].splitlines()
    gemini = [line for line in lines if "(gemini)" in line]
    assert len(gemini) == 3 and all("SynthID" in line for line in gemini)
    assert all("aspect ratios: 1:1" in line and "images: 1–4" in line for line in gemini)
    assert not any("SynthID" in line for line in lines if "(gemini)" not in line)
    assert any("(openai) · 12 units per image" in line for line in lines)
    assert "— default" in lines[0]
    assert easel.fake.violations == []


async def test_a_service_down_is_marked_unavailable(
    easel_on_discord_factory: Callable[..., Any], openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    easel: EaselOnDiscord = await easel_on_discord_factory(**three_services(openai_server, gemini_server))
    await gemini_server.close()  # the Gemini API stops answering after easel started
    overview = await embed_reply(easel, await easel.fake.slash("models"))
    assert "gemini is unavailable right now: failed its last check" in overview["description"]
    detail = await embed_reply(easel, await easel.fake.slash("models", command="remix"))
    lines = detail["description"].splitlines()
    assert all("unavailable right now" in line for line in lines if "(gemini)" in line)
    assert not any("unavailable" in line for line in lines if "(gemini)" not in line)


async def test_a_long_catalogue_still_fits_one_embed(
    easel_on_discord_factory: Callable[..., Any], openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    many = ["gpt-image-2", *(f"my_proxy_model_with_a_long_name_{i:03d}" for i in range(150))]
    settings = three_services(openai_server, gemini_server, openai_models=many)
    easel: EaselOnDiscord = await easel_on_discord_factory(**settings)
    detail = await embed_reply(easel, await easel.fake.slash("models", command="imagine"))
    assert len(detail["description"]) <= 4096
    assert detail["description"].splitlines()[-1].startswith("…and ")
    assert "my\\_proxy\\_model" in detail["description"]  # operators' names are text, never markdown
    overview = await embed_reply(easel, await easel.fake.slash("models"))
    assert len(overview["description"]) <= 4096
    assert easel.fake.violations == []


async def test_model_autocomplete_offers_only_models_that_can_run_the_command(
    easel_on_discord_factory: Callable[..., Any], openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    easel: EaselOnDiscord = await easel_on_discord_factory(**three_services(openai_server, gemini_server))
    imagine = [c["value"] for c in await easel.fake.autocomplete("imagine", "model", prompt="x", model="gem")]
    assert imagine == ["gemini-3.1-flash-image", "gemini-3-pro-image", "gemini-3.1-flash-lite-image"]
    inpaint = [c["value"] for c in await easel.fake.autocomplete("inpaint", "model", prompt="x", model="")]
    assert "gpt-image-2" in inpaint and not any(v.startswith("gemini") for v in inpaint)


async def test_the_operators_per_command_default_is_the_one_shown(
    easel_on_discord_factory: Callable[..., Any], openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    settings = three_services(openai_server, gemini_server, default_models={"imagine": "gemini-3-pro-image"})
    easel: EaselOnDiscord = await easel_on_discord_factory(**settings)
    detail = await embed_reply(easel, await easel.fake.slash("models", command="imagine"))
    assert detail["description"].splitlines()[0].startswith("• **gemini-3-pro-image** (gemini) — default")
    assert detail["footer"]["text"].startswith("Default: gemini-3-pro-image")
    remix = await embed_reply(easel, await easel.fake.slash("models", command="remix"))
    assert "(stability) — default" in remix["description"].splitlines()[0]  # the others keep theirs
