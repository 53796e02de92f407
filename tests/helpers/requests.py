"""GenerationRequest builders shared by the backend and job suites."""

from __future__ import annotations

from typing import Any

from services.types import GenerationRequest, Operation, WeightedPrompt


def imagine(prompt: str = "a lighthouse on a cliff", samples: int = 1, **kwargs: Any) -> GenerationRequest:
    """An /imagine request; keyword arguments are GenerationRequest fields (``prompts`` wins over ``prompt``)."""
    kwargs.setdefault("prompts", (WeightedPrompt(prompt),))
    return GenerationRequest(operation=Operation.IMAGINE, samples=samples, **kwargs)
