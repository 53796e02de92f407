"""A fake Google OAuth 2.0 token endpoint on 127.0.0.1: the JWT-bearer grant of service accounts.

google-auth signs a JWT (RS256, ``kid`` = the key file's ``private_key_id``) with the key file's
private key and POSTs it to the file's ``token_uri`` as
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>``. Google checks the
signature against the account's public key, the issuer, the audience (Google's token endpoint
itself, whichever ``token_uri`` the file names), the times and the scope,
then answers ``{"access_token", "expires_in", "token_type": "Bearer"}``; so does this fake, with
the public keys a test registers (:meth:`FakeGoogleOAuth.trust`). Refusals are Google's:
400 ``{"error": "invalid_grant", "error_description": …}``. Tokens it issues go into the set
given to it, which the fake Vertex AI accepts as ``Authorization: Bearer``::

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    oauth.trust("easel-bot@127.0.0.1", "k1", key.public_key())
    path = write_service_account(tmp_path / "sa.json", key, key_id="k1", token_uri=oauth.token_uri, ...)
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from google.oauth2 import service_account

from services.backends.gemini.vertex import SCOPE
from tests.fakes.local_http import LocalHttp

__all__ = ["JWT_BEARER", "FakeGoogleOAuth", "write_service_account"]

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: The audience Google's token endpoint requires: its own address, whatever ``token_uri`` the key file
#: names (google-auth's constant, so no test spells out another host).
AUDIENCE = service_account._GOOGLE_OAUTH2_TOKEN_ENDPOINT
MAX_LIFETIME_S = 3600  # Google refuses assertions valid for longer
CLOCK_SKEW_S = 300


def write_service_account(
    path: Path, key: rsa.RSAPrivateKey, *, key_id: str, email: str, project: str, token_uri: str
) -> Path:
    """A service-account key file as the Cloud console downloads it, with ``token_uri`` pointed here."""
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account", "project_id": project, "private_key_id": key_id, "private_key": pem,
        "client_email": email, "client_id": "100000000000000000001", "token_uri": token_uri,
    }  # fmt: skip
    path.write_text(json.dumps(info))
    return path


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


class _Refused(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


class FakeGoogleOAuth:
    """One token endpoint; ``issued`` (shared with the fake API) holds every access token handed out."""

    def __init__(self, issued: set[str]) -> None:
        self.issued = issued
        self.keys: dict[str, tuple[str, rsa.RSAPublicKey]] = {}  # key id → (account e-mail, public key)
        self.grants: list[dict[str, Any]] = []  # the verified claims of every granted assertion
        self.refusals: list[str] = []  # the error_description of every refused request
        self._http = LocalHttp()

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def trust(self, email: str, key_id: str, public_key: rsa.RSAPublicKey) -> None:
        """Register a service account's public key, as uploading it to the account would."""
        self.keys[key_id] = (email, public_key)

    async def start(self) -> FakeGoogleOAuth:
        app = web.Application()
        app.router.add_post("/token", self._token)
        await self._http.serve(app)
        return self

    @property
    def url(self) -> str:
        return self._http.url

    async def close(self) -> None:
        await self._http.close()

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        try:
            if form.get("grant_type") != JWT_BEARER:
                raise _Refused("unsupported_grant_type", "Invalid grant_type: " + str(form.get("grant_type")))
            claims = self._verify(str(form.get("assertion", "")))
        except _Refused as refusal:
            self.refusals.append(refusal.description)
            return web.json_response(
                {"error": refusal.error, "error_description": refusal.description}, status=400
            )
        self.grants.append(claims)
        token = "ya29.fake-" + secrets.token_urlsafe(24)
        self.issued.add(token)
        return web.json_response({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _verify(self, assertion: str) -> dict[str, Any]:
        """Google's checks of a JWT-bearer assertion, in its order and words."""
        try:
            head_b64, body_b64, sig_b64 = assertion.split(".")
            header = json.loads(_b64url(head_b64))
            claims = json.loads(_b64url(body_b64))
            signature = _b64url(sig_b64)
        except (ValueError, binascii.Error):
            raise _Refused("invalid_grant", "Invalid JWT: Token must be a short-lived token") from None
        if header.get("alg") != "RS256":
            raise _Refused("invalid_grant", "Invalid JWT: unsupported signing algorithm")
        email, public_key = self.keys.get(str(header.get("kid")), ("", None))
        if public_key is None:
            raise _Refused("invalid_grant", "Invalid JWT Signature.")
        try:
            public_key.verify(
                signature, f"{head_b64}.{body_b64}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            raise _Refused("invalid_grant", "Invalid JWT Signature.") from None
        if claims.get("iss") != email:
            raise _Refused("invalid_grant", "Invalid JWT: issuer does not own the signing key")
        if claims.get("aud") != AUDIENCE:
            raise _Refused("invalid_grant", "Invalid JWT: Failed audience check.")
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int):
            raise _Refused("invalid_grant", "Invalid JWT: iat and exp are required")
        if iat > now + CLOCK_SKEW_S or exp < now - CLOCK_SKEW_S or exp - iat > MAX_LIFETIME_S:
            raise _Refused(
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
            )
        if SCOPE not in str(claims.get("scope", "")).split():
            raise _Refused("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        return dict(claims)
