"""C2PA content credentials: a signed "created by an AI model with easel" manifest, and reading one back.

::

    signer = ContentSigner.from_files(cert_path, key_path)     # EASEL_C2PA_CERT / EASEL_C2PA_KEY
    signed = signer.sign(png, "image/png", model="sdxl", prompt="a fox")   # same pixels, a manifest added
    read_credentials(signed, "image/png")     # Credentials(present=True, valid=True, trusted=False, signer=…)

The manifest holds one ``c2pa.created`` action with ``digitalSourceType`` =
trainedAlgorithmicMedia, the generator (easel and the model/service), and the SHA-256 of the prompt
rather than the prompt (``include_prompt=True`` is the operator's choice). The automatic thumbnail
is off (it would add up to a megabyte). ``c2pa-python`` refuses self-signed certificates: the
certificate file holds the signing certificate followed by its CA chain (``easel keys init`` makes
a development pair, which readers show as untrusted). CPU work: call through
:func:`services.offload.run_cpu`.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

__all__ = ["TRAINED_ALGORITHMIC_MEDIA", "ContentSigner", "Credentials", "read_credentials"]

TRAINED_ALGORITHMIC_MEDIA: Final = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
_UNTRUSTED: Final = "signingCredential.untrusted"
_SETTINGS: Final = {"builder": {"thumbnail": {"enabled": False}}}


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a picture's C2PA manifest says: absent, valid (maybe untrusted), or tampered."""

    present: bool
    valid: bool = False
    trusted: bool = False
    signer: str | None = None
    generator: str | None = None
    problems: tuple[str, ...] = ()

    @property
    def tampered(self) -> bool:
        return self.present and not self.valid


def _algorithm(key: Any) -> c2pa.C2paSigningAlg:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {256: c2pa.C2paSigningAlg.ES256, 384: c2pa.C2paSigningAlg.ES384}.get(
            key.curve.key_size, c2pa.C2paSigningAlg.ES512
        )
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return c2pa.C2paSigningAlg.ED25519
    if isinstance(key, rsa.RSAPrivateKey):
        return c2pa.C2paSigningAlg.PS256
    raise ValueError("the key must be an EC (P-256/384/521), Ed25519 or RSA private key")


def _subject(cert_pem: bytes) -> str:
    cert = x509.load_pem_x509_certificates(cert_pem)[0]
    names = [a.value for a in cert.subject if a.oid._name in ("commonName", "organizationName")]
    return " / ".join(str(n) for n in names) or cert.subject.rfc4514_string()


class ContentSigner:
    """Signs published copies and originals with the operator's certificate chain and key."""

    def __init__(
        self, cert_pem: bytes, key_pem: bytes, *, include_prompt: bool = False, version: str = "0"
    ) -> None:
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
            self.name = _subject(cert_pem)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"the certificate or key could not be read: {exc}") from None
        self._alg = _algorithm(key)
        self._cert_pem, self._key_pem = cert_pem, key_pem
        self.include_prompt = include_prompt
        self.version = version

    @classmethod
    def from_files(
        cls, cert: Path, key: Path, *, include_prompt: bool = False, version: str = "0"
    ) -> ContentSigner:
        try:
            return cls(cert.read_bytes(), key.read_bytes(), include_prompt=include_prompt, version=version)
        except OSError as exc:
            raise ValueError(f"can't read {exc.filename}: {exc.strerror}") from None

    def manifest(self, *, model: str, prompt: str) -> dict[str, Any]:
        """The manifest definition signed into each picture."""
        described = (
            {"prompt": prompt}
            if self.include_prompt
            else {"prompt_sha256": hashlib.sha256(prompt.encode("utf-8")).hexdigest()}
        )
        agent = f"easel {self.version}" + (f" with {model}" if model else "")
        return {
            "claim_generator_info": [{"name": "easel", "version": self.version}],
            "assertions": [
                {
                    "label": "c2pa.actions",
                    "data": {
                        "actions": [
                            {
                                "action": "c2pa.created",
                                "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                                "softwareAgent": {"name": agent},
                                "parameters": {"model": model, **described},
                            }
                        ]
                    },
                }
            ],
        }

    def sign(self, data: bytes, mime: str, *, model: str, prompt: str) -> bytes:
        """``data`` with the manifest embedded (C2PA's hard binding covers every byte but itself)."""
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(self._alg, self._cert_pem, self._key_pem, None))
        context = c2pa.Context(settings=c2pa.Settings.from_dict(_SETTINGS))
        builder = c2pa.Builder(json.dumps(self.manifest(model=model, prompt=prompt)), context=context)
        out = io.BytesIO()
        builder.sign(signer, mime, io.BytesIO(data), out)
        return out.getvalue()


def read_credentials(data: bytes, mime: str) -> Credentials:
    """The manifest in ``data``, validated (``present=False`` when there is none)."""
    try:
        report = json.loads(c2pa.Reader(mime, io.BytesIO(data)).json())
    except c2pa.C2paError:
        return Credentials(present=False)
    active = report.get("manifests", {}).get(report.get("active_manifest", ""), {})
    failures = (report.get("validation_results") or {}).get("activeManifest", {}).get("failure") or []
    status = [s.get("code", "") for s in report.get("validation_status") or []]
    problems = tuple(str(f.get("code", "")) for f in failures if f.get("code") != _UNTRUSTED)
    signature = active.get("signature_info") or {}
    signer = " / ".join(str(v) for v in (signature.get("common_name"), signature.get("issuer")) if v) or None
    generators = active.get("claim_generator_info") or [{}]
    return Credentials(
        present=True,
        valid=not problems,
        trusted=_UNTRUSTED not in status and not problems,
        signer=signer,
        generator=str(generators[0].get("name", "")) or None,
        problems=problems,
    )
