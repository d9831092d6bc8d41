"""What only the PostgreSQL adapter has: migrations, driver failures, indexes, leases.

The shared contract suite checks the port; these tests check the promises of
``aligner_core.storage.postgres`` itself: a newer schema is refused and left
untouched, concurrent first opens agree, unreachable servers, statement
timeouts and lost connections become ``StorageError`` with nothing written,
prefix and substring searches are served by their indexes, and concurrent
claims never overlap. Each test works in a schema of its own, dropped after.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from uuid import uuid4

import attrs
import pytest

DSN = os.environ.get("ALIGNER_CORE_TEST_POSTGRES_DSN")
if not DSN:
    pytest.skip(
        "ALIGNER_CORE_TEST_POSTGRES_DSN is not set: PostgreSQL tests skipped",
        allow_module_level=True,
    )

psycopg = pytest.importorskip("psycopg")
psycopg_pool = pytest.importorskip("psycopg_pool")
from psycopg import sql  # noqa: E402

from aligner_core.domain.cases import CaseStatus  # noqa: E402
from aligner_core.domain.queries import CaseFilter, NameMatch, Scope, SortKey  # noqa: E402
from aligner_core.errors import (  # noqa: E402
    ConcurrencyConflictError,
    SchemaVersionError,
    StorageError,
    ValidationError,
)
from aligner_core.storage import postgres as pg  # noqa: E402
from aligner_core.storage.postgres import PostgresStorage  # noqa: E402
from aligner_core.storage.sql.unit_of_work import SqlUnitOfWork  # noqa: E402
from aligner_core.testing.contracts.storage import (  # noqa: E402
    T0,
    account,
    case,
    enrol,
    network,
    outbox_entry,
    population,
)

pytestmark = pytest.mark.postgres

_RUN = f"aligner_test_{os.getpid()}_{secrets.token_hex(4)}"
_counter = iter(range(1_000_000))


def _raw() -> Any:
    assert DSN is not None
    return psycopg.connect(DSN, autocommit=True)


@pytest.fixture(scope="session")
def postgres_schemas() -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    with _raw() as conn:
        for name in names:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def schema(postgres_schemas: list[str]) -> str:
    name = f"{_RUN}_{next(_counter)}"
    postgres_schemas.append(name)
    return name


@pytest.fixture
def open_storage(schema: str) -> Iterator[Callable[..., PostgresStorage]]:
    opened: list[PostgresStorage] = []

    def open_(**options: Any) -> PostgresStorage:
        assert DSN is not None
        storage = PostgresStorage(DSN, schema=schema, **options)
        opened.append(storage)
        return storage

    yield open_
    for storage in opened:
        storage.close()


def _cast(storage: PostgresStorage) -> tuple[Any, Any]:
    net = network()
    doctor = account(net, "doctor")
    with storage.unit_of_work() as uow:
        uow.accounts.add_network(net)
        uow.accounts.add(doctor)
        uow.commit()
    return net, doctor


def _snapshot(schema: str) -> dict[str, Any]:
    """Tables, indexes, migrations and meta rows of a schema: what 'unchanged' compares."""
    with _raw() as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (schema,)
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s ORDER BY 1", (schema,)
        ).fetchall()
        s = sql.Identifier(schema)
        versions = conn.execute(
            sql.SQL("SELECT version FROM {}.schema_migrations ORDER BY 1").format(s)
        ).fetchall()
        meta = conn.execute(
            sql.SQL("SELECT key, value FROM {}.meta ORDER BY 1").format(s)
        ).fetchall()
    return {"tables": tables, "indexes": indexes, "versions": versions, "meta": meta}


# ---------------------------------------------------------------------- migrations
def test_open_migrates_to_the_current_version_and_reopening_changes_nothing(
    open_storage: Callable[..., PostgresStorage], schema: str
) -> None:
    first = open_storage()
    before = _snapshot(schema)
    assert before["versions"] == [(v,) for v in range(1, pg.SCHEMA_VERSION + 1)]
    assert {("cases",), ("case_members",), ("accounts",), ("networks",), ("outbox",)} <= set(
        before["tables"]
    )
    open_storage()
    assert _snapshot(schema) == before
    assert first.substring_search in ("pg_trgm", "scan")
    assert all(key != "link_secret" for key, _ in before["meta"])  # keys live in configuration


def test_concurrent_first_opens_agree(
    open_storage: Callable[..., PostgresStorage], schema: str
) -> None:
    with ThreadPoolExecutor(6) as pool:
        storages = list(pool.map(lambda _: open_storage(), range(6)))
    assert len(storages) == 6
    assert _snapshot(schema)["versions"] == [(v,) for v in range(1, pg.SCHEMA_VERSION + 1)]


def test_a_newer_schema_is_refused_and_left_unchanged(
    open_storage: Callable[..., PostgresStorage], schema: str
) -> None:
    open_storage().close()
    with _raw() as conn:
        conn.execute(
            sql.SQL("INSERT INTO {}.schema_migrations (version) VALUES (%s)").format(
                sql.Identifier(schema)
            ),
            (pg.SCHEMA_VERSION + 1,),
        )
    before = _snapshot(schema)
    with pytest.raises(SchemaVersionError) as caught:
        open_storage()
    assert caught.value.found == pg.SCHEMA_VERSION + 1
    assert caught.value.supported == pg.SCHEMA_VERSION
    assert _snapshot(schema) == before


def test_case_numbers_come_from_a_sequence_starting_at_100(
    open_storage: Callable[..., PostgresStorage],
) -> None:
    storage = open_storage()
    with storage.unit_of_work() as uow:
        assert [uow.cases.next_number() for _ in range(3)] == [100, 101, 102]


# ---------------------------------------------------------------------- driver failures
def test_an_unreachable_server_is_a_storage_error() -> None:
    started = time.monotonic()
    with pytest.raises(StorageError) as caught:
        PostgresStorage("postgresql://postgres@127.0.0.1:1/test", timeout=1.0)
    assert isinstance(caught.value.__cause__, psycopg.Error)
    assert time.monotonic() - started < 10


def test_a_statement_timeout_is_a_storage_error_and_writes_nothing(
    open_storage: Callable[..., PostgresStorage], schema: str
) -> None:
    storage = open_storage(statement_timeout=0.3)
    _, doctor = _cast(storage)
    c = case(1, doctor)
    with storage.unit_of_work() as uow:
        uow.cases.add(c)
        uow.commit()
    with _raw() as blocker, blocker.transaction():
        blocker.execute(
            sql.SQL("SELECT 1 FROM {}.cases WHERE case_id = %s FOR UPDATE").format(
                sql.Identifier(schema)
            ),
            (c.case_id,),
        )
        with storage.unit_of_work() as uow:
            uow.cases.update(attrs.evolve(c, status=CaseStatus.CANCELLED, version=2))
            uow.outbox.add(outbox_entry(doctor))
            with pytest.raises(StorageError) as caught:
                uow.commit()
    assert isinstance(caught.value.__cause__, psycopg.errors.QueryCanceled)
    with storage.unit_of_work() as uow:
        assert uow.cases.get(c.case_id) == c
        assert uow.outbox.pending() == []


def _terminate(pid: int) -> None:
    with _raw() as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_connection_lost_before_commit_is_a_storage_error_and_writes_nothing(
    open_storage: Callable[..., PostgresStorage],
) -> None:
    storage = open_storage()
    _, doctor = _cast(storage)
    c = case(1, doctor)
    with storage.unit_of_work() as uow:
        uow.cases.add(c)
        uow.commit()
    with storage.unit_of_work() as uow:
        loaded = uow.cases.get(c.case_id)
        uow.cases.update(attrs.evolve(loaded, status=CaseStatus.CANCELLED, version=2))
        uow.cases.add(case(2, doctor))
        uow.outbox.add(outbox_entry(doctor))
        _terminate(uow.session.backend_pid)
        with pytest.raises(StorageError):
            uow.commit()
    with storage.unit_of_work() as uow:  # the pool replaced the dead connection
        assert uow.cases.get(c.case_id) == c
        assert uow.cases.list(Scope(everything=True), CaseFilter()).total == 1
        assert uow.outbox.pending() == []


def test_a_connection_lost_mid_commit_leaves_nothing_half_written(
    open_storage: Callable[..., PostgresStorage], schema: str
) -> None:
    """The commit has inserted a case and waits on a locked row when its backend dies."""
    storage = open_storage()
    _, doctor = _cast(storage)
    c = case(1, doctor)
    with storage.unit_of_work() as uow:
        uow.cases.add(c)
        uow.commit()
    outcome: list[BaseException | None] = []
    with _raw() as blocker, blocker.transaction():
        blocker.execute(
            sql.SQL("SELECT 1 FROM {}.cases WHERE case_id = %s FOR UPDATE").format(
                sql.Identifier(schema)
            ),
            (c.case_id,),
        )
        uow: SqlUnitOfWork = storage.unit_of_work()
        uow.cases.add(case(2, doctor))  # inserted before the blocked update
        uow.cases.update(attrs.evolve(c, status=CaseStatus.CANCELLED, version=2))
        uow.outbox.add(outbox_entry(doctor))
        pid = uow.session.backend_pid

        def commit() -> None:
            try:
                uow.commit()
                outcome.append(None)
            except BaseException as e:
                outcome.append(e)
            finally:
                uow.__exit__(None, None, None)

        worker = threading.Thread(target=commit)
        worker.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # wait until the commit waits on our lock
            waiting = blocker.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone()
            if waiting and waiting[0] == "Lock":
                break
            time.sleep(0.02)
        _terminate(pid)
        worker.join(10)
    assert len(outcome) == 1
    assert isinstance(outcome[0], StorageError)
    with storage.unit_of_work() as check:
        assert check.cases.get(c.case_id) == c
        assert check.cases.list(Scope(everything=True), CaseFilter()).total == 1
        assert check.outbox.pending() == []


def test_driver_errors_are_mapped_to_the_library_errors() -> None:
    """The mapping itself, for failures that are hard to provoke on demand."""
    cases: list[tuple[Exception, type[Exception]]] = [
        (psycopg.errors.SerializationFailure("x"), ConcurrencyConflictError),
        (psycopg.errors.DeadlockDetected("x"), ConcurrencyConflictError),
        (psycopg.errors.QueryCanceled("x"), StorageError),
        (psycopg.OperationalError("x"), StorageError),
        (psycopg.InterfaceError("x"), StorageError),
        (psycopg_pool.PoolTimeout("x"), StorageError),
        (psycopg.errors.UniqueViolation("x"), ValidationError),
    ]
    for raised, expected in cases:
        with pytest.raises(expected) as caught, pg._driver_errors("test"):
            raise raised
        assert caught.value.__cause__ is raised


def test_unique_violations_name_the_field(open_storage: Callable[..., PostgresStorage]) -> None:
    storage = open_storage()
    net, _doctor = _cast(storage)
    with storage.unit_of_work() as uow:
        uow.accounts.add(account(net, "DOCTOR", email="other@example.org"))
        with pytest.raises(ValidationError) as caught:
            uow.commit()
    assert caught.value.paths == ["$.username"]


def test_closed_pool_is_a_storage_error(open_storage: Callable[..., PostgresStorage]) -> None:
    storage = open_storage()
    uow = storage.unit_of_work()
    storage.close()
    with pytest.raises(StorageError):
        uow.cases.next_number()


# ---------------------------------------------------------------------- indexes
def _plans(storage: PostgresStorage, run: Callable[[SqlUnitOfWork], object]) -> list[str]:
    """EXPLAIN every query ``run`` makes through the adapter, with sequential scans off."""
    seen: list[tuple[str, Any]] = []
    execute, fetch = pg._PgCursor.execute, pg._PgSession.fetch

    def recording_execute(self: Any, query: str, params: Any = ()) -> Any:
        seen.append((query, params))
        return execute(self, query, params)

    def recording_fetch(self: Any, query: str, params: Any = (), what: str = "query") -> Any:
        seen.append((query, params))
        return fetch(self, query, params, what)

    with storage.unit_of_work() as uow:
        pg._PgCursor.execute = recording_execute  # type: ignore[method-assign]
        pg._PgSession.fetch = recording_fetch  # type: ignore[method-assign]
        try:
            run(uow)
        finally:
            pg._PgCursor.execute = execute  # type: ignore[method-assign]
            pg._PgSession.fetch = fetch  # type: ignore[method-assign]
    plans = []
    with _raw() as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(storage.schema)))
        conn.execute("SET enable_seqscan = off")
        for query, params in seen:
            if not query.lstrip().upper().startswith("SELECT"):
                continue
            rows = conn.execute("EXPLAIN " + storage.dialect.statement(query), params).fetchall()
            plans.append("\n".join(r[0] for r in rows))
    return plans


def _populated(open_storage: Callable[..., PostgresStorage]) -> PostgresStorage:
    storage = open_storage()
    pop = population(3000, seed=7)
    with storage.unit_of_work() as uow:
        enrol(uow, pop)
        uow.commit()
    assert storage.import_cases(pop.cases, batch=700) == 3000
    with _raw() as conn:
        conn.execute(sql.SQL("ANALYZE {}.cases").format(sql.Identifier(storage.schema)))
    return storage


def test_prefix_search_is_served_by_the_network_name_index(
    open_storage: Callable[..., PostgresStorage],
) -> None:
    storage = _populated(open_storage)
    with storage.unit_of_work() as uow:
        net = uow.cases.list(Scope(everything=True), CaseFilter(limit=1)).items[0].network_id
    query = CaseFilter(patient_name="jane d", sort=SortKey.PATIENT, descending=False)
    plans = _plans(storage, lambda uow: uow.cases.list(Scope(network_id=net), query))
    assert plans and "cases_network_name" in plans[0], plans


def test_substring_search_uses_trigrams_where_available(
    open_storage: Callable[..., PostgresStorage],
) -> None:
    storage = _populated(open_storage)
    if not storage.trigram_search:
        pytest.skip("pg_trgm cannot be installed on this server: substring search scans")
    query = CaseFilter(patient_name="mith", name_match=NameMatch.SUBSTRING)
    plans = _plans(storage, lambda uow: uow.cases.list(Scope(everything=True), query))
    assert plans and "cases_name_trgm" in plans[0], plans
    with storage.unit_of_work() as uow:
        page = uow.cases.list(Scope(everything=True), query)
    assert page.total > 0 and all("mith" in s.patient_name.casefold() for s in page.items)


def test_my_cases_are_served_by_the_assignee_index(
    open_storage: Callable[..., PostgresStorage],
) -> None:
    storage = _populated(open_storage)
    with storage.unit_of_work() as uow:
        rows = uow.cases.list(Scope(everything=True), CaseFilter(limit=50)).items
    row = next(r for r in rows if r.assigned_to is not None)
    assert row.assigned_to is not None
    mine = CaseFilter(assigned_to=row.assigned_to)
    scope = Scope(network_id=row.network_id, member_id=row.assigned_to)  # lab staff
    plans = _plans(storage, lambda uow: uow.cases.list(scope, mine))
    assert plans and "cases_assigned" in plans[0], plans


def test_case_moments_are_served_by_the_network_and_owner_indexes(
    open_storage: Callable[..., PostgresStorage],
) -> None:
    storage = _populated(open_storage)
    with storage.unit_of_work() as uow:
        row = uow.cases.list(Scope(everything=True), CaseFilter(limit=1)).items[0]
    since = row.updated_at
    network = _plans(storage, lambda uow: uow.cases.moments(row.network_id, since))
    assert network and "cases_network_updated" in network[0], network
    mine = _plans(
        storage, lambda uow: uow.cases.moments(row.network_id, since, owner_id=row.owner_id)
    )
    assert mine and any(f"cases_{i}_updated" in mine[0] for i in ("owner", "network")), mine


def test_dashboard_counts_read_the_kept_counts(
    open_storage: Callable[..., PostgresStorage],
) -> None:
    storage = _populated(open_storage)
    with storage.unit_of_work() as uow:
        net = uow.cases.list(Scope(everything=True), CaseFilter(limit=1)).items[0].network_id
    plans = _plans(storage, lambda uow: uow.cases.count_by_status(Scope(network_id=net)))
    assert plans and "case_counts_pkey" in plans[0] and " cases " not in plans[0], plans


def test_import_moves_the_number_sequence_past_the_imported_cases(
    open_storage: Callable[..., PostgresStorage],
) -> None:
    storage = _populated(open_storage)
    with storage.unit_of_work() as uow:
        highest = uow.cases.list(Scope(everything=True), CaseFilter(sort=SortKey.NUMBER, limit=1))
        assert uow.cases.next_number() > highest.items[0].number


# ---------------------------------------------------------------------- outbox leases
def test_concurrent_claims_from_several_storages_never_overlap(
    open_storage: Callable[..., PostgresStorage],
) -> None:
    first = open_storage(max_size=8)
    _, doctor = _cast(first)
    with first.unit_of_work() as uow:
        for _ in range(200):
            uow.outbox.add(outbox_entry(doctor))
        uow.commit()
    handles = [first, open_storage(max_size=8), open_storage(max_size=8)]
    claimed: list[list[Any]] = [[] for _ in range(6)]
    barrier = threading.Barrier(6)

    def claimer(i: int) -> None:
        storage = handles[i % 3]
        barrier.wait()
        while True:
            with storage.unit_of_work() as uow:
                got = uow.outbox.claim(T0, T0 + timedelta(minutes=5), 7)
            if not got:
                return
            claimed[i].extend(e.entry_id for e in got)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(claimer, range(6)))
    everything = [e for part in claimed for e in part]
    assert len(everything) == len(set(everything)) == 200


# ---------------------------------------------------------------------- migrations 2 and on
def test_a_version_1_schema_is_migrated_with_its_data(
    open_storage: Callable[..., PostgresStorage], schema: str
) -> None:
    """Counts are backfilled from the cases; versions and attempts become 64-bit; a case
    document naming its planner (before schema 6) fills the assignee column and loads."""
    from aligner_core.serialization import make_converter
    from aligner_core.storage.sql.columns import case_row
    from aligner_core.testing.contracts.storage import grant

    net = network()
    doctor, guest = account(net, "doc"), account(net, "guest")
    shared = case(100, doctor, collaborators=(grant(guest, doctor),))
    planner_id = uuid4()
    planned = case(101, doctor, status=CaseStatus.IN_PLANNING, assigned_to=planner_id)
    converter = make_converter()

    def dumps(obj: Any) -> str:  # the documents as versions before 6 wrote them
        doc = converter.to_document(obj)
        if "assigned_to" in doc:
            doc["assigned_planner_id"] = doc.pop("assigned_to")
        return json.dumps(doc)

    with _raw() as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        conn.execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for statement in pg._MIGRATIONS[1]:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations (version) VALUES (1)")
        conn.execute("INSERT INTO networks VALUES (%s, %s, %s)",
                     (net.network_id, net.reference_code.casefold(), dumps(net)))  # fmt: skip
        for a in (doctor, guest):
            conn.execute(
                "INSERT INTO accounts VALUES (%s, %s, %s, %s, 1, %s)",
                (a.account_id, a.network_id, a.username, a.email, dumps(a)),
            )
        for c in (shared, planned):
            r = case_row(c)
            conn.execute(
                "INSERT INTO cases (case_id, number, version, status, kind, owner_id, network_id,"
                " name_key, patient_name, created_at, updated_at, accepted_at, doc) VALUES"
                " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (*r.values(dumps(c))[:12], dumps(c)),  # the columns of version 1
            )
        conn.execute("INSERT INTO case_members VALUES (100, %s)", (guest.account_id,))
    storage = open_storage()
    assert _snapshot(schema)["versions"] == [(v,) for v in range(1, pg.SCHEMA_VERSION + 1)]
    with storage.unit_of_work() as uow:
        assert uow.cases.get(shared.case_id) == shared
        assert uow.cases.of_patient(shared.patient.patient_id) == [shared]  # backfilled
        assert uow.cases.count_by_status(Scope(network_id=net.network_id)) == {
            CaseStatus.DRAFT: 1, CaseStatus.IN_PLANNING: 1,
        }  # fmt: skip
        page = uow.cases.list(Scope(member_id=guest.account_id), CaseFilter())
        assert [s.case_id for s in page.items] == [shared.case_id]
        assert uow.cases.get(planned.case_id) == planned
        mine = uow.cases.list(Scope(network_id=net.network_id), CaseFilter(assigned_to=planner_id))
        assert [s.case_id for s in mine.items] == [planned.case_id]
        uow.cases.update(attrs.evolve(planned, version=2**40))
        with pytest.raises(ConcurrencyConflictError):
            uow.commit()
    with _raw() as conn:
        kinds = conn.execute(
            "SELECT table_name, data_type FROM information_schema.columns WHERE table_schema = %s"
            " AND column_name IN ('version', 'attempts') AND table_name <> 'schema_migrations'"
            " ORDER BY 1",
            (schema,),
        ).fetchall()
    assert kinds == [("accounts", "bigint"), ("cases", "bigint"), ("outbox", "bigint")]
