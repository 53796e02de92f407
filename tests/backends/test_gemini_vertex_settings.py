"""The Vertex AI settings of the Gemini plugin: one way in, each mistake named by its variable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import build_backend
from bot.settings import Settings, SettingsError
from services.backends.gemini.backend import GeminiImagesBackend
from services.backends.gemini.plugin import GeminiSettings
from services.backends.gemini.vertex import VertexAI
from tests.fakes.gemini import VertexSetup


def _errors(**values: object) -> str:
    with pytest.raises(SettingsError) as info:
        Settings(_env_file=None, backend="gemini", data_dir="data", **values)
    return str(info.value)


def test_the_gemini_api_stays_the_default_and_vertex_is_chosen_by_project_or_express() -> None:
    assert GeminiSettings(_env_file=None, gemini_api_key="AIza-x").vertex() is None
    chosen = GeminiSettings(_env_file=None, gemini_vertex_project="my-project")
    assert chosen.vertex() == VertexAI(project="my-project", location="global")
    assert chosen.problems() == []  # Application Default Credentials: nothing else is required
    express = GeminiSettings(_env_file=None, gemini_vertex_express=True)
    assert express.problems() == ["GEMINI_API_KEY (your Vertex AI express-mode API key)"]
    assert (
        GeminiSettings(_env_file=None, gemini_vertex_express=True, gemini_api_key="AQ.k").vertex()
        == VertexAI()
    )
    assert "EASEL_GEMINI_VERTEX_PROJECT" in GeminiSettings(_env_file=None).problems()[0]


def test_mixed_or_stray_vertex_settings_are_refused_by_name(tmp_path: Path) -> None:
    both = _errors(gemini_vertex_project="p", gemini_vertex_express=True)
    assert "EASEL_GEMINI_VERTEX_PROJECT" in both and "not both" in both
    keyed = _errors(gemini_vertex_project="p", gemini_api_key="AIza-secret-value")
    assert "GEMINI_API_KEY, not both" in keyed and "AIza-secret-value" not in keyed
    stray = _errors(gemini_api_key="AIza-x", gemini_vertex_location="europe-west4")
    assert "EASEL_GEMINI_VERTEX_LOCATION only apply to Vertex AI" in stray
    assert "express mode has one global endpoint" in _errors(
        gemini_vertex_express=True, gemini_api_key="AQ.k", gemini_vertex_location="us-central1"
    )
    missing = _errors(gemini_vertex_project="p", gemini_vertex_credentials=str(tmp_path / "nope.json"))
    assert "EASEL_GEMINI_VERTEX_CREDENTIALS: Value error, must name an existing file" in missing
    assert "EASEL_GEMINI_VERTEX_BASE_URL" in _errors(
        gemini_vertex_project="p", gemini_vertex_base_url="vertex"
    )


def test_a_credentials_file_that_is_no_service_account_key_is_named_at_start_up(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    cases = {
        "not json": "is not a JSON key file",
        '{"type": "authorized_user"}': "is not a service-account key file",
        '{"type": "service_account", "private_key": "x"}': "is not a usable service-account key",
    }
    for text, expected in cases.items():
        path = tmp_path / "key.json"
        path.write_text(text)
        settings = make_settings(backend="gemini", gemini_vertex_project="p", gemini_vertex_credentials=path)
        with pytest.raises(SettingsError, match="EASEL_GEMINI_VERTEX_CREDENTIALS") as info:
            build_backend(settings)
        assert expected in str(info.value)


def test_the_plugin_builds_a_vertex_backend(
    vertex_setup: VertexSetup, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        backend="gemini",
        gemini_vertex_project="easel-test",
        gemini_vertex_location="us-central1",
        gemini_vertex_credentials=vertex_setup.credentials_file,
        gemini_vertex_base_url=vertex_setup.api.url,
    )
    backend = build_backend(settings)
    assert isinstance(backend, GeminiImagesBackend)
    assert "Vertex AI project easel-test in us-central1" in repr(backend)
    assert "PRIVATE KEY" not in repr(backend)
