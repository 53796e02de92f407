"""Checks on what easel logged during a test."""

from __future__ import annotations

import pytest


def assert_not_logged(caplog: pytest.LogCaptureFixture, secret: str) -> None:
    """``secret`` appears in no record: not in its message, its extra fields, or the formatted text."""
    for record in caplog.records:
        assert secret not in record.getMessage()
        assert secret not in repr(record.__dict__)
    assert secret not in caplog.text
