"""What a follow-up order costs, worked out from the parent's approved package and the book.

A refinement, revision or retainer within the package's entitlements costs
nothing (one entitlement is spent on the parent); beyond them it is the price
book's follow-up amount. Replacement aligners are priced per step and arch
against the parent's accepted plan. The queries shown before submission
(:func:`replacement_quote`, :func:`entitlements`) read the same rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import attrs

from aligner_core.domain.accounts import Network
from aligner_core.domain.cases import Case, CaseKind
from aligner_core.domain.orders import ReplacementOrder, RetainerOrder
from aligner_core.domain.packages import Entitlements, FollowUpKind, price_follow_up
from aligner_core.domain.plans import PlanSummary
from aligner_core.domain.prices import Item, ItemKind, PriceBook
from aligner_core.domain.quotes import Quote, QuoteLine, quote_replacement
from aligner_core.errors import ValidationError
from aligner_core.service import pipeline
from aligner_core.service.deps import Deps

__all__ = [
    "entitlements",
    "follow_up_charge",
    "new_order_charge",
    "priced_add_ons",
    "recharged",
    "replacement_quote",
]

#: The follow-up kinds a package may include.
_INCLUDED = {kind.value: kind for kind in FollowUpKind}


def _practice_id(case: Case) -> UUID | None:
    return None if case.practice is None else case.practice.practice_id


def _accepted_summary(parent: Case) -> PlanSummary | None:
    """The parent's accepted plan (the latest, once approved), as replacements read it."""
    plan = parent.latest_plan if parent.accepted_at is not None else None
    return None if plan is None else plan.summary


def _replacement(network: Network, parent: Case, order: ReplacementOrder) -> Quote:
    book = network.price_book
    if book is None:
        raise ValidationError.of("price_book_none", "$.at")
    return quote_replacement(
        book,
        upper_steps=tuple(order.upper_steps),
        lower_steps=tuple(order.lower_steps),
        summary=_accepted_summary(parent),
        practice_id=_practice_id(parent),
    )


def _add_on_lines(
    network: Network, add_ons: Sequence[str], practice_id: UUID | None
) -> list[QuoteLine]:
    """A line per add-on the book prices (one it no longer prices is not charged)."""
    book = network.price_book
    found = (None if book is None else book.lookup(Item.add_on(c), practice_id) for c in add_ons)
    return [QuoteLine(price.item, 1, price.amount) for price in found if price is not None]


def priced_add_ons(
    network: Network, add_ons: Sequence[str], practice_id: UUID | None
) -> tuple[str, ...]:
    """The add-ons of an order, each priced by the network's book when it keeps one
    (``add_on_unpriced`` names the first it does not price)."""
    book = network.price_book
    for index, code in enumerate(add_ons):
        if book is not None and book.lookup(Item.add_on(code), practice_id) is None:
            raise ValidationError.of("add_on_unpriced", f"$.add_ons[{index}]", add_on=code)
    return tuple(add_ons)


def _with_add_ons(
    network: Network, quote: Quote | None, add_ons: Sequence[str], practice_id: UUID | None
) -> Quote | None:
    extra = _add_on_lines(network, add_ons, practice_id)
    if not extra:
        return quote
    if quote is None:
        book = network.price_book
        assert book is not None
        return Quote(book.currency, book.version, extra)
    kept = [line for line in quote.lines if line.item.kind is not ItemKind.ADD_ON]
    return attrs.evolve(quote, lines=(*kept, *extra))


def follow_up_charge(
    network: Network,
    parent: Case,
    draft: Case,
    at: datetime,
) -> tuple[Quote | None, Entitlements | None]:
    """The charge of follow-up ``draft`` (its kind, order and add-ons) ordered on ``parent``
    at ``at``, and the parent's entitlements after it (an included follow-up reserves one
    in the draft's number; None, None: the network prices nothing)."""
    book = network.price_book
    if book is None:
        return None, parent.entitlements
    practice_id = _practice_id(parent)
    quote, entitled = _base_charge(network, parent, draft, at)
    return _with_add_ons(network, quote, draft.add_ons, practice_id), entitled


def _retainer_sets(book: PriceBook, order: object, practice_id: UUID | None) -> QuoteLine | None:
    """A retainer order paid for at the book's per-set amount, where the book has one."""
    if not isinstance(order, RetainerOrder):
        return None
    price = book.lookup(Item.retainer_set(order.type.value), practice_id)
    return None if price is None else QuoteLine(price.item, order.sets, price.amount)


def _base_charge(
    network: Network, parent: Case, draft: Case, at: datetime
) -> tuple[Quote | None, Entitlements | None]:
    """The order's own lines: replacement steps; a follow-up included in the package (free)
    or at the book's amount (a retainer's sets at the per-set amount where it has one)."""
    book = network.price_book
    assert book is not None
    practice_id = _practice_id(parent)
    sets = _retainer_sets(book, draft.order, practice_id)
    try:
        if isinstance(draft.order, ReplacementOrder):
            return _replacement(network, parent, draft.order), parent.entitlements
        follow_up = _INCLUDED.get(draft.kind.value)
        if follow_up is None:
            return None, parent.entitlements
        if parent.entitlements is None:  # no package approved: the book's amount
            price = book.price(Item.follow_up(follow_up.value), practice_id)
            line = sets or QuoteLine(price.item, 1, price.amount)
            return Quote(book.currency, book.version, (line,)), None
        charge = price_follow_up(
            parent.entitlements, follow_up, at, book, practice_id, case_number=draft.number
        )
    except ValidationError:  # what the book does not price is not charged here
        if sets is None:
            return None, parent.entitlements
        return Quote(book.currency, book.version, (sets,)), parent.entitlements
    line = QuoteLine(charge.item, 1, charge.amount)
    if sets is not None and not charge.included:
        line = sets
    return Quote(book.currency, charge.book_version, (line,)), charge.entitlements


def new_order_charge(network: Network, case: Case) -> Quote | None:
    """What a new patient's order without a plan to approve costs: a retainer's sets at the
    book's ``retainer_set:<type>`` amount, a direct-manufacturing case its
    ``product:<code>`` amount, plus its add-ons (None: the network prices none of it)."""
    book = network.price_book
    if book is None or case.parent_id is not None:
        return None
    practice_id, lines = _practice_id(case), []
    if isinstance(case.order, RetainerOrder):
        item, quantity = Item.retainer_set(case.order.type.value), case.order.sets
    elif case.kind is CaseKind.DIRECT_MANUFACTURING and case.product is not None:
        item, quantity = Item.product(case.product), 1
    else:
        return None
    price = book.lookup(item, practice_id)
    if price is not None:
        lines.append(QuoteLine(price.item, quantity, price.amount))
    lines += _add_on_lines(network, case.add_ons, practice_id)
    return Quote(book.currency, book.version, lines) if lines else None


def recharged(network: Network, parent: Case, draft: Case) -> Quote | None:
    """A follow-up draft's charge after its order or add-ons changed: replacement steps
    quoted again, add-ons from the book, a refinement's or revision's line as reserved."""
    if network.price_book is None:
        return draft.charge
    practice_id = _practice_id(parent)
    base = draft.charge
    if isinstance(draft.order, ReplacementOrder):
        try:
            base = _replacement(network, parent, draft.order)
        except ValidationError:
            base = None
    elif base is not None:
        kept = [line for line in base.lines if line.item.kind is not ItemKind.ADD_ON]
        sets = _retainer_sets(network.price_book, draft.order, practice_id)
        if sets is not None and [line.item.kind for line in kept] == [ItemKind.RETAINER_SET]:
            kept = [sets]  # the number of sets may have changed: priced again
        base = attrs.evolve(base, lines=kept) if kept else None
    return _with_add_ons(network, base, draft.add_ons, practice_id)


def replacement_quote(deps: Deps, actor_id: UUID, case_id: UUID) -> Quote:
    """What a replacement draft costs now: its steps per arch from the newest price book,
    checked against the parent's accepted plan."""
    with deps.storage.unit_of_work() as uow:
        actor = pipeline.actor_of(uow, actor_id, "view")
        case, _ = pipeline.visible_case(uow, actor, case_id)
        if not isinstance(case.order, ReplacementOrder) or case.parent_id is None:
            raise ValidationError.of("order_kind_mismatch", "$.order", kind=case.kind.value)
        parent = uow.cases.get(case.parent_id)
        network = uow.accounts.get_network(case.network_id)
    return _replacement(network, parent, case.order)


def entitlements(deps: Deps, actor_id: UUID, case_id: UUID) -> Entitlements | None:
    """The package approved for the case (or for the case a follow-up follows) and the
    follow-ups it still includes (``remaining``); None: no package was approved."""
    with deps.storage.unit_of_work() as uow:
        actor = pipeline.actor_of(uow, actor_id, "view")
        case, _ = pipeline.visible_case(uow, actor, case_id)
        if case.entitlements is None and case.parent_id is not None:
            return uow.cases.get(case.parent_id).entitlements
    return case.entitlements
