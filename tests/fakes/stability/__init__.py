"""A fake Stability AI server (REST v1 and v2beta) on 127.0.0.1; see ``server`` for what it speaks.

* ``server``: the aiohttp app, its routes, the recorder and fault injection;
* ``rules``: what the API accepts (engines, sizes, enums, limits) and its error shapes;
* ``render``: the deterministic pictures it answers with;
* ``harness``: pytest fixtures and ``stability_backend_for`` / ``stability_v2_backend_for``.
"""

from tests.fakes.stability.harness import (
    stability_backend,
    stability_backend_for,
    stability_server,
    stability_v2_backend,
    stability_v2_backend_for,
)
from tests.fakes.stability.rules import V2
from tests.fakes.stability.server import FakeStabilityServer, Fault, RecordedFile, RecordedRequest

__all__ = [
    "V2",
    "FakeStabilityServer",
    "Fault",
    "RecordedFile",
    "RecordedRequest",
    "stability_backend",
    "stability_backend_for",
    "stability_server",
    "stability_v2_backend",
    "stability_v2_backend_for",
]
