"""The fake Stability server's model list is in step with the reference and with easel (issue 11, item 10).

Every model easel lets operators and users pick is generated end to end against the fake, and the fake's
``/generate/sd3`` models (written from Stability's reference, ``tests/fakes/stability/rules.py``) are
exactly the ones easel sends there: a model added on one side only fails here.
"""

from __future__ import annotations

import pytest

from services.backends.stability import known_models
from services.backends.stability.models import MODELS
from services.types import GenerationRequest, Operation, WeightedPrompt
from tests.fakes.stability import FakeStabilityServer, stability_v2_backend_for
from tests.fakes.stability.rules import SD3_MODELS


def test_the_fake_knows_the_sd3_models_easel_sends() -> None:
    assert {m.wire_model for m in MODELS.values() if m.wire_model} == SD3_MODELS


@pytest.mark.parametrize("model", known_models())
async def test_every_model_generates_against_the_fake(
    stability_server: FakeStabilityServer, model: str
) -> None:
    async with stability_v2_backend_for(stability_server, model=model) as backend:
        request = GenerationRequest(operation=Operation.IMAGINE, prompts=(WeightedPrompt("a fox"),), seed=3)
        result = await backend.generate(request)
    assert result.model == model and result.images[0].png
    (sent,) = stability_server.requests
    if MODELS[model].wire_model:
        assert sent.form["model"] == model
