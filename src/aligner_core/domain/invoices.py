"""Invoices, credit notes and statements, with their JSON, CSV and HTML forms.

An invoice is numbered (``INV-2026-000123``; the storage hands out the numbers
without gaps), lists lines (item, quantity, unit amount, the case number, never
the patient), and applies the network's tax rate once to the subtotal, rounded
half-even to the minor unit; the tax is then spread over the lines
(:func:`~aligner_core.domain.money.allocate`) so line taxes add up to it. A
credit note reverses a charge line for line: the two sum to zero in subtotal,
tax and total. A statement gathers a doctor's invoices of a period.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any, Final
from uuid import UUID

import attrs

from aligner_core.codes import N_
from aligner_core.domain._bounds import whole
from aligner_core.domain._checks import aware
from aligner_core.domain.money import (
    Currency,
    Money,
    allocate,
    currency_of,
    exact_decimal,
    total,
)
from aligner_core.domain.payments import PaymentKind
from aligner_core.domain.prices import Item
from aligner_core.domain.quotes import Quote
from aligner_core.errors import ValidationError

__all__ = [
    "CSV_COLUMNS",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceNumber",
    "Statement",
    "TaxRate",
    "credit_note",
    "from_csv",
    "from_json",
    "lines_of",
    "statement",
    "to_csv",
    "to_html",
    "to_json",
]

_NUMBER: Final = re.compile(r"([A-Z]{1,8})-(\d{4})-(\d{6,9})")


class InvoiceKind(StrEnum):
    """A charge, or a credit note reversing one."""

    CHARGE = "charge"
    CREDIT_NOTE = "credit_note"


def _prefix(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{1,8}", value):
        raise ValidationError.of("invoice_number", "$.prefix")


@attrs.frozen(order=True)
class InvoiceNumber:
    """``INV-2026-000123``: a prefix, the year and a sequence number within it."""

    prefix: str = attrs.field(validator=_prefix)
    year: int = attrs.field(validator=whole(2000, 9999))
    sequence: int = attrs.field(validator=whole(1, 999_999_999))

    @classmethod
    def first(cls, year: int, prefix: str = "INV") -> InvoiceNumber:
        return cls(prefix, year, 1)

    @classmethod
    def parse(cls, text: str) -> InvoiceNumber:
        found = _NUMBER.fullmatch(text) if isinstance(text, str) else None
        if found is None:
            raise ValidationError.of("invoice_number", "$.number")
        return cls(found[1], int(found[2]), int(found[3]))

    def next(self) -> InvoiceNumber:
        """The number after this one in the same year."""
        return attrs.evolve(self, sequence=self.sequence + 1)

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}-{self.sequence:06d}"


def _percent(value: Any) -> Decimal:
    return exact_decimal(value, "$.percent")


def _rate_bounds(inst: Any, attribute: attrs.Attribute[Any], value: Decimal) -> None:
    if not 0 <= value <= 100 or value != value.quantize(Decimal("0.0001")):
        raise ValidationError.of("tax_rate", "$.percent")


@attrs.frozen
class TaxRate:
    """A network's tax rate in percent (``TaxRate("19")``, ``TaxRate("7.7")``), exact."""

    percent: Decimal = attrs.field(converter=_percent, validator=_rate_bounds)

    def on(self, net: Money) -> Money:
        """The tax on ``net``, rounded half-even to the currency's minor unit."""
        return net.times(Fraction(self.percent) / 100)


@attrs.frozen
class InvoiceLine:
    """``quantity`` times ``item`` at ``unit`` each, for case ``case_number`` (if any)."""

    item: Item
    quantity: int = attrs.field(validator=whole(1, 10_000))
    unit: Money
    case_number: int | None = attrs.field(default=None, validator=whole(1, 2**63 - 1))

    @property
    def amount(self) -> Money:
        return self.unit * self.quantity


def _invoice_lines(value: Iterable[InvoiceLine]) -> tuple[InvoiceLine, ...]:
    return tuple(value)


def lines_of(quote: Quote, case_number: int | None = None) -> tuple[InvoiceLine, ...]:
    """The invoice lines of an approved quote: its amounts, whatever the price book says now."""
    return tuple(
        InvoiceLine(line.item, line.quantity, line.unit, case_number) for line in quote.lines
    )


def _invoice_rules(invoice: Invoice) -> None:
    if not invoice.lines:
        raise ValidationError.of("lines_needed", "$.lines")
    credit = invoice.kind is InvoiceKind.CREDIT_NOTE
    if credit != (invoice.refers_to is not None):
        raise ValidationError.of("credit_note_reference", "$.refers_to")
    for index, line in enumerate(invoice.lines):
        invoice.currency.require(line.unit.currency, f"$.lines[{index}].unit")
        if (line.unit.amount > 0) if credit else (line.unit.amount < 0):
            raise ValidationError.of("line_sign", f"$.lines[{index}].unit")


@attrs.frozen
class Invoice:
    """A numbered charge (or credit note) to a doctor at a practice.

    The subtotal is the exact sum of the lines, the tax is the rate applied once to
    it, the total their sum; :attr:`line_taxes` spreads the tax over the lines.
    """

    number: InvoiceNumber
    kind: InvoiceKind = attrs.field(converter=InvoiceKind)
    issued_at: datetime = attrs.field(validator=aware)
    doctor_id: UUID
    practice_id: UUID
    currency: Currency = attrs.field(converter=currency_of)
    tax_rate: TaxRate
    lines: tuple[InvoiceLine, ...] = attrs.field(converter=_invoice_lines)
    refers_to: InvoiceNumber | None = None
    payment: PaymentKind | None = None

    def __attrs_post_init__(self) -> None:
        _invoice_rules(self)

    @property
    def subtotal(self) -> Money:
        return total((line.amount for line in self.lines), self.currency)

    @property
    def tax(self) -> Money:
        return self.tax_rate.on(self.subtotal)

    @property
    def total(self) -> Money:
        return self.subtotal + self.tax

    @property
    def line_taxes(self) -> tuple[Money, ...]:
        """The tax of each line: shares of :attr:`tax` by line amount, adding up to it."""
        amounts = [line.amount for line in self.lines]
        if all(amount.is_zero for amount in amounts):
            return tuple(Money.zero(self.currency) for _ in amounts)
        return allocate(self.tax, amounts)


def credit_note(
    original: Invoice,
    number: InvoiceNumber,
    issued_at: datetime,
    lines: Sequence[int] | None = None,
) -> Invoice:
    """The credit note reversing ``original`` (all its lines, or those at ``lines``)."""
    if original.kind is not InvoiceKind.CHARGE:
        raise ValidationError.of("credit_of_credit", "$.refers_to")
    chosen = range(len(original.lines)) if lines is None else sorted(set(lines))
    reversed_lines = []
    for index in chosen:
        if not 0 <= index < len(original.lines):
            raise ValidationError.of("out_of_range", "$.lines", min=0, max=len(original.lines) - 1)
        line = original.lines[index]
        reversed_lines.append(attrs.evolve(line, unit=-line.unit))
    return attrs.evolve(
        original,
        number=number,
        kind=InvoiceKind.CREDIT_NOTE,
        issued_at=issued_at,
        lines=tuple(reversed_lines),
        refers_to=original.number,
    )


@attrs.frozen
class Statement:
    """A doctor's invoices and credit notes issued from ``start`` to ``end`` (UTC dates)."""

    doctor_id: UUID
    start: date
    end: date
    currency: Currency
    invoices: tuple[Invoice, ...]

    @property
    def charged(self) -> Money:
        return total(
            (i.total for i in self.invoices if i.kind is InvoiceKind.CHARGE), self.currency
        )

    @property
    def credited(self) -> Money:
        """The credit notes' total (zero or negative)."""
        return total(
            (i.total for i in self.invoices if i.kind is InvoiceKind.CREDIT_NOTE), self.currency
        )

    @property
    def balance(self) -> Money:
        return self.charged + self.credited


def statement(
    invoices: Iterable[Invoice],
    doctor_id: UUID,
    start: date,
    end: date,
    currency: Currency | str,
) -> Statement:
    """The statement of ``doctor_id`` for ``start``..``end`` (both days included)."""
    if end < start:
        raise ValidationError.of("statement_period", "$.end")
    found = Currency.of(currency)
    chosen = sorted(
        (i for i in invoices if i.doctor_id == doctor_id and start <= _utc_day(i.issued_at) <= end),
        key=lambda i: (i.issued_at, i.number),
    )
    for invoice in chosen:
        found.require(invoice.currency)
    return Statement(doctor_id, start, end, found, tuple(chosen))


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


# -- exports ---------------------------------------------------------------------------------

#: The columns of :func:`to_csv`: one row per line, the invoice's fields repeated.
CSV_COLUMNS: Final = (
    "number",
    "kind",
    "refers_to",
    "issued_at",
    "doctor_id",
    "practice_id",
    "currency",
    "tax_percent",
    "payment",
    "line",
    "item",
    "case_number",
    "quantity",
    "unit",
    "amount",
    "line_tax",
    "subtotal",
    "tax",
    "total",
)


def _line_dict(line: InvoiceLine, tax: Money) -> dict[str, Any]:
    return {
        "item": str(line.item),
        "case_number": line.case_number,
        "quantity": line.quantity,
        "unit": str(line.unit.amount),
        "amount": str(line.amount.amount),
        "tax": str(tax.amount),
    }


def to_dict(invoice: Invoice) -> dict[str, Any]:
    """The invoice as JSON-ready data: amounts as decimal text, never floats."""
    return {
        "number": str(invoice.number),
        "kind": invoice.kind.value,
        "refers_to": None if invoice.refers_to is None else str(invoice.refers_to),
        "issued_at": invoice.issued_at.isoformat(),
        "doctor_id": str(invoice.doctor_id),
        "practice_id": str(invoice.practice_id),
        "currency": invoice.currency.code,
        "tax_percent": str(invoice.tax_rate.percent),
        "payment": None if invoice.payment is None else invoice.payment.value,
        "lines": [
            _line_dict(line, tax)
            for line, tax in zip(invoice.lines, invoice.line_taxes, strict=True)
        ],
        "subtotal": str(invoice.subtotal.amount),
        "tax": str(invoice.tax.amount),
        "total": str(invoice.total.amount),
    }


def to_json(invoice: Invoice) -> str:
    return json.dumps(to_dict(invoice), ensure_ascii=False, sort_keys=True)


def _check_figures(invoice: Invoice, data: Mapping[str, Any], path: str) -> Invoice:
    """An exported invoice's stated figures are the ones its lines give."""
    again = to_dict(invoice)
    for key in ("subtotal", "tax", "total"):
        if key in data and exact_decimal(data[key], f"{path}.{key}") != Decimal(again[key]):
            raise ValidationError.of("export_figures", f"{path}.{key}")
    return invoice


def _invoice_of(head: Mapping[str, Any], lines: list[InvoiceLine]) -> Invoice:
    try:
        return Invoice(
            number=InvoiceNumber.parse(head["number"]),
            kind=InvoiceKind(head["kind"]),
            issued_at=datetime.fromisoformat(head["issued_at"]),
            doctor_id=UUID(head["doctor_id"]),
            practice_id=UUID(head["practice_id"]),
            currency=Currency.of(head["currency"]),
            tax_rate=TaxRate(head["tax_percent"]),
            lines=lines,
            refers_to=InvoiceNumber.parse(head["refers_to"]) if head["refers_to"] else None,
            payment=PaymentKind(head["payment"]) if head["payment"] else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        if isinstance(error, ValidationError):
            raise
        raise ValidationError.of("invalid_export", "$") from None


def _line_of(data: Mapping[str, Any], currency: str) -> InvoiceLine:
    try:
        case = data["case_number"]
        return InvoiceLine(
            item=Item.parse(data["item"]),
            quantity=int(data["quantity"]),
            unit=Money(data["unit"], currency),
            case_number=int(case) if case not in (None, "") else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        if isinstance(error, ValidationError):
            raise
        raise ValidationError.of("invalid_export", "$") from None


def from_dict(data: Mapping[str, Any]) -> Invoice:
    """The invoice :func:`to_dict` wrote; its stated totals must agree with its lines."""
    if not isinstance(data, Mapping) or not isinstance(data.get("lines"), list):
        raise ValidationError.of("invalid_export", "$")
    currency = str(data.get("currency"))
    lines = [_line_of(line, currency) for line in data["lines"]]
    return _check_figures(_invoice_of(data, lines), data, "$")


def from_json(text: str) -> Invoice:
    """The invoice :func:`to_json` wrote (amounts read as exact decimals)."""
    try:
        data = json.loads(text, parse_float=Decimal)
    except ValueError:
        raise ValidationError.of("malformed_json", "$") from None
    return from_dict(data)


def to_csv(invoices: Iterable[Invoice]) -> str:
    """One CSV row per invoice line (columns :data:`CSV_COLUMNS`), amounts as decimal text."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for invoice in invoices:
        head = to_dict(invoice)
        for index, line in enumerate(head.pop("lines"), start=1):
            row: dict[str, Any] = {key: head[key] for key in CSV_COLUMNS if key in head}
            row.update(
                line=index,
                item=line["item"],
                case_number=line["case_number"],
                quantity=line["quantity"],
                unit=line["unit"],
                amount=line["amount"],
                line_tax=line["tax"],
            )
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def from_csv(text: str) -> tuple[Invoice, ...]:
    """The invoices :func:`to_csv` wrote, in order; stated amounts must agree with the lines."""
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
        raise ValidationError.of("invalid_export", "$")
    grouped: dict[str, list[dict[str, str]]] = {}
    for row in reader:
        grouped.setdefault(row["number"], []).append(row)
    found = []
    for index, rows in enumerate(grouped.values()):
        head = rows[0]
        lines = [_line_of(row, head["currency"]) for row in rows]
        invoice = _invoice_of(head, lines)
        for row, line, tax in zip(rows, invoice.lines, invoice.line_taxes, strict=True):
            if (
                exact_decimal(row["amount"], f"$[{index}].amount") != line.amount.amount
                or exact_decimal(row["line_tax"], f"$[{index}].line_tax") != tax.amount
            ):
                raise ValidationError.of("export_figures", f"$[{index}].lines")
        found.append(_check_figures(invoice, head, f"$[{index}]"))
    return tuple(found)


# -- HTML ------------------------------------------------------------------------------------

#: The words of the HTML rendering (msgids of the library's catalogs: ``Core.invoice_html``
#: translates them); a shell may pass its own to :func:`to_html`.
HTML_TEXTS: Final[Mapping[str, str]] = {
    "charge": N_("Invoice"),
    "credit_note": N_("Credit note"),
    "refers_to": N_("Reverses invoice"),
    "issued": N_("Issued"),
    "from": N_("From"),
    "to": N_("To"),
    "item": N_("Item"),
    "case": N_("Case"),
    "quantity": N_("Quantity"),
    "unit": N_("Unit price"),
    "amount": N_("Amount"),
    "subtotal": N_("Subtotal"),
    "tax": N_("Tax"),
    "total": N_("Total"),
    "payment": N_("Payment"),
    "payment.on_account": N_("On account"),
    "payment.invoice": N_("Invoice"),
    "payment.card_on_file": N_("Card on file"),
}

_PAGE: Final = string.Template("""<!DOCTYPE html>
<html lang="$lang">
<head>
<meta charset="utf-8">
<title>$title</title>
<style>
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ccc; padding: .3em .5em; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tfoot th { border: none; }
</style>
</head>
<body>
<h1>$title</h1>
<dl>
$facts
</dl>
<table>
<thead><tr>$head</tr></thead>
<tbody>
$rows
</tbody>
<tfoot>
$foot
</tfoot>
</table>
</body>
</html>
""")


def to_html(
    invoice: Invoice,
    *,
    issuer: str,
    recipient: str,
    describe: Callable[[Item], str] = str,
    texts: Mapping[str, str] = HTML_TEXTS,
    lang: str = "en",
    show_money: Callable[[Money], str] | None = None,
) -> str:
    """The invoice as a self-contained HTML page a practice can print and file.

    ``issuer`` (the lab) and ``recipient`` (the practice and doctor) are shown as given;
    ``describe`` names an item; ``show_money`` writes an amount (``1.890,00 €``; the
    default is ``1890.00 EUR``). Lines name case numbers, never patients. Every value
    is HTML-escaped.
    """
    t = {**HTML_TEXTS, **texts}

    def e(value: object) -> str:
        return html.escape(str(value), quote=True)

    def money(value: Money) -> str:
        if show_money is not None:
            return e(show_money(value))
        return f"{e(value.amount)} {e(value.currency.code)}"

    title = f"{t[invoice.kind.value]} {invoice.number}"
    facts = [
        (t["issued"], invoice.issued_at.date().isoformat()),
        (t["from"], issuer),
        (t["to"], recipient),
    ]
    if invoice.refers_to is not None:
        facts.append((t["refers_to"], str(invoice.refers_to)))
    if invoice.payment is not None:
        paid = invoice.payment.value
        facts.append((t["payment"], t.get(f"payment.{paid}", paid)))
    head = "".join(
        f"<th{cls}>{e(t[k])}</th>"
        for k, cls in (
            ("item", ""),
            ("case", ""),
            ("quantity", ' class="n"'),
            ("unit", ' class="n"'),
            ("amount", ' class="n"'),
        )
    )
    rows = "\n".join(
        "<tr>"
        f"<td>{e(describe(line.item))}</td>"
        f"<td>{e(line.case_number or '')}</td>"
        f'<td class="n">{line.quantity}</td>'
        f'<td class="n">{money(line.unit)}</td>'
        f'<td class="n">{money(line.amount)}</td>'
        "</tr>"
        for line in invoice.lines
    )
    tax_label = f"{t['tax']} ({invoice.tax_rate.percent.normalize():f} %)"
    foot = "\n".join(
        f'<tr><th colspan="4" class="n">{e(label)}</th><td class="n">{money(value)}</td></tr>'
        for label, value in (
            (t["subtotal"], invoice.subtotal),
            (tax_label, invoice.tax),
            (t["total"], invoice.total),
        )
    )
    return _PAGE.substitute(
        lang=e(lang),
        title=e(title),
        facts="\n".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in facts),
        head=head,
        rows=rows,
        foot=foot,
    )
