"""Strategies for money, price books, packages, quotes' inputs, invoices and payment methods."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from aligner_core.domain.invoices import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceNumber,
    TaxRate,
)
from aligner_core.domain.money import CURRENCIES, Currency, Money
from aligner_core.domain.packages import Allowance, FollowUpKind, Package
from aligner_core.domain.payments import PaymentKind, PaymentMethod, SavedPaymentMethod
from aligner_core.domain.plans import MAX_PLAN_STEPS
from aligner_core.domain.prices import Item, ItemKind, PracticePrices, PriceBook, PriceEntry
from aligner_core.domain.teeth import Arch
from aligner_core.testing.strategies._common import aware_datetimes, text

__all__ = [
    "amounts",
    "card_tokens",
    "currencies",
    "invoice_lines",
    "invoice_numbers",
    "invoices",
    "items",
    "packages",
    "payment_methods",
    "price_books",
    "tax_rates",
]

#: One currency of each precision first (0, 2, 3 decimals), then any in the table.
_SAMPLE = ("JPY", "EUR", "KWD", "USD", "BHD", "KRW", "CHF", "GBP", "TND")
_CODES = st.sampled_from(["tps", "rush", "express", "lite", "comprehensive", "removable", "x-1"])


def currencies() -> st.SearchStrategy[Currency]:
    return st.sampled_from([CURRENCIES[c] for c in _SAMPLE]) | st.sampled_from(
        sorted(CURRENCIES.values(), key=lambda c: c.code)
    )


def amounts(
    currency: Currency, *, min_minor: int = 0, max_minor: int = 10**9
) -> st.SearchStrategy[Money]:
    """Amounts of ``currency`` between ``min_minor`` and ``max_minor`` minor units."""
    return st.integers(min_minor, max_minor).map(lambda units: Money.of_minor(units, currency))


def tax_rates() -> st.SearchStrategy[TaxRate]:
    usual = st.sampled_from(["0", "5", "7.7", "8.1", "10", "16", "19", "20", "21", "25", "27"])
    odd = st.integers(0, 100 * 10_000).map(lambda n: Decimal(n).scaleb(-4))
    return st.builds(TaxRate, usual | odd)


def items() -> st.SearchStrategy[Item]:
    arches = st.sampled_from(list(Arch)).map(Item.replacement)
    others = st.builds(
        Item,
        st.sampled_from([k for k in ItemKind if k is not ItemKind.REPLACEMENT_ALIGNER]),
        _CODES,
    )
    return arches | others


@st.composite
def price_books(draw: st.DrawFn, currency: Currency | None = None) -> PriceBook:
    """A network's price book (version 1..5) with a few entries and practice overrides."""
    chosen = currency or draw(currencies())
    money = amounts(chosen, max_minor=10**7)
    entries = draw(st.dictionaries(items(), money, max_size=8))
    overrides = draw(
        st.lists(
            st.builds(
                PracticePrices,
                st.uuids(),
                st.dictionaries(items(), money, max_size=3).map(
                    lambda d: tuple(PriceEntry(i, a) for i, a in d.items())
                ),
            ),
            max_size=2,
            unique_by=lambda p: p.practice_id,
        )
    )
    return PriceBook(
        network_id=draw(st.uuids()),
        currency=chosen,
        version=draw(st.integers(1, 5)),
        effective_from=draw(aware_datetimes()),
        entries=entries,
        overrides=overrides,
    )


def _allowances() -> st.SearchStrategy[tuple[Allowance, ...]]:
    return st.lists(
        st.builds(
            Allowance, st.sampled_from(list(FollowUpKind)), st.integers(0, 5), st.integers(1, 36)
        ),
        max_size=3,
        unique_by=lambda a: a.kind,
    ).map(tuple)


def packages() -> st.SearchStrategy[Package]:
    return st.builds(
        Package,
        id=_CODES,
        name=st.sampled_from(["Lite", "Moderate", "Comprehensive", "Unlimited", "Go"]),
        max_steps=st.none() | st.integers(1, MAX_PLAN_STEPS),
        allowances=_allowances(),
    )


def invoice_numbers() -> st.SearchStrategy[InvoiceNumber]:
    return st.builds(
        InvoiceNumber, st.sampled_from(["INV", "CN", "R"]), st.integers(2000, 2100),
        st.integers(1, 999_999_999),
    )  # fmt: skip


def invoice_lines(currency: Currency) -> st.SearchStrategy[InvoiceLine]:
    return st.builds(
        InvoiceLine,
        item=items(),
        quantity=st.integers(1, 60),
        unit=amounts(currency, max_minor=10**7),
        case_number=st.none() | st.integers(1, 10**9),
    )


@st.composite
def invoices(draw: st.DrawFn, currency: Currency | None = None) -> Invoice:
    """A charge with 1 to 8 lines in one currency, at a network's tax rate."""
    chosen = currency or draw(currencies())
    return Invoice(
        number=draw(invoice_numbers()),
        kind=InvoiceKind.CHARGE,
        issued_at=draw(aware_datetimes()),
        doctor_id=draw(st.uuids()),
        practice_id=draw(st.uuids()),
        currency=chosen,
        tax_rate=draw(tax_rates()),
        lines=draw(st.lists(invoice_lines(chosen), min_size=1, max_size=8)),
        payment=draw(st.none() | st.sampled_from(list(PaymentKind))),
    )


def card_tokens() -> st.SearchStrategy[str]:
    """Tokens a payment provider hands out (``pm_...``): 8 to 255 allowed characters."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:"
    return st.text(alphabet, min_size=8, max_size=255)


def payment_methods() -> st.SearchStrategy[PaymentMethod]:
    return st.one_of(
        st.builds(PaymentMethod.on_account, st.uuids()),
        st.builds(PaymentMethod.invoice, st.uuids()),
        st.builds(PaymentMethod.card_on_file, st.uuids(), card_tokens()),
    )


def saved_payment_methods() -> st.SearchStrategy[SavedPaymentMethod]:
    """Ways to pay kept on an account, with the labels doctors give them."""
    return st.builds(
        SavedPaymentMethod, method_id=st.uuids(), label=text(80, blank=False),
        payment=payment_methods(),
    )  # fmt: skip
