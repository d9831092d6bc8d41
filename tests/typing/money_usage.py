"""Documented usage of the money domain that ``mypy --strict`` must accept."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from aligner_core.domain.invoices import Invoice, InvoiceKind, InvoiceNumber, TaxRate, lines_of
from aligner_core.domain.money import Money, allocate
from aligner_core.domain.packages import Package, smallest_fitting
from aligner_core.domain.plans import PlanSummary
from aligner_core.domain.prices import Item, PriceBook
from aligner_core.domain.quotes import Quote, quote_plan


def money() -> tuple[Money, ...]:
    price = Money("12.50", "EUR") + Money(Decimal("0.50"), "EUR") * 3
    tax: Money = price.times(Decimal("0.19"))
    return allocate(tax, [price, Money(1, "EUR")])


def quote(network: UUID, doctor: UUID, practice: UUID) -> Invoice:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    book = PriceBook(network, "EUR", 1, now, {Item.package("lite"): Money("900", "EUR")})
    plan = PlanSummary(upper_steps=10, lower_steps=9)
    offered = [Package("lite", "Lite", 14)]
    proposed: Package = smallest_fitting(offered, plan)
    quoted: Quote = quote_plan(plan, book, offered, package_id=proposed.id, practice_id=practice)
    return Invoice(
        InvoiceNumber.first(2026),
        InvoiceKind.CHARGE,
        now,
        doctor,
        practice,
        quoted.currency,
        TaxRate("19"),
        lines_of(quoted, case_number=1),
    )
