"""A fake Gemini API (``generateContent`` with image output) on 127.0.0.1; see ``server``.

* ``server``: the aiohttp app, recording, refusals and failure switches;
* ``rules``: what the real API accepts and its google.rpc-shaped errors;
* ``harness``: the ``gemini_server`` and ``gemini_backend`` fixtures.
"""

from tests.fakes.gemini.harness import gemini_backend, gemini_server
from tests.fakes.gemini.server import FakeGemini, RecordedRequest

__all__ = ["FakeGemini", "RecordedRequest", "gemini_backend", "gemini_server"]
