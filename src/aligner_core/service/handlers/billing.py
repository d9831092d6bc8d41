"""Billing: a network's admin issues invoices and credit notes; doctors read their own.

The storage numbers each invoice (gap-free per network and year); a unit of work
that lost the race for a number is run again. Invoices name the case number only,
never the patient.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from uuid import UUID

from aligner_core.commands import IssueCreditNote, IssueInvoice
from aligner_core.domain import permissions
from aligner_core.domain.accounts import Account, Role
from aligner_core.domain.cases import Case
from aligner_core.domain.invoices import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    Statement,
    TaxRate,
    credit_note,
    lines_of,
    statement,
)
from aligner_core.domain.ledger import IssuedInvoice
from aligner_core.domain.money import Money
from aligner_core.domain.prices import Item
from aligner_core.domain.quotes import Quote
from aligner_core.errors import (
    ConcurrencyConflictError,
    NotFoundError,
    PermissionDeniedError,
    Reason,
    ValidationError,
)
from aligner_core.ports import UnitOfWork
from aligner_core.service import pipeline
from aligner_core.service.deps import Deps

__all__ = [
    "charge",
    "find_invoice",
    "invoices_of",
    "issue_credit_note",
    "issue_invoice",
    "parties_of",
    "statement_of",
]


def _numbered(deps: Deps, build: Callable[[UnitOfWork, datetime], IssuedInvoice]) -> IssuedInvoice:
    """Run ``build`` in a unit of work and commit, again if another one took the number."""
    for attempt in range(pipeline.NUMBER_RACE_ATTEMPTS):
        try:
            with deps.storage.unit_of_work() as uow:
                entry = build(uow, deps.clock.now())
                uow.invoices.add(entry)
                uow.commit()
            return entry
        except ConcurrencyConflictError as conflict:
            if conflict.kind != "invoice number" or attempt == pipeline.NUMBER_RACE_ATTEMPTS - 1:
                raise
            pipeline.pause_after_race(attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def charge(uow: UnitOfWork, deps: Deps, case: Case, quote: Quote, now: datetime) -> IssuedInvoice:
    """The invoice of what a case's approval or paid follow-up charges, numbered in the
    command's own unit of work (a lost race for the number is a conflict: try again)."""
    network = uow.accounts.get_network(case.network_id)
    invoice = Invoice(
        number=uow.invoices.next_number(case.network_id, now.astimezone(UTC).year),
        kind=InvoiceKind.CHARGE,
        issued_at=now,
        doctor_id=case.owner_id,
        practice_id=case.practice.practice_id if case.practice else case.owner_id,
        currency=quote.currency,
        tax_rate=TaxRate(network.tax_percent),
        lines=lines_of(quote, case.number),
        payment=case.payment.kind if case.payment else None,
    )
    issued = IssuedInvoice(deps.ids.new_id(), case.network_id, invoice, case.case_id)
    uow.invoices.add(issued)
    return issued


def issue_invoice(deps: Deps, actor_id: UUID, command: IssueInvoice) -> IssuedInvoice:
    """The network's admin invoices the doctor of a case for the given lines."""

    def build(uow: UnitOfWork, now: datetime) -> IssuedInvoice:
        actor = pipeline.actor_of(uow, actor_id, "issue invoice")
        case = uow.cases.get(command.case_id)
        permissions.require_admin_of(actor, case.network_id, "issue invoice")
        lines = tuple(
            InvoiceLine(Item.parse(line.item), line.quantity, Money(line.unit, command.currency),
                        case.number)
            for line in command.lines
        )  # fmt: skip
        practice_id = case.practice.practice_id if case.practice else case.owner_id
        invoice = Invoice(
            number=uow.invoices.next_number(case.network_id, now.astimezone(UTC).year),
            kind=InvoiceKind.CHARGE,
            issued_at=now,
            doctor_id=case.owner_id,
            practice_id=practice_id,
            currency=command.currency,
            tax_rate=TaxRate(command.tax_percent),
            lines=lines,
        )
        return IssuedInvoice(deps.ids.new_id(), case.network_id, invoice, case.case_id,
                             command.due_on)  # fmt: skip

    return _numbered(deps, build)


def issue_credit_note(deps: Deps, actor_id: UUID, command: IssueCreditNote) -> IssuedInvoice:
    """The network's admin reverses an invoice fully (once) with a numbered credit note."""

    def build(uow: UnitOfWork, now: datetime) -> IssuedInvoice:
        actor = pipeline.actor_of(uow, actor_id, "issue credit note")
        original = uow.invoices.get(command.invoice_id)
        permissions.require_admin_of(actor, original.network_id, "issue credit note")
        if any(
            e.invoice.refers_to == original.number
            for e in uow.invoices.list(original.network_id, doctor_id=original.doctor_id)
        ):
            raise ValidationError.of("already_credited", "$.invoice_id")
        number = uow.invoices.next_number(original.network_id, now.astimezone(UTC).year)
        note = credit_note(original.invoice, number, now)
        return IssuedInvoice(deps.ids.new_id(), original.network_id, note, original.case_id)

    return _numbered(deps, build)


def _reader(uow: UnitOfWork, actor_id: UUID, doctor_id: UUID | None) -> tuple[Account, UUID | None]:
    """Who reads invoices, and whose: admins any doctor's of their network, doctors their own."""
    actor = pipeline.actor_of(uow, actor_id, "read invoices")
    if actor.role is Role.ADMIN:
        return actor, doctor_id
    if actor.role is Role.DOCTOR and doctor_id in (None, actor.account_id):
        return actor, actor.account_id
    raise PermissionDeniedError(
        actor_id, "read invoices", doctor_id, Reason("not_network_admin", kind="permission")
    )


def invoices_of(
    deps: Deps,
    actor_id: UUID,
    doctor_id: UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[IssuedInvoice]:
    """The invoices the actor may read (of one doctor, in a period), in number order."""
    with deps.storage.unit_of_work() as uow:
        actor, whose = _reader(uow, actor_id, doctor_id)
        return uow.invoices.list(actor.network_id, doctor_id=whose, since=since, until=until)


def find_invoice(deps: Deps, actor_id: UUID, invoice_id: UUID) -> IssuedInvoice:
    """One invoice its network's admin or its doctor reads (``NotFoundError`` for others)."""
    with deps.storage.unit_of_work() as uow:
        actor = pipeline.actor_of(uow, actor_id, "read invoices")
        entry = uow.invoices.get(invoice_id)
    admin = actor.role is Role.ADMIN and actor.network_id == entry.network_id
    if not admin and actor.account_id != entry.doctor_id:
        raise NotFoundError("invoice", invoice_id)
    return entry


def parties_of(deps: Deps, entry: IssuedInvoice) -> tuple[str, str]:
    """Who issued an invoice (the network's name) and to whom (the doctor's name and the
    practice invoiced, the doctor's clinic if it is gone): names on the page, never a patient's."""
    with deps.storage.unit_of_work() as uow:
        network = uow.accounts.get_network(entry.network_id)
        doctor = uow.accounts.get(entry.doctor_id)
    practice = next(
        (p.name for p in doctor.practices if p.practice_id == entry.invoice.practice_id),
        doctor.clinic_name,
    )
    return network.name, f"{doctor.display_name}, {practice}"


def item_names_of(deps: Deps, network_id: UUID) -> dict[str, str]:
    """The network's package and product names by code (what an invoice line names)."""
    with deps.storage.unit_of_work() as uow:
        network = uow.accounts.get_network(network_id)
    names = {p.code: p.name for p in network.products.products}
    return {**names, **{p.id: p.name for p in network.packages}}


def statement_of(
    deps: Deps, actor_id: UUID, doctor_id: UUID, start: date, end: date, currency: str = "EUR"
) -> Statement:
    """A doctor's statement of ``start``..``end`` (UTC days, both included)."""
    with deps.storage.unit_of_work() as uow:
        actor, whose = _reader(uow, actor_id, doctor_id)
        found = uow.invoices.list(actor.network_id, doctor_id=whose)
    return statement((e.invoice for e in found), doctor_id, start, end, currency)
