"""Quotes: what a plan version (or a replacement) costs, fixed when it is built.

A quote holds its lines (item, quantity, unit amount), its total, its currency
and the version of the price book it was priced from. It keeps amounts, not a
reference to the book, and is frozen: approving a plan names its quote, and a
price book revised afterwards cannot change it (re-quoting gives a new quote
naming the new version). A replacement is quoted when its steps are chosen
("Update" in ClearCorrect's order form), before it is submitted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

import attrs

from aligner_core.domain._bounds import whole
from aligner_core.domain._checks import positive
from aligner_core.domain.money import Currency, Money, currency_of, total
from aligner_core.domain.packages import Package, choose, smallest_fitting
from aligner_core.domain.plans import PlanSummary
from aligner_core.domain.prices import Item, ItemKind, PriceBook
from aligner_core.domain.teeth import Arch
from aligner_core.errors import ValidationError

__all__ = ["Quote", "QuoteLine", "quote_plan", "quote_replacement"]


@attrs.frozen
class QuoteLine:
    """``quantity`` times ``item`` at ``unit`` each."""

    item: Item
    quantity: int = attrs.field(validator=whole(1, 10_000))
    unit: Money

    @property
    def amount(self) -> Money:
        return self.unit * self.quantity


def _quote_lines(value: Iterable[QuoteLine]) -> tuple[QuoteLine, ...]:
    return tuple(value)


def _lines_agree(quote: Quote) -> None:
    if not quote.lines:
        raise ValidationError.of("lines_needed", "$.lines")
    for index, line in enumerate(quote.lines):
        quote.currency.require(line.unit.currency, f"$.lines[{index}].unit")


@attrs.frozen
class Quote:
    """The price of a plan version or of a replacement, from price book ``book_version``.

    ``package_id`` is the package quoted (None for a replacement); the total is the
    exact sum of the lines (no rounding: amounts are whole minor units).
    """

    currency: Currency = attrs.field(converter=currency_of)
    book_version: int = attrs.field(validator=positive)
    lines: tuple[QuoteLine, ...] = attrs.field(converter=_quote_lines)
    package_id: str | None = None
    plan_version: int | None = attrs.field(default=None, validator=positive)

    def __attrs_post_init__(self) -> None:
        _lines_agree(self)

    @property
    def total(self) -> Money:
        return total((line.amount for line in self.lines), self.currency)

    @property
    def add_ons(self) -> tuple[str, ...]:
        return tuple(line.item.code for line in self.lines if line.item.kind is ItemKind.ADD_ON)


def quote_plan(
    summary: PlanSummary,
    book: PriceBook,
    packages: Sequence[Package],
    *,
    plan_version: int | None = None,
    package_id: str | None = None,
    add_ons: Iterable[str] = (),
    practice_id: UUID | None = None,
) -> Quote:
    """The quote of a plan: its package (the smallest that fits unless one is picked) and add-ons.

    Each add-on (``"tps"``, ``"rush"``) is one line priced from the book; a missing
    price is a :class:`ValidationError` (``price_missing``).
    """
    package = (
        smallest_fitting(packages, summary)
        if package_id is None
        else choose(packages, summary, package_id)
    )
    items = [package.item, *(Item.add_on(code) for code in dict.fromkeys(add_ons))]
    lines = [QuoteLine(item, 1, book.price(item, practice_id).amount) for item in items]
    return Quote(book.currency, book.version, lines, package.id, plan_version)


def _chosen_steps(arch: Arch, steps: Iterable[int], planned: int | None) -> tuple[int, ...]:
    given = tuple(steps)
    for step in given:
        if isinstance(step, bool) or not isinstance(step, int) or step < 1:
            raise ValidationError.of("positive_integer", f"$.{arch.value}_steps")
    chosen = tuple(sorted(set(given)))
    for step in chosen:
        if planned is not None and step > planned:
            raise ValidationError.of(
                "step_outside_plan", f"$.{arch.value}_steps", step=step, arch=arch, steps=planned
            )
    return chosen


def quote_replacement(
    book: PriceBook,
    *,
    upper_steps: Iterable[int] = (),
    lower_steps: Iterable[int] = (),
    summary: PlanSummary | None = None,
    practice_id: UUID | None = None,
) -> Quote:
    """The cost of replacement aligners: per arch, the chosen steps times the per-step amount.

    With the plan's ``summary``, a step past the arch's planned steps is refused
    (``step_outside_plan``); a step chosen twice counts once.
    """
    lines = []
    for arch, steps, planned in (
        (Arch.UPPER, upper_steps, None if summary is None else summary.upper_steps),
        (Arch.LOWER, lower_steps, None if summary is None else summary.lower_steps),
    ):
        chosen = _chosen_steps(arch, steps, planned)
        if chosen:
            item = Item.replacement(arch)
            lines.append(QuoteLine(item, len(chosen), book.price(item, practice_id).amount))
    if not lines:
        raise ValidationError.of("replacement_steps_needed", "$.upper_steps")
    return Quote(book.currency, book.version, lines)
