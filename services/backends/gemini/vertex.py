"""Vertex AI as the Gemini backend's endpoint: what easel hands ``genai.Client(vertexai=True)``.

Usage::

    vertex = VertexAI(project="my-project", location="global", credentials_file=Path("sa.json"))
    client = genai.Client(**vertex.client_kwargs(api_key=None), http_options=...)

Two ways in, as the ``google-genai`` SDK (3.x, ``_api_client.py``) builds them:

* **project + location with Google credentials.** The SDK prefixes every call with
  ``projects/{project}/locations/{location}/`` (``…/publishers/google/models/{m}:generateContent``),
  sends ``Authorization: Bearer`` with a token it refreshes from the credentials (for a
  service-account key: a signed JWT sent to the key file's ``token_uri``) and talks to
  ``{location}-aiplatform.googleapis.com`` (``aiplatform.googleapis.com`` for ``global``), API
  version ``v1beta1``. Credentials come from ``credentials_file`` (a service-account key), else
  Application Default Credentials, which the SDK loads itself.
* **express mode**: an API key and no project; calls go to ``publishers/google/models/{m}:…``
  with ``x-goog-api-key``.

Why easel loads the file itself: the SDK only reads ``GOOGLE_APPLICATION_CREDENTIALS``; an
operator's setting names the file, and a broken file is reported at start-up, naming the setting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

__all__ = ["SCOPE", "VertexAI", "load_credentials"]

#: The OAuth scope Vertex AI calls need (the SDK asks Application Default Credentials for the same).
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
API_VERSION = "v1beta1"  # the SDK's default for Vertex AI


@dataclass(frozen=True, slots=True)
class VertexAI:
    """Where and how to reach Gemini through Vertex AI; ``project=None`` is express mode."""

    project: str | None = None
    location: str = "global"
    credentials_file: Path | None = None
    base_url: str | None = None  # None: the SDK's endpoint for ``location``

    @property
    def express(self) -> bool:
        return self.project is None

    def describe(self) -> str:
        """For ``easel check`` and logs: no key, no file contents."""
        if self.express:
            return "Vertex AI express mode"
        return f"Vertex AI project {self.project} in {self.location}"

    def client_kwargs(self, api_key: str | None, credentials: Credentials | None) -> dict[str, Any]:
        """``genai.Client`` keyword arguments (``http_options`` apart)."""
        if self.express:
            return {"vertexai": True, "api_key": api_key}
        return {
            "vertexai": True,
            "project": self.project,
            "location": self.location,
            "credentials": credentials,  # None: the SDK loads Application Default Credentials
        }


def load_credentials(path: Path) -> Credentials:
    """The service account in the key file ``path``, scoped for Vertex AI; ``ValueError`` naming the
    setting otherwise. Other credential types (user logins, workload identity federation) are
    Application Default Credentials' business: leave the setting unset.

    Nothing is sent: the first token is fetched by the SDK on the first call. google-auth is
    imported here so that the settings (which build a :class:`VertexAI`) import no SDK.
    """
    from google.oauth2 import service_account

    where = "EASEL_GEMINI_VERTEX_CREDENTIALS"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{where}: cannot read {path} ({exc.strerror})") from None
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"{where}: {path} is not a JSON key file") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise ValueError(
            f'{where}: {path} is not a service-account key file (its "type" must be service_account)'
        )
    try:
        return service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
    except ValueError as exc:
        # google-auth's words name missing fields or an unreadable key, never the key itself.
        reason = str(exc.args[0]) if exc.args else type(exc).__name__
        raise ValueError(f"{where}: {path} is not a usable service-account key ({reason[:200]})") from None
