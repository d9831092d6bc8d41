"""Practice metrics: counts and revenue per month and year to date, per doctor or network."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import attrs
from hypothesis import given
from hypothesis import strategies as st

from aligner_core.domain.invoices import Invoice, InvoiceNumber, credit_note
from aligner_core.domain.metrics import CaseMoments, practice_metrics
from aligner_core.domain.money import CURRENCIES, Money, total
from aligner_core.testing.strategies import invoices

ANN, BEN = UUID(int=1), UUID(int=2)
EUR = CURRENCIES["EUR"]


def at(month: int, day: int = 15) -> datetime:
    return datetime(2026, month, day, 10, tzinfo=UTC)


def test_counts_per_month_and_year_to_date_per_doctor() -> None:
    cases = [
        CaseMoments(1, ANN, at(1), at(2), at(3)),
        CaseMoments(2, ANN, at(2), at(2, 20), None),
        CaseMoments(3, BEN, at(2), None, None),
        CaseMoments(4, ANN, datetime(2025, 12, 31, 23, tzinfo=UTC), at(1), at(4)),  # April: later
    ]
    network = practice_metrics(cases, [], until=date(2026, 3, 31), currency="EUR")
    assert [(m.started, m.approved, m.shipped) for m in network.months] == [
        (1, 1, 0), (2, 2, 0), (0, 0, 1),
    ]  # fmt: skip
    assert (network.year_to_date.started, network.year_to_date.approved) == (3, 3)
    ann = practice_metrics(cases, [], until=date(2026, 3, 31), currency="EUR", doctor_id=ANN)
    assert ann.year_to_date.started == 2
    assert ann.year_to_date.revenue == Money("0", "EUR")


@given(st.lists(invoices(EUR), max_size=8), st.data())
def test_revenue_is_the_net_of_the_invoices_of_the_year_and_credit_notes_cancel(
    bills: list[Invoice], data: st.DataObject
) -> None:
    bills = [
        attrs.evolve(b, issued_at=at(data.draw(st.integers(1, 12)), data.draw(st.integers(1, 28))))
        for b in bills
    ]
    until = date(2026, 12, 31)
    figures = practice_metrics([], bills, until=until, currency=EUR)
    assert figures.year_to_date.revenue == total((b.subtotal for b in bills), EUR)
    assert total((m.revenue for m in figures.months), EUR) == figures.year_to_date.revenue
    credits = [
        credit_note(b, InvoiceNumber("CN", 2026, i + 1), b.issued_at + timedelta(hours=1))
        for i, b in enumerate(bills)
    ]
    both = practice_metrics([], bills + credits, until=until, currency=EUR)
    assert both.year_to_date.revenue == Money.zero(EUR)
    assert all(m.revenue.is_zero for m in both.months)
    before = practice_metrics([], bills, until=date(2026, 6, 30), currency=EUR)
    assert len(before.months) == 6
    assert before.year_to_date.revenue == total(
        (b.subtotal for b in bills if b.issued_at.month <= 6), EUR
    )


_MOMENTS = st.one_of(
    st.none(),
    st.datetimes(datetime(2025, 11, 1), datetime(2027, 2, 1), timezones=st.just(UTC)),
)


@given(
    st.lists(
        st.builds(CaseMoments, st.integers(1, 10**6), st.sampled_from([ANN, BEN]),
                  _MOMENTS, _MOMENTS, _MOMENTS),
        max_size=30,
    ),
    st.dates(date(2026, 1, 1), date(2026, 12, 31)),
)  # fmt: skip
def test_the_year_to_date_is_the_sum_of_the_months_and_of_the_doctors(
    cases: list[CaseMoments], until: date
) -> None:
    network = practice_metrics(cases, [], until=until, currency=EUR)
    each = [practice_metrics(cases, [], until=until, currency=EUR, doctor_id=d) for d in (ANN, BEN)]
    assert len(network.months) == until.month
    for field in ("started", "approved", "shipped"):
        months = [getattr(m, field) for m in network.months]
        assert getattr(network.year_to_date, field) == sum(months)
        assert sum(getattr(d.year_to_date, field) for d in each) == sum(months)
        in_period = sum(
            1
            for c in cases
            if (t := getattr(c, f"{field}_at")) is not None
            and date(2026, 1, 1) <= t.date() <= until
        )
        assert sum(months) == in_period
