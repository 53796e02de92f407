"""The text-flag grammar, option declarations and help texts (no I/O, no images)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import replace

import pytest

from commands import (
    COMMANDS,
    KNOWN_OPTIONS,
    CommandSpec,
    Invocation,
    OptionError,
    OptionSpec,
    available_commands,
    get_command,
    parse_prompt,
)
from commands.flags import resolve
from commands.help import FLAG_HELP, command_help, flags_table_markdown
from commands.options import (
    ALL_OPTIONS,
    HELP_MAX_CHARS,
    SAMPLES,
    SEED,
    STYLE,
    OptionCatalogue,
    option_for_flag,
)
from commands.sizes import size_for_ratio
from services.backends.base import BackendLimits
from services.errors import InvalidRequest, UnsupportedOption
from services.types import GenerationRequest, Operation, WeightedPrompt
from tests.helpers.limits import ALL_OPS, FREE, SDXL, STYLES


def parse(text: str, command: str = "imagine", limits: BackendLimits = SDXL):
    return parse_prompt(text, command, limits)


def error(text: str, command: str = "imagine", limits: BackendLimits = SDXL) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as info:
        parse_prompt(text, command, limits)
    return info.value


# ---- prompts and weights ---------------------------------------------------------------------


def test_plain_prompt_becomes_one_part_of_weight_one() -> None:
    parsed = parse("a lighthouse at dusk, oil painting")
    assert parsed.text == "a lighthouse at dusk, oil painting"
    assert parsed.prompts == (WeightedPrompt("a lighthouse at dusk, oil painting", 1.0),)
    assert parsed.values == {}


def test_weighted_prompt_parts_including_negative_weight() -> None:
    parsed = parse("a castle::2 fog::-0.5 at dusk")
    assert parsed.prompts == (
        WeightedPrompt("a castle", 2.0),
        WeightedPrompt("fog", -0.5),
        WeightedPrompt("at dusk", 1.0),
    )
    assert parsed.positive_prompt == "a castle, at dusk"
    assert parsed.negative_prompt == "fog"


def test_weight_marker_without_number_splits_with_weight_one() -> None:
    assert parse("hot:: dog::1.5").prompts == (WeightedPrompt("hot", 1.0), WeightedPrompt("dog", 1.5))


def test_weight_without_text_before_it_is_refused() -> None:
    assert "::2 needs some text before it" in str(error("::2 a castle"))


def test_weight_out_of_range_is_refused() -> None:
    message = str(error("a castle::50"))
    assert "between -10 and 10" in message and "a castle" in message


def test_only_negative_parts_is_not_a_prompt() -> None:
    message = str(error("fog::-1"))
    assert message.startswith("Please describe the image you want.")


def test_negative_weights_refused_where_backend_cannot_use_them() -> None:
    with pytest.raises(UnsupportedOption) as info:
        parse("a castle fog::-0.5", limits=FREE)
    assert "negative weights" in str(info.value)
    # --no is a plain negative prompt, which such backends still take.
    assert parse("a castle --no fog", limits=FREE).negative_prompt == "fog"


def test_no_is_multiword_and_repeatable() -> None:
    parsed = parse("a red fox --no blurry, low quality text --seed 3 --no watermark")
    assert parsed.text == "a red fox"
    assert parsed.values["negative"] == ("blurry, low quality text", "watermark")
    assert parsed.prompts[1:] == (
        WeightedPrompt("blurry, low quality text", -1.0),
        WeightedPrompt("watermark", -1.0),
    )
    assert parsed.values["seed"] == 3


@pytest.mark.parametrize("spelling", ["--neg", "--negative", "--NO", "—no", "–no"])
def test_no_aliases_and_dashes(spelling: str) -> None:
    assert parse(f"a fox {spelling} rain").negative_prompt == "rain"


def test_no_without_text_names_the_flag() -> None:
    assert str(error("a fox --no")) == "--no needs a value, e.g. --no blurry text."


def test_no_text_longer_than_limit() -> None:
    message = str(error("a fox --no " + "x" * 2001))
    assert "2001 characters" in message and "2000" in message and "--no" in message


def test_prompt_empty_after_flags() -> None:
    assert str(error("  --ar 16:9 --seed 4 ")) == "Please describe the image you want."
    assert str(error("")) == "Please describe the image you want."


def test_prompt_too_long_gives_the_count() -> None:
    message = str(error("y" * 2345 + " --ar 1:1"))
    assert message == "Your prompt is 2345 characters long; the limit is 2000. Please shorten it."


def test_prompt_at_the_limit_is_fine() -> None:
    assert len(parse("z" * 2000).text) == 2000


def test_control_characters_stripped_and_whitespace_collapsed() -> None:
    parsed = parse("a\x00 cat\n\n\tin   the\x1b snow\r\n")
    assert parsed.text == "a cat in the snow"


def test_mentions_are_left_for_front_ends_to_escape() -> None:
    assert parse("@everyone look <@123> a cat").text == "@everyone look <@123> a cat"


def test_emoji_sequences_survive_cleaning() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert parse(f"a {family} picnic").text == f"a {family} picnic"


# ---- flag syntax ----------------------------------------------------------------------------


def test_every_imagine_flag_happy_path() -> None:
    parsed = parse(
        "a fox --ar 3:2 --n 3 --seed 42 --steps 40 --cfg 9.5 --style anime --sampler K_DPMPP_2M "
        "--model stable-diffusion-v1-6 --no blur"
    )
    assert parsed.text == "a fox"
    assert parsed.values == {
        "aspect_ratio": "3:2",
        "samples": 3,
        "seed": 42,
        "steps": 40,
        "cfg_scale": 9.5,
        "style": "anime",
        "sampler": "K_DPMPP_2M",
        "model": "stable-diffusion-v1-6",
        "negative": ("blur",),
    }


def test_flags_anywhere_single_word_values_return_the_rest_to_the_prompt() -> None:
    parsed = parse("a cat --ar 16:9 sitting --seed 7 in the snow")
    assert parsed.text == "a cat sitting in the snow"
    assert parsed.values == {"aspect_ratio": "16:9", "seed": 7}


def test_em_and_en_dash_flags_from_phone_keyboards() -> None:
    parsed = parse("a cat —ar 16:9 –seed 5")
    assert parsed.values == {"aspect_ratio": "16:9", "seed": 5}
    assert parsed.text == "a cat"


def test_dashes_used_as_punctuation_stay_in_the_prompt() -> None:
    parsed = parse("a cat — a dog —at night, well-lit -- really")
    assert parsed.text == "a cat — a dog —at night, well-lit -- really"
    assert parsed.values == {}


def test_equals_form() -> None:
    parsed = parse("a cat --ar=16:9 --n=2 --no=blurry text --style=Anime")
    assert parsed.values == {
        "aspect_ratio": "16:9",
        "samples": 2,
        "negative": ("blurry text",),
        "style": "anime",
    }


def test_flag_names_are_case_insensitive_and_underscores_work() -> None:
    assert parse("a cat --AR 2:3 --Seed 1").values == {"aspect_ratio": "2:3", "seed": 1}
    assert parse("a door --mask_source black", "inpaint").values == {"mask_source": "black"}


@pytest.mark.parametrize(
    ("spelling", "name"),
    [
        ("--aspect", "aspect_ratio"),
        ("--aspect-ratio", "aspect_ratio"),
        ("--samples", "samples"),
        ("--count", "samples"),
        ("--cfg-scale", "cfg_scale"),
        ("--guidance", "cfg_scale"),
    ],
)
def test_aliases(spelling: str, name: str) -> None:
    value = "4:3" if name == "aspect_ratio" else "2"
    assert name in parse(f"a fox {spelling} {value}").values


def test_quoted_values() -> None:
    parsed = parse('a fox --style "digital art" in rain --no "blurry text"')
    assert parsed.values == {"style": "digital-art", "negative": ("blurry text",)}
    assert parsed.text == "a fox in rain"
    assert parse("a fox --sampler='K_EULER_ANCESTRAL' x").values["sampler"] == "K_EULER_ANCESTRAL"


# ---- aspect ratio and size -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "size"),
    [
        ("16:9", (1344, 768)),
        ("3:2", (1216, 832)),
        ("1:1", (1024, 1024)),
        ("9:16", (768, 1344)),
        ("2:3", (832, 1216)),
        ("4:5", (896, 1152)),
        ("5:4", (1152, 896)),
        ("21:9", (1536, 640)),
        ("2.35:1", (1536, 640)),
        ("1:2.35", (640, 1536)),
    ],
)
def test_ar_picks_the_sdxl_size_of_closest_ratio(ratio: str, size: tuple[int, int]) -> None:
    assert parse(f"a fox --ar {ratio}").values["aspect_ratio"] == ratio
    assert size_for_ratio(ratio, SDXL) == size


@pytest.mark.parametrize("ratio", ["1:1", "16:9", "9:16", "3:2", "2:3", "4:5", "2.35:1", "7:3"])
def test_ar_free_size_keeps_ratio_pixels_and_multiples(ratio: str) -> None:
    w, h = size_for_ratio(ratio, FREE)
    wanted = float(ratio.split(":")[0]) / float(ratio.split(":")[1])
    assert w % 8 == 0 and h % 8 == 0
    assert 256 <= w <= 2048 and 256 <= h <= 2048
    assert abs(math.log((w / h) / wanted)) < 0.02
    assert 0.85 < (w * h) / (512 * 512) < 1.15


def test_ar_free_size_exact_values() -> None:
    assert size_for_ratio("1:1", FREE) == (512, 512)
    default_limits = BackendLimits(operations=ALL_OPS)  # 1024², multiples of 64
    assert size_for_ratio("16:9", default_limits) == (1344, 768)
    assert size_for_ratio("9:16", default_limits) == (768, 1344)


def test_ar_normalises_spelling() -> None:
    assert parse("a fox --ar 16/9").values["aspect_ratio"] == "16:9"
    assert parse("a fox --ar 2.50:1.0").values["aspect_ratio"] == "2.5:1"


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("wide", "--ar needs an aspect ratio like 16:9"),
        ("16x9", "--ar needs an aspect ratio like 16:9"),
        ("16:0", "must be above 0"),
        ("0:9", "must be above 0"),
        ("100:1", "too extreme"),
    ],
)
def test_ar_errors(value: str, needle: str) -> None:
    assert needle in str(error(f"a fox --ar {value}"))


def test_size_exactly_allowed() -> None:
    assert parse("a fox --size 1216x832").values["size"] == (1216, 832)
    assert parse("a fox --size 832×1216").values["size"] == (832, 1216)


def test_size_not_allowed_suggests_nearest() -> None:
    message = str(error("a fox --size 1000x1000"))
    assert message.startswith("--size 1000x1000 isn't a size this model can make. Did you mean 1024x1024?")
    assert "1344x768" in message  # the list of allowed sizes
    assert "Did you mean 1344x768?" in str(error("a fox --size 1920x1080"))


def test_size_on_free_backend_must_respect_multiple_and_bounds() -> None:
    assert parse("a fox --size 640x480", limits=FREE).values["size"] == (640, 480)
    message = str(error("a fox --size 641x480", limits=FREE))
    assert "multiples of 8" in message and "between 256 and 2048" in message and "Did you mean" in message
    assert "Did you mean" in str(error("a fox --size 4096x4096", limits=FREE))


def test_size_syntax_error() -> None:
    assert str(error("a fox --size big")) == "--size needs a size like 1024x768, not 'big'."


def test_size_refused_on_backends_that_take_ratios() -> None:
    ratios = BackendLimits(operations=ALL_OPS, aspect_ratios=("1:1", "16:9", "9:16"))
    with pytest.raises(UnsupportedOption) as info:
        parse("a fox --size 1024x1024", limits=ratios)
    assert "--size isn't available on this backend" in str(info.value)


# ---- numbers ---------------------------------------------------------------------------------


def test_samples_range_from_limits() -> None:
    assert parse("a fox --n 10").values["samples"] == 10
    assert str(error("a fox --n 11")) == "--n must be between 1 and 10; you gave 11."
    assert str(error("a fox --count 0")) == "--count must be between 1 and 10; you gave 0."
    narrow = BackendLimits(operations=ALL_OPS, samples=(1, 4))
    assert str(error("a fox --n 5", limits=narrow)) == "--n must be between 1 and 4; you gave 5."


def test_seed_range() -> None:
    assert parse("a fox --seed 0").values["seed"] == 0
    assert parse("a fox --seed 4294967295").values["seed"] == 4294967295
    assert str(error("a fox --seed 4294967296")) == (
        "--seed must be between 0 and 4294967295; you gave 4294967296."
    )
    assert "between 0 and 4294967295" in str(error("a fox --seed -1"))


@pytest.mark.parametrize(
    ("text", "flag"), [("--seed abc", "--seed"), ("--n 2.5", "--n"), ("--steps x", "--steps")]
)
def test_non_integer_values(text: str, flag: str) -> None:
    message = str(error(f"a fox {text}"))
    assert message.startswith(f"{flag} needs a whole number")


def test_missing_value_names_flag_and_example() -> None:
    assert str(error("a fox --seed")) == "--seed needs a value, e.g. --seed 1234."
    assert str(error("a fox --n --seed 4")) == "--n needs a value, e.g. --n 2."
    assert str(error("a fox --ar=")) == "--ar needs a value, e.g. --ar 16:9."


def test_steps_and_cfg() -> None:
    assert parse("a fox --steps 50 --cfg 0").values == {"steps": 50, "cfg_scale": 0.0}
    assert str(error("a fox --steps 9")) == "--steps must be between 10 and 50; you gave 9."
    assert str(error("a fox --cfg 35.5")) == "--cfg must be between 0 and 35; you gave 35.5."
    assert str(error("a fox --cfg high")) == "--cfg needs a number, not 'high'."
    assert "finite" in str(error("a fox --cfg nan"))
    assert parse("a fox --cfg 7,5").values["cfg_scale"] == 7.5


def test_strength_on_remix_and_its_range() -> None:
    assert parse("a fox --strength 0.4", "remix").values["strength"] == 0.4
    assert str(error("a fox --strength 1.5", "remix")) == "--strength must be between 0 and 1; you gave 1.5."


# ---- choices ---------------------------------------------------------------------------------


def test_style_case_insensitive_and_multiword() -> None:
    assert parse("a fox --style PhotoGraphic").values["style"] == "photographic"
    assert parse("a fox --style comic book at noon").values["style"] == "comic-book"
    assert parse("a fox --style comic book at noon").text == "a fox at noon"


def test_style_did_you_mean() -> None:
    message = str(error("a fox --style animee"))
    assert message.startswith("--style: 'animee' isn't a style this backend knows. Did you mean anime?")
    assert "photographic" in message  # the choices are listed


def test_style_unsupported_when_backend_has_no_presets() -> None:
    with pytest.raises(UnsupportedOption) as info:
        parse("a fox --style anime", limits=FREE)
    assert str(info.value) == "--style isn't available on this backend."


def test_sampler_and_scheduler_from_limits() -> None:
    parsed = parse("a fox --sampler euler a --scheduler KARRAS", limits=FREE)
    assert parsed.values == {"sampler": "Euler a", "scheduler": "karras"}
    assert "Did you mean K_DPMPP_2M?" in str(error("a fox --sampler K_DPMPP_M2"))
    with pytest.raises(UnsupportedOption):
        parse("a fox --scheduler karras")  # SDXL limits declare no schedulers


def test_model_validated_only_when_backend_lists_models() -> None:
    assert parse("a fox --model Stable-Diffusion-V1-6").values["model"] == "stable-diffusion-v1-6"
    assert "isn't a model this backend knows" in str(error("a fox --model sd-3"))
    assert parse("a fox --model my-checkpoint.safetensors", limits=FREE).values["model"] == (
        "my-checkpoint.safetensors"
    )


def test_mask_source_choices() -> None:
    for value in ("white", "black", "alpha", "BLACK"):
        assert parse(f"a door --mask-source {value}", "inpaint").values["mask_source"] == value.lower()
    assert "Choose from: white, black, alpha" in str(error("a door --mask-source grey", "inpaint"))


def test_scale_from_upscale_factors() -> None:
    assert parse("--scale 4", "upscale", FREE).values == {"scale": 4}
    assert str(error("--scale 3", "upscale", FREE)) == "--scale must be one of 2, 4; you gave 3."
    assert str(error("--scale 4", "upscale", SDXL)) == "--scale must be one of 2; you gave 4."


# ---- flags that don't belong ---------------------------------------------------------------------


def test_unknown_flag_did_you_mean() -> None:
    assert str(error("a fox --asr 16:9")) == "I don't know the flag --asr. Did you mean --ar?"
    assert str(error("a fox --sed 4")) == "I don't know the flag --sed. Did you mean --seed?"
    message = str(error("a fox --quantum 4"))
    assert message.startswith("I don't know the flag --quantum.") and "/help" in message


def test_flag_glued_to_its_value() -> None:
    assert (
        str(error("a fox --ar16:9"))
        == "I don't know the flag --ar16:9. Did you mean --ar 16:9 (with a space)?"
    )


def test_flag_of_another_command() -> None:
    with pytest.raises(UnsupportedOption) as info:
        parse("a fox --strength 0.3")
    assert str(info.value) == "--strength doesn't work with /imagine; it works with /remix."
    assert "--ar doesn't work with /upscale" in str(error("--ar 16:9", "upscale"))
    assert "--seed doesn't work with /upscale" in str(error("--seed 5", "upscale"))


def test_flag_given_twice() -> None:
    assert str(error("a fox --seed 1 --seed 2")) == (
        "--seed is given twice (--seed 1 and --seed 2); please give it once."
    )
    assert "given twice" in str(error("a fox --ar 1:1 --aspect 16:9"))


def test_errors_name_the_option_for_forms() -> None:
    with pytest.raises(OptionError) as info:
        parse("a fox --n 99")
    assert info.value.option == "samples"


def test_upscale_keeps_its_text_for_the_guided_modes() -> None:
    parsed = parse("make it big please --scale 2", "upscale")
    assert parsed.values == {"scale": 2}
    assert parsed.text == "make it big please"  # /upscale sends it only with a guided mode


# ---- typed options merged with flags -----------------------------------------------------------------


def test_typed_options_alone_and_as_strings() -> None:
    inv = Invocation(
        text="a fox", options={"aspect_ratio": "16:9", "samples": "2", "seed": 9, "style": "Anime"}
    )
    parsed = resolve(inv, COMMANDS["imagine"], SDXL)
    assert parsed.values == {"aspect_ratio": "16:9", "samples": 2, "seed": 9, "style": "anime"}


def test_typed_and_flag_with_same_value_is_fine() -> None:
    inv = Invocation(text="a fox --seed 9 --ar 16:9", options={"seed": 9, "aspect_ratio": "16:9"})
    assert resolve(inv, COMMANDS["imagine"], SDXL).values == {"seed": 9, "aspect_ratio": "16:9"}


def test_typed_and_flag_with_different_values_is_an_error() -> None:
    inv = Invocation(text="a fox --seed 8", options={"seed": 9})
    with pytest.raises(InvalidRequest) as info:
        resolve(inv, COMMANDS["imagine"], SDXL)
    assert str(info.value) == (
        "--seed is set twice with different values: 9 in the 'seed' option and 8 in the prompt. "
        "Please give it once."
    )


def test_typed_negative_and_no_flags_collect() -> None:
    inv = Invocation(text="a fox --no fog --no rain", options={"negative": "rain"})
    parsed = resolve(inv, COMMANDS["imagine"], SDXL)
    assert parsed.values["negative"] == ("rain", "fog")
    assert parsed.negative_prompt == "rain, fog"


def test_typed_values_are_validated_like_flags() -> None:
    with pytest.raises(InvalidRequest) as info:
        resolve(Invocation(text="a fox", options={"samples": 40}), COMMANDS["imagine"], SDXL)
    assert str(info.value) == "samples must be between 1 and 10; you gave 40."
    with pytest.raises(UnsupportedOption):
        resolve(Invocation(text="a fox", options={"strength": 0.3}), COMMANDS["imagine"], SDXL)
    with pytest.raises(InvalidRequest) as info:
        resolve(Invocation(text="a fox", options={"colour": "red"}), COMMANDS["imagine"], SDXL)
    assert str(info.value) == "/imagine has no option 'colour'."


def test_empty_typed_fields_are_ignored() -> None:
    inv = Invocation(text="a fox", options={"seed": "", "style": None, "negative": "  "})
    assert resolve(inv, COMMANDS["imagine"], SDXL).values == {}


def test_prompt_as_typed_option() -> None:
    parsed = resolve(Invocation(options={"prompt": "a fox --seed 3"}), COMMANDS["imagine"], SDXL)
    assert parsed.text == "a fox" and parsed.values == {"seed": 3}


# ---- declarations, registry, help ---------------------------------------------------------------------


def test_option_specs_fit_discord() -> None:
    for option in ALL_OPTIONS:
        assert re.fullmatch(r"[a-z][a-z0-9_]{0,31}", option.name)
        assert 0 < len(option.help) <= HELP_MAX_CHARS
    for command in COMMANDS.values():
        assert 0 < len(command.description) <= HELP_MAX_CHARS
        assert len(command.options) <= 25
        required = [o.required for o in command.typed_options]
        assert required == sorted(required, reverse=True), f"/{command.name}: required options first"


def test_spec_helpers() -> None:
    assert SEED.flag_names == ("--seed",)
    assert SAMPLES.flag_names == ("--n", "--samples", "--count")
    assert SEED.range_for(SDXL) == (0, 4294967295)
    assert STYLE.choices_for(SDXL) == STYLES
    assert STYLE.supported_by(SDXL) and not STYLE.supported_by(FREE)
    assert option_for_flag("—Aspect") is not None and option_for_flag("--aspect").name == "aspect_ratio"  # type: ignore[union-attr]
    assert COMMANDS["imagine"].prompt_required and not COMMANDS["upscale"].prompt_required
    assert COMMANDS["inpaint"].needs_images == ("image", "mask")


def test_registry_and_availability() -> None:
    assert {"imagine", "remix", "inpaint", "upscale"} <= set(COMMANDS)
    assert get_command("/Imagine") is COMMANDS["imagine"]
    with pytest.raises(InvalidRequest):
        get_command("paint")
    text_only = BackendLimits(operations=frozenset({Operation.IMAGINE}))
    assert [c.name for c in available_commands(text_only)] == ["imagine"]


def test_flag_help_fits_one_discord_message_and_covers_every_flag() -> None:
    assert len(FLAG_HELP) < 2000
    for option in KNOWN_OPTIONS.options:
        if option.flag:
            assert f"`--{option.flag} " in FLAG_HELP
    assert "::" in FLAG_HELP and "—ar" in FLAG_HELP


def test_flags_table_markdown() -> None:
    table = flags_table_markdown()
    lines = table.splitlines()
    assert lines[0].startswith("| flag |")
    assert len(lines) == 2 + sum(1 for o in KNOWN_OPTIONS.options if o.flag)
    assert "| `--n N` | `--samples`, `--count` | `samples` | /imagine, /remix, /inpaint" in table
    concrete = flags_table_markdown(SDXL)
    assert "| 1–10 | 1 |" in concrete and "0–4294967295" in concrete


def test_command_help_uses_backend_values() -> None:
    text = command_help(COMMANDS["imagine"], SDXL)
    assert "anime" in text and "10–50" in text and "--sampler" in text
    assert "--scheduler" not in text  # not supported by these limits
    assert "Not available" in command_help(COMMANDS["inpaint"], BackendLimits(operations=frozenset()))


def test_a_command_can_bring_its_own_flag() -> None:
    tile = OptionSpec(name="tile", kind="bool", help="Make the image tile seamlessly", flag="tile")

    async def build(inv: Invocation, limits: BackendLimits) -> GenerationRequest:
        raise AssertionError("not called")

    spec = CommandSpec(
        name="pattern",
        description="Make a seamless pattern",
        options=(*COMMANDS["imagine"].options, tile),
        build=build,
        operation=Operation.IMAGINE,
    )
    assert resolve(Invocation(text="a fox --tile --seed 2"), spec, SDXL).values == {"tile": True, "seed": 2}
    assert resolve(Invocation(text="a fox --tile=no"), spec, SDXL).values == {"tile": False}
    assert "on or off" in str(_raises(lambda: resolve(Invocation(text="a fox --tile=maybe"), spec, SDXL)))


def test_two_options_may_not_share_a_flag() -> None:
    with pytest.raises(ValueError, match="--seed is declared by both"):
        OptionCatalogue([SEED, replace(SEED, name="seed_two")])


def _raises(fn: Callable[[], object]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as info:
        fn()
    return info.value


def test_ar_and_size_together_refused_in_previews_too() -> None:
    assert str(error("a fox --ar 16:9 --size 1024x1024")) == "Use either --ar or --size, not both."
    inv = Invocation(text="a fox --size 1024x1024", options={"aspect_ratio": "1:1"})
    with pytest.raises(InvalidRequest, match="not both"):
        resolve(inv, COMMANDS["imagine"], SDXL)
