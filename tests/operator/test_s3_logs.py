"""At ``EASEL_LOG_LEVEL=DEBUG`` botocore would log every S3 request's headers (access key id, signature)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logs import configure_logging
from services.stores import S3Location, S3Options, open_blob_store
from tests.fakes.s3.server import REGION, FakeS3

KEY_ID = "AKIAEASELLOGTEST0001"


@pytest.fixture
def debug_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


async def test_debug_logging_holds_no_s3_request_headers(
    debug_root: None, s3_server: FakeS3, s3_bucket: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    configure_logging("DEBUG", secrets=())  # no scrubbing list: only the library filter protects
    logging.getLogger("services").debug("debug.on")
    options = S3Options(s3_server.endpoint_url, REGION, KEY_ID, "easel-log-test-secret")
    blobs = open_blob_store(S3Location(s3_bucket, ""), tmp_path, options)
    try:
        await blobs.put("a.png", b"\x89PNG")
        assert await blobs.get("a.png") == b"\x89PNG"
    finally:
        await blobs.close()
    err = capsys.readouterr().err
    assert "debug.on" in err  # DEBUG reached the handler
    assert KEY_ID not in err and "easel-log-test-secret" not in err and "Signature=" not in err
