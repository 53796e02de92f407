"""EASEL_BACKENDS and the per-model pair lists parse as operators write them."""

from __future__ import annotations

import pytest

from bot.errors import SettingsError
from bot.settings import Settings


def test_single_backend_variable_is_a_one_element_list() -> None:
    assert Settings(_env_file=None, EASEL_BACKEND="openai").backend_names == ["openai"]


def test_several_backends_and_pairs() -> None:
    settings = Settings(
        _env_file=None,
        EASEL_BACKENDS="stability, openai,,a1111",
        EASEL_MODEL_FALLBACKS="ultra=gpt-image-2",
        EASEL_MODEL_COSTS="ultra=9,core=2",
    )
    assert settings.backend_names == ["stability", "openai", "gpu-host"]
    assert settings.model_fallbacks == {"ultra": "gpt-image-2"}
    assert settings.model_costs == {"ultra": 9, "core": 2}


def test_bad_pair_is_refused_clearly() -> None:
    with pytest.raises(SettingsError, match="model=value"):
        Settings(_env_file=None, EASEL_MODEL_COSTS="ultra")
