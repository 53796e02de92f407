"""``easel check`` for the Gemini backend: reachable, credentials taken, default model offered.

Never generates. The Gemini API is asked ``GET models/{id}``. Vertex AI is asked ``countTokens``
(free) on the model, because ``GET publishers/google/models/{id}`` is not scoped to the project
and would pass with a project the credentials may not use; ``countTokens`` goes through
``projects/{p}/locations/{l}/…`` and so proves the project, the location and the role at once.
Each failing line names the variable to fix; none repeats a key, a token or a file's contents.
"""

from __future__ import annotations

import aiohttp
from google import genai
from google.auth import exceptions as auth_exceptions
from google.genai import errors as genai_errors

from services.backends.gemini.errors import auth_reason
from services.backends.gemini.vertex import VertexAI
from services.types import CheckResult

__all__ = ["check_endpoint"]


def _credential_hint(vertex: VertexAI | None) -> str:
    if vertex is None:
        return "GEMINI_API_KEY"
    if vertex.express:
        return "GEMINI_API_KEY (a Vertex AI express-mode key)"
    return "EASEL_GEMINI_VERTEX_CREDENTIALS (or Application Default Credentials)"


async def check_endpoint(
    client: genai.Client, model: str, where: str, vertex: VertexAI | None
) -> list[CheckResult]:
    name = "gemini api" if vertex is None else "gemini vertex ai"
    accepted = "API key accepted" if vertex is None or vertex.express else "credentials accepted"
    try:
        if vertex is None:
            await client.aio.models.get(model=model)
        else:
            await client.aio.models.count_tokens(model=model, contents="easel check")
    except genai_errors.APIError as exc:
        if exc.code == 404:
            return [
                CheckResult(name, True, f"{where} reachable, {accepted}"),
                CheckResult("gemini model", False, f"{model} is not offered: check EASEL_GEMINI_MODEL"),
            ]
        if exc.code == 403 and vertex is not None and not vertex.express:
            return [
                CheckResult(
                    name,
                    False,
                    f"{where}: permission denied (403): check EASEL_GEMINI_VERTEX_PROJECT, "
                    "EASEL_GEMINI_VERTEX_LOCATION and that the account may use Vertex AI",
                )
            ]
        if exc.code in (400, 401, 403):
            hint = _credential_hint(vertex)
            what = "the key" if vertex is None or vertex.express else "the credentials"
            return [CheckResult(name, False, f"{where} refused {what} ({exc.code}): check {hint}")]
        return [CheckResult(name, False, f"{where} answered HTTP {exc.code}")]
    except auth_exceptions.TransportError as exc:
        return [CheckResult(name, False, f"cannot reach Google's token endpoint: {type(exc).__name__}")]
    except auth_exceptions.GoogleAuthError as exc:
        hint = _credential_hint(vertex)
        return [CheckResult(name, False, f"no access token ({auth_reason(exc)}): check {hint}")]
    except (OSError, TimeoutError, aiohttp.ClientError) as exc:  # a dropped connection is no OSError
        return [CheckResult(name, False, f"cannot reach {where}: {type(exc).__name__}")]
    return [
        CheckResult(name, True, f"{where} reachable, {accepted}"),
        CheckResult("gemini model", True, f"{model} (pictures carry Google's SynthID watermark)"),
    ]
