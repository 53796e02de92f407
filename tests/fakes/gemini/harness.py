"""pytest fixtures for the fake Gemini API (a pytest plugin via tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import rsa

from services.backends.gemini.backend import GeminiImagesBackend
from services.backends.gemini.vertex import VertexAI
from tests.fakes.gemini.oauth import FakeGoogleOAuth, write_service_account
from tests.fakes.gemini.server import FakeGemini

SERVICE_ACCOUNT = "easel-bot@127.0.0.1"  # any e-mail works; this one names no other host


@pytest_asyncio.fixture
async def gemini_server() -> AsyncIterator[FakeGemini]:
    server = await FakeGemini().start()
    try:
        yield server
    finally:
        await server.close()


@pytest_asyncio.fixture
async def gemini_backend(gemini_server: FakeGemini) -> AsyncIterator[GeminiImagesBackend]:
    """easel's started Gemini backend against ``gemini_server`` (fast retries)."""
    backend = GeminiImagesBackend(gemini_server.api_key, base_url=gemini_server.url, retry_base_delay_s=0.01)
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()


@dataclass(frozen=True)
class VertexSetup:
    """The fake Vertex AI (``api``), its token endpoint, and a service-account key file it trusts."""

    api: FakeGemini
    oauth: FakeGoogleOAuth
    credentials_file: Path
    private_key: rsa.RSAPrivateKey

    def vertex(self, *, location: str = "us-central1", project: str | None = None) -> VertexAI:
        return VertexAI(
            project=project or self.api.project,
            location=location,
            credentials_file=self.credentials_file,
            base_url=self.api.url,
        )

    def untrusted_key_file(self, path: Path) -> Path:
        """A key file of the same account whose key the token endpoint does not know (revoked)."""
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return write_service_account(
            path, other, key_id="revoked-key", email=SERVICE_ACCOUNT, project=self.api.project,
            token_uri=self.oauth.token_uri,
        )  # fmt: skip


@pytest_asyncio.fixture
async def vertex_setup(gemini_server: FakeGemini, tmp_path: Path) -> AsyncIterator[VertexSetup]:
    """A test key pair: the public half registered with the fake token endpoint, the private half
    in a key file whose ``token_uri`` points at it."""
    oauth = await FakeGoogleOAuth(gemini_server.bearer_tokens).start()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    oauth.trust(SERVICE_ACCOUNT, "test-key-1", key.public_key())
    path = write_service_account(
        tmp_path / "vertex-service-account.json", key, key_id="test-key-1", email=SERVICE_ACCOUNT,
        project=gemini_server.project, token_uri=oauth.token_uri,
    )  # fmt: skip
    try:
        yield VertexSetup(gemini_server, oauth, path, key)
    finally:
        await oauth.close()
