"""Price books (versions, practice overrides) and quotes that no later version changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aligner_core.domain.money import Currency, Money
from aligner_core.domain.packages import Allowance, FollowUpKind, Package
from aligner_core.domain.plans import PlanSummary
from aligner_core.domain.prices import Item, PracticePrices, PriceBook, PriceEntry, in_effect
from aligner_core.domain.quotes import Quote, quote_plan, quote_replacement
from aligner_core.domain.teeth import Arch
from aligner_core.errors import ValidationError
from aligner_core.testing.strategies import amounts, currencies, items, price_books

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PRACTICE = UUID(int=7)

PACKAGES = (
    Package("lite", "Lite", 14, (Allowance(FollowUpKind.REFINEMENT, 1, 12),)),
    Package("moderate", "Moderate", 26, (Allowance(FollowUpKind.REFINEMENT, 2, 24),)),
    Package("unlimited", "Unlimited", None, (Allowance(FollowUpKind.REFINEMENT, 5, 60),)),
)


def book(version: int = 1) -> PriceBook:
    base = {
        Item.package("lite"): "900",
        Item.package("moderate"): "1400",
        Item.package("unlimited"): "1900",
        Item.add_on("tps"): "150",
        Item.add_on("rush"): "99.90",
        Item.replacement(Arch.UPPER): "45",
        Item.replacement(Arch.LOWER): "40",
    }
    return PriceBook(
        network_id=UUID(int=1),
        currency="EUR",
        version=version,
        effective_from=NOW,
        entries={item: Money(amount, "EUR") for item, amount in base.items()},
        overrides=[PracticePrices(PRACTICE, {Item.add_on("tps"): Money("0", "EUR")})],
    )


def test_a_practice_price_takes_precedence_and_names_the_version() -> None:
    prices = book(version=3)
    general = prices.price(Item.add_on("tps"))
    own = prices.price(Item.add_on("tps"), PRACTICE)
    assert (general.amount, general.book_version, general.practice_override) == (
        Money("150", "EUR"), 3, False,
    )  # fmt: skip
    assert (own.amount, own.practice_override) == (Money("0", "EUR"), True)
    other = prices.price(Item.add_on("rush"), PRACTICE)  # not overridden: the book's
    assert other.amount == Money("99.90", "EUR")
    assert not other.practice_override
    assert prices.price(Item.add_on("tps"), uuid4()).amount == Money("150", "EUR")


def test_a_missing_price_is_refused_with_the_item_and_version() -> None:
    with pytest.raises(ValidationError) as error:
        book().price(Item.shipping("express"))
    problem = error.value.errors[0]
    assert (problem.code, problem.params) == (
        "price_missing", {"item": "shipping:express", "version": 1},
    )  # fmt: skip


def test_entries_are_in_the_book_currency_and_not_negative() -> None:
    with pytest.raises(ValidationError) as error:
        PriceBook(UUID(int=1), "EUR", 1, NOW, {Item.add_on("tps"): Money("1", "CHF")})
    assert error.value.errors[0].code == "price_currency"
    with pytest.raises(ValidationError) as error:
        PriceEntry(Item.add_on("tps"), Money("-1", "EUR"))
    assert error.value.errors[0].code == "price_negative"
    with pytest.raises(ValidationError) as error:
        Item.add_on("TPS!")
    assert error.value.errors[0].code == "invalid_item_code"


def test_versions_follow_each_other_and_the_one_in_effect_is_found() -> None:
    first = book()
    second = first.revised(
        NOW + timedelta(days=30), entries={Item.add_on("tps"): Money("175", "EUR")}
    )
    assert (second.version, second.price(Item.add_on("tps")).amount) == (2, Money("175", "EUR"))
    assert first.price(Item.add_on("tps")).amount == Money("150", "EUR")  # untouched
    assert second.price(Item.package("lite")).amount == Money("900", "EUR")  # carried over
    assert in_effect([first, second], NOW + timedelta(days=1)) is first
    assert in_effect([first, second], NOW + timedelta(days=30)) is second
    with pytest.raises(ValidationError) as error:
        in_effect([first, second], NOW - timedelta(seconds=1))
    assert error.value.errors[0].code == "price_book_none"
    with pytest.raises(ValidationError) as error:
        second.revised(NOW)
    assert error.value.errors[0].code == "price_book_order"


@given(price_books(), items(), st.none() | st.uuids())
def test_lookup_prefers_the_practice_then_the_book(
    prices: PriceBook, item: Item, practice: UUID | None
) -> None:
    found = prices.lookup(item, practice)
    own = {p.practice_id: {e.item: e.amount for e in p.entries} for p in prices.overrides}
    general = {e.item: e.amount for e in prices.entries}
    expected = own.get(practice, {}).get(item, general.get(item)) if practice else general.get(item)
    assert (found.amount if found else None) == expected
    if found is not None:
        assert found.book_version == prices.version
        assert found.amount.currency == prices.currency


# -- quotes ----------------------------------------------------------------------------------


def test_a_plan_is_quoted_with_the_smallest_package_that_fits_and_its_add_ons() -> None:
    plan = PlanSummary(upper_steps=20, lower_steps=12)
    quote = quote_plan(plan, book(), PACKAGES, plan_version=2, add_ons=["tps", "rush", "tps"])
    assert quote.package_id == "moderate"
    assert quote.add_ons == ("tps", "rush")
    assert quote.total == Money("1649.90", "EUR")
    assert (quote.book_version, quote.plan_version, quote.currency.code) == (1, 2, "EUR")
    own = quote_plan(plan, book(), PACKAGES, package_id="unlimited", practice_id=PRACTICE,
                     add_ons=["tps"])  # fmt: skip
    assert own.total == Money("1900", "EUR")  # the practice's TPS is free
    with pytest.raises(ValidationError) as error:
        quote_plan(plan, book(), PACKAGES, package_id="lite")
    assert error.value.errors[0].code == "package_does_not_fit"


def test_a_replacement_is_quoted_from_the_chosen_steps_per_arch() -> None:
    plan = PlanSummary(upper_steps=20, lower_steps=18)
    quote = quote_replacement(book(), upper_steps=[3, 4, 5, 4], lower_steps=[7], summary=plan)
    assert [(str(line.item), line.quantity) for line in quote.lines] == [
        ("replacement_aligner:upper", 3), ("replacement_aligner:lower", 1),
    ]  # fmt: skip
    assert quote.total == Money("175", "EUR")
    assert quote.package_id is None
    with pytest.raises(ValidationError) as error:
        quote_replacement(book(), lower_steps=[19], summary=plan)
    assert error.value.errors[0].code == "step_outside_plan"
    with pytest.raises(ValidationError) as error:
        quote_replacement(book())
    assert error.value.errors[0].code == "replacement_steps_needed"
    for bad in ([0], [2, "3"], [True]):
        with pytest.raises(ValidationError) as error:
            quote_replacement(book(), upper_steps=bad)  # type: ignore[arg-type]
        assert error.value.errors[0].code == "positive_integer"


def _priced_book(currency: Currency, prices: dict[Item, Money], version: int) -> PriceBook:
    return PriceBook(UUID(int=1), currency, version, NOW + timedelta(days=version), prices)


@given(st.data())
def test_a_quote_never_changes_when_the_price_book_changes_after_it(data: st.DataObject) -> None:
    currency = data.draw(currencies())
    money = amounts(currency, max_minor=10**7)
    needed = [p.item for p in PACKAGES] + [Item.add_on("tps"), Item.add_on("rush")]
    needed += [Item.replacement(Arch.UPPER), Item.replacement(Arch.LOWER)]
    first = _priced_book(currency, {item: data.draw(money) for item in needed}, 1)
    plan = PlanSummary(
        upper_steps=data.draw(st.integers(1, 60)), lower_steps=data.draw(st.integers(0, 60))
    )
    add_ons = data.draw(st.lists(st.sampled_from(["tps", "rush"]), unique=True))
    quote = quote_plan(plan, first, PACKAGES, plan_version=1, add_ons=add_ons)
    replacement = quote_replacement(first, upper_steps=[1], lower_steps=[1, 2])
    before = (attrs.asdict(quote, recurse=True), quote.total)
    before_replacement = (attrs.asdict(replacement, recurse=True), replacement.total)

    changes = data.draw(st.dictionaries(st.sampled_from(needed), money, min_size=1))
    second = first.revised(NOW + timedelta(days=10), entries=changes)

    assert (attrs.asdict(quote, recurse=True), quote.total) == before
    assert (attrs.asdict(replacement, recurse=True), replacement.total) == before_replacement
    assert quote.total == sum((line.amount for line in quote.lines), Money.zero(currency))
    again = quote_plan(plan, second, PACKAGES, plan_version=1, add_ons=add_ons)
    assert again.book_version == 2
    assert again.package_id == quote.package_id
    assert again.total == sum(
        (second.price(line.item).amount for line in quote.lines), Money.zero(currency)
    )


def test_a_quote_is_frozen_and_one_currency() -> None:
    quote = quote_plan(PlanSummary(upper_steps=10, lower_steps=10), book(), PACKAGES)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        quote.lines = ()  # type: ignore[misc]
    with pytest.raises(ValidationError) as error:
        Quote("CHF", 1, quote.lines)
    assert error.value.errors[0].code == "currency_mismatch"
    with pytest.raises(ValidationError) as error:
        Quote("EUR", 1, ())
    assert error.value.errors[0].code == "lines_needed"
