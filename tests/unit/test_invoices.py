"""Invoices: totals from their lines without drift, credit notes, statements, exports, HTML."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from uuid import UUID

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aligner_core.domain.invoices import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceNumber,
    TaxRate,
    credit_note,
    from_csv,
    from_json,
    statement,
    to_csv,
    to_html,
    to_json,
)
from aligner_core.domain.money import CURRENCIES, Money, total
from aligner_core.domain.payments import CardToken, PaymentKind, PaymentMethod
from aligner_core.domain.prices import Item
from aligner_core.domain.teeth import Arch
from aligner_core.errors import ValidationError
from aligner_core.testing.strategies import (
    card_tokens,
    invoice_numbers,
    invoices,
    payment_methods,
)

DOCTOR, PRACTICE = UUID(int=11), UUID(int=12)
ISSUED = datetime(2026, 4, 30, 23, 30, tzinfo=UTC)
EACH_PRECISION = st.sampled_from([CURRENCIES["JPY"], CURRENCIES["EUR"], CURRENCIES["BHD"]])


def invoice(*lines: InvoiceLine, number: int = 1, rate: str = "19", **changes: object) -> Invoice:
    made = Invoice(
        number=InvoiceNumber("INV", 2026, number),
        kind=InvoiceKind.CHARGE,
        issued_at=ISSUED,
        doctor_id=DOCTOR,
        practice_id=PRACTICE,
        currency=lines[0].unit.currency if lines else CURRENCIES["EUR"],
        tax_rate=TaxRate(rate),
        lines=lines,
        payment=PaymentKind.INVOICE,
    )
    return attrs.evolve(made, **changes)


def line(
    amount: str, quantity: int = 1, currency: str = "EUR", case: int | None = 1042
) -> InvoiceLine:
    return InvoiceLine(Item.package("lite"), quantity, Money(amount, currency), case)


def test_tax_is_taken_once_on_the_subtotal_and_spread_over_the_lines() -> None:
    three = invoice(line("0.10"), line("0.10"), line("0.10"))
    assert three.subtotal == Money("0.30", "EUR")
    assert three.tax == Money("0.06", "EUR")  # 0.057 rounds to 0.06, not 3 x 0.02
    assert three.line_taxes == (Money("0.02", "EUR"),) * 3
    assert three.total == Money("0.36", "EUR")
    half = invoice(line("0.50"), rate="5")  # 0.025 -> 0.02 (half to even)
    assert half.tax == Money("0.02", "EUR")


@given(invoices())
def test_totals_are_the_sum_of_their_lines_with_no_drift(bill: Invoice) -> None:
    currency = bill.currency
    assert bill.subtotal == total((item.unit * item.quantity for item in bill.lines), currency)
    assert bill.total == bill.subtotal + bill.tax
    assert total(bill.line_taxes, currency) == bill.tax
    exact = Fraction(bill.subtotal.minor) * Fraction(bill.tax_rate.percent) / 100
    assert abs(Fraction(bill.tax.minor) - exact) <= Fraction(1, 2)


@given(st.data())
def test_no_drift_in_zero_two_and_three_decimal_currencies(data: st.DataObject) -> None:
    currency = data.draw(EACH_PRECISION)
    bill = data.draw(invoices(currency))
    assert bill.total.amount.as_tuple().exponent == -currency.minor_units
    assert sum(t.minor for t in bill.line_taxes) == bill.tax.minor
    assert sum(i.amount.minor for i in bill.lines) == bill.subtotal.minor


@given(invoices(), invoice_numbers())
def test_a_credit_note_and_its_invoice_sum_to_zero(bill: Invoice, number: InvoiceNumber) -> None:
    credit = credit_note(bill, number, bill.issued_at + timedelta(days=3))
    assert credit.kind is InvoiceKind.CREDIT_NOTE
    assert credit.refers_to == bill.number
    zero = Money.zero(bill.currency)
    assert bill.subtotal + credit.subtotal == zero
    assert bill.tax + credit.tax == zero
    assert bill.total + credit.total == zero
    for mine, theirs in zip(bill.line_taxes, credit.line_taxes, strict=True):
        assert mine + theirs == zero
    when = bill.issued_at.date()
    both = statement([bill, credit], bill.doctor_id, when, when + timedelta(days=3), bill.currency)
    assert both.balance == zero
    assert both.charged == bill.total


def test_a_credit_note_may_reverse_some_lines_but_never_another_credit_note() -> None:
    bill = invoice(line("100"), line("50", 2))
    partial = credit_note(bill, InvoiceNumber("CN", 2026, 1), ISSUED, lines=[1])
    assert partial.subtotal == Money("-100", "EUR")
    with pytest.raises(ValidationError) as error:
        credit_note(partial, InvoiceNumber("CN", 2026, 2), ISSUED)
    assert error.value.errors[0].code == "credit_of_credit"
    with pytest.raises(ValidationError) as error:
        attrs.evolve(bill, refers_to=InvoiceNumber("INV", 2026, 9))
    assert error.value.errors[0].code == "credit_note_reference"
    with pytest.raises(ValidationError) as error:
        invoice(line("-1"))
    assert error.value.errors[0].code == "line_sign"
    with pytest.raises(ValidationError) as error:
        invoice()
    assert error.value.errors[0].code == "lines_needed"
    with pytest.raises(ValidationError) as error:
        invoice(line("1"), line("1", currency="CHF"))
    assert error.value.errors[0].code == "currency_mismatch"


@given(invoices())
def test_json_export_round_trips_the_numbers_exactly(bill: Invoice) -> None:
    text = to_json(bill)
    assert from_json(text) == bill
    data = json.loads(text)
    assert Decimal(data["total"]) == bill.total.amount
    assert [Decimal(x["tax"]) for x in data["lines"]] == [t.amount for t in bill.line_taxes]
    assert not any(isinstance(v, float) for v in data.values())


@given(st.lists(invoices(), min_size=1, max_size=4, unique_by=lambda i: str(i.number)))
def test_csv_export_round_trips_the_numbers_exactly(bills: list[Invoice]) -> None:
    text = to_csv(bills)
    assert from_csv(text) == tuple(bills)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == sum(len(b.lines) for b in bills)
    assert {Decimal(r["total"]) for r in rows} <= {b.total.amount for b in bills}


def test_exports_whose_figures_were_changed_are_refused() -> None:
    bill = invoice(line("10"), line("20"))
    data = json.loads(to_json(bill))
    data["total"] = "35.71"
    with pytest.raises(ValidationError) as error:
        from_json(json.dumps(data))
    assert error.value.errors[0].code == "export_figures"
    edited = to_csv([bill]).replace(",10.00,", ",11.00,", 1)
    with pytest.raises(ValidationError) as error:
        from_csv(edited)
    assert error.value.errors[0].code == "export_figures"
    for broken in ("[1, 2]", "{", '{"lines": [], "number": "x"}'):
        with pytest.raises(ValidationError):
            from_json(broken)
    with pytest.raises(ValidationError) as error:
        from_csv("a,b\n1,2\n")
    assert error.value.errors[0].code == "invalid_export"


def test_a_statement_covers_one_doctor_and_one_period() -> None:
    may = attrs.evolve(invoice(line("10"), number=2), issued_at=ISSUED + timedelta(hours=1))
    other = invoice(line("99"), number=3, doctor_id=UUID(int=99))
    april = invoice(line("20"), number=1)
    found = statement([may, other, april], DOCTOR, date(2026, 4, 1), date(2026, 4, 30), "EUR")
    assert found.invoices == (april,)
    assert found.balance == Money("23.80", "EUR")
    with pytest.raises(ValidationError) as error:
        statement([], DOCTOR, date(2026, 4, 2), date(2026, 4, 1), "EUR")
    assert error.value.errors[0].code == "statement_period"
    with pytest.raises(ValidationError) as error:
        statement([april], DOCTOR, date(2026, 4, 1), date(2026, 4, 30), "CHF")
    assert error.value.errors[0].code == "currency_mismatch"


def test_invoice_numbers_are_formatted_parsed_and_ordered() -> None:
    number = InvoiceNumber.parse("INV-2026-000123")
    assert (number.prefix, number.year, number.sequence) == ("INV", 2026, 123)
    assert str(number.next()) == "INV-2026-000124"
    assert str(InvoiceNumber.first(2027)) == "INV-2027-000001"
    assert str(InvoiceNumber("INV", 2026, 1_234_567)) == "INV-2026-1234567"
    assert InvoiceNumber("INV", 2026, 9) < InvoiceNumber("INV", 2026, 10)
    for bad in ("INV-26-1", "inv-2026-000001", "INV-2026-000000", "INV-2026-12"):
        with pytest.raises(ValidationError):
            InvoiceNumber.parse(bad)


@given(invoice_numbers())
def test_invoice_numbers_round_trip_through_text(number: InvoiceNumber) -> None:
    assert InvoiceNumber.parse(str(number)) == number


def test_tax_rates_are_exact_percentages() -> None:
    assert TaxRate("7.7").on(Money("100", "CHF")) == Money("7.70", "CHF")
    for bad, code in ((19.0, "money_float"), ("101", "tax_rate"), ("-1", "tax_rate"),
                      ("0.00001", "tax_rate")):  # fmt: skip
        with pytest.raises(ValidationError) as error:
            TaxRate(bad)  # type: ignore[arg-type]
        assert error.value.errors[0].code == code


def test_the_html_a_practice_files_escapes_everything_and_names_cases_not_patients() -> None:
    bill = invoice(
        InvoiceLine(Item.replacement(Arch.UPPER), 3, Money("45", "EUR"), 1042),
        InvoiceLine(Item.add_on("tps"), 1, Money("150", "EUR")),
    )
    page = to_html(
        bill,
        issuer="Lab <script>alert(1)</script>",
        recipient="Praxis Müller & Partner",
        describe=lambda item: {"add_on:tps": "Treatment planning services"}.get(
            str(item), "Aligner"
        ),
    )
    assert page.startswith("<!DOCTYPE html>")
    assert "<script>" not in page
    assert "Lab &lt;script&gt;" in page
    assert "Praxis Müller &amp; Partner" in page
    assert "Invoice INV-2026-000001" in page
    assert "<td>1042</td>" in page
    assert "Treatment planning services" in page
    assert "285.00 EUR" in page  # subtotal
    assert "Tax (19 %)" in page
    assert "339.15 EUR" in page  # total
    german = to_html(
        bill, issuer="Labor", recipient="Praxis", texts={"charge": "Rechnung"}, lang="de"
    )
    assert "Rechnung INV-2026-000001" in german
    assert 'lang="de"' in german


# -- payment methods ------------------------------------------------------------------------


@given(payment_methods())
def test_a_card_token_never_shows(method: PaymentMethod) -> None:
    if method.card is not None:
        # what is shown does not depend on the token (a token may happen to be a word of
        # the repr itself, "PaymentK"), and a token that is no such word never shows
        other = PaymentMethod.card_on_file(method.owner_id, "tok_" + "7" * 20)
        assert repr(method) == repr(other) and str(method.card) == str(other.card)
        assert "tok_" + "7" * 20 not in repr(other) + str(other.card)
        assert method.kind is PaymentKind.CARD_ON_FILE
    else:
        assert method.kind is not PaymentKind.CARD_ON_FILE


@given(card_tokens())
def test_provider_tokens_are_accepted(token: str) -> None:
    assert CardToken(token).value == token


@pytest.mark.parametrize(
    "token", ["short", "x" * 256, "pm_12345 678", "pm_1234567<", "ümlaut123", 12345678]
)
def test_malformed_tokens_are_refused_without_echoing_them(token: object) -> None:
    with pytest.raises(ValidationError) as error:
        CardToken(token)  # type: ignore[arg-type]
    assert error.value.errors[0].code == "card_token"
    assert str(token) not in str(error.value) or len(str(token)) < 6


def test_only_a_card_on_file_carries_a_token() -> None:
    with pytest.raises(ValidationError) as error:
        PaymentMethod(PaymentKind.INVOICE, DOCTOR, CardToken("pm_12345678"))
    assert error.value.errors[0].code == "card_token_kind"
    with pytest.raises(ValidationError):
        PaymentMethod(PaymentKind.CARD_ON_FILE, DOCTOR)


def test_an_invoice_bills_the_approved_quote_not_the_current_price_book() -> None:
    from aligner_core.domain.invoices import lines_of
    from aligner_core.domain.packages import Package
    from aligner_core.domain.plans import PlanSummary
    from aligner_core.domain.prices import PriceBook
    from aligner_core.domain.quotes import quote_plan

    book = PriceBook(
        UUID(int=1), "EUR", 1, ISSUED - timedelta(days=90),
        {Item.package("lite"): Money("900", "EUR"), Item.add_on("tps"): Money("150", "EUR")},
    )  # fmt: skip
    quote = quote_plan(
        PlanSummary(upper_steps=10, lower_steps=8), book, [Package("lite", "Lite", 14)],
        plan_version=1, add_ons=["tps"],
    )  # fmt: skip
    book.revised(ISSUED - timedelta(days=1), entries={Item.package("lite"): Money("990", "EUR")})
    bill = invoice(*lines_of(quote, case_number=1042))
    assert bill.subtotal == quote.total == Money("1050", "EUR")
    assert {line.case_number for line in bill.lines} == {1042}
