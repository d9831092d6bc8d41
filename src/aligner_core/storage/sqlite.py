"""The embedded storage: one SQLite file (stdlib ``sqlite3``), safe for threads and processes.

What SQLite does its own way: a connection per thread, ``BEGIN IMMEDIATE``
writes, versioned migrations under ``PRAGMA user_version``, an FTS5 trigram
index for substring search, and bulk imports that build the indexes once at the
end. Everything else is the SQL core (``aligner_core.storage.sql``); the
reasons are in ``docs/storage.md``.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, Literal

import attrs

from aligner_core.errors import AlignerError, SchemaVersionError, StorageError, ValidationError
from aligner_core.storage.sql.dialect import Cursor, mapped, taken
from aligner_core.storage.sql.storage import SqlStorage

__all__ = ["APPLICATION_ID", "DB_SCHEMA_VERSION", "PAGE_SIZE", "SqliteDialect", "SqliteStorage"]

#: Version of the database layout (``PRAGMA user_version``); one migration per step.
DB_SCHEMA_VERSION = 7
#: ``PRAGMA application_id`` of an aligner_core database ("AlCo").
APPLICATION_ID = 0x416C436F
PAGE_SIZE = 16384
#: The page cache of a connection during a bulk import, in KiB (256 MiB; its default is 2 MiB).
BULK_CACHE_KIB = 262_144
FIRST_CASE_NUMBER = 100

#: The indexes of the cases table (built once at the end of a bulk import into an empty table).
#: Every index ends with the rowid, which is the case number: the tie-breaker of every sort.
_CASE_INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS cases_case_id ON cases (case_id)",
    "CREATE INDEX IF NOT EXISTS cases_network_updated ON cases (network_id, updated_at)",
    "CREATE INDEX IF NOT EXISTS cases_network_name ON cases (network_id, name_key)",
    "CREATE INDEX IF NOT EXISTS cases_owner_updated ON cases (owner_id, updated_at)",
)
#: A patient's cases (schema version 3); dropped and built again with the others on import.
_PATIENT_INDEX = ("CREATE INDEX IF NOT EXISTS cases_patient ON cases (patient_id)",)
#: "My cases" of lab staff in their network, a doctor's cases of one practice (schema
#: version 6); likewise dropped and built again on import.
_ASSIGNMENT_INDEXES = (
    """CREATE INDEX IF NOT EXISTS cases_assigned ON cases (assigned_to, network_id, updated_at)
        WHERE assigned_to IS NOT NULL""",
    """CREATE INDEX IF NOT EXISTS cases_practice ON cases (practice_id, owner_id, updated_at)
        WHERE practice_id IS NOT NULL""",
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
_CASE_TABLE = """CREATE TABLE {name} (
    number INTEGER PRIMARY KEY, case_id TEXT NOT NULL, version INTEGER NOT NULL,
    status TEXT NOT NULL, kind TEXT NOT NULL, owner_id TEXT NOT NULL,
    network_id TEXT NOT NULL, name_key TEXT NOT NULL, patient_name TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, accepted_at TEXT,
    doc TEXT NOT NULL)"""
_CASE_COLUMNS = (
    "number, case_id, version, status, kind, owner_id, network_id, name_key, patient_name, "
    "created_at, updated_at, accepted_at, doc"
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
        "CREATE INDEX cases_status ON cases (status)",
        "CREATE INDEX cases_kind ON cases (kind)",
        "CREATE INDEX cases_owner ON cases (owner_id)",
        "CREATE INDEX cases_name ON cases (name_key)",
        "CREATE INDEX cases_created ON cases (created_at)",
        "CREATE INDEX cases_updated ON cases (updated_at)",
        "CREATE INDEX cases_network_status ON cases (network_id, status)",
        "CREATE INDEX cases_network_name ON cases (network_id, name_key)",
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
    (
        # cases: the unique id index becomes a plain index (a bulk import builds it at the end)
        # and the indexes follow the lists (network or owner, then the sort column)
        _CASE_TABLE.format(name="cases_v2"),
        f"INSERT INTO cases_v2 ({_CASE_COLUMNS}) SELECT {_CASE_COLUMNS} FROM cases",
        "DROP TABLE cases",
        "ALTER TABLE cases_v2 RENAME TO cases",
        *_CASE_INDEXES,
        # the dashboard counts, kept with every case write
        """CREATE TABLE case_counts (
            network_id TEXT NOT NULL, owner_id TEXT NOT NULL, status TEXT NOT NULL,
            n INTEGER NOT NULL, PRIMARY KEY (network_id, owner_id, status)) WITHOUT ROWID""",
        "CREATE INDEX case_counts_owner ON case_counts (owner_id)",
        """INSERT INTO case_counts (network_id, owner_id, status, n)
            SELECT network_id, owner_id, status, count(*) FROM cases GROUP BY 1, 2, 3""",
        # the outbox keeps its delivery state in columns, as PostgreSQL does
        "ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE outbox ADD COLUMN last_error TEXT",
        "ALTER TABLE outbox ADD COLUMN sent_at TEXT",
        """UPDATE outbox SET attempts = coalesce(json_extract(doc, '$.attempts'), 0),
            last_error = json_extract(doc, '$.last_error'),
            sent_at = json_extract(doc, '$.sent_at')""",
    ),
    (
        # share-link keys live in configuration, never beside the data they protect
        "DELETE FROM meta WHERE key = 'link_secret'",
        # a patient's cases (export and erasure)
        "ALTER TABLE cases ADD COLUMN patient_id TEXT",
        "UPDATE cases SET patient_id = json_extract(doc, '$.patient.patient_id')",
        *_PATIENT_INDEX,
        # who read or erased what, and when
        """CREATE TABLE audit (
            entry_id TEXT PRIMARY KEY, network_id TEXT NOT NULL, at TEXT NOT NULL,
            actor_id TEXT, action TEXT NOT NULL, case_number INTEGER, doc TEXT NOT NULL)""",
        "CREATE INDEX audit_network ON audit (network_id, at, entry_id)",
        "CREATE INDEX audit_case ON audit (network_id, case_number, at)",
    ),
    (
        # the outbox: fenced leases, a retry period, unconfirmed sends, stalled entries;
        # entries the old policy gave up on after temporary failures wait as stalled
        "ALTER TABLE outbox ADD COLUMN lease_token TEXT",
        "ALTER TABLE outbox ADD COLUMN failing_since TEXT",
        "ALTER TABLE outbox ADD COLUMN unconfirmed_sends INTEGER NOT NULL DEFAULT 0",
        """UPDATE outbox SET state = 'stalled'
            WHERE state = 'dead' AND last_error LIKE 'gave up after %'""",
    ),
    (
        # the practice's own name for a case, shown in lists
        "ALTER TABLE cases ADD COLUMN case_name TEXT NOT NULL DEFAULT ''",
        "UPDATE cases SET case_name = coalesce(json_extract(doc, '$.name'), '')",
    ),
    (
        # 6: the lab staff member a case is assigned to (documents before it named only a
        # planner) and the practice its aligners ship to, for "my cases" and list rows
        "ALTER TABLE cases ADD COLUMN assigned_to TEXT",
        "ALTER TABLE cases ADD COLUMN practice_id TEXT",
        """UPDATE cases SET
            assigned_to = coalesce(json_extract(doc, '$.assigned_to'),
                                   json_extract(doc, '$.assigned_planner_id')),
            practice_id = json_extract(doc, '$.practice.practice_id')""",
        *_ASSIGNMENT_INDEXES,
    ),
    (
        # 7: invoices and credit notes, numbered without gaps per network and year
        """CREATE TABLE invoices (
            invoice_id TEXT PRIMARY KEY, network_id TEXT NOT NULL, doctor_id TEXT NOT NULL,
            issued_at TEXT NOT NULL, year INTEGER NOT NULL, seq INTEGER NOT NULL,
            number TEXT NOT NULL, doc TEXT NOT NULL, UNIQUE (network_id, year, seq))""",
        "CREATE INDEX invoices_doctor ON invoices (network_id, doctor_id, issued_at)",
        "CREATE INDEX invoices_issued ON invoices (network_id, issued_at)",
        """CREATE TABLE invoice_counters (
            network_id TEXT NOT NULL, year INTEGER NOT NULL, last INTEGER NOT NULL,
            PRIMARY KEY (network_id, year))""",
    ),
)


def _trigram_query(key: str) -> str:
    """An FTS5 query for rows holding every trigram of ``key`` (``instr`` then checks order).

    The index is ``detail=none`` (about half the size and build time), which has no
    phrase queries; all trigrams present is a superset of "contains ``key``".
    """
    grams = sorted({key[i : i + 3] for i in range(len(key) - 2)})
    return " AND ".join('"' + g.replace('"', '""') + '"' for g in grams)


def _create_fts(conn: sqlite3.Connection) -> None:
    """The trigram index for substring search, where this SQLite has FTS5 with trigrams."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'cases_fts'").fetchone()
    if not exists:
        try:
            conn.execute(_FTS_TABLE)
        except sqlite3.OperationalError:
            return
    for trigger in _FTS_TRIGGERS:
        conn.execute(trigger)


def _run_migrations(conn: sqlite3.Connection, current: int) -> None:
    """Bring a database from version ``current`` to ``DB_SCHEMA_VERSION``, step by step."""
    for version in range(current + 1, DB_SCHEMA_VERSION + 1):
        for statement in _MIGRATIONS[version - 1]:
            conn.execute(statement)
        if version == 1:
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        _create_fts(conn)  # its triggers go with a rebuilt cases table


@functools.cache
def _fresh_schema() -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """The statements that create what the migrations end with, read off an in-memory run.

    A new database runs these instead of every migration (whose ``ALTER TABLE``
    steps each parse the whole schema again): the tables, indexes and triggers
    in the order they were made, then the rows the migrations wrote. The shadow
    tables of a virtual table come with it, so they are left out.
    """
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        _run_migrations(conn, 0)
        entries = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
        ).fetchall()
        virtual = [name for _, name, sql in entries if sql.startswith("CREATE VIRTUAL TABLE")]
        statements: list[tuple[str, tuple[Any, ...]]] = []
        tables: list[str] = []
        for kind, name, sql in entries:
            if kind == "table" and any(name.startswith(f"{v}_") for v in virtual):
                continue
            statements.append((sql, ()))
            if kind == "table" and name not in virtual:
                tables.append(name)
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                marks = ", ".join("?" * len(row))
                statements.append((f'INSERT INTO "{table}" VALUES ({marks})', tuple(row)))
        return tuple(statements)
    finally:
        conn.close()


def _is_locked(error: sqlite3.Error) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


class SqliteDialect:
    """SQLite for the SQL core: connections per thread (and process), errors, FTS5, bulk load."""

    claim_lock = ""
    file_digests = (
        "SELECT DISTINCT json_extract(f.value, '$.report.sha256') "
        "FROM cases, json_each(cases.doc, '$.records.files') AS f"
    )
    case_moments = (
        "number, owner_id, json_extract(doc, '$.submitted_at'), accepted_at, "
        "(SELECT json_group_array(json_extract(s.value, '$.shipped_at')) "
        "FROM json_each(doc, '$.shipments') AS s)"
    )

    def __init__(self, path: str, *, synchronous: str, busy_timeout: float) -> None:
        self.path = path
        self.synchronous = synchronous
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        self._pid = os.getpid()
        conn = self._connect()
        try:
            self._migrate(conn)
            fts = self._inspect(conn)
        except BaseException:
            conn.close()
            raise
        self.substring_index = "fts5-trigram" if fts else None
        self._register(conn)

    # ------------------------------------------------------------------ errors
    def translate(self, error: BaseException, what: str) -> AlignerError:
        """The library error for a driver error (the caller chains it)."""
        text = str(error).lower()
        if isinstance(error, sqlite3.IntegrityError) and "unique constraint failed" in text:
            return taken(str(error).split(":", 1)[1].split(",")[0].strip())
        if isinstance(error, sqlite3.Error) and _is_locked(error):
            return StorageError(
                f"database is locked beyond the busy timeout ({self.busy_timeout:g} s) "
                f"while {what}: {self.path}"
            )
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return StorageError(f"{self.path} is not a usable aligner_core database ({error})")
        if "readonly" in text or "read-only" in text or "unable to open" in text:
            return StorageError(f"cannot write {self.path} ({error}): is the location writable?")
        return StorageError(f"SQLite failed while {what}: {error}")

    def errors(self, what: str) -> Any:
        return mapped((sqlite3.Error,), self.translate, what)

    # ------------------------------------------------------------------ connections
    def _connect(self) -> sqlite3.Connection:
        with self.errors("opening the database"):
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
                conn.execute("PRAGMA secure_delete = ON")  # erased data is zeroed, not kept
                conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            except BaseException:
                conn.close()
                raise
        return conn

    def _register(self, conn: sqlite3.Connection) -> None:
        self._local.conn = conn
        with self._lock:
            self._connections.append(conn)

    def connection(self) -> sqlite3.Connection:
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

    def session(self) -> _SqliteSession:
        return _SqliteSession(self)

    def close(self) -> None:
        """Close every connection this storage opened (in any thread)."""
        self._closed = True
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            with suppress(sqlite3.Error):
                conn.close()

    # ------------------------------------------------------------------ schema
    def _migrate(self, conn: sqlite3.Connection) -> None:
        with self.errors("checking the schema"):
            found = conn.execute("PRAGMA user_version").fetchone()[0]
            self._check_version(conn, found)
            if found == DB_SCHEMA_VERSION:
                self._ensure_wal(conn)
                return
            if found == 0:
                conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # only effective before any table
            self._ensure_wal(conn)
        with self.errors("migrating the schema"):
            try:
                conn.execute("BEGIN IMMEDIATE")
                current = conn.execute("PRAGMA user_version").fetchone()[0]  # another may have won
                self._check_version(conn, current)
                if current == 0:  # a new database: the schema the migrations end with, at once
                    for statement, values in _fresh_schema():
                        conn.execute(statement, values)
                    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                else:
                    _run_migrations(conn, current)
                conn.execute(f"PRAGMA user_version = {DB_SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
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

    @staticmethod
    def _ensure_wal(conn: sqlite3.Connection) -> None:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")

    def _inspect(self, conn: sqlite3.Connection) -> bool:
        with self.errors("reading the metadata"):
            fts = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'cases_fts'"
            ).fetchone()[0]
        return bool(fts)

    # ------------------------------------------------------------------ the core's needs
    def scrub(self, session: object) -> None:
        """Move the WAL into the database and empty it (freed pages are zeroed: secure_delete)."""
        with self.errors("scrubbing the database"):
            self.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def next_number(self, session: object) -> int:
        with _SqliteSession(self).transaction("taking a case number") as cursor:
            row = cursor.execute(
                "UPDATE counters SET value = value + 1 WHERE name = 'case_number' "
                "RETURNING value - 1"
            ).fetchone()
        return int(row[0])

    def substring(self, key: str) -> tuple[list[str], list[Any]]:
        """FTS5 trigrams narrow the rows where the key has three characters; ``instr`` decides."""
        if self.substring_index and len(key) >= 3:
            return [
                "number IN (SELECT rowid FROM cases_fts WHERE cases_fts MATCH ?)",
                "instr(name_key, ?) > 0",
            ], [_trigram_query(key), key]
        return ["instr(name_key, ?) > 0"], [key]

    def bulk_begin(self, cursor: Cursor) -> object:
        """Into an empty table, drop the indexes: building them once at the end is faster.

        The page cache grows to ``BULK_CACHE_KIB`` for the import (the inserted pages
        and the index sorts stay in memory instead of spilling to the WAL and temp
        files); ``bulk_release`` puts the connection's own size back.
        """
        empty = bool(cursor.execute("SELECT NOT EXISTS (SELECT 1 FROM cases)").fetchone()[0])
        if empty:
            for statement in (*_CASE_INDEXES, *_PATIENT_INDEX, *_ASSIGNMENT_INDEXES):
                name = statement.split(" IF NOT EXISTS ")[1].split()[0]
                cursor.execute(f"DROP INDEX IF EXISTS {name}")
            if self.substring_index:
                for name in ("cases_fts_insert", "cases_fts_delete", "cases_fts_update"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        conn = self.connection()
        cache = int(conn.execute("PRAGMA cache_size").fetchone()[0])
        conn.execute(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")
        return _BulkToken(empty=empty, connection=conn, cache_size=cache)

    def bulk_insert(
        self, cursor: Cursor, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        marks = ", ".join("?" * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def bulk_end(self, cursor: Cursor, token: object, highest_number: int) -> None:
        assert isinstance(token, _BulkToken)
        if token.empty:
            if self.substring_index:  # first: after the indexes it takes ten times as long
                cursor.execute("INSERT INTO cases_fts (cases_fts) VALUES ('rebuild')")
                for trigger in _FTS_TRIGGERS:
                    cursor.execute(trigger)
            for statement in (*_CASE_INDEXES, *_PATIENT_INDEX, *_ASSIGNMENT_INDEXES):
                cursor.execute(statement)
        cursor.execute(
            "UPDATE counters SET value = max(value, ?) WHERE name = 'case_number'",
            (highest_number + 1,),
        )

    def bulk_release(self, token: object) -> None:
        assert isinstance(token, _BulkToken)
        with suppress(sqlite3.Error):  # a closed connection has no cache left to shrink
            token.connection.execute(f"PRAGMA cache_size = {token.cache_size}")


@attrs.frozen
class _BulkToken:
    """What ``bulk_begin`` found: an empty table (indexes put aside), the cache size to restore."""

    empty: bool
    connection: sqlite3.Connection
    cache_size: int


class _SqliteSession:
    """Reads on this thread's connection outside transactions; writes in ``BEGIN IMMEDIATE``."""

    def __init__(self, dialect: SqliteDialect) -> None:
        self._dialect = dialect

    def fetch(self, sql: str, parameters: Sequence[Any] = (), what: str = "reading") -> list[Any]:
        conn = self._dialect.connection()
        with self._dialect.errors(what):
            return conn.execute(sql, parameters).fetchall()

    @contextmanager
    def snapshot(self, what: str) -> Iterator[Cursor]:
        conn = self._dialect.connection()
        with self._dialect.errors(what):
            conn.execute("BEGIN")
            try:
                yield conn.cursor()
            finally:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("COMMIT")

    @contextmanager
    def transaction(self, what: str) -> Iterator[Cursor]:
        conn = self._dialect.connection()
        with self._dialect.errors(what):
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn.cursor()
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Nothing to hand back: the connection belongs to the thread."""


class SqliteStorage(SqlStorage):
    """Storage in one SQLite file; build it with ``connect("sqlite:///path/cases.db")``.

    ``synchronous`` is ``"NORMAL"`` (WAL: a power cut may lose the last commits,
    never corrupt) or ``"FULL"`` (every commit is durable). ``busy_timeout`` is how
    long a writer waits for another one, in seconds, before ``StorageError``.
    """

    dialect: SqliteDialect

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Literal["NORMAL", "FULL"] | str = "NORMAL",
        busy_timeout: float = 5.0,
    ) -> None:
        sync = str(synchronous).upper()
        if sync not in ("NORMAL", "FULL"):
            raise ValidationError.of("not_one_of", "$.synchronous", choices="NORMAL, FULL")
        if busy_timeout < 0:
            raise ValidationError.of("out_of_range", "$.busy_timeout", min=0, max="any")
        timeout = float(busy_timeout)
        super().__init__(SqliteDialect(os.fspath(path), synchronous=sync, busy_timeout=timeout))
        self.path = self.dialect.path

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (for tests and operators)."""
        return self.dialect.connection()
