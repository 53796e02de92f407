"""Fixtures shared by the service suites."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.db import Database


@pytest.fixture
async def db(tmp_path: Path, storage: str | None) -> AsyncIterator[Database]:
    """The real database, once SQLite in the test's data dir and once a fresh PostgreSQL one; closed afterwards."""
    database = await Database.open(tmp_path / "data", url=storage)
    yield database
    await database.close()
