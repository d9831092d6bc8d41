"""The PostgreSQL adapter against the shared storage contract suite, unchanged.

Each ``make_storage()`` call opens a storage in a fresh schema of its own
(``aligner_test_<pid>_<random>_<n>``), so every storage starts empty and test
runs sharing one database never see each other; the schemas are dropped when
the test ends and, as a backstop, when the session ends. Without
``ALIGNER_CORE_TEST_POSTGRES_DSN`` the module is skipped with that reason.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable, Iterator

import pytest

DSN = os.environ.get("ALIGNER_CORE_TEST_POSTGRES_DSN")
if not DSN:
    pytest.skip(
        "ALIGNER_CORE_TEST_POSTGRES_DSN is not set: PostgreSQL tests skipped",
        allow_module_level=True,
    )

psycopg = pytest.importorskip("psycopg")
from psycopg import sql  # noqa: E402

from aligner_core.domain.cases import Case  # noqa: E402
from aligner_core.storage.postgres import PostgresStorage  # noqa: E402
from aligner_core.testing.contracts.storage import StorageContract  # noqa: E402

pytestmark = pytest.mark.postgres

_RUN = f"aligner_test_{os.getpid()}_{secrets.token_hex(4)}"


def _drop(names: list[str]) -> None:
    assert DSN is not None
    with psycopg.connect(DSN, autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def postgres_schemas() -> Iterator[list[str]]:
    """Every schema made in this run; whatever is left is dropped at the end."""
    names: list[str] = []
    yield names
    _drop(names)


@pytest.fixture
def make_storage(postgres_schemas: list[str]) -> Iterator[Callable[[], PostgresStorage]]:
    opened: list[PostgresStorage] = []
    mine: list[str] = []

    def make() -> PostgresStorage:
        assert DSN is not None
        name = f"{_RUN}_{len(postgres_schemas)}"
        postgres_schemas.append(name)
        mine.append(name)
        storage = PostgresStorage(DSN, schema=name, max_size=8)
        opened.append(storage)
        return storage

    yield make
    for storage in opened:
        storage.close()
    _drop(mine)
    for name in mine:
        postgres_schemas.remove(name)


@pytest.fixture
def reopen_storage() -> Callable[[PostgresStorage], PostgresStorage]:
    """A second handle (its own pool) on the schema of a storage."""
    assert DSN is not None
    return lambda storage: PostgresStorage(DSN, schema=storage.schema)


@pytest.fixture
def import_cases() -> Callable[[PostgresStorage, Iterable[Case]], int]:
    """``COPY`` in chunks of 7, so that imports span several chunks."""
    return lambda storage, cases: storage.import_cases(cases, batch=7)


class TestPostgresStorage(StorageContract):
    """The shared contract, run against PostgreSQL."""
