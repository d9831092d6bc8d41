"""Money: exact amounts in one currency; rounding only where a rate or a share is taken."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aligner_core.domain.money import CURRENCIES, Currency, Money, allocate, total
from aligner_core.errors import ValidationError
from aligner_core.testing.strategies import amounts, currencies

ONE_OF_EACH = [CURRENCIES["JPY"], CURRENCIES["EUR"], CURRENCIES["KWD"]]


def _code(error: pytest.ExceptionInfo[ValidationError]) -> str:
    return error.value.errors[0].code


def test_currencies_have_their_iso_minor_units() -> None:
    assert {c: CURRENCIES[c].minor_units for c in ("JPY", "KRW", "EUR", "USD", "CHF", "GBP")} == {
        "JPY": 0, "KRW": 0, "EUR": 2, "USD": 2, "CHF": 2, "GBP": 2,
    }  # fmt: skip
    assert all(CURRENCIES[c].minor_units == 3 for c in ("BHD", "KWD", "JOD", "OMR", "TND"))
    assert Currency.of("EUR").quantum == Decimal("0.01")
    assert Currency.of("JPY").quantum == Decimal("1")


@pytest.mark.parametrize("value", [0.1, 1.0, float("nan"), float("inf")])
def test_floats_are_refused_with_a_code(value: float) -> None:
    with pytest.raises(ValidationError) as error:
        Money(value, "EUR")  # type: ignore[arg-type]
    assert _code(error) == "money_float"
    assert error.value.errors[0].path == "$.amount"


def test_floats_are_refused_as_quantities_rates_and_weights() -> None:
    ten = Money("10", "EUR")
    with pytest.raises(ValidationError) as error:
        ten * 1.5  # type: ignore[operator]
    assert _code(error) == "money_float"
    with pytest.raises(ValidationError) as error:
        ten.times(0.19)  # type: ignore[arg-type]
    assert _code(error) == "money_float"
    with pytest.raises(ValidationError) as error:
        allocate(ten, [0.5, 0.5])  # type: ignore[list-item]
    assert _code(error) == "money_float"


@pytest.mark.parametrize(
    ("amount", "currency", "code"),
    [
        ("0.001", "EUR", "money_precision"),
        ("1.5", "JPY", "money_precision"),
        ("0.0001", "KWD", "money_precision"),
        ("NaN", "EUR", "money_amount"),
        ("Infinity", "EUR", "money_amount"),
        ("twelve", "EUR", "money_amount"),
        (True, "EUR", "money_amount"),
        ("1e13", "EUR", "money_range"),
        ("1", "XYZ", "unknown_currency"),
    ],
)
def test_amounts_that_are_not_money_are_refused(amount: object, currency: str, code: str) -> None:
    with pytest.raises(ValidationError) as error:
        Money(amount, currency)  # type: ignore[arg-type]
    assert _code(error) == code


def test_one_spelling_per_amount() -> None:
    assert Money("12.5", "EUR").amount.as_tuple() == Decimal("12.50").as_tuple()
    assert str(Money(3, "KWD")) == "KWD 3.000"
    assert str(Money("-0", "EUR")) == "EUR 0.00"
    assert Money.of_minor(1250, "EUR") == Money("12.50", "EUR")
    assert Money("12.50", "EUR").minor == 1250


def test_currencies_do_not_mix() -> None:
    with pytest.raises(ValidationError) as error:
        Money("1", "EUR") + Money("1", "USD")
    assert _code(error) == "currency_mismatch"
    with pytest.raises(ValidationError):
        assert Money("1", "EUR") < Money("2", "CHF")


@given(st.data())
def test_sums_and_quantities_are_exact(data: st.DataObject) -> None:
    currency = data.draw(currencies())
    parts = data.draw(st.lists(amounts(currency, min_minor=-(10**6)), max_size=20))
    quantity = data.draw(st.integers(0, 1000))
    assert total(parts, currency).minor == sum(p.minor for p in parts)
    for part in parts:
        assert (part * quantity).minor == part.minor * quantity
        assert part - part == Money.zero(currency)


@given(st.sampled_from(ONE_OF_EACH), st.integers(-(10**9), 10**9), st.integers(0, 10**6))
def test_a_rate_rounds_half_even_to_the_minor_unit(
    currency: Currency, units: int, per_million: int
) -> None:
    amount = Money.of_minor(units, currency)
    rate = Decimal(per_million).scaleb(-6)
    taxed = amount.times(rate)
    exact = Fraction(units) * Fraction(rate)
    assert abs(Fraction(taxed.minor) - exact) <= Fraction(1, 2)
    if abs(Fraction(taxed.minor) - exact) == Fraction(1, 2):
        assert taxed.minor % 2 == 0  # the tie goes to the even neighbour
    assert (-amount).times(rate) == -taxed  # a reversal mirrors


@given(
    st.sampled_from(ONE_OF_EACH),
    st.integers(-(10**10), 10**10),
    st.lists(st.integers(0, 10**6), min_size=1, max_size=30).filter(any),
)
def test_allocation_adds_up_to_the_whole_without_drift(
    currency: Currency, units: int, weights: list[int]
) -> None:
    whole = Money.of_minor(units, currency)
    parts = allocate(whole, weights)
    assert len(parts) == len(weights)
    assert total(parts, currency) == whole
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Fraction(units * weight, weight_sum)
        assert abs(Fraction(part.minor) - exact) < 1  # each part within one minor unit
        if weight == 0:
            assert part.is_zero
    assert allocate(-whole, weights) == tuple(-p for p in parts)


def test_allocation_needs_weights() -> None:
    with pytest.raises(ValidationError) as error:
        allocate(Money("1", "EUR"), [0, 0])
    assert _code(error) == "allocation_weights"
    with pytest.raises(ValidationError) as error:
        allocate(Money("1", "EUR"), [1, -1])
    assert _code(error) == "allocation_weights"


def test_allocation_of_a_cent_over_three_lines() -> None:
    assert [p.amount for p in allocate(Money("0.01", "EUR"), [1, 1, 1])] == [
        Decimal("0.01"), Decimal("0"), Decimal("0"),
    ]  # fmt: skip
    assert [p.amount for p in allocate(Money("100", "JPY"), [1, 2])] == [33, 67]
