"""``SqlStorage``: the storage port over any ``Dialect``, and the bulk import."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from itertools import islice, repeat
from operator import attrgetter
from typing import Any, Self
from uuid import UUID

from aligner_core.domain.accounts import Account, Network
from aligner_core.domain.cases import Case
from aligner_core.domain.queries import MAX_NUMBER
from aligner_core.errors import StorageError, ValidationError
from aligner_core.serialization import Converter, make_converter
from aligner_core.storage._counts import CountKey
from aligner_core.storage._pending import check_count
from aligner_core.storage.sql.columns import (
    CASE_COLUMNS,
    CaseRow,
    case_row,
    check_document,
    column_values,
    count_of,
)
from aligner_core.storage.sql.dialect import Dialect
from aligner_core.storage.sql.listing import COUNTS_UPSERT
from aligner_core.storage.sql.memo import Memo
from aligner_core.storage.sql.unit_of_work import SqlUnitOfWork

__all__ = ["SqlStorage"]

_number = attrgetter("number")


class SqlStorage:
    """Storage in a SQL database; ``SqliteStorage`` and ``PostgresStorage`` pick the dialect."""

    def __init__(self, dialect: Dialect, *, memo_size: int = 1024) -> None:
        self.dialect = dialect
        self.converter: Converter = make_converter()
        self.case_memo: Memo[Case] = Memo(self.converter, Case, memo_size)
        self.account_memo: Memo[Account] = Memo(self.converter, Account, memo_size)
        #: networks parsed, each with the document it was parsed from
        self.network_memo: dict[UUID, tuple[Any, Network]] = {}
        self._closed = False

    def unit_of_work(self) -> SqlUnitOfWork:
        if self._closed:
            raise StorageError("storage is closed")
        return SqlUnitOfWork(self)

    def scrub(self) -> None:
        """Make overwritten or deleted data unrecoverable from the database's files."""
        if self._closed:
            raise StorageError("storage is closed")
        session = self.dialect.session()
        try:
            self.dialect.scrub(session)
        finally:
            session.close()

    @property
    def substring_search(self) -> str:
        """How substring name search runs: the dialect's index (``"pg_trgm"``, ...) or a scan."""
        return self.dialect.substring_index or "scan"

    def close(self) -> None:
        """Close every connection this storage opened."""
        if not self._closed:
            self._closed = True
            self.dialect.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ bulk import
    def import_cases(self, cases: Iterable[Case], *, batch: int = 10_000) -> int:
        """Store many new cases in one transaction (encoding them); returns how many.

        For migrations from another system and benchmarks: no history or outbox
        entries are written. A duplicate case id or number is a ``ValidationError``
        and nothing is imported. Counts, members and the number sequence follow.
        """
        dumps = self.converter.document_dumps
        return self.import_rows(((case_row(c), dumps(c)) for c in cases), batch=batch)

    def import_rows(self, rows: Iterable[tuple[CaseRow, str]], *, batch: int = 10_000) -> int:
        """``import_cases`` for cases given as (columns, converter JSON document)."""
        if batch < 1:
            raise ValidationError.of("batch_size", "$.batch")
        if self._closed:
            raise StorageError("storage is closed")
        counts: Counter[CountKey] = Counter()
        top, total = 0, 0
        session = self.dialect.session()
        begun = False
        try:
            with session.transaction("importing cases") as cursor:
                token = self.dialect.bulk_begin(cursor)
                begun = True
                source = iter(rows)
                while chunk := list(islice(source, batch)):
                    # few passes, each in C where it can be: per-row Python work adds up
                    case_rows = [row for row, _ in chunk]
                    docs = [doc for _, doc in chunk]
                    numbers = list(map(_number, case_rows))
                    low, high = min(numbers), max(numbers)
                    if not 0 <= low <= high <= MAX_NUMBER:
                        for number in numbers:
                            check_count(number, "$.number")
                    # a NUL is an escape: a backslash (memchr-fast, most documents have none) first
                    if any(map(str.__contains__, docs, repeat("\\"))):
                        for doc in docs:
                            check_document(doc)
                    values = [(*column_values(row), doc) for row, doc in chunk]
                    members = [(row.number, m) for row in case_rows for m in row.collaborator_ids]
                    counts.update(map(count_of, case_rows))
                    top = max(top, high)
                    self.dialect.bulk_insert(cursor, "cases", CASE_COLUMNS, values)
                    if members:
                        columns = ("number", "account_id")
                        self.dialect.bulk_insert(cursor, "case_members", columns, members)
                    total += len(values)
                self.dialect.bulk_end(cursor, token, top)
                if counts:
                    cursor.executemany(COUNTS_UPSERT, [(*k, n) for k, n in counts.items()])
        finally:
            if begun:
                self.dialect.bulk_release(token)
            session.close()
        return total
