"""Packages: the smallest that fits, entitlements that never go negative, priced follow-ups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from aligner_core.domain.money import Money
from aligner_core.domain.packages import (
    Allowance,
    Entitlements,
    FollowUpKind,
    Package,
    add_months,
    choose,
    fitting,
    price_follow_up,
    price_upgrade,
    smallest_fitting,
)
from aligner_core.domain.plans import PlanSummary
from aligner_core.domain.prices import Item, PriceBook
from aligner_core.errors import ValidationError
from aligner_core.testing.strategies import packages

APPROVED = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
REFINEMENT, REVISION, RETAINER = FollowUpKind

LITE = Package(
    "lite", "Lite", 14,
    (Allowance(REFINEMENT, 1, 12), Allowance(RETAINER, 1, 12)),
)  # fmt: skip
COMPREHENSIVE = Package(
    "comprehensive", "Comprehensive", None,
    (Allowance(REFINEMENT, 3, 24), Allowance(REVISION, 2, 24), Allowance(RETAINER, 2, 24)),
)  # fmt: skip
BOOK = PriceBook(
    UUID(int=1), "CHF", 4, APPROVED - timedelta(days=400),
    {
        Item.package("lite"): Money("1100", "CHF"),
        Item.package("comprehensive"): Money("1850", "CHF"),
        Item.follow_up("refinement"): Money("300", "CHF"),
        Item.follow_up("revision"): Money("250", "CHF"),
        Item.follow_up("retainer"): Money("180", "CHF"),
    },
)  # fmt: skip


def test_the_smallest_fitting_package_is_proposed_and_another_fitting_may_be_chosen() -> None:
    small = PlanSummary(upper_steps=14, lower_steps=9)
    large = PlanSummary(upper_steps=10, lower_steps=15)
    assert smallest_fitting([COMPREHENSIVE, LITE], small) is LITE
    assert smallest_fitting([COMPREHENSIVE, LITE], large) is COMPREHENSIVE
    assert fitting([COMPREHENSIVE, LITE], small) == (LITE, COMPREHENSIVE)
    assert choose([LITE, COMPREHENSIVE], small, "comprehensive") is COMPREHENSIVE
    with pytest.raises(ValidationError) as error:
        choose([LITE, COMPREHENSIVE], large, "lite")
    assert error.value.errors[0].params == {"package": "lite", "max": 14, "steps": 15}
    with pytest.raises(ValidationError) as error:
        choose([LITE], small, "gold")
    assert error.value.errors[0].code == "unknown_package"
    with pytest.raises(ValidationError) as error:
        smallest_fitting([LITE], large)
    assert error.value.errors[0].code == "no_package_fits"


@given(st.lists(packages(), min_size=1, max_size=6), st.integers(1, 99), st.integers(0, 99))
def test_the_proposed_package_fits_and_no_fitting_one_is_smaller(
    offered: list[Package], upper: int, lower: int
) -> None:
    plan = PlanSummary(upper_steps=upper, lower_steps=lower)
    fits = [p for p in offered if p.max_steps is None or p.max_steps >= plan.steps]
    if not fits:
        with pytest.raises(ValidationError):
            smallest_fitting(offered, plan)
        return
    proposed = smallest_fitting(offered, plan)
    assert proposed.fits(plan)
    capped = [p.max_steps for p in fits if p.max_steps is not None]
    if capped:
        assert proposed.max_steps == min(capped)


def test_windows_run_in_calendar_months_from_approval() -> None:
    assert add_months(APPROVED, 1) == datetime(2026, 2, 28, 12, 0, tzinfo=UTC)
    assert add_months(APPROVED, 12) == datetime(2027, 1, 31, 12, 0, tzinfo=UTC)
    assert add_months(datetime(2024, 2, 29, tzinfo=UTC), 12) == datetime(2025, 2, 28, tzinfo=UTC)
    held = Entitlements(LITE, APPROVED)
    assert held.remaining(REFINEMENT, APPROVED) == 1
    assert held.remaining(REFINEMENT, datetime(2027, 1, 31, 11, 59, tzinfo=UTC)) == 1
    assert held.remaining(REFINEMENT, datetime(2027, 1, 31, 12, 0, tzinfo=UTC)) == 0
    assert held.remaining(REVISION, APPROVED) == 0  # not included
    assert held.remaining(REFINEMENT, APPROVED - timedelta(seconds=1)) == 0


def test_a_follow_up_within_the_package_is_free_and_beyond_it_costs_the_book_amount() -> None:
    held = Entitlements(LITE, APPROVED)
    month = APPROVED + timedelta(days=30)
    first = price_follow_up(held, REFINEMENT, month, BOOK)
    assert (first.included, first.amount, first.book_version) == (True, Money("0", "CHF"), 4)
    assert first.entitlements.remaining(REFINEMENT, month) == 0
    second = price_follow_up(first.entitlements, REFINEMENT, month, BOOK)
    assert (second.included, second.amount) == (False, Money("300", "CHF"))
    assert second.entitlements == first.entitlements
    revision = price_follow_up(held, REVISION, month, BOOK)  # never included in Lite
    assert (revision.included, revision.amount) == (False, Money("250", "CHF"))
    late = price_follow_up(held, RETAINER, add_months(APPROVED, 13), BOOK)
    assert (late.included, late.amount) == (False, Money("180", "CHF"))
    assert held.summary(month) == {REFINEMENT: 1, REVISION: 0, RETAINER: 1}


@given(
    packages(),
    st.lists(st.tuples(st.sampled_from(list(FollowUpKind)), st.integers(-40, 2000)), max_size=30),
)
def test_entitlements_never_go_negative_under_any_sequence_of_follow_ups(
    package: Package, orders: list[tuple[FollowUpKind, int]]
) -> None:
    held = Entitlements(package, APPROVED)
    free = dict.fromkeys(FollowUpKind, 0)
    for kind, days in sorted(orders, key=lambda order: order[1]):
        at = APPROVED + timedelta(days=days)
        before = held.remaining(kind, at)
        charge = price_follow_up(held, kind, at, BOOK)
        held = charge.entitlements
        assert charge.included == (before > 0)
        assert charge.amount.is_zero == charge.included  # the book's follow-ups are not free
        free[kind] += charge.included
        for each in FollowUpKind:
            assert held.remaining(each, at) >= 0
        assert held.remaining(kind, at) == (before - 1 if charge.included else before)
    for kind in FollowUpKind:
        allowance = package.allowance(kind)
        assert free[kind] <= (allowance.count if allowance else 0)


def test_an_upgrade_is_priced_as_the_difference_and_keeps_the_windows() -> None:
    upgrade = price_upgrade(LITE, COMPREHENSIVE, BOOK)
    assert (upgrade.amount, upgrade.book_version) == (Money("750", "CHF"), 4)
    held = Entitlements(LITE, APPROVED).spend(REFINEMENT, APPROVED)
    bigger = held.upgraded(COMPREHENSIVE)
    assert bigger.remaining(REFINEMENT, APPROVED) == 2
    assert bigger.window_ends(REFINEMENT) == add_months(APPROVED, 24)
    with pytest.raises(ValidationError) as error:
        price_upgrade(COMPREHENSIVE, LITE, BOOK)
    assert error.value.errors[0].code == "upgrade_not_larger"
    with pytest.raises(ValidationError):
        price_upgrade(LITE, LITE, BOOK)


def test_a_package_is_checked() -> None:
    with pytest.raises(ValidationError) as error:
        Package("lite", "Lite", 0)
    assert error.value.errors[0].code == "out_of_range"
    with pytest.raises(ValidationError) as error:
        Package("lite", "Lite", 10, (Allowance(REFINEMENT, 1, 12), Allowance(REFINEMENT, 2, 12)))
    assert error.value.errors[0].code == "duplicate_entry"
    with pytest.raises(ValidationError) as error:
        Allowance(REFINEMENT, -1, 12)
    assert error.value.errors[0].code == "out_of_range"


class EntitlementsMachine(RuleBasedStateMachine):
    """Follow-ups and upgrades in any order, time moving forward: nothing goes negative."""

    def __init__(self) -> None:
        super().__init__()
        self.held = Entitlements(LITE, APPROVED)
        self.now = APPROVED
        self.free = dict.fromkeys(FollowUpKind, 0)
        self.drafts: dict[int, tuple[FollowUpKind, bool]] = {}  # number: kind, included
        self.numbers = 100

    @rule(kind=st.sampled_from(list(FollowUpKind)), days=st.integers(0, 200))
    def order_follow_up(self, kind: FollowUpKind, days: int) -> None:
        self.now += timedelta(days=days)
        before = self.held.remaining(kind, self.now)
        self.numbers += 1  # case numbers are never reused
        number = self.numbers
        charge = price_follow_up(self.held, kind, self.now, BOOK, case_number=number)
        assert charge.included == (before > 0)
        assert charge.amount.is_zero == charge.included
        self.held = charge.entitlements
        self.free[kind] += charge.included
        self.drafts[number] = (kind, charge.included)

    @precondition(lambda self: bool(self.drafts))
    @rule(data=st.data())
    def delete_draft(self, data: st.DataObject) -> None:
        """A deleted draft gives back what it spent, and only that; twice is a no-op."""
        number = data.draw(st.sampled_from(sorted(self.drafts)))
        kind, included = self.drafts.pop(number)
        before = self.held.remaining(kind, self.now)
        self.held = self.held.given_back(number)
        self.free[kind] -= included
        assert self.held.given_back(number) == self.held
        if included and self.now < (self.held.window_ends(kind) or self.now):
            assert self.held.remaining(kind, self.now) == before + 1

    @precondition(lambda self: self.held.package is LITE)
    @rule()
    def upgrade(self) -> None:
        assert price_upgrade(LITE, COMPREHENSIVE, BOOK).amount == Money("750", "CHF")
        self.held = self.held.upgraded(COMPREHENSIVE)

    @invariant()
    def never_negative_never_more_than_included(self) -> None:
        for kind in FollowUpKind:
            assert self.held.remaining(kind, self.now) >= 0
            allowance = self.held.package.allowance(kind)
            assert self.free[kind] <= (allowance.count if allowance else 0)
            assert len([u for u in self.held.used if u.kind is kind]) == self.free[kind]


TestEntitlementsMachine = EntitlementsMachine.TestCase
