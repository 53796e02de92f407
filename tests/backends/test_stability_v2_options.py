"""v2beta's option checks on their own (no server): the edge cases of extras, ratios and seeds.

What a user sees end to end (flags a model cannot take, cfg ranges, remix refusals) is tested
against the fake server in test_stability_v2.py.
"""

from __future__ import annotations

import pytest

from services.backends.stability import limits_for_model
from services.backends.stability.v2_options import (
    ModelOptions,
    aspect_ratio,
    extra,
    extra_number,
    form_number,
    upscale_mode,
)
from services.errors import InvalidRequest, UnsupportedOption
from tests.helpers.requests import imagine


def test_blank_extras_count_as_absent() -> None:
    request = imagine(extras=(("search_prompt", "   "), ("grow_mask", " 7 ")))
    assert extra(request, "search_prompt") is None and extra(request, "missing") is None
    assert extra(request, "grow_mask") == "7"
    assert extra_number(request, "missing", (0, 10), what="x") is None


@pytest.mark.parametrize("raw", ["nan", "inf", "-1", "101", "2.5", "lots"])
def test_numeric_extras_outside_their_range_are_refused_with_what_was_given(raw: str) -> None:
    request = imagine(extras=(("grow_mask", raw),))
    with pytest.raises(
        InvalidRequest, match=rf"grow_mask must be a whole number between 0 and 100; you gave {raw}\."
    ):
        extra_number(request, "grow_mask", (0, 100), what="grow_mask", integer=True)


def test_form_numbers_read_like_the_api_examples() -> None:
    assert [form_number(v) for v in (4.0, 0.65, 1 - 0.35, 1e-7)] == ["4", "0.65", "0.65", "0"]


def test_upscale_mode_defaults_to_fast_and_ignores_case() -> None:
    assert upscale_mode(imagine()) == "fast"
    assert upscale_mode(imagine(extras=(("upscale_mode", "Creative"),))) == "creative"
    with pytest.raises(InvalidRequest, match="fast, conservative, creative"):
        upscale_mode(imagine(extras=(("upscale_mode", "turbo"),)))


def test_aspect_ratio_reads_ratios_and_sizes() -> None:
    assert aspect_ratio(imagine()) == "1:1"
    assert aspect_ratio(imagine(aspect_ratio="21:9")) == "21:9"
    assert aspect_ratio(imagine(aspect_ratio="1.5")) == "3:2"
    assert aspect_ratio(imagine(width=1000, height=400)) == "21:9"
    with pytest.raises(InvalidRequest, match="write it like 16:9"):
        aspect_ratio(imagine(aspect_ratio="wide"))


def test_model_options_follow_the_configured_model() -> None:
    options = ModelOptions(limits_for_model("core", ["core", "sd3.5-large"]), "core")
    assert options.model_spec(imagine()).name == "core"
    assert options.model_spec(imagine(model="sd3.5-large")).wire_model == "sd3.5-large"
    with pytest.raises(InvalidRequest, match=r"“ultra” is not available\. Choose one of: core, sd3\.5-large"):
        options.model_spec(imagine(model="ultra"))
    with pytest.raises(InvalidRequest, match="between 0 and 4294967294"):
        options.check_common(imagine(seed=4_294_967_295), "here")
    options.check_common(imagine(steps=options.limits.default_steps, seed=0), "here")  # commands' defaults
    with pytest.raises(UnsupportedOption, match="--model doesn't apply for /inpaint"):
        options.no_edit_extras(imagine(model="sd3.5-large"), "for /inpaint")
