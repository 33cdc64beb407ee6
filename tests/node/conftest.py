"""The Node SDK tests run against `assistants-compat serve` (tests/server/conftest.py's
``serve``) on one SQLite store: PostgreSQL serving is covered by tests/server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.conftest import serve  # noqa: F401  (the fixture, shared)


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path}/node.db"
