"""What a follow-up order costs, worked out from the parent's approved package and the book.

A refinement, revision or retainer within the package's entitlements costs
nothing (one entitlement is spent on the parent); beyond them it is the price
book's follow-up amount. Replacement aligners are priced per step and arch
against the parent's accepted plan. The queries shown before submission
(:func:`replacement_quote`, :func:`entitlements`) read the same rules.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from aligner_core.domain.accounts import Network
from aligner_core.domain.cases import Case, CaseKind
from aligner_core.domain.orders import ReplacementOrder
from aligner_core.domain.packages import Entitlements, FollowUpKind, price_follow_up
from aligner_core.domain.plans import PlanSummary
from aligner_core.domain.prices import Item
from aligner_core.domain.quotes import Quote, QuoteLine, quote_replacement
from aligner_core.errors import ValidationError
from aligner_core.service import pipeline
from aligner_core.service.deps import Deps

__all__ = ["entitlements", "follow_up_charge", "replacement_quote"]

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


def follow_up_charge(
    network: Network, parent: Case, kind: CaseKind, order: object, at: datetime
) -> tuple[Quote | None, Entitlements | None]:
    """The charge of a follow-up of ``kind`` ordered on ``parent`` at ``at``, and the
    parent's entitlements after it (None, None: the network prices nothing)."""
    book = network.price_book
    if book is None:
        return None, parent.entitlements
    practice_id = _practice_id(parent)
    try:
        if isinstance(order, ReplacementOrder):
            return _replacement(network, parent, order), parent.entitlements
        follow_up = _INCLUDED.get(kind.value)
        if follow_up is None:
            return None, parent.entitlements
        if parent.entitlements is None:  # no package approved: the book's amount
            price = book.price(Item.follow_up(follow_up.value), practice_id)
            line = QuoteLine(price.item, 1, price.amount)
            return Quote(book.currency, book.version, (line,)), None
        charge = price_follow_up(parent.entitlements, follow_up, at, book, practice_id)
    except ValidationError:
        return None, parent.entitlements  # what the book does not price is not charged here
    line = QuoteLine(charge.item, 1, charge.amount)
    return Quote(book.currency, charge.book_version, (line,)), charge.entitlements


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
