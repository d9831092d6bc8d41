"""PostgreSQL storage: the same library on one shared database for several hosts.

Why it looks like this:

- **Everything in one schema** (``aligner_core`` by default), named with
  :class:`psycopg.sql.Identifier` and set as each pooled connection's
  ``search_path``, so several installations (or test runs) share a database.
- **Versioned migrations on open**, serialized across processes with
  ``pg_advisory_xact_lock``; a database written by a newer schema is refused
  with :class:`~aligner_core.errors.SchemaVersionError` before anything is
  modified.
- **Cases as JSONB plus indexed columns** (number, status, kind, owner,
  network, casefolded patient name, times, version) so that lists, counts and
  searches are answered by indexes, never by decoding documents. The name key
  is ``COLLATE "C"``: a plain btree serves prefix ranges and sorts in code point
  order, exactly like :func:`aligner_core.domain.queries.paginate`. Substring
  search uses a ``pg_trgm`` GIN index where the extension can be installed,
  and a scan otherwise (:attr:`PostgresStorage.trigram_search` says which).
- **A unit of work buffers its writes** (like the in-memory reference adapter)
  and applies them in one short transaction at commit: ``UPDATE ... WHERE
  version = expected`` finding no row is a
  :class:`~aligner_core.errors.ConcurrencyConflictError`, and the outbox entries
  commit with the change. A connection lost mid-command rolls the whole
  transaction back on the server: nothing is half-written.
- **Outbox claims** use ``FOR UPDATE SKIP LOCKED`` and take their lease at once,
  so several dispatcher processes share the work without holding an entry twice.
- **No driver exception escapes**: serialization failures and deadlocks are
  conflicts, unique violations are validation errors, everything else
  (connection failures, pool and statement timeouts) is a
  :class:`~aligner_core.errors.StorageError` with the driver error as cause.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar
from uuid import UUID

import attrs
import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter
from psycopg.errors import DeadlockDetected, SerializationFailure, UniqueViolation
from psycopg_pool import ConnectionPool

from aligner_core.domain.accounts import Account, Network
from aligner_core.domain.cases import Case, CaseKind, CaseStatus
from aligner_core.domain.queries import CaseFilter, CaseSummary, NameMatch, Page, Scope
from aligner_core.errors import (
    AlignerError,
    ConcurrencyConflictError,
    NotFoundError,
    SchemaVersionError,
    StorageError,
    ValidationError,
)
from aligner_core.notifications.outbox import DeliveryState, OutboxEntry
from aligner_core.serialization import Converter, make_converter
from aligner_core.storage._pending import PendingAccounts, PendingCases
from aligner_core.storage.sql.columns import CASE_COLUMNS, case_row, filter_clauses, order_by

__all__ = ["SCHEMA_VERSION", "PostgresStorage", "PostgresUnitOfWork"]

T = TypeVar("T")
Conn = psycopg.Connection[tuple[Any, ...]]

#: The newest schema this module writes; a database with a higher version is refused.
SCHEMA_VERSION = 1

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
}

_TRGM_INDEX = "cases_name_trgm"

_UNIQUE_MESSAGES: dict[str, tuple[str, str]] = {
    "accounts_username_unique": ("username is taken", "$.username"),
    "accounts_email_unique": ("e-mail address is taken", "$.email"),
    "accounts_pkey": ("account already exists", "$.account_id"),
    "networks_code_unique": ("reference code is taken", "$.reference_code"),
    "networks_pkey": ("network already exists", "$.network_id"),
    "outbox_pkey": ("outbox entry already exists", "$.entry_id"),
}

_CASE_COLUMNS = ", ".join(CASE_COLUMNS)
_SUMMARY_COLUMNS = (
    "case_id, number, kind, status, patient_name, owner_id, network_id, "
    "created_at, updated_at, accepted_at, version"
)
_OUTBOX_COLUMNS = (
    "doc, state, attempts, last_error, sent_at, lease_until, next_attempt_at, created_at, entry_id"
)

_OUTBOX_RETURNING = ", ".join(f"outbox.{c}" for c in _OUTBOX_COLUMNS.split(", "))


# ---------------------------------------------------------------------- driver errors
def _unique_error(exc: UniqueViolation, fallback: tuple[str, str] | None) -> ValidationError:
    constraint = exc.diag.constraint_name or ""
    message, path = _UNIQUE_MESSAGES.get(constraint) or fallback or ("already exists", "$")
    return ValidationError.single(message, path)


@contextmanager
def _driver_errors(what: str, unique: tuple[str, str] | None = None) -> Iterator[None]:
    """Translate every driver error raised inside into the library's errors."""
    try:
        yield
    except AlignerError:
        raise
    except (SerializationFailure, DeadlockDetected) as e:
        raise ConcurrencyConflictError("transaction", what, 0) from e
    except UniqueViolation as e:
        raise _unique_error(e, unique) from e
    except psycopg.DataError as e:
        raise ValidationError.single(f"value cannot be stored ({e})", "$") from e
    except UnicodeEncodeError as e:
        raise ValidationError.single("text holds characters that cannot be stored", "$") from e
    except psycopg.Error as e:
        # OperationalError (connection lost, refused), QueryCanceled (statement timeout),
        # PoolTimeout/PoolClosed, and anything else the driver raises.
        raise StorageError(f"PostgreSQL {what} failed: {type(e).__name__}: {e}") from e


def _storable(text: str) -> bool:
    """Text PostgreSQL can hold (no NUL, no lone surrogate); other text matches nothing stored."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# ---------------------------------------------------------------------- the storage
class PostgresStorage:
    """Storage in a PostgreSQL schema, through a connection pool opened here.

    ``timeout`` (seconds) bounds connecting and waiting for a pooled connection;
    ``statement_timeout`` (seconds, optional) bounds each statement on the server.
    Raises :class:`StorageError` if the server cannot be reached and
    :class:`SchemaVersionError` if the schema is newer than this library.
    """

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
        self._schema = schema or "aligner_core"
        self._statement_timeout = statement_timeout
        self._converter: Converter = make_converter()
        self._closed = False
        self._trigram = False
        with _driver_errors("connect"):
            self._pool: ConnectionPool[Conn] = ConnectionPool(
                dsn,
                min_size=min_size,
                max_size=max(max_size, min_size),
                timeout=timeout,
                kwargs={"autocommit": True, "connect_timeout": max(1, round(timeout))},
                configure=self._configure,
                check=ConnectionPool.check_connection,
                open=False,
                name=f"aligner_core:{self._schema}",
            )
        try:
            with _driver_errors("connect"):
                self._pool.open(wait=True, timeout=timeout)
            with _driver_errors("migration"):
                self._secret, self._trigram = self._migrate()
        except BaseException:
            self._pool.close()
            raise

    # -- connections ------------------------------------------------------------------
    def _configure(self, conn: Conn) -> None:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self._schema)))
        conn.execute("SET TIME ZONE 'UTC'")
        if self._statement_timeout is not None:
            ms = max(1, round(self._statement_timeout * 1000))
            conn.execute("SELECT set_config('statement_timeout', %s, false)", (f"{ms}ms",))

    @contextmanager
    def _connection(self) -> Iterator[Conn]:
        if self._closed:
            raise StorageError("storage is closed")
        with _driver_errors("connection"), self._pool.connection() as conn:
            yield conn

    def _getconn(self) -> Conn:
        if self._closed:
            raise StorageError("storage is closed")
        with _driver_errors("connection"):
            return self._pool.getconn()

    def _putconn(self, conn: Conn) -> None:
        with _driver_errors("connection"):
            self._pool.putconn(conn)

    # -- migrations -------------------------------------------------------------------
    def _migrate(self) -> tuple[bytes, bool]:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_MIGRATION_LOCK,))
            found = self._current_version(conn)
            if found is not None and found > SCHEMA_VERSION:
                raise SchemaVersionError(found, SCHEMA_VERSION, f"schema {self._schema!r}")
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self._schema))
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
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('link_secret', %s) ON CONFLICT DO NOTHING",
                (os.urandom(32),),
            )
            row = conn.execute("SELECT value FROM meta WHERE key = 'link_secret'").fetchone()
            assert row is not None
            trigram = self._ensure_trigram(conn)
        return bytes(row[0]), trigram

    def _current_version(self, conn: Conn) -> int | None:
        table = conn.execute(
            "SELECT to_regclass(format('%%I.schema_migrations', %s::text))", (self._schema,)
        ).fetchone()
        if table is None or table[0] is None:
            return None
        row = conn.execute(
            sql.SQL("SELECT max(version) FROM {}.schema_migrations").format(
                sql.Identifier(self._schema)
            )
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def _ensure_trigram(self, conn: Conn) -> bool:
        """A trigram index on the name key where ``pg_trgm`` is (or can be) installed."""
        exists = conn.execute(
            "SELECT 1 FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
            (self._schema, _TRGM_INDEX),
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

    # -- the port ---------------------------------------------------------------------
    @property
    def schema(self) -> str:
        """The PostgreSQL schema holding every table of this storage."""
        return self._schema

    @property
    def trigram_search(self) -> bool:
        """True when substring search is served by a ``pg_trgm`` index (else: a scan)."""
        return self._trigram

    @property
    def converter(self) -> Converter:
        return self._converter

    def unit_of_work(self) -> PostgresUnitOfWork:
        if self._closed:
            raise StorageError("storage is closed")
        return PostgresUnitOfWork(self)

    def link_secret(self) -> bytes:
        return self._secret

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with _driver_errors("close"):
                self._pool.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- bulk -------------------------------------------------------------------------
    def import_cases(self, cases: Iterable[Case], *, batch: int = 1000) -> int:
        """Bulk-load cases with ``COPY``, one transaction per ``batch``; returns the count.

        For migrations from another system and benchmarks: no history or outbox
        entries are written. Duplicate ids or numbers are a ``ValidationError``
        (and that batch is not written). The number sequence moves past the
        highest imported number.
        """
        if batch < 1:
            raise ValidationError.single("batch must be positive", "$.batch")
        total = 0
        chunk: list[Case] = []
        with self._connection() as conn:
            for case in cases:
                chunk.append(case)
                if len(chunk) >= batch:
                    total += self._copy(conn, chunk)
                    chunk = []
            if chunk:
                total += self._copy(conn, chunk)
            with _driver_errors("import"):
                conn.execute(
                    """SELECT setval('case_number_seq', greatest(
                        (SELECT coalesce(max(number), 1) FROM cases),
                        (SELECT last_value FROM case_number_seq)))"""
                )
        return total

    def _copy(self, conn: Conn, chunk: Sequence[Case]) -> int:
        dumps = self._converter.document_dumps
        with (
            _driver_errors("import", ("case already exists", "$.number")),
            conn.transaction(),
            conn.cursor() as cur,
        ):
            members: list[tuple[int, str]] = []
            # a writer thread sends while this one encodes: the server parses as we go
            writer = QueuedLibpqWriter(cur)
            with cur.copy(f"COPY cases ({_CASE_COLUMNS}) FROM STDIN", writer=writer) as copy:
                for case in chunk:
                    r = case_row(case)
                    copy.write_row(r.values(dumps(case)))
                    members.extend((r.number, m) for m in r.collaborator_ids)
            with cur.copy("COPY case_members (number, account_id) FROM STDIN") as copy:
                for member in members:
                    copy.write_row(member)
        return len(chunk)


# ---------------------------------------------------------------------- repositories
class _Cases:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow
        self.pending = PendingCases()
        self.added, self.updated = self.pending.added, self.pending.updated
        self.members: dict[UUID, tuple[str, ...]] = {}  # as loaded: skip unchanged rows

    def _load(self, row: tuple[Any, ...] | None) -> Case | None:
        if row is None:
            return None
        case = self._uow.storage.converter.from_document(row[0], Case)
        self.members.setdefault(case.case_id, case_row(case).collaborator_ids)
        return case

    def add(self, case: Case) -> None:
        self.pending.add(case)

    def get(self, case_id: UUID) -> Case:
        if (pending := self.pending.find(case_id)) is not None:
            return pending
        found = self._load(self._uow.fetchone("SELECT doc FROM cases WHERE case_id = %s", case_id))
        if found is None:
            raise NotFoundError("case", case_id)
        return found

    def get_by_number(self, number: int) -> Case:
        if (pending := self.pending.find_number(number)) is not None:
            return pending
        found = None
        if -(2**63) <= number < 2**63:
            found = self._load(
                self._uow.fetchone(
                    "SELECT doc FROM cases WHERE number = %s AND status <> 'deleted'", number
                )
            )
        if found is None:
            raise NotFoundError("case number", number)
        return found

    def update(self, case: Case) -> None:
        """Queue a change; its version must be one more than the stored one (checked at commit)."""
        self.pending.update(case)

    def next_number(self) -> int:
        row = self._uow.fetchone("SELECT nextval('case_number_seq')")
        assert row is not None
        return int(row[0])

    def list(self, scope: Scope, query: CaseFilter) -> Page[CaseSummary]:
        key = query.name_key
        if key and not _storable(key):
            return Page((), 0, query.offset, query.limit)  # no stored name holds such text
        clauses, params = filter_clauses(scope, query, ph="%s")
        if key and query.name_match is NameMatch.SUBSTRING:
            clauses.append("name_key LIKE %s")
            params.append(f"%{_like_escape(key)}%")
        where = " AND ".join(clauses)
        rows = self._uow.fetchall(
            f"SELECT {_SUMMARY_COLUMNS}, count(*) OVER () FROM cases WHERE {where} "
            f"ORDER BY {order_by(query)} LIMIT %s OFFSET %s",
            *params,
            query.limit,
            query.offset,
        )
        if rows:
            total = int(rows[0][-1])
        elif query.offset == 0:
            total = 0
        else:
            counted = self._uow.fetchone(f"SELECT count(*) FROM cases WHERE {where}", *params)
            total = int(counted[0]) if counted else 0
        items = tuple(
            CaseSummary(
                case_id=r[0],
                number=r[1],
                kind=CaseKind(r[2]),
                status=CaseStatus(r[3]),
                patient_name=r[4],
                owner_id=r[5],
                network_id=r[6],
                created_at=r[7],
                updated_at=r[8],
                accepted_at=r[9],
                version=r[10],
            )
            for r in rows
        )
        return Page(items, total, query.offset, query.limit)

    def count_by_status(self, scope: Scope) -> Mapping[CaseStatus, int]:
        clauses, params = filter_clauses(scope, None, ph="%s")
        rows = self._uow.fetchall(
            f"SELECT status, count(*) FROM cases WHERE {' AND '.join(clauses)} GROUP BY status",
            *params,
        )
        return {CaseStatus(status): int(n) for status, n in rows}

    # -- commit -----------------------------------------------------------------------
    def flush(self, cur: psycopg.Cursor[tuple[Any, ...]]) -> None:
        dumps = self._uow.storage.converter.document_dumps
        for case in self.added.values():
            r = case_row(case)
            with _driver_errors("insert", (f"case {case.number} already exists", "$.number")):
                cur.execute(
                    f"INSERT INTO cases ({_CASE_COLUMNS}) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    r.values(dumps(case)),
                )
            cur.executemany(
                "INSERT INTO case_members (number, account_id) VALUES (%s, %s)",
                [(r.number, m) for m in r.collaborator_ids],
            )
        for case in self.updated.values():
            r = case_row(case)
            cur.execute(
                """UPDATE cases SET version = %s, status = %s, kind = %s, owner_id = %s,
                    network_id = %s, name_key = %s, patient_name = %s, created_at = %s,
                    updated_at = %s, accepted_at = %s, doc = %s
                   WHERE case_id = %s AND version = %s""",
                (
                    r.version,
                    r.status,
                    r.kind,
                    r.owner_id,
                    r.network_id,
                    r.name_key,
                    r.patient_name,
                    r.created_at,
                    r.updated_at,
                    r.accepted_at,
                    dumps(case),
                    r.case_id,
                    case.version - 1,
                ),
            )
            if cur.rowcount != 1:
                current = cur.execute(
                    "SELECT version FROM cases WHERE case_id = %s", (r.case_id,)
                ).fetchone()
                if current is None:
                    raise NotFoundError("case", case.case_id)
                raise ConcurrencyConflictError(
                    "case", case.case_id, case.version - 1, int(current[0])
                )
            if self.members.get(case.case_id) != r.collaborator_ids:
                cur.execute(
                    "DELETE FROM case_members WHERE number = %s AND NOT account_id = ANY(%s)",
                    (r.number, list(r.collaborator_ids)),
                )
                cur.executemany(
                    "INSERT INTO case_members (number, account_id) VALUES (%s, %s) "
                    "ON CONFLICT DO NOTHING",
                    [(r.number, m) for m in r.collaborator_ids],
                )


class _Accounts:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow
        self.networks: dict[UUID, Network] = {}
        self.pending = PendingAccounts()
        self.added, self.updated = self.pending.added, self.pending.updated

    def _load(self, row: tuple[Any, ...] | None, cl: type[T]) -> T | None:
        return None if row is None else self._uow.storage.converter.from_document(row[0], cl)

    def add_network(self, network: Network) -> None:
        self.networks[network.network_id] = network

    def get_network(self, network_id: UUID) -> Network:
        if network_id in self.networks:
            return self.networks[network_id]
        found = self._load(
            self._uow.fetchone("SELECT doc FROM networks WHERE network_id = %s", network_id),
            Network,
        )
        if found is None:
            raise NotFoundError("network", network_id)
        return found

    def network_by_code(self, reference_code: str) -> Network:
        key = reference_code.casefold()
        for network in self.networks.values():
            if network.reference_code.casefold() == key:
                return network
        found = None
        if _storable(key):
            found = self._load(
                self._uow.fetchone("SELECT doc FROM networks WHERE code_key = %s", key), Network
            )
        if found is None:
            raise NotFoundError("network with reference code", reference_code)
        return found

    def add(self, account: Account) -> None:
        self.pending.add(account)

    def get(self, account_id: UUID) -> Account:
        if (pending := self.pending.find(account_id)) is not None:
            return pending
        found = self._load(
            self._uow.fetchone("SELECT doc FROM accounts WHERE account_id = %s", account_id),
            Account,
        )
        if found is None:
            raise NotFoundError("account", account_id)
        return found

    def by_username(self, username: str) -> Account:
        key = username.casefold()
        if (pending := self.pending.find_username(username)) is not None:
            return pending
        found = None
        if _storable(key):
            found = self._load(
                self._uow.fetchone("SELECT doc FROM accounts WHERE username_key = %s", key),
                Account,
            )
        if found is None:
            raise NotFoundError("account", username)
        return self.updated.get(found.account_id, found)

    def update(self, account: Account) -> None:
        self.pending.update(account)

    def in_network(self, network_id: UUID) -> Sequence[Account]:
        rows = self._uow.fetchall("SELECT doc FROM accounts WHERE network_id = %s", network_id)
        converter = self._uow.storage.converter
        found = {a.account_id: a for a in (converter.from_document(r[0], Account) for r in rows)}
        for pending in (self.added, self.updated):
            found.update({k: a for k, a in pending.items() if a.network_id == network_id})
        return sorted(found.values(), key=lambda a: a.username.casefold())

    # -- commit -----------------------------------------------------------------------
    def flush(self, cur: psycopg.Cursor[tuple[Any, ...]]) -> None:
        dumps = self._uow.storage.converter.document_dumps
        for network in self.networks.values():
            cur.execute(
                "INSERT INTO networks (network_id, code_key, doc) VALUES (%s, %s, %s)",
                (network.network_id, network.reference_code.casefold(), dumps(network)),
            )
        for account in self.pending.final_added().values():
            cur.execute(
                "INSERT INTO accounts (account_id, network_id, username_key, email_key, version,"
                " doc) VALUES (%s, %s, %s, %s, %s, %s)",
                (
                    account.account_id,
                    account.network_id,
                    account.username.casefold(),
                    account.email.casefold(),
                    account.version,
                    dumps(account),
                ),
            )
        for account_id, account in self.pending.final_updated().items():
            cur.execute(
                "UPDATE accounts SET network_id = %s, username_key = %s, email_key = %s,"
                " version = %s, doc = %s WHERE account_id = %s AND version = %s",
                (
                    account.network_id,
                    account.username.casefold(),
                    account.email.casefold(),
                    account.version,
                    dumps(account),
                    account_id,
                    account.version - 1,
                ),
            )
            if cur.rowcount != 1:
                current = cur.execute(
                    "SELECT version FROM accounts WHERE account_id = %s", (account_id,)
                ).fetchone()
                if current is None:
                    raise NotFoundError("account", account_id)
                raise ConcurrencyConflictError(
                    "account", account_id, account.version - 1, int(current[0])
                )


class _Outbox:
    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow
        self.added: list[OutboxEntry] = []
        self.changes: list[tuple[UUID, str, tuple[Any, ...]]] = []

    def _entry(self, row: tuple[Any, ...]) -> OutboxEntry:
        entry = self._uow.storage.converter.from_document(row[0], OutboxEntry)
        return attrs.evolve(
            entry,
            state=DeliveryState(row[1]),
            attempts=row[2],
            last_error=row[3],
            sent_at=row[4],
            lease_until=row[5],
            next_attempt_at=row[6],
        )

    def add(self, entry: OutboxEntry) -> None:
        self.added.append(entry)

    def claim(self, now: datetime, lease_until: datetime, limit: int) -> Sequence[OutboxEntry]:
        """Leases are taken at once (their own transaction), skipping rows another claim locks."""
        if limit <= 0:
            return []
        rows = self._uow.fetchall(
            f"""WITH due AS (
                    SELECT entry_id FROM outbox
                    WHERE state = 'pending' AND next_attempt_at <= %s
                      AND (lease_until IS NULL OR lease_until <= %s)
                    ORDER BY next_attempt_at, created_at, entry_id
                    LIMIT %s
                    FOR UPDATE SKIP LOCKED)
                UPDATE outbox SET lease_until = %s FROM due
                WHERE outbox.entry_id = due.entry_id
                RETURNING {_OUTBOX_RETURNING}""",
            now,
            now,
            limit,
            lease_until,
        )
        rows.sort(key=lambda r: (r[6], r[7], r[8]))
        return [self._entry(r) for r in rows]

    def mark_sent(self, entry_id: UUID, at: datetime) -> None:
        self.changes.append(
            (
                entry_id,
                "state = 'sent', sent_at = %s, lease_until = NULL, last_error = NULL",
                (at,),
            )
        )

    def reschedule(self, entry_id: UUID, attempts: int, next_at: datetime, error: str) -> None:
        self.changes.append(
            (
                entry_id,
                "attempts = %s, next_attempt_at = %s, last_error = %s, lease_until = NULL",
                (attempts, next_at, error),
            )
        )

    def mark_dead(self, entry_id: UUID, attempts: int, reason: str) -> None:
        self.changes.append(
            (
                entry_id,
                "state = 'dead', attempts = %s, last_error = %s, lease_until = NULL",
                (attempts, reason),
            )
        )

    def _in_state(self, state: DeliveryState) -> Sequence[OutboxEntry]:
        rows = self._uow.fetchall(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE state = %s ORDER BY created_at, entry_id",
            state.value,
        )
        return [self._entry(r) for r in rows]

    def dead(self) -> Sequence[OutboxEntry]:
        return self._in_state(DeliveryState.DEAD)

    def pending(self) -> Sequence[OutboxEntry]:
        return self._in_state(DeliveryState.PENDING)

    def sent(self) -> Sequence[OutboxEntry]:
        return self._in_state(DeliveryState.SENT)

    # -- commit -----------------------------------------------------------------------
    def flush(self, cur: psycopg.Cursor[tuple[Any, ...]]) -> None:
        dumps = self._uow.storage.converter.document_dumps
        if self.added:
            cur.executemany(
                "INSERT INTO outbox (entry_id, state, created_at, next_attempt_at, lease_until,"
                " attempts, last_error, sent_at, doc)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        e.entry_id,
                        e.state.value,
                        e.created_at,
                        e.next_attempt_at,
                        e.lease_until,
                        e.attempts,
                        e.last_error,
                        e.sent_at,
                        dumps(e),
                    )
                    for e in self.added
                ],
            )
        for entry_id, assignments, params in self.changes:
            cur.execute(
                f"UPDATE outbox SET {assignments} WHERE entry_id = %s",
                (*params, entry_id),
            )
            if cur.rowcount != 1:
                raise NotFoundError("outbox entry", entry_id)


# ---------------------------------------------------------------------- unit of work
class PostgresUnitOfWork:
    """Buffers writes; ``commit`` applies them in one transaction, checking every version.

    Reads run on one pooled connection (taken at first use, returned when the
    unit of work ends) and see committed state plus this unit of work's own
    buffered cases and accounts, like the in-memory adapter.
    """

    def __init__(self, storage: PostgresStorage) -> None:
        self.storage = storage
        self.cases = _Cases(self)
        self.accounts = _Accounts(self)
        self.outbox = _Outbox(self)
        self._conn: Conn | None = None
        self._done = False

    # -- connection -------------------------------------------------------------------
    def _connection(self) -> Conn:
        if self._conn is None:
            self._conn = self.storage._getconn()
        return self._conn

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self.storage._putconn(conn)

    @property
    def backend_pid(self) -> int:
        """The server process serving this unit of work (for operators and tests)."""
        return self._connection().info.backend_pid

    def fetchone(self, query: str, *params: Any) -> tuple[Any, ...] | None:
        with _driver_errors("query"):
            return self._connection().execute(query, params).fetchone()

    def fetchall(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with _driver_errors("query"):
            return self._connection().execute(query, params).fetchall()

    # -- the port ---------------------------------------------------------------------
    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._done:
                self.rollback()
        finally:
            self._release()

    def rollback(self) -> None:
        self.cases = _Cases(self)
        self.accounts = _Accounts(self)
        self.outbox = _Outbox(self)
        self._done = True
        self._release()

    def commit(self) -> None:
        if self._done:
            raise StorageError("this unit of work has already ended")
        if self._has_writes():
            conn = self._connection()
            try:
                with _driver_errors("commit"), conn.transaction(), conn.cursor() as cur:
                    self.accounts.flush(cur)
                    self.cases.flush(cur)
                    self.outbox.flush(cur)
            except StorageError:
                self._discard_broken()
                raise
        self._done = True
        self._release()

    def _has_writes(self) -> bool:
        return bool(
            self.cases.added
            or self.cases.updated
            or self.accounts.networks
            or self.accounts.added
            or self.accounts.updated
            or self.outbox.added
            or self.outbox.changes
        )

    def _discard_broken(self) -> None:
        """After a driver failure, hand a broken connection back so the pool replaces it."""
        conn = self._conn
        if conn is not None and conn.broken:
            self._release()
