"""An issued invoice as the storage keeps it: the invoice, its id, network and case.

The pure :class:`~aligner_core.domain.invoices.Invoice` knows neither its network
nor an id; the ledger entry adds both so invoices are found by id and listed per
network. Its document is the invoice's own export (:func:`invoices.to_dict`), so
amounts are decimal text and round-trip exactly.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from uuid import UUID

import attrs

from aligner_core.domain import invoices
from aligner_core.domain.invoices import Invoice, InvoiceNumber
from aligner_core.errors import ValidationError

__all__ = ["IssuedInvoice", "entry_document", "entry_of_document"]


@attrs.frozen
class IssuedInvoice:
    """An invoice (or credit note) issued by ``network_id``, for case ``case_id`` if any."""

    invoice_id: UUID
    network_id: UUID
    invoice: Invoice
    case_id: UUID | None = None
    due_on: date | None = None

    @property
    def number(self) -> InvoiceNumber:
        return self.invoice.number

    @property
    def doctor_id(self) -> UUID:
        return self.invoice.doctor_id

    @property
    def issued_at(self) -> datetime:
        return self.invoice.issued_at


def entry_document(entry: IssuedInvoice) -> str:
    """The JSON document of a ledger entry (amounts as decimal text, never floats)."""
    data: dict[str, Any] = {
        "invoice_id": str(entry.invoice_id),
        "network_id": str(entry.network_id),
        "case_id": None if entry.case_id is None else str(entry.case_id),
        "invoice": invoices.to_dict(entry.invoice),
        "due_on": None if entry.due_on is None else entry.due_on.isoformat(),
    }
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def entry_of_document(text: str) -> IssuedInvoice:
    """The entry :func:`entry_document` wrote."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValidationError.of("invalid_export", "$")
    case, due = data.get("case_id"), data.get("due_on")
    return IssuedInvoice(
        invoice_id=UUID(data["invoice_id"]),
        network_id=UUID(data["network_id"]),
        invoice=invoices.from_dict(data["invoice"]),
        case_id=None if case is None else UUID(case),
        due_on=None if due is None else date.fromisoformat(due),
    )
