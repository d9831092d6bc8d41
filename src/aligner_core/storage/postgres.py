"""PostgreSQL storage: the same library on one shared database for several hosts.

What PostgreSQL does its own way: a connection pool, one schema per
installation, migrations serialized by an advisory lock, ``pg_trgm`` for
substring search, ``FOR UPDATE SKIP LOCKED`` outbox claims and ``COPY`` for bulk
imports. Everything else is the SQL core (``aligner_core.storage.sql``); the
reasons are in ``docs/storage.md``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter
from psycopg.errors import DeadlockDetected, SerializationFailure, UniqueViolation
from psycopg.types.string import TextLoader

from aligner_core.errors import (
    AlignerError,
    ConcurrencyConflictError,
    SchemaVersionError,
    StorageError,
    ValidationError,
)
from aligner_core.storage._pgpool import ConnectionPool
from aligner_core.storage.sql.dialect import Cursor, mapped, taken
from aligner_core.storage.sql.storage import SqlStorage

__all__ = ["SCHEMA_VERSION", "PostgresDialect", "PostgresStorage"]

Conn = psycopg.Connection[tuple[Any, ...]]

#: The newest schema this module writes; a database with a higher version is refused.
SCHEMA_VERSION = 7

#: One advisory lock for all migrations on a database (they are rare and short).
_MIGRATION_LOCK = "aligner_core:migrate"

_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE meta (key text PRIMARY KEY, value bytea NOT NULL)",
        "CREATE SEQUENCE case_number_seq START WITH 100 MINVALUE 1",
        """CREATE TABLE networks (
            network_id uuid PRIMARY KEY,
            code_key text NOT NULL CONSTRAINT networks_code_unique UNIQUE,
            doc jsonb NOT NULL)""",
        """CREATE TABLE accounts (
            account_id uuid PRIMARY KEY,
            network_id uuid NOT NULL,
            username_key text COLLATE "C" NOT NULL CONSTRAINT accounts_username_unique UNIQUE,
            email_key text NOT NULL CONSTRAINT accounts_email_unique UNIQUE,
            version integer NOT NULL,
            doc jsonb NOT NULL)""",
        "CREATE INDEX accounts_network ON accounts (network_id, username_key)",
        """CREATE TABLE cases (
            case_id uuid PRIMARY KEY,
            number bigint NOT NULL CONSTRAINT cases_number_unique UNIQUE,
            status text COLLATE "C" NOT NULL,
            kind text COLLATE "C" NOT NULL,
            owner_id uuid NOT NULL,
            network_id uuid NOT NULL,
            name_key text COLLATE "C" NOT NULL,
            patient_name text NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            accepted_at timestamptz,
            version integer NOT NULL,
            doc jsonb NOT NULL)""",
        "CREATE INDEX cases_name_key ON cases (name_key)",
        "CREATE INDEX cases_network_status ON cases (network_id, status)",
        "CREATE INDEX cases_network_updated ON cases (network_id, updated_at)",
        "CREATE INDEX cases_owner ON cases (owner_id)",
        # accepted collaborators of a case (owners are matched on cases.owner_id)
        """CREATE TABLE case_members (
            number bigint NOT NULL REFERENCES cases (number) ON DELETE CASCADE,
            account_id uuid NOT NULL,
            PRIMARY KEY (account_id, number))""",
        "CREATE INDEX case_members_number ON case_members (number)",
        """CREATE TABLE outbox (
            entry_id uuid PRIMARY KEY,
            state text NOT NULL,
            created_at timestamptz NOT NULL,
            next_attempt_at timestamptz NOT NULL,
            lease_until timestamptz,
            attempts integer NOT NULL,
            last_error text,
            sent_at timestamptz,
            doc jsonb NOT NULL)""",
        """CREATE INDEX outbox_due ON outbox (next_attempt_at, created_at, entry_id)
            WHERE state = 'pending'""",
        "CREATE INDEX outbox_state ON outbox (state, created_at, entry_id)",
    ),
    2: (
        # the dashboard counts, kept with every case write
        """CREATE TABLE case_counts (
            network_id uuid NOT NULL,
            owner_id uuid NOT NULL,
            status text COLLATE "C" NOT NULL,
            n bigint NOT NULL,
            PRIMARY KEY (network_id, owner_id, status))""",
        "CREATE INDEX case_counts_owner ON case_counts (owner_id)",
        """INSERT INTO case_counts (network_id, owner_id, status, n)
            SELECT network_id, owner_id, status, count(*) FROM cases GROUP BY 1, 2, 3""",
        # the lists: network or owner, then the sort column and the number (keyset pages)
        "DROP INDEX cases_name_key, cases_network_status, cases_network_updated, cases_owner",
        "CREATE INDEX cases_network_updated ON cases (network_id, updated_at, number)",
        "CREATE INDEX cases_network_name ON cases (network_id, name_key, number)",
        "CREATE INDEX cases_owner_updated ON cases (owner_id, updated_at, number)",
        # every store holds 64-bit versions and attempts
        "ALTER TABLE cases ALTER COLUMN version TYPE bigint",
        "ALTER TABLE accounts ALTER COLUMN version TYPE bigint",
        "ALTER TABLE outbox ALTER COLUMN attempts TYPE bigint",
    ),
    3: (
        # share-link keys live in configuration, never beside the data they protect
        "DELETE FROM meta WHERE key = 'link_secret'",
        # a patient's cases (export and erasure)
        "ALTER TABLE cases ADD COLUMN patient_id uuid",
        "UPDATE cases SET patient_id = (doc->'patient'->>'patient_id')::uuid",
        "CREATE INDEX cases_patient ON cases (patient_id)",
        # who read or erased what, and when
        """CREATE TABLE audit (
            entry_id uuid PRIMARY KEY,
            network_id uuid NOT NULL,
            at timestamptz NOT NULL,
            actor_id uuid,
            action text NOT NULL,
            case_number bigint,
            doc jsonb NOT NULL)""",
        "CREATE INDEX audit_network ON audit (network_id, at, entry_id)",
        "CREATE INDEX audit_case ON audit (network_id, case_number, at)",
    ),
    4: (
        # the outbox: fenced leases, a retry period, unconfirmed sends, stalled entries;
        # entries the old policy gave up on after temporary failures wait as stalled
        "ALTER TABLE outbox ADD COLUMN lease_token uuid",
        "ALTER TABLE outbox ADD COLUMN failing_since timestamptz",
        "ALTER TABLE outbox ADD COLUMN unconfirmed_sends bigint NOT NULL DEFAULT 0",
        """UPDATE outbox SET state = 'stalled'
            WHERE state = 'dead' AND last_error LIKE 'gave up after %'""",
        """CREATE INDEX outbox_stalled ON outbox (next_attempt_at, created_at, entry_id)
            WHERE state = 'stalled'""",
    ),
    5: (
        # the practice's own name for a case, shown in lists
        "ALTER TABLE cases ADD COLUMN case_name text NOT NULL DEFAULT ''",
        "UPDATE cases SET case_name = coalesce(doc->>'name', '')",
    ),
    6: (
        # the lab staff member a case is assigned to (documents before it named only a
        # planner) and the practice its aligners ship to, for "my cases" and list rows
        "ALTER TABLE cases ADD COLUMN assigned_to uuid",
        "ALTER TABLE cases ADD COLUMN practice_id uuid",
        """UPDATE cases SET
            assigned_to = coalesce(doc->>'assigned_to', doc->>'assigned_planner_id')::uuid,
            practice_id = (doc->'practice'->>'practice_id')::uuid
            WHERE coalesce(doc->>'assigned_to', doc->>'assigned_planner_id',
                           doc->'practice'->>'practice_id') IS NOT NULL""",
        """CREATE INDEX cases_assigned ON cases (assigned_to, network_id, updated_at, number)
            WHERE assigned_to IS NOT NULL""",
        """CREATE INDEX cases_practice ON cases (practice_id, owner_id, updated_at, number)
            WHERE practice_id IS NOT NULL""",
    ),
    7: (
        # invoices and credit notes, numbered without gaps per network and year
        """CREATE TABLE invoices (
            invoice_id uuid PRIMARY KEY,
            network_id uuid NOT NULL,
            doctor_id uuid NOT NULL,
            issued_at timestamptz NOT NULL,
            year integer NOT NULL,
            seq bigint NOT NULL,
            number text COLLATE "C" NOT NULL,
            doc jsonb NOT NULL,
            UNIQUE (network_id, year, seq))""",
        "CREATE INDEX invoices_doctor ON invoices (network_id, doctor_id, issued_at)",
        "CREATE INDEX invoices_issued ON invoices (network_id, issued_at)",
        """CREATE TABLE invoice_counters (
            network_id uuid NOT NULL,
            year integer NOT NULL,
            last bigint NOT NULL,
            PRIMARY KEY (network_id, year))""",
    ),
}

_TRGM_INDEX = "cases_name_trgm"

#: Unique constraints and the ``table.column`` key the core names clashes by.
_UNIQUE_KEYS: dict[str, str] = {
    "accounts_username_unique": "accounts.username_key",
    "accounts_email_unique": "accounts.email_key",
    "accounts_pkey": "accounts.account_id",
    "networks_code_unique": "networks.code_key",
    "networks_pkey": "networks.network_id",
    "cases_pkey": "cases.case_id",
    "cases_number_unique": "cases.number",
    "outbox_pkey": "outbox.entry_id",
}


# ---------------------------------------------------------------------- driver errors
def _translate(error: BaseException, what: str) -> AlignerError:
    if isinstance(error, SerializationFailure | DeadlockDetected):
        return ConcurrencyConflictError("transaction", what, 0)
    if isinstance(error, UniqueViolation):
        return taken(_UNIQUE_KEYS.get(error.diag.constraint_name or ""))
    if isinstance(error, psycopg.DataError):
        return ValidationError.of("not_storable", "$")
    # OperationalError (connection lost, refused), QueryCanceled (statement timeout),
    # PoolTimeout/PoolClosed, and anything else the driver raises.
    return StorageError(f"PostgreSQL {what} failed: {type(error).__name__}: {error}")


def _driver_errors(what: str) -> AbstractContextManager[None]:
    """Translate every driver error raised inside into the library's errors."""
    return mapped((psycopg.Error,), _translate, what)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class PostgresDialect:
    """PostgreSQL for the SQL core: a pool, a schema, pg_trgm, COPY, ``SKIP LOCKED`` claims.

    ``timeout`` (seconds) bounds getting a connection: waiting for a pooled one,
    checking it (a broken one is replaced at once), connecting (at least 2 s, the
    driver's floor) and reconnecting to a server that restarts; past it, a
    ``StorageError`` (``aligner_core.storage._pgpool`` says why not ``psycopg_pool``).
    ``statement_timeout`` (seconds, optional) bounds each statement on the server.
    """

    claim_lock = "FOR UPDATE SKIP LOCKED"
    file_digests = (
        "SELECT DISTINCT f->'report'->>'sha256' "
        "FROM cases, jsonb_array_elements(doc->'records'->'files') AS f"
    )
    case_moments = (
        "number, owner_id, doc->>'submitted_at', accepted_at, "
        "jsonb_path_query_array(doc, '$.shipments[*].shipped_at')::text"
    )

    def __init__(
        self,
        dsn: str,
        *,
        schema: str,
        min_size: int,
        max_size: int,
        timeout: float,
        statement_timeout: float | None,
    ) -> None:
        self.schema = schema
        self._statement_timeout = statement_timeout
        self._statements: dict[str, str] = {}
        self._dsn = dsn
        self._pool = ConnectionPool(
            self._connect, min_size=min_size, max_size=max_size, timeout=timeout
        )
        try:
            with _driver_errors("connect"):
                self._pool.open(wait=True, timeout=timeout)
            with _driver_errors("migration"):
                trigram = self._migrate()
        except BaseException:
            self._pool.close()
            raise
        self.substring_index = "pg_trgm" if trigram else None
        self._closed = False

    # -- connections ------------------------------------------------------------------
    def _connect(self, timeout: float) -> Conn:
        """A new connection, configured; ``timeout`` bounds connecting (the driver's floor: 2 s)."""
        conn = psycopg.Connection.connect(
            self._dsn, autocommit=True, connect_timeout=max(1, math.ceil(timeout))
        )
        try:
            self._configure(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _configure(self, conn: Conn) -> None:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
        conn.execute("SET TIME ZONE 'UTC'")
        if self._statement_timeout is not None:
            ms = max(1, round(self._statement_timeout * 1000))
            conn.execute("SELECT set_config('statement_timeout', %s, false)", (f"{ms}ms",))
        conn.adapters.register_loader("jsonb", TextLoader)  # documents arrive as text

    def statement(self, text: str) -> str:
        """``text`` with ``%s`` placeholders for ``?`` (remembered per text)."""
        found = self._statements.get(text)
        if found is None:
            found = self._statements[text] = text.replace("%", "%%").replace("?", "%s")
        return found

    def getconn(self) -> Conn:
        if self._closed:
            raise StorageError("storage is closed")
        with _driver_errors("connection"):
            return self._pool.getconn()

    def putconn(self, conn: Conn) -> None:
        with _driver_errors("connection"):
            self._pool.putconn(conn)

    def session(self) -> _PgSession:
        return _PgSession(self)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with _driver_errors("close"):
                self._pool.close()

    # -- migrations -------------------------------------------------------------------
    def _migrate(self) -> bool:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_MIGRATION_LOCK,))
            found = self._current_version(conn)
            if found is not None and found > SCHEMA_VERSION:
                raise SchemaVersionError(found, SCHEMA_VERSION, f"schema {self.schema!r}")
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
            )
            conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            for version in sorted(_MIGRATIONS):
                if found is None or version > found:
                    for statement in _MIGRATIONS[version]:
                        conn.execute(sql.SQL(statement))
                    conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
            trigram = self._ensure_trigram(conn)
        return trigram

    def _current_version(self, conn: Conn) -> int | None:
        table = conn.execute(
            "SELECT to_regclass(format('%%I.schema_migrations', %s::text))", (self.schema,)
        ).fetchone()
        if table is None or table[0] is None:
            return None
        row = conn.execute(
            sql.SQL("SELECT max(version) FROM {}.schema_migrations").format(
                sql.Identifier(self.schema)
            )
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def _ensure_trigram(self, conn: Conn) -> bool:
        """A trigram index on the name key where ``pg_trgm`` is (or can be) installed."""
        exists = conn.execute(
            "SELECT 1 FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
            (self.schema, _TRGM_INDEX),
        ).fetchone()
        if exists:
            return True
        ext = conn.execute(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
        ).fetchone()
        try:
            with conn.transaction():  # a savepoint: a refusal leaves the migration intact
                if ext is None:
                    # never inside our own schema: dropping it would drop the extension
                    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
                    ext = ("public",)
                conn.execute(
                    sql.SQL("CREATE INDEX {} ON cases USING gin (name_key {}.gin_trgm_ops)").format(
                        sql.Identifier(_TRGM_INDEX), sql.Identifier(ext[0].strip('"'))
                    )
                )
        except psycopg.Error:
            return False
        return True

    # -- the core's needs -------------------------------------------------------------
    def scrub(self, session: Any) -> None:
        """``VACUUM`` the tables that hold patient data: dead row versions leave the files."""
        conn = session.connection()
        with _driver_errors("scrubbing the database"):
            conn.execute("VACUUM cases, outbox, audit")

    def next_number(self, session: Any) -> int:
        rows = session.fetch("SELECT nextval('case_number_seq')", (), "taking a case number")
        return int(rows[0][0])

    def substring(self, key: str) -> tuple[list[str], list[Any]]:
        """``LIKE '%key%'``, which the ``pg_trgm`` index serves where it exists."""
        return ["name_key LIKE ?"], [f"%{_like_escape(key)}%"]

    def bulk_begin(self, cursor: Cursor) -> object:
        return None

    def bulk_insert(
        self, cursor: Cursor, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """``COPY``; a writer thread sends while this one encodes, so the server parses as we go."""
        assert isinstance(cursor, _PgCursor)
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with cursor.raw.copy(statement, writer=QueuedLibpqWriter(cursor.raw)) as copy:
            for row in rows:
                copy.write_row(row)

    def bulk_end(self, cursor: Cursor, token: object, highest_number: int) -> None:
        """Move the number sequence past the imported cases (never back)."""
        cursor.execute(
            "SELECT setval('case_number_seq', ?) FROM case_number_seq "
            "WHERE ? > CASE WHEN is_called THEN last_value ELSE last_value - 1 END",
            (highest_number, highest_number),
        )

    def bulk_release(self, token: object) -> None:
        """Nothing to undo: ``bulk_begin`` changes no setting."""


class _PgCursor:
    """A psycopg cursor taking ``?`` placeholders."""

    def __init__(self, raw: psycopg.Cursor[tuple[Any, ...]], dialect: PostgresDialect) -> None:
        self.raw = raw
        self._statement = dialect.statement

    @property
    def rowcount(self) -> int:
        return self.raw.rowcount

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> _PgCursor:
        self.raw.execute(self._statement(sql), parameters)
        return self

    def executemany(self, sql: str, parameters: Any, /) -> _PgCursor:
        self.raw.executemany(self._statement(sql), parameters)
        return self

    def fetchone(self) -> Any:
        return self.raw.fetchone()

    def fetchall(self) -> list[Any]:
        return self.raw.fetchall()


class _PgSession:
    """One pooled connection, taken at first use and handed back when the unit of work ends.

    Reads run in autocommit (the latest committed state); a snapshot is a
    ``REPEATABLE READ`` transaction; writes run in one transaction.
    """

    def __init__(self, dialect: PostgresDialect) -> None:
        self._dialect = dialect
        self._conn: Conn | None = None

    def connection(self) -> Conn:
        if self._conn is None:
            self._conn = self._dialect.getconn()
        return self._conn

    @property
    def backend_pid(self) -> int:
        """The server process serving this session (for operators and tests)."""
        return self.connection().info.backend_pid

    def fetch(self, sql: str, parameters: Sequence[Any] = (), what: str = "query") -> list[Any]:
        conn = self.connection()
        with _driver_errors(what):
            return conn.execute(self._dialect.statement(sql), parameters).fetchall()

    @contextmanager
    def snapshot(self, what: str) -> Iterator[Cursor]:
        conn = self.connection()
        with self._guard(what), conn.transaction(), conn.cursor() as raw:
            raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield _PgCursor(raw, self._dialect)

    @contextmanager
    def transaction(self, what: str) -> Iterator[Cursor]:
        conn = self.connection()
        with self._guard(what), conn.transaction(), conn.cursor() as raw:
            yield _PgCursor(raw, self._dialect)

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        try:
            with _driver_errors(what):
                yield
        except StorageError:
            self._discard_broken()
            raise

    def _discard_broken(self) -> None:
        """After a driver failure, hand a broken connection back so the pool replaces it."""
        if self._conn is not None and self._conn.broken:
            self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._dialect.putconn(conn)


class PostgresStorage(SqlStorage):
    """Storage in a PostgreSQL schema, through a connection pool opened here.

    Raises :class:`StorageError` if the server cannot be reached and
    :class:`SchemaVersionError` if the schema is newer than this library.
    """

    dialect: PostgresDialect

    def __init__(
        self,
        dsn: str,
        *,
        schema: str | None = None,
        min_size: int = 1,
        max_size: int = 4,
        timeout: float = 10.0,
        statement_timeout: float | None = None,
    ) -> None:
        dialect = PostgresDialect(
            dsn,
            schema=schema or "aligner_core",
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            statement_timeout=statement_timeout,
        )
        super().__init__(dialect)

    @property
    def schema(self) -> str:
        """The PostgreSQL schema holding every table of this storage."""
        return self.dialect.schema

    @property
    def trigram_search(self) -> bool:
        """True when substring search is served by a ``pg_trgm`` index (else: a scan)."""
        return self.substring_search == "pg_trgm"
