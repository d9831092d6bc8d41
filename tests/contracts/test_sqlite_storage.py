"""The SQLite storage passes the storage contract, reopen tests included."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from aligner_core.domain.cases import Case
from aligner_core.storage.sqlite import SqliteStorage
from aligner_core.testing.contracts.storage import StorageContract


class TestSqliteStorage(StorageContract):
    @pytest.fixture
    def make_storage(self, tmp_path: Path) -> Callable[[], SqliteStorage]:
        paths = (tmp_path / f"cases{i}.db" for i in itertools.count())
        return lambda: SqliteStorage(next(paths))

    @pytest.fixture
    def reopen_storage(self) -> Callable[[SqliteStorage], SqliteStorage]:
        return lambda storage: SqliteStorage(storage.path)

    @pytest.fixture
    def import_cases(self) -> Callable[[SqliteStorage, Iterable[Case]], int]:
        return lambda storage, cases: storage.import_cases(cases, batch=7)
