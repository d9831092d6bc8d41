"""What the SQL core asks of a database: the ``Dialect`` protocol and its ``Session``.

The repositories and the unit of work (``aligner_core.storage.sql``) are
written once, in SQL both SQLite and PostgreSQL understand, with ``?``
placeholders. A dialect supplies everything else: connections and
transactions, error mapping, the case number sequence, substring search, the
lock of an outbox claim, bulk loading and reading fields out of JSON documents.
``docs/storage.md`` says how to add one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from aligner_core.errors import AlignerError, StorageError, ValidationError

__all__ = ["Cursor", "Dialect", "Session", "mapped", "taken"]


class Cursor(Protocol):
    """A DB-API cursor with ``?`` placeholders (a dialect translates them if it must)."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Session(Protocol):
    """One unit of work's way to the database; every driver error leaves as a library error.

    ``fetch`` runs one read statement on the latest committed state; ``snapshot``
    runs several reads on one snapshot; ``transaction`` commits its statements
    when the block ends normally and rolls them back otherwise. ``what`` names
    the work in error messages ("listing cases").
    """

    def fetch(
        self, sql: str, parameters: Sequence[Any] = (), what: str = "reading"
    ) -> list[Any]: ...

    def snapshot(self, what: str) -> AbstractContextManager[Cursor]: ...

    def transaction(self, what: str) -> AbstractContextManager[Cursor]: ...

    def close(self) -> None:
        """Hand back what the session holds (a pooled connection); it may be used again."""


class Dialect(Protocol):
    """One SQL database behind the core (see ``SqliteDialect``, ``PostgresDialect``)."""

    #: Added to the inner ``SELECT`` of an outbox claim ("FOR UPDATE SKIP LOCKED" or "").
    claim_lock: str
    #: The index serving substring search ("fts5-trigram", "pg_trgm"), or None: a scan.
    substring_index: str | None

    def session(self) -> Session: ...

    def next_number(self, session: Session) -> int:
        """A new case number, taken at once and never handed out again."""
        ...

    def substring(self, key: str) -> tuple[list[str], list[Any]]:
        """``WHERE`` clauses (and parameters) for cases whose ``name_key`` contains ``key``."""
        ...

    def bulk_begin(self, cursor: Cursor) -> object:
        """Prepare a bulk import inside its transaction; the result goes to ``bulk_end``."""
        ...

    def bulk_insert(
        self, cursor: Cursor, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert many rows at once (``executemany``, ``COPY``, ...)."""
        ...

    def bulk_end(self, cursor: Cursor, token: object, highest_number: int) -> None:
        """Finish a bulk import: rebuild what ``bulk_begin`` put aside, move the numbers on."""
        ...

    def bulk_release(self, token: object) -> None:
        """After a bulk import's transaction, committed or not: undo ``bulk_begin``'s settings."""
        ...

    #: ``SELECT`` of the distinct sha256 of every file any case refers to.
    file_digests: str
    #: The select list of a case's moments, read from its row and document in the
    #: database (no document leaves it): number, owner_id, the document's
    #: ``submitted_at`` (text), accepted_at, and its shipments' ``shipped_at`` as
    #: JSON array text (``"[]"`` for none).
    case_moments: str

    def scrub(self, session: Session) -> None:
        """Make overwritten or deleted rows unrecoverable from the database's files."""
        ...

    def close(self) -> None: ...


#: Unique keys ("table.column") and the field a clash names.
def taken(key: str | None) -> ValidationError:
    """The error for a unique key a write clashed with (``table.column``, as the dialect found)."""
    match key:
        case "accounts.username_key":
            return ValidationError.of("username_taken", "$.username")
        case "accounts.email_key":
            return ValidationError.of("email_taken", "$.email")
        case "networks.code_key":
            return ValidationError.of("reference_code_taken", "$.reference_code")
        case "accounts.account_id" | "networks.network_id" | "cases.case_id" | "outbox.entry_id":
            return ValidationError.of("already_exists", "$." + key.split(".")[1])
        case "cases.number":
            return ValidationError.of("already_exists", "$.number")
    return ValidationError.of("already_exists", "$")


@contextmanager
def mapped(
    driver_errors: tuple[type[BaseException], ...],
    translate: Any,
    what: str,
) -> Iterator[None]:
    """Raise the library's error for any driver error inside (``translate(error, what)``).

    Text no database can encode and integers beyond 64 bits are ``ValidationError``
    whatever the driver; the library's own errors pass through unchanged.
    """
    try:
        yield
    except AlignerError:
        raise
    except UnicodeEncodeError as e:
        raise ValidationError.of("not_storable", "$") from e
    except OverflowError as e:
        raise ValidationError.of("out_of_range", "$", min=-(2**63), max=2**63 - 1) from e
    except driver_errors as e:
        error = translate(e, what)
        if not isinstance(error, AlignerError):  # pragma: no cover - a dialect bug
            error = StorageError(f"{what} failed: {e}")
        raise error from e
