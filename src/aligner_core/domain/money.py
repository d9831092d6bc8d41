"""Money: an exact decimal amount in one ISO 4217 currency (a network charges in one).

An amount is a :class:`~decimal.Decimal` with no more decimal places than its
currency's minor unit (0 for JPY, 2 for EUR, 3 for KWD), so sums and products by
whole quantities are exact. Floats are refused: ``0.1 + 0.2`` is not a price.
Rounding (half-even, to the minor unit) happens in exactly two places, where a
rate or a share is taken: :meth:`Money.times` (a tax) and :func:`allocate`
(splitting a total over lines, largest remainder first, so the parts always add
up to the total). Amounts in different currencies never mix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final

import attrs

from aligner_core.errors import ValidationError

__all__ = [
    "CURRENCIES",
    "MAX_AMOUNT",
    "Currency",
    "Money",
    "allocate",
    "currency_of",
    "exact_decimal",
    "total",
]

#: The largest amount (in size) a price, a line or a total may have.
MAX_AMOUNT: Final = Decimal(10) ** 12


@attrs.frozen
class Currency:
    """An ISO 4217 currency and the number of decimal places of its minor unit."""

    code: str
    minor_units: int

    @classmethod
    def of(cls, code: Currency | str) -> Currency:
        """The currency with ISO 4217 ``code`` (``"EUR"``), from the table :data:`CURRENCIES`."""
        if isinstance(code, Currency):
            return code
        found = CURRENCIES.get(code) if isinstance(code, str) else None
        if found is None:
            raise ValidationError.of("unknown_currency", "$.currency", currency=str(code)[:8])
        return found

    def require(self, other: Currency, path: str = "$.currency") -> None:
        """Refuses ``other`` unless it is this currency (code ``currency_mismatch``)."""
        if other != self:
            raise ValidationError.of("currency_mismatch", path, first=self.code, second=other.code)

    @property
    def quantum(self) -> Decimal:
        """The smallest amount: ``Decimal("0.01")`` for EUR, ``Decimal("1")`` for JPY."""
        return Decimal(1).scaleb(-self.minor_units)

    def __str__(self) -> str:
        return self.code


def currency_of(code: Currency | str) -> Currency:
    """The currency named by ``code`` (a converter for attrs fields)."""
    return Currency.of(code)


def _table(digits: int, codes: str) -> dict[str, Currency]:
    return {code: Currency(code, digits) for code in codes.split()}


#: The currencies a network may charge in, by ISO 4217 code, with their minor units.
CURRENCIES: Final[Mapping[str, Currency]] = {
    **_table(0, "JPY KRW ISK CLP VND PYG UGX XAF XOF"),
    **_table(
        2,
        "EUR USD CHF GBP CAD AUD NZD SEK NOK DKK PLN CZK HUF RON BGN TRY ILS AED SAR QAR "
        "MXN BRL ARS COP PEN INR CNY HKD SGD TWD THB MYR PHP IDR ZAR EGP MAD",
    ),
    **_table(3, "BHD KWD JOD OMR TND IQD LYD"),
}


def exact_decimal(value: Any, path: str = "$.amount") -> Decimal:
    """``value`` as a finite Decimal: a Decimal, an int or decimal text; a float is refused."""
    if isinstance(value, float):
        raise ValidationError.of("money_float", path)
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise ValidationError.of("money_amount", path)
    try:
        exact = Decimal(value.strip() if isinstance(value, str) else value)
    except ArithmeticError:
        raise ValidationError.of("money_amount", path) from None
    if not exact.is_finite():
        raise ValidationError.of("money_amount", path)
    return exact


@attrs.frozen(order=False)
class Money:
    """``amount`` of ``currency``, exact to the currency's minor unit.

    Build it from a Decimal, an int or decimal text (``Money("12.50", "EUR")``);
    ``Money(0.1, "EUR")`` is a :class:`ValidationError` (code ``money_float``).
    """

    amount: Decimal = attrs.field(converter=exact_decimal)
    currency: Currency = attrs.field(converter=currency_of)

    def __attrs_post_init__(self) -> None:
        if abs(self.amount) > MAX_AMOUNT:
            raise ValidationError.of("money_range", "$.amount", max=str(MAX_AMOUNT))
        quantum = self.currency.quantum
        if self.amount % quantum:
            raise ValidationError.of(
                "money_precision",
                "$.amount",
                currency=self.currency.code,
                digits=self.currency.minor_units,
            )
        # one spelling per amount: 12.5 EUR is stored, compared and shown as 12.50
        object.__setattr__(self, "amount", self.amount.quantize(quantum) + 0)

    @classmethod
    def zero(cls, currency: Currency | str) -> Money:
        return cls(0, currency)

    @classmethod
    def of_minor(cls, units: int, currency: Currency | str) -> Money:
        """The amount of ``units`` minor units (cents): ``Money.of_minor(1250, "EUR")`` is 12.50."""
        found = Currency.of(currency)
        return cls(Decimal(units).scaleb(-found.minor_units), found)

    @property
    def minor(self) -> int:
        """The amount in minor units (cents, fils; yen for JPY)."""
        return int(self.amount.scaleb(self.currency.minor_units))

    def _same(self, other: Money) -> Money:
        if not isinstance(other, Money):
            raise ValidationError.of("money_amount", "$")
        self.currency.require(other.currency)
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, quantity: int) -> Money:
        """The amount times a whole quantity (exact); a rate goes through :meth:`times`."""
        if isinstance(quantity, float):
            raise ValidationError.of("money_float", "$.quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise ValidationError.of("money_quantity", "$.quantity")
        return Money(self.amount * quantity, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    def times(self, rate: Decimal | int | Fraction) -> Money:
        """The amount times ``rate`` (``Decimal("0.19")``), rounded half-even to the minor unit."""
        if isinstance(rate, float):
            raise ValidationError.of("money_float", "$.rate")
        if isinstance(rate, Decimal):
            rate = Fraction(exact_decimal(rate, "$.rate"))
        exact = Fraction(self.minor) * Fraction(rate)
        return Money.of_minor(round(exact), self.currency)

    @property
    def is_zero(self) -> bool:
        return not self.amount

    def __str__(self) -> str:
        return f"{self.currency.code} {self.amount}"


def total(amounts: Iterable[Money], currency: Currency | str) -> Money:
    """The exact sum of ``amounts``, all in ``currency`` (zero when there are none)."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result


def allocate(whole: Money, weights: Sequence[Money | Decimal | int]) -> tuple[Money, ...]:
    """``whole`` split in proportion to ``weights``: the parts add up to ``whole`` exactly.

    Each part is its exact share rounded down to the minor unit; the minor units left
    over go one each to the parts with the largest remainders (the first on a tie).
    Weights are non-negative and not all zero (a Money weight counts by its size).
    A negative ``whole`` is split as its size, then negated, so a reversal mirrors.
    """
    shares: list[Fraction] = []
    for index, weight in enumerate(weights):
        size = abs(weight.amount) if isinstance(weight, Money) else weight
        exact = Fraction(exact_decimal(size, f"$.weights[{index}]"))
        if exact < 0:
            raise ValidationError.of("allocation_weights", f"$.weights[{index}]")
        shares.append(exact)
    weight_sum = sum(shares, Fraction(0))
    if not weight_sum:
        raise ValidationError.of("allocation_weights", "$.weights")
    units = abs(whole.minor)
    exact_parts = [units * share / weight_sum for share in shares]
    floors = [int(part) for part in exact_parts]  # parts are >= 0: int() rounds down
    left = units - sum(floors)
    by_remainder = sorted(range(len(floors)), key=lambda i: (-(exact_parts[i] - floors[i]), i))
    for i in by_remainder[:left]:
        floors[i] += 1
    sign = -1 if whole.minor < 0 else 1
    return tuple(Money.of_minor(sign * part, whole.currency) for part in floors)
