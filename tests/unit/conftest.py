"""Fixtures shared by unit tests that run one workflow on the memory and the SQLite storage.

A module that defines its own ``core`` or ``lab`` uses that one instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import aligner_core
from aligner_core.bootstrap import Core
from aligner_core.testing.factories import Lab, set_up_lab


@pytest.fixture(params=["memory", "sqlite"])
def core_on_each_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Core]:
    """A core on the in-memory storage, then on an SQLite file."""
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'cases.db'}"
    made = aligner_core.connect(url)
    yield made
    made.storage.close()


@pytest.fixture
def core(core_on_each_storage: Core) -> Core:
    """The core of a test that runs on each storage."""
    return core_on_each_storage


@pytest.fixture
def lab(core: Core) -> Lab:
    """A network with an admin, a doctor, a planner and production on that core."""
    return set_up_lab(core)
