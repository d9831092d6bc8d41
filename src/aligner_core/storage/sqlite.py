"""The embedded storage: one SQLite file (stdlib ``sqlite3``), safe for threads and processes.

Why it looks like this:

- Cases, accounts, networks and outbox entries are stored as converter JSON
  documents (with their schema version), plus real indexed columns for what
  the case list and dashboard filter on; the columns come from
  :func:`aligner_core.storage.sql.columns.case_row` and the query semantics from
  :mod:`aligner_core.domain.queries` via :func:`~aligner_core.storage.sql.columns.filter_clauses`.
- A unit of work buffers its writes (like the in-memory adapter) and applies
  them at ``commit`` in one ``BEGIN IMMEDIATE`` transaction: case updates are
  ``UPDATE ... WHERE version = ?`` so a stale writer gets
  ``ConcurrencyConflictError`` and nothing of its unit of work (outbox
  included) is written. No transaction ever spans caller code, so one
  connection per thread is enough and write locks are held for microseconds.
- Reads run outside transactions (or in a short deferred one for a consistent
  page + total) and see committed state; WAL lets them run beside a writer.
- Opening applies versioned migrations in one transaction; a file written by
  a newer schema, a foreign database, a corrupt or non-SQLite file is refused
  with :class:`~aligner_core.errors.StorageError` (``SchemaVersionError``) and
  not modified. No ``sqlite3`` exception leaves a public method.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, Self
from uuid import UUID

import attrs

from aligner_core.domain.accounts import Account, Network
from aligner_core.domain.cases import Case, CaseKind, CaseStatus
from aligner_core.domain.queries import CaseFilter, CaseSummary, NameMatch, Page, Scope
from aligner_core.errors import (
    ConcurrencyConflictError,
    NotFoundError,
    SchemaVersionError,
    StorageError,
    ValidationError,
)
from aligner_core.notifications.outbox import DeliveryState, OutboxEntry
from aligner_core.serialization import Converter, make_converter
from aligner_core.storage._pending import PendingAccounts, PendingCases
from aligner_core.storage.sql.columns import (
    CASE_COLUMNS,
    CaseRow,
    case_row,
    decode_time,
    encode_time,
    filter_clauses,
    order_by,
)

__all__ = [
    "DB_SCHEMA_VERSION",
    "SqliteAccountRepository",
    "SqliteCaseRepository",
    "SqliteOutboxRepository",
    "SqliteStorage",
    "SqliteUnitOfWork",
]

#: Version of the database layout (``PRAGMA user_version``); one migration per step.
DB_SCHEMA_VERSION = 1
#: ``PRAGMA application_id`` of an aligner_core database ("AlCo").
APPLICATION_ID = 0x416C436F
PAGE_SIZE = 16384
FIRST_CASE_NUMBER = 100

_CASE_INDEXES = (
    "CREATE INDEX IF NOT EXISTS cases_status ON cases (status)",
    "CREATE INDEX IF NOT EXISTS cases_kind ON cases (kind)",
    "CREATE INDEX IF NOT EXISTS cases_owner ON cases (owner_id)",
    "CREATE INDEX IF NOT EXISTS cases_name ON cases (name_key)",
    "CREATE INDEX IF NOT EXISTS cases_created ON cases (created_at)",
    "CREATE INDEX IF NOT EXISTS cases_updated ON cases (updated_at)",
    "CREATE INDEX IF NOT EXISTS cases_network_status ON cases (network_id, status)",
    "CREATE INDEX IF NOT EXISTS cases_network_name ON cases (network_id, name_key)",
)
_FTS_TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS cases_fts_insert AFTER INSERT ON cases BEGIN
        INSERT INTO cases_fts (rowid, name_key) VALUES (new.number, new.name_key);
    END""",
    """CREATE TRIGGER IF NOT EXISTS cases_fts_delete AFTER DELETE ON cases BEGIN
        INSERT INTO cases_fts (cases_fts, rowid, name_key)
            VALUES ('delete', old.number, old.name_key);
    END""",
    """CREATE TRIGGER IF NOT EXISTS cases_fts_update AFTER UPDATE OF name_key ON cases BEGIN
        INSERT INTO cases_fts (cases_fts, rowid, name_key)
            VALUES ('delete', old.number, old.name_key);
        INSERT INTO cases_fts (rowid, name_key) VALUES (new.number, new.name_key);
    END""",
)
_FTS_TABLE = (
    "CREATE VIRTUAL TABLE cases_fts USING fts5("
    "name_key, content='cases', content_rowid='number', "
    "tokenize='trigram case_sensitive 1', detail=none, columnsize=0)"
)

#: Migration N (1-based) brings the database from version N-1 to N.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID",
        "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
        f"INSERT INTO counters VALUES ('case_number', {FIRST_CASE_NUMBER})",
        """CREATE TABLE networks (
            network_id TEXT PRIMARY KEY, code_key TEXT NOT NULL UNIQUE, doc TEXT NOT NULL)""",
        """CREATE TABLE accounts (
            account_id TEXT PRIMARY KEY, network_id TEXT NOT NULL,
            username_key TEXT NOT NULL UNIQUE, email_key TEXT NOT NULL UNIQUE,
            version INTEGER NOT NULL, doc TEXT NOT NULL)""",
        "CREATE INDEX accounts_network ON accounts (network_id)",
        """CREATE TABLE cases (
            number INTEGER PRIMARY KEY, case_id TEXT NOT NULL UNIQUE, version INTEGER NOT NULL,
            status TEXT NOT NULL, kind TEXT NOT NULL, owner_id TEXT NOT NULL,
            network_id TEXT NOT NULL, name_key TEXT NOT NULL, patient_name TEXT NOT NULL,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL, accepted_at TEXT,
            doc TEXT NOT NULL)""",
        *_CASE_INDEXES,
        """CREATE TABLE case_members (
            account_id TEXT NOT NULL, number INTEGER NOT NULL, PRIMARY KEY (account_id, number))
            WITHOUT ROWID""",
        "CREATE INDEX case_members_number ON case_members (number)",
        """CREATE TABLE outbox (
            entry_id TEXT PRIMARY KEY, state TEXT NOT NULL, next_attempt_at TEXT NOT NULL,
            lease_until TEXT, created_at TEXT NOT NULL, doc TEXT NOT NULL)""",
        "CREATE INDEX outbox_due ON outbox (state, next_attempt_at, created_at)",
        "CREATE INDEX outbox_state ON outbox (state, created_at)",
    ),
)

_SUMMARY_COLUMNS = (
    "case_id, number, kind, status, patient_name, owner_id, network_id, "
    "created_at, updated_at, accepted_at, version"
)
_CASE_INSERT = (
    f"INSERT INTO cases ({', '.join(CASE_COLUMNS)}) VALUES ({', '.join('?' * len(CASE_COLUMNS))})"
)
_CASE_UPDATE = (
    "UPDATE cases SET version = ?, status = ?, kind = ?, owner_id = ?, network_id = ?, "
    "name_key = ?, patient_name = ?, created_at = ?, updated_at = ?, accepted_at = ?, doc = ? "
    "WHERE case_id = ? AND version = ?"
)


def _trigram_query(key: str) -> str:
    """An FTS5 query for rows holding every trigram of ``key`` (``instr`` then checks order).

    The index is ``detail=none`` (about half the size and build time), which has no
    phrase queries; all trigrams present is a superset of "contains ``key``".
    """
    grams = sorted({key[i : i + 3] for i in range(len(key) - 2)})
    return " AND ".join('"' + g.replace('"', '""') + '"' for g in grams)


def _is_locked(error: sqlite3.Error) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


class SqliteStorage:
    """Storage in one SQLite file; build it with ``connect("sqlite:///path/cases.db")``.

    ``synchronous`` is ``"NORMAL"`` (WAL: a power cut may lose the last commits,
    never corrupt) or ``"FULL"`` (every commit is durable). ``busy_timeout`` is how
    long a writer waits for another one, in seconds, before ``StorageError``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Literal["NORMAL", "FULL"] | str = "NORMAL",
        busy_timeout: float = 5.0,
    ) -> None:
        sync = str(synchronous).upper()
        if sync not in ("NORMAL", "FULL"):
            raise ValidationError.single("synchronous is NORMAL or FULL", "$.synchronous")
        if busy_timeout < 0:
            raise ValidationError.single("busy_timeout is not negative", "$.busy_timeout")
        self.path = os.fspath(path)
        self.synchronous = sync
        self.busy_timeout = float(busy_timeout)
        self._converter: Converter = make_converter()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        self._pid = os.getpid()
        conn = self._connect()
        try:
            self._migrate(conn)
            self._secret, self._fts = self._inspect(conn)
        except BaseException:
            conn.close()
            raise
        self._register(conn)

    # ------------------------------------------------------------------ connections
    def _error(self, error: sqlite3.Error, doing: str) -> StorageError:
        """The library error for a driver error (the caller chains it)."""
        text = str(error).lower()
        if _is_locked(error):
            return StorageError(
                f"database is locked beyond the busy timeout ({self.busy_timeout:g} s) "
                f"while {doing}: {self.path}"
            )
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return StorageError(f"{self.path} is not a usable aligner_core database ({error})")
        if "readonly" in text or "read-only" in text or "unable to open" in text:
            return StorageError(f"cannot write {self.path} ({error}): is the location writable?")
        return StorageError(f"SQLite failed while {doing}: {error}")

    @contextmanager
    def _driver(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as e:
            raise self._error(e, doing) from e

    def _connect(self) -> sqlite3.Connection:
        with self._driver("opening the database"):
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
                conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            except BaseException:
                conn.close()
                raise
        return conn

    def _register(self, conn: sqlite3.Connection) -> None:
        self._local.conn = conn
        with self._lock:
            self._connections.append(conn)

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (a new process never reuses its parent's)."""
        if self._closed:
            raise StorageError("storage is closed")
        if self._pid != os.getpid():
            self._local = threading.local()
            self._connections = []
            self._pid = os.getpid()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._register(conn)
        return conn

    @contextmanager
    def write(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on any error."""
        conn = self._conn()
        with self._driver(doing):
            conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as e:
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(e, sqlite3.Error):
                raise self._error(e, doing) from e
            raise

    @contextmanager
    def read(self, doing: str) -> Iterator[sqlite3.Connection]:
        """A deferred read transaction: several queries see one snapshot."""
        conn = self._conn()
        with self._driver(doing):
            conn.execute("BEGIN")
        try:
            yield conn
        except sqlite3.Error as e:
            raise self._error(e, doing) from e
        finally:
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = (), doing: str = "reading") -> list[Any]:
        """All rows of one read statement (autocommit: the latest committed state)."""
        conn = self._conn()
        with self._driver(doing):
            return conn.execute(sql, params).fetchall()

    # ------------------------------------------------------------------ schema
    def _migrate(self, conn: sqlite3.Connection) -> None:
        with self._driver("checking the schema"):
            found = conn.execute("PRAGMA user_version").fetchone()[0]
            self._check_version(conn, found)
            if found == DB_SCHEMA_VERSION:
                self._ensure_wal(conn)
                return
            if found == 0:
                conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # only effective before any table
            self._ensure_wal(conn)
        try:
            conn.execute("BEGIN IMMEDIATE")
            current = conn.execute("PRAGMA user_version").fetchone()[
                0
            ]  # another process may have won
            self._check_version(conn, current)
            for version in range(current + 1, DB_SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[version - 1]:
                    conn.execute(statement)
                if version == 1:
                    self._create_fts(conn)
                    conn.execute("INSERT INTO meta VALUES ('link_secret', ?)", (os.urandom(32),))
                    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {DB_SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException as e:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(e, sqlite3.Error):
                raise self._error(e, "migrating the schema") from e
            raise

    def _check_version(self, conn: sqlite3.Connection, found: int) -> None:
        if found > DB_SCHEMA_VERSION:
            raise SchemaVersionError(found, DB_SCHEMA_VERSION, self.path)
        app = conn.execute("PRAGMA application_id").fetchone()[0]
        if found == 0:
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables or app not in (0, APPLICATION_ID):
                raise SchemaVersionError("unknown (a database of another application)",
                                         DB_SCHEMA_VERSION, self.path)  # fmt: skip
        elif app != APPLICATION_ID:
            raise SchemaVersionError(
                f"{found} of application {app:#x}", DB_SCHEMA_VERSION, self.path
            )

    def _ensure_wal(self, conn: sqlite3.Connection) -> None:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")

    @staticmethod
    def _create_fts(conn: sqlite3.Connection) -> None:
        """The trigram index for substring search, where this SQLite has FTS5 with trigrams."""
        try:
            conn.execute(_FTS_TABLE)
        except sqlite3.OperationalError:
            return
        for trigger in _FTS_TRIGGERS:
            conn.execute(trigger)

    def _inspect(self, conn: sqlite3.Connection) -> tuple[bytes, bool]:
        with self._driver("reading the metadata"):
            secret = conn.execute("SELECT value FROM meta WHERE key = 'link_secret'").fetchone()[0]
            fts = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'cases_fts'"
            ).fetchone()[0]
        return bytes(secret), bool(fts)

    # ------------------------------------------------------------------ the port
    @property
    def converter(self) -> Converter:
        return self._converter

    @property
    def substring_search(self) -> str:
        """How substring name search runs: ``"fts5-trigram"`` or ``"scan"``."""
        return "fts5-trigram" if self._fts else "scan"

    def unit_of_work(self) -> SqliteUnitOfWork:
        if self._closed:
            raise StorageError("storage is closed")
        return SqliteUnitOfWork(self)

    def link_secret(self) -> bytes:
        return self._secret

    def close(self) -> None:
        """Close every connection this storage opened (in any thread)."""
        self._closed = True
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            with suppress(sqlite3.Error):
                conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ bulk import
    def import_cases(self, cases: Iterable[Case], *, batch: int = 10_000) -> int:
        """Store many new cases in one transaction (serializing them); returns how many."""
        dumps = self._converter.document_dumps
        return self.import_rows(((case_row(c), dumps(c)) for c in cases), batch=batch)

    def import_rows(self, rows: Iterable[tuple[CaseRow, str]], *, batch: int = 10_000) -> int:
        """Store many new cases given as (columns, converter JSON document), in one transaction.

        For migrations from another store that already holds the documents. Into
        an empty table the indexes are built once at the end (faster than
        maintaining them row by row). A duplicate case id or number is a
        ``ValidationError`` and nothing is imported.
        """
        count = 0
        try:
            with self.write("importing cases") as conn:
                empty = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM cases)").fetchone()[0]
                conn.execute("PRAGMA cache_size = -131072")  # 128 MiB while building indexes
                if empty:
                    self._drop_case_indexes(conn)
                top = 0
                chunk: list[tuple[Any, ...]] = []
                members: list[tuple[str, int]] = []
                for row, doc in rows:
                    chunk.append(row.values(doc))
                    members.extend((m, row.number) for m in row.collaborator_ids)
                    top = max(top, row.number)
                    if len(chunk) >= batch:
                        count += self._insert_chunk(conn, chunk, members)
                        chunk, members = [], []
                count += self._insert_chunk(conn, chunk, members)
                if empty:
                    self._create_case_indexes(conn)
                conn.execute(
                    "UPDATE counters SET value = max(value, ?) WHERE name = 'case_number'",
                    (top + 1,),
                )
                conn.execute("PRAGMA cache_size = -2000")
        except sqlite3.IntegrityError as e:  # pragma: no cover - mapped in write()
            raise ValidationError.single(f"duplicate case ({e})", "$.number") from e
        return count

    def _insert_chunk(
        self, conn: sqlite3.Connection, chunk: list[tuple[Any, ...]], members: list[tuple[str, int]]
    ) -> int:
        try:
            conn.executemany(_CASE_INSERT, chunk)
        except sqlite3.IntegrityError as e:
            raise ValidationError.single(
                f"a case with that id or number exists ({e})", "$.number"
            ) from e
        conn.executemany("INSERT OR IGNORE INTO case_members VALUES (?, ?)", members)
        return len(chunk)

    def _drop_case_indexes(self, conn: sqlite3.Connection) -> None:
        for statement in _CASE_INDEXES:
            conn.execute("DROP INDEX IF EXISTS " + statement.split(" IF NOT EXISTS ")[1].split()[0])
        if self._fts:
            for name in ("cases_fts_insert", "cases_fts_delete", "cases_fts_update"):
                conn.execute(f"DROP TRIGGER IF EXISTS {name}")

    def _create_case_indexes(self, conn: sqlite3.Connection) -> None:
        for statement in _CASE_INDEXES:
            conn.execute(statement)
        if self._fts:
            conn.execute("INSERT INTO cases_fts (cases_fts) VALUES ('rebuild')")
            for trigger in _FTS_TRIGGERS:
                conn.execute(trigger)


def _load_summary(row: Sequence[Any]) -> CaseSummary:
    created, updated = decode_time(row[7]), decode_time(row[8])
    assert created is not None and updated is not None
    return CaseSummary(
        case_id=UUID(row[0]),
        number=row[1],
        kind=CaseKind(row[2]),
        status=CaseStatus(row[3]),
        patient_name=row[4],
        owner_id=UUID(row[5]),
        network_id=UUID(row[6]),
        created_at=created,
        updated_at=updated,
        accepted_at=decode_time(row[9]),
        version=row[10],
    )


class SqliteCaseRepository:
    """Cases of one unit of work: reads see committed state plus this unit's own writes."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow
        self._db = uow.storage
        self.pending = PendingCases()
        self.added, self.updated = self.pending.added, self.pending.updated

    def _load(self, rows: list[Any], kind: str, key: object) -> Case:
        if not rows:
            raise NotFoundError(kind, key)
        return self._db.converter.document_loads(rows[0][0], Case)

    def add(self, case: Case) -> None:
        """Queue a new case (version 1); a taken id or number fails at commit."""
        self.pending.add(case)

    def get(self, case_id: UUID) -> Case:
        """The case (deleted drafts included); ``NotFoundError`` if there is none."""
        if (pending := self.pending.find(case_id)) is not None:
            return pending
        rows = self._db.query("SELECT doc FROM cases WHERE case_id = ?", (str(case_id),))
        return self._load(rows, "case", case_id)

    def get_by_number(self, number: int) -> Case:
        """The case with that number unless it is a deleted draft."""
        if (pending := self.pending.find_number(number)) is not None:
            return pending
        rows = self._db.query(
            "SELECT doc FROM cases WHERE number = ? AND status <> ?",
            (number, CaseStatus.DELETED.value),
        )
        return self._load(rows, "case number", number)

    def update(self, case: Case) -> None:
        """Queue a change; its version must be one more than the stored one (checked at commit)."""
        self.pending.update(case)

    def next_number(self) -> int:
        """A new case number, taken at once (never reused, even if this unit rolls back)."""
        with self._db.write("taking a case number") as conn:
            row = conn.execute(
                "UPDATE counters SET value = value + 1 WHERE name = 'case_number' "
                "RETURNING value - 1"
            ).fetchone()
        return int(row[0])

    def _where(self, scope: Scope, query: CaseFilter | None) -> tuple[str, list[Any]]:
        clauses, params = filter_clauses(scope, query)
        key = query.name_key if query is not None else None
        if query is not None and key and query.name_match is NameMatch.SUBSTRING:
            if self._db.substring_search == "fts5-trigram" and len(key) >= 3:
                clauses.append("number IN (SELECT rowid FROM cases_fts WHERE cases_fts MATCH ?)")
                params.append(_trigram_query(key))
            clauses.append("instr(name_key, ?) > 0")
            params.append(key)
        return " AND ".join(clauses), params

    def list(self, scope: Scope, query: CaseFilter) -> Page[CaseSummary]:
        """One page of visible cases matching ``query``, sorted like ``queries.paginate``."""
        where, params = self._where(scope, query)
        with self._db.read("listing cases") as conn:
            total = conn.execute(f"SELECT count(*) FROM cases WHERE {where}", params).fetchone()[0]
            rows = conn.execute(
                f"SELECT {_SUMMARY_COLUMNS} FROM cases WHERE {where} ORDER BY {order_by(query)} "
                "LIMIT ? OFFSET ?",
                [*params, query.limit, query.offset],
            ).fetchall()
        return Page(tuple(_load_summary(r) for r in rows), total, query.offset, query.limit)

    def count_by_status(self, scope: Scope) -> Mapping[CaseStatus, int]:
        """How many visible cases are in each status (statuses with none are absent)."""
        where, params = self._where(scope, None)
        rows = self._db.query(
            f"SELECT status, count(*) FROM cases WHERE {where} GROUP BY status",
            params,
            "counting cases",
        )
        return {CaseStatus(status): n for status, n in rows}

    def _write_members(self, conn: sqlite3.Connection, row: CaseRow, *, new: bool) -> None:
        if not new:
            conn.execute("DELETE FROM case_members WHERE number = ?", (row.number,))
        conn.executemany(
            "INSERT OR IGNORE INTO case_members VALUES (?, ?)",
            [(m, row.number) for m in row.collaborator_ids],
        )

    def apply(self, conn: sqlite3.Connection) -> None:
        """Write the queued cases (called by ``commit`` inside its transaction)."""
        dumps = self._db.converter.document_dumps
        for case in self.added.values():
            row = case_row(case)
            try:
                conn.execute(_CASE_INSERT, row.values(dumps(case)))
            except sqlite3.IntegrityError as e:
                raise ValidationError.single(
                    f"case {case.number} already exists", "$.number"
                ) from e
            self._write_members(conn, row, new=True)
        for case in self.updated.values():
            row = case_row(case)
            changed = conn.execute(
                _CASE_UPDATE,
                (
                    row.version,
                    row.status,
                    row.kind,
                    row.owner_id,
                    row.network_id,
                    row.name_key,
                    row.patient_name,
                    row.created_at,
                    row.updated_at,
                    row.accepted_at,
                    dumps(case),
                    row.case_id,
                    case.version - 1,
                ),
            ).rowcount
            if changed != 1:
                found = conn.execute(
                    "SELECT version FROM cases WHERE case_id = ?", (row.case_id,)
                ).fetchone()
                if found is None:
                    raise NotFoundError("case", case.case_id)
                raise ConcurrencyConflictError("case", case.case_id, case.version - 1, found[0])
            self._write_members(conn, row, new=False)


class SqliteAccountRepository:
    """Networks and accounts of one unit of work; uniqueness is checked by the database."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._db = uow.storage
        self.networks: dict[UUID, Network] = {}
        self.pending = PendingAccounts()
        self.added, self.updated = self.pending.added, self.pending.updated

    def _account(self, rows: list[Any], key: object) -> Account:
        if not rows:
            raise NotFoundError("account", key)
        return self._db.converter.document_loads(rows[0][0], Account)

    def add_network(self, network: Network) -> None:
        self.networks[network.network_id] = network

    def get_network(self, network_id: UUID) -> Network:
        if network_id in self.networks:
            return self.networks[network_id]
        rows = self._db.query("SELECT doc FROM networks WHERE network_id = ?", (str(network_id),))
        if not rows:
            raise NotFoundError("network", network_id)
        return self._db.converter.document_loads(rows[0][0], Network)

    def network_by_code(self, reference_code: str) -> Network:
        key = reference_code.casefold()
        for network in self.networks.values():
            if network.reference_code.casefold() == key:
                return network
        rows = self._db.query("SELECT doc FROM networks WHERE code_key = ?", (key,))
        if not rows:
            raise NotFoundError("network with reference code", reference_code)
        return self._db.converter.document_loads(rows[0][0], Network)

    def add(self, account: Account) -> None:
        self.pending.add(account)

    def get(self, account_id: UUID) -> Account:
        if (pending := self.pending.find(account_id)) is not None:
            return pending
        rows = self._db.query("SELECT doc FROM accounts WHERE account_id = ?", (str(account_id),))
        return self._account(rows, account_id)

    def by_username(self, username: str) -> Account:
        key = username.casefold()
        if (pending := self.pending.find_username(username)) is not None:
            return pending
        rows = self._db.query("SELECT doc FROM accounts WHERE username_key = ?", (key,))
        return self._account(rows, username)

    def update(self, account: Account) -> None:
        self.pending.update(account)

    def in_network(self, network_id: UUID) -> Sequence[Account]:
        rows = self._db.query("SELECT doc FROM accounts WHERE network_id = ?", (str(network_id),))
        loads = self._db.converter.document_loads
        found = {a.account_id: a for a in (loads(r[0], Account) for r in rows)}
        for pending in (self.added, self.updated):
            found.update({k: a for k, a in pending.items() if a.network_id == network_id})
        return sorted(found.values(), key=lambda a: a.username.casefold())

    @staticmethod
    def _taken(error: sqlite3.IntegrityError) -> ValidationError:
        text = str(error)
        if "username_key" in text:
            return ValidationError.single("username is taken", "$.username")
        if "email_key" in text:
            return ValidationError.single("e-mail address is taken", "$.email")
        if "code_key" in text:
            return ValidationError.single("reference code is taken", "$.reference_code")
        return ValidationError.single(f"already exists ({text})", "$")

    def apply(self, conn: sqlite3.Connection) -> None:
        """Write the queued networks and accounts (inside the commit's transaction)."""
        dumps = self._db.converter.document_dumps
        try:
            for network in self.networks.values():
                conn.execute(
                    "INSERT INTO networks VALUES (?, ?, ?)",
                    (str(network.network_id), network.reference_code.casefold(), dumps(network)),
                )
            for account_id, account in self.pending.final_added().items():
                conn.execute(
                    "INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?)",
                    (str(account_id), str(account.network_id), account.username.casefold(),
                     account.email.casefold(), account.version, dumps(account)),
                )  # fmt: skip
            for account_id, account in self.pending.final_updated().items():
                changed = conn.execute(
                    "UPDATE accounts SET network_id = ?, username_key = ?, email_key = ?, "
                    "version = ?, doc = ? WHERE account_id = ? AND version = ?",
                    (str(account.network_id), account.username.casefold(), account.email.casefold(),
                     account.version, dumps(account), str(account_id), account.version - 1),
                ).rowcount  # fmt: skip
                if changed != 1:
                    found = conn.execute(
                        "SELECT version FROM accounts WHERE account_id = ?", (str(account_id),)
                    ).fetchone()
                    if found is None:
                        raise NotFoundError("account", account_id)
                    raise ConcurrencyConflictError(
                        "account", account_id, account.version - 1, found[0]
                    )
        except sqlite3.IntegrityError as e:
            raise self._taken(e) from e


_Change = Callable[[OutboxEntry], OutboxEntry]


def _settled(entry: OutboxEntry, **changes: Any) -> OutboxEntry:
    """The entry with ``changes`` applied and its lease ended."""
    fields: dict[str, Any] = {"last_error": None, **changes, "lease_until": None}
    return attrs.evolve(entry, **fields)


class SqliteOutboxRepository:
    """The outbox: entries are written with the unit of work; claims take effect at once."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._db = uow.storage
        self.added: list[OutboxEntry] = []
        self.changes: list[tuple[UUID, _Change]] = []

    def add(self, entry: OutboxEntry) -> None:
        self.added.append(entry)

    def claim(self, now: datetime, lease_until: datetime, limit: int) -> Sequence[OutboxEntry]:
        """Lease due entries in their own write transaction, so concurrent claims never overlap."""
        at, until = encode_time(now), encode_time(lease_until)
        loads, dumps = self._db.converter.document_loads, self._db.converter.document_dumps
        with self._db.write("claiming outbox entries") as conn:
            rows = conn.execute(
                "SELECT doc FROM outbox WHERE state = ? AND next_attempt_at <= ? "
                "AND (lease_until IS NULL OR lease_until <= ?) "
                "ORDER BY next_attempt_at, created_at, entry_id LIMIT ?",
                (DeliveryState.PENDING.value, at, at, limit),
            ).fetchall()
            claimed = [
                attrs.evolve(loads(r[0], OutboxEntry), lease_until=lease_until) for r in rows
            ]
            conn.executemany(
                "UPDATE outbox SET lease_until = ?, doc = ? WHERE entry_id = ?",
                [(until, dumps(e), str(e.entry_id)) for e in claimed],
            )
        return claimed

    def mark_sent(self, entry_id: UUID, at: datetime) -> None:
        """Sent (takes effect at commit)."""
        self.changes.append((entry_id, lambda e: _settled(e, state=DeliveryState.SENT, sent_at=at)))

    def reschedule(self, entry_id: UUID, attempts: int, next_at: datetime, error: str) -> None:
        """Try again at ``next_at`` (takes effect at commit)."""
        self.changes.append(
            (
                entry_id,
                lambda e: _settled(e, attempts=attempts, next_attempt_at=next_at, last_error=error),
            )
        )

    def mark_dead(self, entry_id: UUID, attempts: int, reason: str) -> None:
        """Given up (takes effect at commit)."""
        self.changes.append(
            (
                entry_id,
                lambda e: _settled(
                    e, state=DeliveryState.DEAD, attempts=attempts, last_error=reason
                ),
            )
        )

    def _in_state(self, state: DeliveryState) -> Sequence[OutboxEntry]:
        rows = self._db.query(
            "SELECT doc FROM outbox WHERE state = ? ORDER BY created_at, entry_id", (state.value,)
        )
        loads = self._db.converter.document_loads
        return [loads(r[0], OutboxEntry) for r in rows]

    def dead(self) -> Sequence[OutboxEntry]:
        return self._in_state(DeliveryState.DEAD)

    def pending(self) -> Sequence[OutboxEntry]:
        return self._in_state(DeliveryState.PENDING)

    def sent(self) -> Sequence[OutboxEntry]:
        return self._in_state(DeliveryState.SENT)

    @staticmethod
    def _params(entry: OutboxEntry, doc: str) -> tuple[Any, ...]:
        lease = encode_time(entry.lease_until) if entry.lease_until else None
        return (
            entry.state.value,
            encode_time(entry.next_attempt_at),
            lease,
            doc,
            str(entry.entry_id),
        )

    def apply(self, conn: sqlite3.Connection) -> None:
        """Write the queued entries and state changes (inside the commit's transaction)."""
        dumps, loads = self._db.converter.document_dumps, self._db.converter.document_loads
        try:
            conn.executemany(
                "INSERT INTO outbox (state, next_attempt_at, lease_until, doc, entry_id, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [(*self._params(e, dumps(e)), encode_time(e.created_at)) for e in self.added],
            )
        except sqlite3.IntegrityError as e:
            raise ValidationError.single(f"outbox entry exists ({e})", "$.entry_id") from e
        for entry_id, change in self.changes:
            row = conn.execute(
                "SELECT doc FROM outbox WHERE entry_id = ?", (str(entry_id),)
            ).fetchone()
            if row is None:
                raise NotFoundError("outbox entry", entry_id)
            entry = change(loads(row[0], OutboxEntry))
            conn.execute(
                "UPDATE outbox SET state = ?, next_attempt_at = ?, lease_until = ?, doc = ? "
                "WHERE entry_id = ?",
                self._params(entry, dumps(entry)),
            )


class SqliteUnitOfWork:
    """Buffers writes; ``commit`` applies them all in one ``BEGIN IMMEDIATE`` transaction."""

    def __init__(self, storage: SqliteStorage) -> None:
        self.storage = storage
        self.cases = SqliteCaseRepository(self)
        self.accounts = SqliteAccountRepository(self)
        self.outbox = SqliteOutboxRepository(self)
        self._done = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._done:
            self.rollback()

    def rollback(self) -> None:
        """Forget every queued write (nothing was written yet)."""
        self.cases = SqliteCaseRepository(self)
        self.accounts = SqliteAccountRepository(self)
        self.outbox = SqliteOutboxRepository(self)
        self._done = True

    def commit(self) -> None:
        """Write all or nothing; raises ``ConcurrencyConflictError``, ``StorageError``, ..."""
        if self._done:
            raise StorageError("this unit of work has already ended")
        with self.storage.write("committing a unit of work") as conn:
            self.accounts.apply(conn)
            self.cases.apply(conn)
            self.outbox.apply(conn)
        self._done = True
