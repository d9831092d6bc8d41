"""Fixtures shared by unit tests that run one workflow on the memory and the SQLite storage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import aligner_core
from aligner_core.bootstrap import Core


@pytest.fixture(params=["memory", "sqlite"])
def core_on_each_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Core]:
    """A core on the in-memory storage, then on an SQLite file."""
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'cases.db'}"
    made = aligner_core.connect(url)
    yield made
    made.storage.close()
