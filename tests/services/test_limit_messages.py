"""Limit messages never contradict themselves: "10 MB; the largest I accept is 10 MB" cannot happen."""

from __future__ import annotations

import re

import pytest

from services.downloads import FileTooLarge
from services.errors import InvalidRequest
from services.images import load_input_image_sync
from services.over_limit import over_and_limit
from tests.helpers.images import png_header_only
from tests.helpers.limits import SDXL


def figures(message: str) -> list[str]:
    return re.findall(r"(\d+(?:\.\d+)?) (?:MB|megapixels)", message)


@pytest.mark.parametrize("over_by", [1, 1000, 40_000, 2_000_000])
def test_a_file_just_over_the_byte_limit_shows_two_different_sizes(over_by: int) -> None:
    data = png_header_only(64, 64) + b"\0" * (SDXL.max_input_bytes + over_by)
    with pytest.raises(InvalidRequest) as err:
        load_input_image_sync(data, SDXL)
    yours, most = figures(err.value.user_message)[:2]
    assert float(yours) > float(most), err.value.user_message
    declared = FileTooLarge("image", SDXL.max_input_bytes + over_by, SDXL.max_input_bytes)
    yours, most = figures(declared.user_message)[:2]
    assert float(yours) > float(most), declared.user_message


def test_a_picture_one_pixel_row_over_shows_two_different_megapixel_figures() -> None:
    side = 4096
    with pytest.raises(InvalidRequest) as err:
        load_input_image_sync(png_header_only(side, side + 1), SDXL)
    yours, most = figures(err.value.user_message)[:2]
    assert float(yours) > float(most), err.value.user_message


def test_figures_stay_short_when_far_apart() -> None:
    assert over_and_limit(20 * 1_048_576, 10 * 1_048_576, scale=1_048_576) == ("20", "10")
    assert over_and_limit(12.5 * 1_048_576, 10 * 1_048_576, scale=1_048_576, trim=False) == ("12.5", "10.0")
