"""Invoice numbers of one unit of work, shared by the memory and SQL adapters.

A unit of work reads each (network, year) counter once, hands out the numbers
after it, and at commit advances the counter only by the invoices it adds, and
only if no other unit advanced it meanwhile (else ``ConcurrencyConflictError``).
So a rolled-back unit consumes nothing, and committed numbers have no gap and no
repeat.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from aligner_core.domain.invoices import InvoiceNumber
from aligner_core.domain.ledger import IssuedInvoice
from aligner_core.errors import ValidationError

__all__ = ["CounterKey", "InvoiceNumbers", "number_order", "selected"]

#: (network id, year)
CounterKey = tuple[UUID, int]


class InvoiceNumbers:
    """The numbers a unit of work allocated and the invoices it added."""

    def __init__(self) -> None:
        #: the counter as read, and the numbers handed out since, per key
        self.allocated: dict[CounterKey, tuple[int, int]] = {}
        self.added: dict[UUID, IssuedInvoice] = {}

    def allocate(self, key: CounterKey, read: Callable[[CounterKey], int]) -> InvoiceNumber:
        base, count = self.allocated.get(key) or (read(key), 0)
        self.allocated[key] = (base, count + 1)
        return InvoiceNumber("INV", key[1], base + count + 1)

    def add(self, entry: IssuedInvoice) -> None:
        if entry.invoice_id in self.added:
            raise ValidationError.of("already_exists", "$.invoice_id")
        self.added[entry.invoice_id] = entry

    def advances(self) -> dict[CounterKey, tuple[int, int]]:
        """Each counter's (read, new) value; the added invoices must use the numbers in order."""
        used: dict[CounterKey, list[int]] = {}
        for entry in self.added.values():
            key = (entry.network_id, entry.number.year)
            used.setdefault(key, []).append(entry.number.sequence)
        moves = {}
        for key, sequences in used.items():
            base, _ = self.allocated.get(key, (None, 0))
            if base is None or sorted(sequences) != list(
                range(base + 1, base + len(sequences) + 1)
            ):
                raise ValidationError.of("invoice_number", "$.number")
            moves[key] = (base, base + len(sequences))
        return moves


def selected(
    entry: IssuedInvoice,
    network_id: UUID,
    doctor_id: UUID | None,
    since: datetime | None,
    until: datetime | None,
) -> bool:
    """Whether ``list(network_id, doctor_id=..., since=..., until=...)`` shows ``entry``."""
    return (
        entry.network_id == network_id
        and (doctor_id is None or entry.doctor_id == doctor_id)
        and (since is None or entry.issued_at >= since)
        and (until is None or entry.issued_at <= until)
    )


def number_order(entry: IssuedInvoice) -> tuple[int, int, str]:
    return (entry.number.year, entry.number.sequence, entry.number.prefix)
