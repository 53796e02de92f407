"""Backend plugins behind the registry: chosen by name or alias, each with its own settings model.

The contract tests run over every registered plugin, so a new backend is held to them by its
one registry line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_backend
from bot.check import collect_checks
from bot.settings import Settings, SettingsError, load_settings
from services.backends import registry
from services.backends.a1111 import A1111Settings
from services.backends.registry import UnknownBackend
from services.backends.stability.plugin import StabilitySettings


@pytest.mark.parametrize("plugin", registry.PLUGINS, ids=lambda p: p.name)
def test_every_plugin_documents_its_variables_and_names_what_is_missing(plugin: Any) -> None:
    model = plugin.settings_model
    variables = model.variables()
    assert variables and all(v.meaning for v in variables)
    names = {v.name for v in variables}
    problems = model(_env_file=None).problems()  # nothing set (the env is cleared for every test)
    assert problems
    assert all(problem.split()[0] in names for problem in problems), problems


def test_plugin_names_and_variables_are_unique() -> None:
    names = [n.lower() for p in registry.PLUGINS for n in p.names]
    assert len(names) == len(set(names))
    variables = [v.name for p in registry.PLUGINS for v in p.settings_model.variables()]
    variables += [v.name for v in Settings.variables()]
    assert len(variables) == len(set(variables))


def test_backend_is_chosen_by_name_or_alias(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EASEL_GPU_HOST_URL", "http://127.0.0.1:7860")
    for value in ("gpu-host", "a1111", "A1111"):
        monkeypatch.setenv("EASEL_BACKEND", value)
        s = load_settings()
        assert s.backend == "gpu-host"
        assert s.backend_plugin is registry.get("gpu-host")
        assert s.backend_problems() == []
    monkeypatch.delenv("EASEL_BACKEND")
    assert load_settings().backend_plugin is registry.DEFAULT


def test_unknown_backend_names_the_valid_values(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EASEL_BACKEND", "dall-e")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "EASEL_BACKEND" in str(info.value)
    assert "stability, gpu-host (or a1111)" in str(info.value)
    with pytest.raises(UnknownBackend, match="choose one of: stability, gpu-host"):
        registry.get("dall-e")


def test_keywords_go_to_the_settings_model_that_declares_them(
    make_settings: Callable[..., Settings], stability_server: Any
) -> None:
    s = make_settings(backend="gpu-host", gpu_host_url="http://127.0.0.1:1/", gpu_host_token="tok-abc-123456")
    assert s.plugin_settings(A1111Settings).gpu_host_url == ["http://127.0.0.1:1"]
    assert s.plugin_settings(StabilitySettings).stability_api_host == stability_server.url
    assert s.backend_settings is s.plugin_settings(A1111Settings)
    # Secrets of every backend are known for scrubbing, and never shown.
    assert {"tok-abc-123456", stability_server.api_key} <= set(s.secret_values())
    assert "tok-abc-123456" not in repr(s)


def test_a_backend_that_cannot_be_built_is_a_settings_error(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(SettingsError, match="Port out of range"):
        build_backend(make_settings(backend="gpu-host", gpu_host_url="http://127.0.0.1:99999"))
    with pytest.raises(SettingsError, match="API key is empty"):
        build_backend(make_settings(stability_api_key="   "))
    with pytest.raises(SettingsError, match="EASEL_GPU_HOST_URL"):
        build_backend(make_settings(backend="gpu-host"))


async def test_check_reports_a_backend_that_cannot_be_built(make_settings: Callable[..., Settings]) -> None:
    results = await collect_checks(make_settings(backend="gpu-host", gpu_host_url="http://127.0.0.1:99999"))
    failed = [r for r in results if not r.ok]
    assert [(r.name, "Port out of range" in r.detail) for r in failed][-1] == ("configuration", True)


def test_the_composition_root_knows_no_backend_by_name() -> None:
    source = (Path(__file__).resolve().parents[2] / "bot" / "app.py").read_text().lower()
    for plugin in registry.PLUGINS:
        module = plugin.settings_model.__module__.split(".")[2]  # services.backends.<package>.plugin
        for name in (*plugin.names, module):
            assert name.lower() not in source, f"bot/app.py names the {plugin.name} backend ({name!r})"
