"""What only the SQLite adapter promises: schema on open, refusals, pragmas, query plans."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from aligner_core.domain.cases import Case, CaseStatus
from aligner_core.domain.queries import CaseFilter, NameMatch, Scope
from aligner_core.errors import SchemaVersionError, StorageError, ValidationError
from aligner_core.storage.sqlite import APPLICATION_ID, DB_SCHEMA_VERSION, SqliteStorage
from aligner_core.testing.contracts.storage import (
    account,
    case,
    issued_invoice,
    network,
    populate,
)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "cases.db"


def _pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


def test_opening_creates_the_schema_once_and_keeps_no_secret(db: Path) -> None:
    first = SqliteStorage(db)
    first.close()
    assert _pragma(db, "user_version") == DB_SCHEMA_VERSION
    assert _pragma(db, "application_id") == APPLICATION_ID
    again = SqliteStorage(db)
    again.close()
    with sqlite3.connect(db) as conn:  # share-link keys live in configuration, not here
        assert (
            conn.execute("SELECT count(*) FROM meta WHERE key = 'link_secret'").fetchone()[0] == 0
        )


def _layout(path: Path) -> tuple[object, ...]:
    """Everything the schema is: its entries, the rows the migrations wrote, the pragmas."""
    with sqlite3.connect(path) as conn:
        found = (
            sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"), key=str),
            conn.execute("SELECT * FROM counters").fetchall(),
            conn.execute("SELECT * FROM meta").fetchall(),
            *(conn.execute(f"PRAGMA {name}").fetchone()[0] for name in (
                "user_version", "application_id", "page_size", "journal_mode")),
        )  # fmt: skip
    conn.close()
    return found


def test_a_new_database_has_the_layout_the_migrations_end_with(tmp_path: Path) -> None:
    import aligner_core.storage.sqlite as module

    SqliteStorage(tmp_path / "new.db").close()
    stepwise = tmp_path / "stepwise.db"
    conn = sqlite3.connect(stepwise, isolation_level=None)
    conn.execute(f"PRAGMA page_size = {module.PAGE_SIZE}")
    conn.execute("PRAGMA journal_mode = WAL")
    module._run_migrations(conn, 0)
    conn.execute(f"PRAGMA user_version = {DB_SCHEMA_VERSION}")
    conn.close()
    new = _layout(tmp_path / "new.db")
    assert new == _layout(stepwise)
    names = {entry[1] for entry in new[0]}  # type: ignore[attr-defined]
    assert {"cases", "cases_fts", "cases_fts_data", "cases_network_updated"} <= names
    assert new[1] == [("case_number", 100)]


def test_wal_page_size_and_synchronous(db: Path) -> None:
    storage = SqliteStorage(db, synchronous="FULL", busy_timeout=1.5)
    conn = storage._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA page_size").fetchone()[0] == 16384
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 1500
    storage.close()
    normal = SqliteStorage(db)
    assert normal._conn().execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    normal.close()


def test_a_newer_schema_is_refused_and_the_file_left_untouched(db: Path) -> None:
    SqliteStorage(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {DB_SCHEMA_VERSION + 1}")
    conn.close()
    before = (db.read_bytes(), os.stat(db).st_mtime_ns)
    with pytest.raises(SchemaVersionError) as caught:
        SqliteStorage(db)
    assert caught.value.found == DB_SCHEMA_VERSION + 1
    assert "will not modify" in str(caught.value)
    assert (db.read_bytes(), os.stat(db).st_mtime_ns) == before


def test_another_applications_database_is_refused(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    conn.close()
    before = db.read_bytes()
    with pytest.raises(SchemaVersionError):
        SqliteStorage(db)
    assert db.read_bytes() == before


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" * 200,
        b"just some notes, not a database\n" * 300,
        b"SQLite format 3\x00" + b"\xff" * 4000,  # a damaged header
    ],
    ids=["pdf", "text", "corrupt"],
)
def test_a_file_that_is_not_a_usable_database_is_refused(db: Path, content: bytes) -> None:
    db.write_bytes(content)
    with pytest.raises(StorageError) as caught:
        SqliteStorage(db)
    assert not isinstance(caught.value.__cause__, SchemaVersionError)
    assert isinstance(caught.value.__cause__, sqlite3.Error)
    assert db.read_bytes() == content
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0


@pytest.mark.parametrize(
    "where",
    ["missing-directory/cases.db", "/proc/aligner-core-cases.db"],
    ids=["missing-directory", "proc-filesystem"],
)
def test_an_unwritable_location_is_a_storage_error(tmp_path: Path, where: str) -> None:
    # Tests run as root, for whom chmod does not stop writes; /proc refuses new files even
    # to root, and a missing directory is what a mistyped path gives.
    path = where if where.startswith("/") else str(tmp_path / where)
    with pytest.raises(StorageError) as caught:
        SqliteStorage(path)
    assert isinstance(caught.value.__cause__, sqlite3.Error)


def test_a_read_only_database_file_refuses_writes_with_a_storage_error(db: Path) -> None:
    SqliteStorage(db).close()
    storage = SqliteStorage(db)
    # a read-only handle, as a read-only mount would give: writing must fail cleanly
    read_only = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
    storage.dialect._local.conn = read_only
    storage.dialect._connections.append(read_only)
    with storage.unit_of_work() as uow, pytest.raises(StorageError) as caught:
        uow.accounts.add_network(network())
        uow.commit()
    assert "cannot write" in str(caught.value)
    storage.close()


def test_a_lock_held_beyond_the_busy_timeout_is_a_storage_error(db: Path) -> None:
    storage = SqliteStorage(db, busy_timeout=0.2)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with storage.unit_of_work() as uow:
            with pytest.raises(StorageError) as caught:
                uow.cases.next_number()
            uow.accounts.add_network(network())
            with pytest.raises(StorageError):
                uow.commit()
        assert "locked beyond the busy timeout (0.2 s)" in str(caught.value)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with storage.unit_of_work() as uow:  # nothing was written, and the storage still works
        assert uow.cases.list(Scope(everything=True), CaseFilter()).total == 0
        assert uow.cases.next_number() == 100
    storage.close()


def test_a_writer_waits_for_a_short_lock(db: Path) -> None:
    storage = SqliteStorage(db, busy_timeout=5)
    blocker = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    threading.Timer(0.2, lambda: blocker.execute("COMMIT")).start()
    with storage.unit_of_work() as uow:
        assert uow.cases.next_number() == 100
    blocker.close()
    storage.close()


def _plans(storage: SqliteStorage, run: Callable[[], object]) -> list[str]:
    """The query plan of every SELECT ``run`` makes through this thread's connection."""
    seen: list[str] = []
    conn = storage._conn()
    conn.set_trace_callback(seen.append)  # the statements with their parameters inlined
    try:
        run()
    finally:
        conn.set_trace_callback(None)
    selects = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    return [
        " | ".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + s).fetchall())
        for s in selects
    ]


def _list(storage: SqliteStorage, scope: Scope, query: CaseFilter) -> Callable[[], object]:
    def run() -> object:
        with storage.unit_of_work() as uow:
            page = uow.cases.list(scope, query)
        assert page.total > 0
        return page

    return run


def test_a_prefix_search_is_an_index_range_not_a_scan(db: Path) -> None:
    storage = SqliteStorage(db)
    pop = populate(storage, 30, seed=2)
    query = CaseFilter(patient_name="Anna Mü")
    scope = Scope(network_id=pop.networks[0].network_id)  # lab staff searching their network
    plans = _plans(storage, _list(storage, scope, query))
    assert plans
    for plan in plans:
        assert "USING INDEX cases_network_name (network_id=? AND name_key>? AND name_key<?)" in plan
        assert "SCAN cases" not in plan, plan
    storage.close()


def test_my_cases_and_a_practices_cases_are_served_by_their_indexes(db: Path) -> None:
    storage = SqliteStorage(db)
    pop = populate(storage, 30, seed=2)
    staff = Scope(network_id=pop.networks[0].network_id, member_id=pop.assignees[0])
    mine = _plans(storage, _list(storage, staff, CaseFilter(assigned_to=pop.assignees[0])))
    assert "USING INDEX cases_assigned (assigned_to=? AND network_id=?)" in mine[0], mine
    doctor = pop.cases[1].owner_id  # the second case ships to a practice
    practice = pop.cases[1].practice
    assert practice is not None
    query = CaseFilter(practice_id=practice.practice_id)
    shipped = _plans(storage, _list(storage, Scope(member_id=doctor), query))
    assert "USING INDEX cases_practice (practice_id=? AND owner_id=?)" in shipped[0], shipped
    storage.close()


def test_case_moments_are_read_by_index_and_from_the_documents_in_the_database(
    db: Path,
) -> None:
    storage = SqliteStorage(db)
    pop = populate(storage, 30, seed=2)
    since = pop.cases[0].created_at
    net, owner = pop.networks[0].network_id, pop.doctors[0].account_id

    def read(owner_id: UUID | None) -> Callable[[], object]:
        def run() -> object:
            with storage.unit_of_work() as uow:
                return uow.cases.moments(net, since, owner_id=owner_id)

        return run

    [network_plan] = _plans(storage, read(None))
    [owner_plan] = _plans(storage, read(owner))
    assert "USING INDEX cases_network_updated (network_id=? AND updated_at>?)" in network_plan
    assert "USING INDEX cases_owner_updated (owner_id=? AND updated_at>?)" in owner_plan
    assert "SCAN cases" not in network_plan + owner_plan
    storage.close()


def test_substring_search_uses_the_trigram_index(db: Path) -> None:
    storage = SqliteStorage(db)
    if storage.substring_search != "fts5-trigram":
        pytest.skip("this SQLite has no FTS5 trigram tokenizer: substring search scans")
    populate(storage, 30, seed=2)
    query = CaseFilter(patient_name="üller", name_match=NameMatch.SUBSTRING)
    plans = _plans(storage, _list(storage, Scope(everything=True), query))
    assert plans
    for plan in plans:
        assert "VIRTUAL TABLE INDEX" in plan and "cases_fts" in plan, plan
    storage.close()


def test_renaming_a_patient_updates_the_trigram_index(db: Path) -> None:
    import attrs

    storage = SqliteStorage(db)
    net = network()
    doctor = account(net, "doc")
    c = case(5, doctor, name=("Anna", "Müller"))
    with storage.unit_of_work() as uow:
        uow.accounts.add_network(net)
        uow.accounts.add(doctor)
        uow.cases.add(c)
        uow.commit()
    with storage.unit_of_work() as uow:
        renamed = attrs.evolve(c, patient=attrs.evolve(c.patient, last_name="Schmidt"), version=2)
        uow.cases.update(renamed)
        uow.commit()
    everything = Scope(everything=True)
    with storage.unit_of_work() as uow:
        find = CaseFilter(name_match=NameMatch.SUBSTRING, patient_name="schmi")
        gone = CaseFilter(name_match=NameMatch.SUBSTRING, patient_name="müll")
        assert uow.cases.list(everything, find).total == 1
        assert uow.cases.list(everything, gone).total == 0
    check = storage._conn().execute("INSERT INTO cases_fts (cases_fts) VALUES ('integrity-check')")
    assert check.fetchall() == []
    storage.close()


def test_bulk_import_matches_the_unit_of_work(tmp_path: Path) -> None:
    from aligner_core.testing.contracts.storage import population

    pop = population(40, seed=5)
    storage = SqliteStorage(tmp_path / "bulk.db")
    with storage.unit_of_work() as uow:
        for net in pop.networks:
            uow.accounts.add_network(net)
        uow.commit()
    assert storage.import_cases(pop.cases, batch=7) == 40
    scope = Scope(everything=True)
    with storage.unit_of_work() as uow:
        assert uow.cases.list(scope, CaseFilter(limit=100)).total == sum(
            1 for c in pop.cases if c.status.value != "deleted"
        )
        assert uow.cases.get(pop.cases[3].case_id) == pop.cases[3]
        assert uow.cases.next_number() == max(c.number for c in pop.cases) + 1
        substring = CaseFilter(patient_name="üll", name_match=NameMatch.SUBSTRING, limit=100)
        expected = sum(
            1
            for c in pop.cases
            if "üll" in c.patient.full_name.casefold() and c.status.value != "deleted"
        )
        assert uow.cases.list(scope, substring).total == expected
    with pytest.raises(Exception) as caught:
        storage.import_cases(pop.cases[:2])
    assert isinstance(caught.value, (StorageError, ValueError))
    assert storage._conn().execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    storage.close()


def test_bulk_import_refuses_a_nul_and_keeps_a_backslash(tmp_path: Path) -> None:
    """A NUL in any document is ``not_storable``, nothing imported; an escaped backslash is text."""
    from aligner_core.storage.sql.columns import case_row
    from aligner_core.testing.contracts.storage import population

    pop = population(6, seed=8)
    storage = SqliteStorage(tmp_path / "nul.db")
    with storage.unit_of_work() as uow:
        for net in pop.networks:
            uow.accounts.add_network(net)
        uow.commit()
    dumps = storage.converter.document_dumps
    rows = [(case_row(c), dumps(c)) for c in pop.cases]
    last = rows[-1][1].replace('"first_name":"', '"first_name":"\\u0000', 1)
    assert last != rows[-1][1]
    with pytest.raises(ValidationError) as caught:
        storage.import_rows([*rows[:-1], (rows[-1][0], last)], batch=2)
    assert caught.value.codes == ["not_storable"]
    with storage.unit_of_work() as uow:
        assert uow.cases.list(Scope(everything=True), CaseFilter(limit=100)).total == 0
    text = rows[-1][1].replace('"first_name":"', '"first_name":"\\\\u0000', 1)
    assert storage.import_rows([*rows[:-1], (rows[-1][0], text)], batch=4) == 6
    stored = storage._conn().execute(
        "SELECT doc FROM cases WHERE case_id = ?", (rows[-1][0].case_id,)
    )
    assert stored.fetchone()[0] == text
    storage.close()


def test_bulk_import_gives_the_page_cache_back(tmp_path: Path) -> None:
    """The import's large page cache is the connection's own size again, after success or not."""
    from aligner_core.storage.sqlite import BULK_CACHE_KIB
    from aligner_core.testing.contracts.storage import population

    pop = population(12, seed=3)
    storage = SqliteStorage(tmp_path / "cache.db")
    conn = storage._conn()
    conn.execute("PRAGMA cache_size = -4096")
    with storage.unit_of_work() as uow:
        for net in pop.networks:
            uow.accounts.add_network(net)
        uow.commit()
    seen: list[int] = []

    def watched() -> Iterator[Case]:
        for c in pop.cases:
            seen.append(conn.execute("PRAGMA cache_size").fetchone()[0])
            yield c

    assert storage.import_cases(watched(), batch=5) == 12
    assert set(seen) == {-BULK_CACHE_KIB}
    assert conn.execute("PRAGMA cache_size").fetchone()[0] == -4096
    with pytest.raises(ValidationError):
        storage.import_cases(pop.cases[:2])  # duplicates: nothing imported
    assert conn.execute("PRAGMA cache_size").fetchone()[0] == -4096
    with storage.unit_of_work() as uow:
        assert uow.cases.list(Scope(everything=True), CaseFilter(limit=100)).total == sum(
            1 for c in pop.cases if c.status.value != "deleted"
        )
    storage.close()


def test_no_driver_exception_escapes_after_close(db: Path) -> None:
    storage = SqliteStorage(db)
    uow = storage.unit_of_work()
    storage.close()
    with pytest.raises(StorageError):
        uow.cases.list(Scope(everything=True), CaseFilter())


def test_a_version_1_database_is_migrated_with_its_data(db: Path) -> None:
    """Counts are backfilled, the outbox's state moves to columns, FTS follows the new table."""
    import attrs

    from aligner_core.serialization import make_converter
    from aligner_core.storage import sqlite as module
    from aligner_core.storage.sql.columns import case_row, encode_time
    from aligner_core.testing.contracts.storage import grant, outbox_entry

    net = network()
    doctor, guest = account(net, "doc"), account(net, "guest")
    shared = case(100, doctor, name=("Anna", "Müller"), collaborators=(grant(guest, doctor),))
    draft = case(101, doctor, status=CaseStatus.IN_PLANNING)
    entry = attrs.evolve(outbox_entry(doctor), attempts=2, last_error="421 later")
    dumps = make_converter().document_dumps
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(f"PRAGMA page_size = {module.PAGE_SIZE}")
    conn.execute("PRAGMA journal_mode = WAL")
    for statement in module._MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute(module._FTS_TABLE)
    for trigger in module._FTS_TRIGGERS:
        conn.execute(trigger)
    conn.execute("INSERT INTO meta VALUES ('link_secret', ?)", (b"s" * 32,))
    for a in (doctor, guest):
        conn.execute(
            "INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?)",
            (str(a.account_id), str(a.network_id), a.username, a.email, 1, dumps(a)),
        )
    conn.execute(
        "INSERT INTO networks VALUES (?, ?, ?)",
        (str(net.network_id), net.reference_code.casefold(), dumps(net)),
    )
    for c in (shared, draft):
        row = case_row(c)
        conn.execute(f"INSERT INTO cases VALUES ({', '.join('?' * 13)})", (
            row.number, row.case_id, row.version, row.status, row.kind, row.owner_id,
            row.network_id, row.name_key, row.patient_name, row.created_at, row.updated_at,
            row.accepted_at, dumps(c),
        ))  # fmt: skip
    conn.execute("INSERT INTO case_members VALUES (?, 100)", (str(guest.account_id),))
    conn.execute(
        "INSERT INTO outbox VALUES (?, 'pending', ?, NULL, ?, ?)",
        (str(entry.entry_id), encode_time(entry.next_attempt_at), encode_time(entry.created_at),
         dumps(entry)),
    )  # fmt: skip
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.close()

    storage = SqliteStorage(db)
    assert _pragma(db, "user_version") == DB_SCHEMA_VERSION == 7
    with sqlite3.connect(db) as conn:  # the secret kept by version 1 is gone
        assert (
            conn.execute("SELECT count(*) FROM meta WHERE key = 'link_secret'").fetchone()[0] == 0
        )
    with storage.unit_of_work() as uow:
        assert uow.cases.get(shared.case_id) == shared
        assert uow.cases.of_patient(shared.patient.patient_id) == [shared]  # backfilled
        assert uow.cases.count_by_status(Scope(network_id=net.network_id)) == {
            CaseStatus.DRAFT: 1, CaseStatus.IN_PLANNING: 1,
        }  # fmt: skip
        guest_page = uow.cases.list(Scope(member_id=guest.account_id), CaseFilter())
        assert [s.case_id for s in guest_page.items] == [shared.case_id]
        assert list(uow.outbox.pending()) == [entry]
        uow.cases.update(attrs.evolve(draft, patient=attrs.evolve(draft.patient, last_name="Zola"),
                                      version=2))  # fmt: skip
        uow.commit()
    with storage.unit_of_work() as uow:
        find = CaseFilter(patient_name="zol", name_match=NameMatch.SUBSTRING)
        assert uow.cases.list(Scope(everything=True), find).total == 1
        assert uow.cases.next_number() == 100  # the counter was kept
    check = storage._conn().execute("INSERT INTO cases_fts (cases_fts) VALUES ('integrity-check')")
    assert check.fetchall() == []
    storage.close()


def test_version_5_adds_the_case_name_column_from_the_documents(db: Path) -> None:
    storage = SqliteStorage(db)
    pop = populate(storage, 10, seed=4)
    storage.close()
    named = {c.number: c.name for c in pop.cases if c.status is not CaseStatus.DELETED}
    assert any(named.values())
    with sqlite3.connect(db) as conn:  # the database as version 4 left it
        _as_version_5(conn)
        conn.execute("ALTER TABLE cases DROP COLUMN case_name")
        conn.execute("PRAGMA user_version = 4")
    storage = SqliteStorage(db)
    with storage.unit_of_work() as uow:
        page = uow.cases.list(Scope(everything=True), CaseFilter())
    assert {s.number: s.name for s in page.items} == named
    assert _pragma(db, "user_version") == DB_SCHEMA_VERSION == 7
    storage.close()


def _as_version_6(conn: sqlite3.Connection) -> None:
    """The database as version 6 left it: no invoices."""
    conn.execute("DROP TABLE invoices")
    conn.execute("DROP TABLE invoice_counters")
    conn.execute("PRAGMA user_version = 6")


def test_version_7_adds_invoices_numbered_from_one(db: Path) -> None:
    storage = SqliteStorage(db)
    populate(storage, 3, seed=7)
    storage.close()
    with sqlite3.connect(db) as conn:
        _as_version_6(conn)
    storage = SqliteStorage(db)
    network_id = uuid4()
    with storage.unit_of_work() as uow:
        number = uow.invoices.next_number(network_id, 2026)
        uow.invoices.add(issued_invoice(network_id, number, uuid4()))
        uow.commit()
    with storage.unit_of_work() as uow:
        assert [str(e.number) for e in uow.invoices.list(network_id)] == ["INV-2026-000001"]
    assert _pragma(db, "user_version") == DB_SCHEMA_VERSION == 7
    storage.close()


def _as_version_5(conn: sqlite3.Connection) -> None:
    """The database as version 5 left it: no assignee nor practice columns, and documents
    naming the assigned planner in their old field."""
    _as_version_6(conn)
    for index in ("cases_assigned", "cases_practice"):
        conn.execute(f"DROP INDEX {index}")
    for column in ("assigned_to", "practice_id"):
        conn.execute(f"ALTER TABLE cases DROP COLUMN {column}")
    conn.execute(
        "UPDATE cases SET doc = json_set(json_remove(doc, '$.assigned_to'),"
        " '$.assigned_planner_id', json_extract(doc, '$.assigned_to'))"
    )
    conn.execute("PRAGMA user_version = 5")


def test_version_6_adds_the_assignee_and_practice_columns_from_the_documents(db: Path) -> None:
    storage = SqliteStorage(db)
    pop = populate(storage, 12, seed=6)
    storage.close()
    with sqlite3.connect(db) as conn:
        _as_version_5(conn)
    storage = SqliteStorage(db)
    assert _pragma(db, "user_version") == DB_SCHEMA_VERSION == 7
    live = [c for c in pop.cases if c.status is not CaseStatus.DELETED]
    with storage.unit_of_work() as uow:
        assert [uow.cases.get(c.case_id) for c in pop.cases] == list(pop.cases)
        for assignee in pop.assignees:
            page = uow.cases.list(Scope(everything=True), CaseFilter(assigned_to=assignee))
            expected = {c.number for c in live if c.assigned_to == assignee}
            assert expected and {s.number for s in page.items} == expected
        practice = pop.practices[0].practice_id
        page = uow.cases.list(Scope(everything=True), CaseFilter(practice_id=practice))
        shipped = {c.number for c in live if c.practice and c.practice.practice_id == practice}
        assert shipped and {s.number for s in page.items} == shipped
    storage.close()
