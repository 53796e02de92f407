"""Form fields derived from the option declarations (commands/forms.py), and the front ends reading them."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from discord import app_commands

from bot.discord.slash import build_app_command
from bot.slack.modals import ModalContext, command_modal, read_submission
from commands import COMMANDS
from commands.forms import FieldChoice, command_form, form_field, form_values, matching_choices
from commands.help import command_overview
from commands.info import HELP, INFO_COMMANDS, QUOTA
from commands.options import ASPECT_RATIO, MASK_SOURCE, MODEL, PROMPT, SAMPLES, SCALE, SEED, STEPS, STYLE
from commands.spec import InfoCommand
from services.backends.base import BackendLimits
from services.types import Operation

ALL_OPS = frozenset(Operation)
SDXL_SIZES = ((1024, 1024), (1344, 768), (768, 1344))
STYLES = ("analog-film", "anime", "cinematic", "fantasy-art", "photographic")
SDXL = BackendLimits(
    operations=ALL_OPS,
    allowed_sizes=SDXL_SIZES,
    style_presets=STYLES,
    models=("sdxl-1", "sd-1-6"),
    upscale_factors=(2, 4),
    max_prompt_chars=1500,
)
RATIOS = BackendLimits(operations=ALL_OPS, aspect_ratios=("1:1", "16:9", "2:3"), samples=(1, 4))
BARE = BackendLimits(operations=frozenset({Operation.IMAGINE}))  # no presets, no models, one factor


def test_numbers_take_their_bounds_and_default_from_the_backend() -> None:
    samples = form_field(SAMPLES, RATIOS)
    assert samples is not None
    assert (samples.value_type, samples.min_value, samples.max_value) == ("integer", 1, 4)
    assert samples.placeholder == "default: 1" and not samples.required
    assert samples.label == "Samples (--n)" and samples.description == SAMPLES.help
    seed = form_field(SEED, SDXL)
    assert seed is not None and (seed.min_value, seed.max_value) == SDXL.seed
    assert seed.placeholder == "default: random"


def test_flag_only_and_unsupported_options_have_no_field() -> None:
    assert form_field(STEPS, SDXL) is None  # typed=False: a text flag only
    assert (
        form_field(SEED, BackendLimits(operations=ALL_OPS, unsupported_options=frozenset({"seed"}))) is None
    )
    assert form_field(STYLE, BARE) is None  # a choice without choices on this backend


def test_backend_lists_follow_the_backend_and_fixed_lists_do_not() -> None:
    style = form_field(STYLE, SDXL)
    assert style is not None and style.choices_follow_backend
    assert [c.value for c in style.choices] == list(STYLES) and style.suggestions == ()
    model = form_field(MODEL, SDXL)  # typed as text; the ids are suggestions
    assert model is not None and model.choices_follow_backend and model.value_type == "text"
    assert model.choices == () and [c.value for c in model.suggestions] == ["sdxl-1", "sd-1-6"]
    assert model.placeholder == f"e.g. {MODEL.example}"
    scale = form_field(SCALE, SDXL)  # a closed list of numbers replaces the range
    assert scale is not None and not scale.choices_follow_backend
    assert scale.choices == (FieldChoice("2", 2), FieldChoice("4", 4)) and scale.value_type == "integer"
    assert (scale.min_value, scale.max_value) == (None, None)
    mask_source = form_field(MASK_SOURCE, SDXL)
    assert mask_source is not None and [c.value for c in mask_source.choices] == ["white", "black", "alpha"]
    assert mask_source.placeholder == "default: white with a mask, else alpha"


def test_aspect_ratios_are_labelled_suggestions() -> None:
    on_ratios = form_field(ASPECT_RATIO, RATIOS)
    assert on_ratios is not None and on_ratios.choices == ()
    assert [(c.label, c.value) for c in on_ratios.suggestions] == [
        ("1:1 square", "1:1"),
        ("16:9 landscape", "16:9"),
        ("2:3 portrait", "2:3"),
    ]
    on_sizes = form_field(ASPECT_RATIO, SDXL)
    assert on_sizes is not None
    assert [c.label for c in on_sizes.suggestions] == [
        "1:1 square (1024×1024)",
        "7:4 landscape (1344×768)",
        "4:7 portrait (768×1344)",
    ]
    free = form_field(ASPECT_RATIO, BARE)  # any size: the common shapes, with the size each gives
    assert free is not None and free.suggestions[0] == FieldChoice("1:1 square (1024×1024)", "1:1")
    assert "16:9" in [c.value for c in free.suggestions] and free.placeholder == "e.g. 16:9"


def test_prompt_field() -> None:
    prompt = form_field(PROMPT, SDXL)
    assert prompt is not None and prompt.required and prompt.multiline and prompt.max_length == 1500
    outpaint_prompt = command_form(COMMANDS["outpaint"], SDXL).field("prompt")
    assert outpaint_prompt is not None and not outpaint_prompt.required


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_forms_put_required_fields_first(name: str) -> None:
    form = command_form(COMMANDS[name], SDXL)
    required = [f.required for f in form.fields]
    assert required == sorted(required, reverse=True)
    assert {f.name for f in form.fields} == {
        o.name for o in COMMANDS[name].typed_options if form_field(o, SDXL) is not None
    }
    assert form.title == name.capitalize()


def test_command_form_images_and_flag_only() -> None:
    inpaint = command_form(COMMANDS["inpaint"], SDXL)
    assert [(f.name, f.required) for f in inpaint.image_fields] == [("image", True), ("mask", False)]
    assert command_form(COMMANDS["imagine"], SDXL).image_fields == ()
    imagine = command_form(COMMANDS["imagine"], SDXL)
    assert {"--size", "--steps", "--cfg"} <= set(imagine.flag_only)
    assert "--ar" not in imagine.flag_only  # it has a field
    assert "--size" not in command_form(COMMANDS["imagine"], RATIOS).flag_only  # ratios only there


def test_matching_choices_puts_prefix_matches_first() -> None:
    style = form_field(STYLE, SDXL)
    assert style is not None
    assert [c.value for c in matching_choices(style, " AN")] == ["analog-film", "anime", "fantasy-art"]
    assert matching_choices(style, "") == style.choices
    assert matching_choices(style, "zzz") == ()


def test_form_values_leave_empty_inputs_out() -> None:
    values = form_values(
        COMMANDS["remix"],
        {"prompt": "a fox", "seed": "", "samples": "2", "strength": None, "image": ["F1"], "bogus": "x"},
    )
    assert values.text == "a fox" and values.options == {"samples": "2"} and values.files == {"image": ["F1"]}
    assert form_values(COMMANDS["remix"], {"image": [], "style": False}).files == {}


def test_overview_lists_what_the_backend_runs_then_quota_and_help() -> None:
    lines = command_overview(BARE)
    assert [line.command for line in lines] == ["imagine", "quota", "models", "history", "settings", "help"]
    assert [line.command for line in lines] == ["imagine", *(i.name for i in INFO_COMMANDS)]
    assert lines[1].command == "quota" and lines[-1].command == "help"
    assert lines[0].summary == COMMANDS["imagine"].description and not lines[0].takes_pictures
    assert (lines[1].summary, lines[-1].summary) == (QUOTA.summary, HELP.summary)
    everything = command_overview(SDXL)
    assert [line.command for line in everything] == [*COMMANDS, *(i.name for i in INFO_COMMANDS)]
    assert next(line for line in everything if line.command == "remix").takes_pictures


def test_info_commands_are_checked_like_commands() -> None:
    with pytest.raises(ValueError):
        InfoCommand(name="Quota!", description="x", summary="x")
    with pytest.raises(ValueError):
        InfoCommand(name="quota", description="x" * 101, summary="x")


# ---- both front ends read the same fields ----------------------------------------------------


def _discord_options(name: str, limits: BackendLimits) -> dict[str, dict[str, Any]]:
    async def handler(*_: Any) -> None: ...

    command = build_app_command(COMMANDS[name], limits, handler, lambda: limits)
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    return {o["name"]: o for o in command.to_dict(tree)["options"]}


def test_discord_parameters_are_the_form_fields() -> None:
    form = command_form(COMMANDS["inpaint"], SDXL)
    options = _discord_options("inpaint", SDXL)
    assert list(options) == [f.name for f in form.fields]
    for field in form.fields:
        assert options[field.name]["description"] == field.description
        assert bool(options[field.name].get("required")) == field.required
    assert options["style"]["autocomplete"] is True and "choices" not in options["style"]
    assert [c["value"] for c in options["mask_source"]["choices"]] == ["white", "black", "alpha"]
    ratios = _discord_options("imagine", SDXL)["aspect_ratio"]["choices"]
    assert ratios[1] == {"name": "7:4 landscape (1344×768)", "value": "7:4"}


def test_slack_inputs_are_the_form_fields_and_read_back() -> None:
    form = command_form(COMMANDS["remix"], SDXL)
    view = command_modal(COMMANDS["remix"], SDXL, ModalContext(command="remix", channel="C1"))
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == [f"opt:{f.name}" for f in form.fields]
    for block, field in zip(inputs, form.fields, strict=True):
        assert block["label"]["text"] == field.label and block["hint"]["text"] == field.description
        assert block["optional"] is not field.required
    elements = {b["element"]["action_id"]: b["element"] for b in inputs}
    assert elements["image"]["type"] == "file_input"
    assert elements["style"]["type"] == "static_select"
    assert (elements["samples"]["min_value"], elements["samples"]["max_value"]) == ("1", "10")
    assert elements["strength"]["is_decimal_allowed"] is True
    state = {
        "opt:prompt": {"prompt": {"type": "plain_text_input", "value": "a fox"}},
        "opt:style": {"style": {"type": "static_select", "selected_option": {"value": "anime"}}},
        "opt:seed": {"seed": {"type": "number_input", "value": None}},
        "opt:image": {"image": {"type": "file_input", "files": [{"id": "F1"}]}},
        "elsewhere": {"x": {"type": "plain_text_input", "value": "ignored"}},
    }
    submitted = read_submission(state, COMMANDS["remix"])
    assert (submitted.text, submitted.options) == ("a fox", {"style": "anime"})
    assert submitted.files == {"image": [{"id": "F1"}]}


def test_slack_leaves_out_choices_too_long_for_an_option() -> None:
    long_names = BackendLimits(operations=ALL_OPS, style_presets=("x" * 151, "anime"))
    view = command_modal(COMMANDS["imagine"], long_names, ModalContext(command="imagine", channel="C1"))
    [style] = [b["element"] for b in view["blocks"] if b.get("block_id") == "opt:style"]
    assert [o["value"] for o in style["options"]] == ["anime"]  # the long one still works as --style
