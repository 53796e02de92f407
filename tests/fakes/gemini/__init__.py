"""A fake Gemini API (``generateContent`` with image output) on 127.0.0.1; see ``server``.

* ``server``: the aiohttp app, recording, refusals and failure switches;
* ``rules``: what the real API accepts and its google.rpc-shaped errors;
* ``oauth``: a fake Google token endpoint (service accounts' JWT-bearer grant) for Vertex AI;
* ``harness``: the ``gemini_server``, ``gemini_backend`` and ``vertex_setup`` fixtures.
"""

from tests.fakes.gemini.harness import VertexSetup, gemini_backend, gemini_server, vertex_setup
from tests.fakes.gemini.oauth import FakeGoogleOAuth
from tests.fakes.gemini.server import FakeGemini, RecordedRequest

__all__ = [
    "FakeGemini",
    "FakeGoogleOAuth",
    "RecordedRequest",
    "VertexSetup",
    "gemini_backend",
    "gemini_server",
    "vertex_setup",
]
