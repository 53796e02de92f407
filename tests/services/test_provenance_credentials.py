"""C2PA content credentials with a throw-away CA: signed, read back, tampered, absent."""

from __future__ import annotations

import io
import json

import c2pa
import pytest
from PIL import Image

from services.provenance.credentials import TRAINED_ALGORITHMIC_MEDIA, ContentSigner, read_credentials
from services.provenance.devkeys import development_pair
from services.provenance.parameters import with_parameters

CHAIN, KEY = development_pair("easel tests")


def picture(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 200), (40, 90, 150)).save(buf, fmt)
    return buf.getvalue()


def manifest_of(data: bytes, mime: str) -> dict:  # type: ignore[type-arg]
    report = json.loads(c2pa.Reader(mime, io.BytesIO(data)).json())
    return report["manifests"][report["active_manifest"]]


@pytest.mark.parametrize(
    ("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_signed_pictures_read_back_valid_but_untrusted(fmt: str, mime: str) -> None:
    original = picture(fmt)
    signed = ContentSigner(CHAIN, KEY, version="9.9").sign(original, mime, model="sdxl", prompt="a fox")
    assert Image.open(io.BytesIO(signed)).tobytes() == Image.open(io.BytesIO(original)).tobytes()
    found = read_credentials(signed, mime)
    assert found.present and found.valid and not found.tampered
    assert not found.trusted  # a development CA is on nobody's trust list
    assert found.signer is not None and "easel tests signer" in found.signer
    assert found.generator == "easel"


def test_the_manifest_says_created_by_a_model_and_hashes_the_prompt() -> None:
    signed = ContentSigner(CHAIN, KEY).sign(picture("PNG"), "image/png", model="sdxl", prompt="a secret fox")
    manifest = manifest_of(signed, "image/png")
    [actions] = [a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions")]
    [created] = actions["data"]["actions"]
    assert created["action"] == "c2pa.created"
    assert created["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert "sdxl" in created["softwareAgent"]["name"]
    assert "a secret fox" not in json.dumps(manifest)
    assert len(created["parameters"]["prompt_sha256"]) == 64
    assert "thumbnail" not in manifest  # off: it would add up to a megabyte
    assert len(signed) - len(picture("PNG")) < 40_000


def test_the_operator_may_include_the_prompt() -> None:
    signer = ContentSigner(CHAIN, KEY, include_prompt=True)
    manifest = manifest_of(signer.sign(picture("PNG"), "image/png", model="m", prompt="a fox"), "image/png")
    assert "a fox" in json.dumps(manifest)


def test_changed_bytes_read_as_tampered_and_plain_pictures_as_absent() -> None:
    signed = ContentSigner(CHAIN, KEY).sign(picture("PNG"), "image/png", model="m", prompt="p")
    tampered = read_credentials(with_parameters(signed, "someone edited this"), "image/png")
    assert tampered.present and tampered.tampered and tampered.problems
    assert read_credentials(picture("PNG"), "image/png").present is False
    assert read_credentials(b"not a picture", "image/png").present is False


def test_unreadable_certificates_and_keys_are_refused_up_front() -> None:
    with pytest.raises(ValueError, match="could not be read"):
        ContentSigner(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n", KEY)
    with pytest.raises(ValueError, match="could not be read"):
        ContentSigner(CHAIN, b"not a key")
