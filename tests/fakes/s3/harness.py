"""pytest fixtures for the local S3 server (a pytest plugin via tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.s3.server import FakeS3


@pytest.fixture(scope="session")
def s3_server() -> Iterator[FakeS3]:
    """One moto S3 server for the session; tests take their own bucket from :func:`s3_bucket`."""
    server = FakeS3().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server: FakeS3) -> str:
    """A new, empty bucket on :func:`s3_server`."""
    return s3_server.new_bucket()
