"""Packages and what they entitle a case to (ClearCorrect's "Limited", "Unlimited"...).

A package caps the steps a plan may use per arch and includes refinements,
revisions and retainers, each a number of times within a window of months from
the plan's approval. At approval the smallest package that fits is proposed
(:func:`smallest_fitting`); the doctor may pick another that fits
(:func:`choose`). A follow-up within the entitlements costs nothing, beyond
them the price book's amount (:func:`price_follow_up`); remaining entitlements
are a query (:meth:`Entitlements.remaining`) and never negative. An upgrade to
a larger package is priced as the difference of the two packages' amounts.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Final
from uuid import UUID

import attrs

from aligner_core.domain._bounds import whole
from aligner_core.domain._checks import aware, non_blank, text_limit, unique
from aligner_core.domain.money import Money
from aligner_core.domain.plans import MAX_PLAN_STEPS, PlanSummary
from aligner_core.domain.prices import Item, Price, PriceBook, item_code
from aligner_core.errors import ValidationError

__all__ = [
    "MAX_WINDOW_MONTHS",
    "Allowance",
    "Entitlements",
    "FollowUpCharge",
    "FollowUpKind",
    "FollowUpUse",
    "Package",
    "Upgrade",
    "add_months",
    "choose",
    "fitting",
    "price_follow_up",
    "price_upgrade",
    "smallest_fitting",
]

#: The longest window a package may give (ten years).
MAX_WINDOW_MONTHS: Final = 120


class FollowUpKind(StrEnum):
    """The follow-up orders a package may include."""

    REFINEMENT = "refinement"
    REVISION = "revision"
    RETAINER = "retainer"


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus ``months`` calendar months (the 31st becomes the month's last day)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@attrs.frozen
class Allowance:
    """``count`` follow-ups of ``kind`` included within ``window_months`` of approval."""

    kind: FollowUpKind = attrs.field(converter=FollowUpKind)
    count: int = attrs.field(validator=whole(0, 100))
    window_months: int = attrs.field(validator=whole(1, MAX_WINDOW_MONTHS))


def _allowances(value: Iterable[Allowance]) -> tuple[Allowance, ...]:
    return tuple(value)


@attrs.frozen
class Package:
    """A package: at most ``max_steps`` per arch (None: no cap) and its allowances.

    Its price is the price book's entry ``Item.package(id)``.
    """

    id: str = attrs.field(validator=item_code)
    name: str = attrs.field(validator=[non_blank, text_limit(80)])
    max_steps: int | None = attrs.field(validator=whole(1, MAX_PLAN_STEPS))
    allowances: tuple[Allowance, ...] = attrs.field(
        default=(), converter=_allowances, validator=unique(lambda a: a.kind.value)
    )

    @property
    def item(self) -> Item:
        return Item.package(self.id)

    def fits(self, summary: PlanSummary) -> bool:
        """The plan's steps on each arch are within the package's cap."""
        return self.max_steps is None or summary.steps <= self.max_steps

    def allowance(self, kind: FollowUpKind) -> Allowance | None:
        return next((a for a in self.allowances if a.kind is kind), None)

    def covers_more_than(self, other: Package) -> bool:
        """At least ``other``'s steps and allowances, and more of something."""

        def cap(p: Package) -> float:
            return float("inf") if p.max_steps is None else p.max_steps

        def terms(p: Package, kind: FollowUpKind) -> tuple[int, int]:
            found = p.allowance(kind)
            return (0, 0) if found is None else (found.count, found.window_months)

        mine = [cap(self)] + [x for k in FollowUpKind for x in terms(self, k)]
        theirs = [cap(other)] + [x for k in FollowUpKind for x in terms(other, k)]
        return all(a >= b for a, b in zip(mine, theirs, strict=True)) and mine != theirs


def _size(package: Package) -> tuple[bool, int]:
    return (package.max_steps is None, package.max_steps or 0)


def fitting(packages: Iterable[Package], summary: PlanSummary) -> tuple[Package, ...]:
    """The packages that fit the plan, smallest cap first (the network's order on a tie)."""
    return tuple(sorted((p for p in packages if p.fits(summary)), key=_size))


def smallest_fitting(packages: Iterable[Package], summary: PlanSummary) -> Package:
    """The package proposed at approval: the smallest that fits the plan."""
    found = fitting(packages, summary)
    if not found:
        raise ValidationError.of("no_package_fits", "$.package", steps=summary.steps)
    return found[0]


def choose(packages: Iterable[Package], summary: PlanSummary, package_id: str) -> Package:
    """The package the doctor picked, if it exists and fits the plan."""
    chosen = next((p for p in packages if p.id == package_id), None)
    if chosen is None:
        raise ValidationError.of("unknown_package", "$.package", package=package_id[:40])
    if not chosen.fits(summary):
        raise ValidationError.of(
            "package_does_not_fit",
            "$.package",
            package=chosen.id,
            max=chosen.max_steps,
            steps=summary.steps,
        )
    return chosen


@attrs.frozen
class FollowUpUse:
    """A follow-up order the package paid for (one entitlement spent), and by which case."""

    kind: FollowUpKind = attrs.field(converter=FollowUpKind)
    at: datetime = attrs.field(validator=aware)
    case_number: int | None = None


def _uses(value: Iterable[FollowUpUse]) -> tuple[FollowUpUse, ...]:
    return tuple(value)


@attrs.frozen
class Entitlements:
    """A case's package from its approval, and the included follow-ups spent so far."""

    package: Package
    approved_at: datetime = attrs.field(validator=aware)
    used: tuple[FollowUpUse, ...] = attrs.field(default=(), converter=_uses)

    def window_ends(self, kind: FollowUpKind) -> datetime | None:
        """When the allowance of ``kind`` ends (None: the package includes none)."""
        allowance = self.package.allowance(kind)
        if allowance is None:
            return None
        return add_months(self.approved_at, allowance.window_months)

    def remaining(self, kind: FollowUpKind, at: datetime) -> int:
        """How many follow-ups of ``kind`` are still included at ``at`` (never negative)."""
        allowance = self.package.allowance(kind)
        ends = self.window_ends(kind)
        if allowance is None or ends is None or not self.approved_at <= at < ends:
            return 0
        spent = sum(1 for use in self.used if use.kind is kind)
        return max(0, allowance.count - spent)

    def summary(self, at: datetime) -> Mapping[FollowUpKind, int]:
        """What remains of every allowance at ``at``."""
        return {kind: self.remaining(kind, at) for kind in FollowUpKind}

    def spend(
        self, kind: FollowUpKind, at: datetime, case_number: int | None = None
    ) -> Entitlements:
        """The entitlements after a follow-up of ``kind`` at ``at`` (unchanged if not included);
        ``case_number`` names the order that spent it, so deleting that draft gives it back."""
        if self.remaining(kind, at) == 0:
            return self
        return attrs.evolve(self, used=(*self.used, FollowUpUse(kind, at, case_number)))

    def given_back(self, case_number: int) -> Entitlements:
        """The entitlements without what case ``case_number`` spent (its draft was deleted)."""
        kept = tuple(use for use in self.used if use.case_number != case_number)
        return self if len(kept) == len(self.used) else attrs.evolve(self, used=kept)

    def upgraded(self, package: Package) -> Entitlements:
        """The same approval and uses under a larger package (windows still run from approval)."""
        return attrs.evolve(self, package=package)


@attrs.frozen
class FollowUpCharge:
    """What a follow-up costs: nothing when included, else the price book's amount."""

    kind: FollowUpKind
    included: bool
    amount: Money
    book_version: int
    entitlements: Entitlements

    @property
    def item(self) -> Item:
        """What an invoice line for this charge names."""
        return Item.follow_up(self.kind.value)


def price_follow_up(
    entitlements: Entitlements,
    kind: FollowUpKind,
    at: datetime,
    book: PriceBook,
    practice_id: UUID | None = None,
    case_number: int | None = None,
) -> FollowUpCharge:
    """The charge of follow-up ``case_number`` of ``kind`` ordered at ``at``, and the
    entitlements after it."""
    kind = FollowUpKind(kind)
    if entitlements.remaining(kind, at) > 0:
        spent = entitlements.spend(kind, at, case_number)
        return FollowUpCharge(kind, True, Money.zero(book.currency), book.version, spent)
    price = book.price(Item.follow_up(kind.value), practice_id)
    return FollowUpCharge(kind, False, price.amount, price.book_version, entitlements)


@attrs.frozen
class Upgrade:
    """Moving a case to a larger package: the difference of the two packages' amounts."""

    from_package: str
    to_package: str
    amount: Money
    book_version: int

    @property
    def item(self) -> Item:
        """What an invoice line for this upgrade names."""
        return Item.upgrade(self.to_package)


def price_upgrade(
    current: Package, target: Package, book: PriceBook, practice_id: UUID | None = None
) -> Upgrade:
    """The priced step from ``current`` to ``target``, which must cover more."""
    if not target.covers_more_than(current):
        raise ValidationError.of(
            "upgrade_not_larger", "$.package", package=current.id, target=target.id
        )
    was: Price = book.price(current.item, practice_id)
    becomes: Price = book.price(target.item, practice_id)
    difference = becomes.amount - was.amount
    if difference.amount < 0:
        difference = Money.zero(book.currency)
    return Upgrade(current.id, target.id, difference, book.version)


def packages_by_id(packages: Sequence[Package]) -> Mapping[str, Package]:
    """The packages keyed by id (ids are unique)."""
    found: dict[str, Package] = {}
    for index, package in enumerate(packages):
        if package.id in found:
            raise ValidationError.of("duplicate_entry", f"$.packages[{index}]", entry=package.id)
        found[package.id] = package
    return found
