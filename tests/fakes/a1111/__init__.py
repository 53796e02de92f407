"""A fake AUTOMATIC1111 web UI API (one GPU) on 127.0.0.1; see ``server`` for what it speaks.

* ``server``: the aiohttp app, its routes, the single-GPU lock, recording and failure switches;
* ``rules``: what the host offers by default and its FastAPI-shaped validation errors;
* ``harness``: the ``a1111_server``, ``a1111_factory`` and ``gpu_backend`` fixtures.
"""

from tests.fakes.a1111.harness import a1111_factory, a1111_server, gpu_backend
from tests.fakes.a1111.rules import DEFAULT_MODELS
from tests.fakes.a1111.server import FakeA1111, RecordedRequest

__all__ = ["DEFAULT_MODELS", "FakeA1111", "RecordedRequest", "a1111_factory", "a1111_server", "gpu_backend"]
