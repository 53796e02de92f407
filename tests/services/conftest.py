"""Fixtures shared by the service suites."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.db import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """The real SQLite database in the test's data dir, closed afterwards."""
    database = await Database.open(tmp_path / "data")
    yield database
    await database.close()
