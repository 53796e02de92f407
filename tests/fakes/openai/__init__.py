"""A fake OpenAI images API on 127.0.0.1; see ``server`` for what it speaks.

* ``server``: the aiohttp app, its routes, recording and failure switches;
* ``rules``: what the real API accepts (sizes per model, ``n``, masks) and its error bodies;
* ``harness``: the ``openai_server`` and ``openai_backend`` fixtures.
"""

from tests.fakes.openai.harness import openai_backend, openai_server
from tests.fakes.openai.server import FakeOpenAI, RecordedFile, RecordedRequest

__all__ = ["FakeOpenAI", "RecordedFile", "RecordedRequest", "openai_backend", "openai_server"]
