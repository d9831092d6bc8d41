"""Practice metrics: cases started, approved and shipped, and revenue, per month and year to date.

Computed from the moments of each case (:func:`moments_of` reads them off a
:class:`~aligner_core.domain.cases.Case`) and from the invoices: revenue is the
invoices' net amount (before tax), credit notes counting negative. Pass one
doctor's cases and invoices for a doctor's figures, a network's for the
network's. Months are calendar months in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from uuid import UUID

import attrs

from aligner_core.domain.cases import Case
from aligner_core.domain.invoices import Invoice
from aligner_core.domain.money import Currency, Money, currency_of, total

__all__ = ["CaseMoments", "Figures", "PracticeMetrics", "moments_of", "practice_metrics"]


@attrs.frozen
class CaseMoments:
    """When a case was started (submitted), approved (went into production) and first shipped."""

    case_number: int
    doctor_id: UUID
    started_at: datetime | None = None
    approved_at: datetime | None = None
    shipped_at: datetime | None = None


def moments_of(case: Case) -> CaseMoments:
    shipped = min((s.shipped_at for s in case.shipments), default=None)
    return CaseMoments(case.number, case.owner_id, case.submitted_at, case.accepted_at, shipped)


@attrs.frozen
class Figures:
    """The counts and the revenue of one period."""

    started: int
    approved: int
    shipped: int
    revenue: Money


@attrs.frozen
class PracticeMetrics:
    """Figures per month of ``year`` up to ``until`` (January first), and the year to date."""

    year: int
    until: date
    months: tuple[Figures, ...]
    year_to_date: Figures


def _month(moment: datetime | None, year: int, until: date) -> int | None:
    """The month of ``year`` ``moment`` falls in, if it is on or before ``until`` (UTC)."""
    if moment is None:
        return None
    day = moment.astimezone(UTC).date()
    return day.month if day.year == year and day <= until else None


def practice_metrics(
    cases: Iterable[CaseMoments],
    invoices: Iterable[Invoice],
    *,
    until: date,
    currency: Currency | str,
    doctor_id: UUID | None = None,
) -> PracticeMetrics:
    """The figures of ``until``'s year up to ``until``; only ``doctor_id``'s when given."""
    found = currency_of(currency)
    year, count = until.year, until.month
    started, approved, shipped = ([0] * count for _ in range(3))
    revenue: list[list[Money]] = [[] for _ in range(count)]
    for case in cases:
        if doctor_id is not None and case.doctor_id != doctor_id:
            continue
        for tally, moment in (
            (started, case.started_at),
            (approved, case.approved_at),
            (shipped, case.shipped_at),
        ):
            month = _month(moment, year, until)
            if month is not None:
                tally[month - 1] += 1
    for invoice in invoices:
        if doctor_id is not None and invoice.doctor_id != doctor_id:
            continue
        month = _month(invoice.issued_at, year, until)
        if month is None:
            continue
        found.require(invoice.currency)
        revenue[month - 1].append(invoice.subtotal)
    months = tuple(
        Figures(started[i], approved[i], shipped[i], total(revenue[i], found)) for i in range(count)
    )
    year_to_date = Figures(
        sum(started),
        sum(approved),
        sum(shipped),
        total((m.revenue for m in months), found),
    )
    return PracticeMetrics(year, until, months, year_to_date)
