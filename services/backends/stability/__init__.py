"""Stability AI's REST APIs as easel backends: v1 (engines) and v2beta (Stable Image).

Usage::

    from services.backends.stability import StabilityV2Backend

    backend = StabilityV2Backend(api_key, model="core")   # or StabilityV1Backend(api_key, engine=…)
    await backend.start()
    result = await backend.generate(request, progress)
    await backend.close()

What each model or engine accepts is known without the network: :func:`limits_for_model`
(v2beta, the names :func:`known_models` lists) and :func:`limits_for_engine` (v1).

The modules inside are private; the names below are the surface the rest of easel uses.

=============  ================================================================================
shared         ``http`` (the client: key, limiter, retries, error mapping), ``api`` (dialects,
               replies, error bodies), ``checks`` (``easel check`` lines), ``progress``,
               ``request_parts`` (what both APIs read from a request the same way)
v1             ``v1`` (the backend), ``v1_engines``, ``v1_requests``, ``v1_answers``, ``v1_wire``
v2beta         ``v2`` (the backend), ``models``, ``v2_options``, ``v2_requests``, ``v2_edits``,
               ``fitting``, ``v2_call``, ``v2_samples``, ``v2_upscale``, ``v2_answers``, ``v2_wire``
=============  ================================================================================
"""

from services.backends.stability.http import DEFAULT_HOST
from services.backends.stability.models import DEFAULT_MODEL, known_models, limits_for_model
from services.backends.stability.v1 import StabilityV1Backend
from services.backends.stability.v1_engines import limits_for_engine
from services.backends.stability.v1_wire import DEFAULT_ENGINE
from services.backends.stability.v2 import StabilityV2Backend

__all__ = [
    "DEFAULT_ENGINE",
    "DEFAULT_HOST",
    "DEFAULT_MODEL",
    "StabilityV1Backend",
    "StabilityV2Backend",
    "known_models",
    "limits_for_engine",
    "limits_for_model",
]
