"""The in-memory storage passes the storage contract (it has no second handle: no reopen tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest

from aligner_core.domain.cases import Case
from aligner_core.ports import Storage
from aligner_core.storage.memory import MemoryStorage
from aligner_core.testing.contracts.storage import StorageContract


class TestMemoryStorage(StorageContract):
    @pytest.fixture
    def make_storage(self) -> Callable[[], Storage]:
        return MemoryStorage

    @pytest.fixture
    def reopen_storage(self) -> None:
        return None  # every MemoryStorage is a database of its own

    @pytest.fixture
    def import_cases(self) -> Callable[[MemoryStorage, Iterable[Case]], int]:
        return lambda storage, cases: storage.import_cases(cases)
