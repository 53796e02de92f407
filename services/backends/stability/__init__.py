"""Stability AI's REST APIs as easel backends: v1 (engines) and v2beta (Stable Image).

Usage::

    from services.backends.stability import StabilityV2Backend

    backend = StabilityV2Backend(api_key, model="core")
    await backend.start()
    result = await backend.generate(request, progress)
    await backend.close()

The modules inside are private; this is the surface the rest of easel uses.
"""

from services.backends.stability.v1 import StabilityV1Backend, limits_for_engine
from services.backends.stability.v2 import DEFAULT_MODEL, StabilityV2Backend, known_models, limits_for_model

__all__ = [
    "DEFAULT_MODEL",
    "StabilityV1Backend",
    "StabilityV2Backend",
    "known_models",
    "limits_for_engine",
    "limits_for_model",
]
