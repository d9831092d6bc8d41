"""Invoices in SQL: documents with indexed columns, and per network and year a counter.

The counter row is read once per unit of work and advanced at commit, in the
transaction that stores the invoices, only from the value read (``UPDATE ... WHERE
last = ?``, or an ``INSERT ... ON CONFLICT DO NOTHING`` for a first number): a unit
that lost the race writes nothing (``ConcurrencyConflictError``). On PostgreSQL the
row lock makes a concurrent advance wait for the other transaction, then fail.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from aligner_core.domain.invoices import InvoiceNumber
from aligner_core.domain.ledger import IssuedInvoice, entry_document, entry_of_document
from aligner_core.errors import ConcurrencyConflictError, NotFoundError
from aligner_core.storage._invoices import CounterKey, InvoiceNumbers, number_order, selected
from aligner_core.storage.sql.columns import encode_time
from aligner_core.storage.sql.dialect import Cursor

if TYPE_CHECKING:
    from aligner_core.storage.sql.unit_of_work import SqlUnitOfWork

__all__ = ["SqlInvoiceRepository"]

_INSERT = (
    "INSERT INTO invoices (invoice_id, network_id, doctor_id, issued_at, year, seq, number, doc) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_FIRST = (
    "INSERT INTO invoice_counters (network_id, year, last) VALUES (?, ?, ?) "
    "ON CONFLICT (network_id, year) DO NOTHING"
)
_ADVANCE = "UPDATE invoice_counters SET last = ? WHERE network_id = ? AND year = ? AND last = ?"


class SqlInvoiceRepository:
    """See ``ports.InvoiceRepository``."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.pending = InvoiceNumbers()

    def _counter(self, key: CounterKey) -> int:
        rows = self._uow.session.fetch(
            "SELECT last FROM invoice_counters WHERE network_id = ? AND year = ?",
            (str(key[0]), key[1]),
            "reading an invoice counter",
        )
        return int(rows[0][0]) if rows else 0

    def next_number(self, network_id: UUID, year: int) -> InvoiceNumber:
        return self.pending.allocate((network_id, year), self._counter)

    def add(self, invoice: IssuedInvoice) -> None:
        self.pending.add(invoice)

    def get(self, invoice_id: UUID) -> IssuedInvoice:
        if (pending := self.pending.added.get(invoice_id)) is not None:
            return pending
        rows = self._uow.session.fetch(
            "SELECT doc FROM invoices WHERE invoice_id = ?",
            (str(invoice_id),),
            "reading an invoice",
        )
        if not rows:
            raise NotFoundError("invoice", invoice_id)
        return entry_of_document(rows[0][0])

    def list(
        self,
        network_id: UUID,
        *,
        doctor_id: UUID | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Sequence[IssuedInvoice]:
        clauses: builtins.list[str] = ["network_id = ?"]
        params: builtins.list[Any] = [str(network_id)]
        for column, op, value in (
            ("doctor_id", "=", str(doctor_id) if doctor_id else None),
            ("issued_at", ">=", encode_time(since) if since else None),
            ("issued_at", "<=", encode_time(until) if until else None),
        ):
            if value is not None:
                clauses.append(f"{column} {op} ?")
                params.append(value)
        rows = self._uow.session.fetch(
            f"SELECT doc FROM invoices WHERE {' AND '.join(clauses)} ORDER BY year, seq, number",
            params,
            "listing invoices",
        )
        found = {e.invoice_id: e for e in map(entry_of_document, (r[0] for r in rows))}
        for entry in self.pending.added.values():
            if selected(entry, network_id, doctor_id, since, until):
                found[entry.invoice_id] = entry
        return sorted(found.values(), key=number_order)

    def prepare(self) -> builtins.list[Sequence[Any]]:
        return [_row(e, entry_document(e)) for e in self.pending.added.values()]

    def flush(self, cursor: Cursor, rows: builtins.list[Sequence[Any]]) -> None:
        for (network_id, year), (base, last) in self.pending.advances().items():
            if base == 0:
                cursor.execute(_FIRST, (str(network_id), year, last))
            else:
                cursor.execute(_ADVANCE, (last, str(network_id), year, base))
            if cursor.rowcount != 1:
                raise ConcurrencyConflictError("invoice number", (network_id, year), base)
        if rows:
            cursor.executemany(_INSERT, rows)


def _row(entry: IssuedInvoice, doc: str) -> tuple[Any, ...]:
    number = entry.number
    return (str(entry.invoice_id), str(entry.network_id), str(entry.doctor_id),
            encode_time(entry.issued_at), number.year, number.sequence, str(number),
            doc)  # fmt: skip
