"""Lab review and treatment planning: plan versions, approval, rejection, modification, sharing."""

from __future__ import annotations

from uuid import UUID

import attrs

from aligner_core.commands import (
    AcceptOrder,
    AcceptPlan,
    RefuseOrder,
    RejectPlan,
    RequestModification,
    RevokeShare,
    SharePlan,
    UpgradePackage,
    UploadPlan,
)
from aligner_core.domain.accounts import Network, Role
from aligner_core.domain.cases import Case, ShareLink
from aligner_core.domain.events import EventType
from aligner_core.domain.packages import Entitlements, fitting, packages_by_id, price_upgrade
from aligner_core.domain.plans import PlanVersion
from aligner_core.domain.prices import Item
from aligner_core.domain.quotes import Quote, QuoteLine, quote_plan
from aligner_core.errors import NotFoundError, ValidationError
from aligner_core.service.handlers import billing
from aligner_core.service.handlers._common import event_only, for_reason
from aligner_core.service.pipeline import Change, Handler, Step

__all__ = ["HANDLERS"]


def _upload_plan(step: Step[UploadPlan]) -> Change:
    command, case, actor = step.command, step.case, step.actor
    plan = PlanVersion(
        number=len(case.plans) + 1,
        uploaded_at=step.now,
        uploaded_by=actor.account_id,
        summary=command.summary,
        steps=command.steps,
        simulation_url=command.simulation_url,
        notes=command.notes,
    )
    assignee = case.assigned_to
    if assignee is None and actor.role is Role.PLANNER:
        assignee = actor.account_id
    quote = _quote(step.uow.accounts.get_network(case.network_id), case, plan)
    quotes = case.quotes if quote is None else (*case.quotes, quote)
    return Change(
        attrs.evolve(case, plans=(*case.plans, plan), assigned_to=assignee, quotes=quotes),
        EventType.PLAN_UPLOADED,
        {"plan_version": plan.number},
    )


def _practice_id(case: Case) -> UUID | None:
    return None if case.practice is None else case.practice.practice_id


def _quote(network: Network, case: Case, plan: PlanVersion) -> Quote | None:
    """The plan's quote in the smallest package that fits, from the newest price book.

    None when the network prices nothing, no package fits or the book lacks a price:
    the upload is the planner's, and what the network has not priced is no reason to
    refuse it.
    """
    book = network.price_book
    if book is None or not fitting(network.packages, plan.summary):
        return None
    try:
        return quote_plan(
            plan.summary,
            book,
            network.packages,
            plan_version=plan.number,
            add_ons=[c for c in case.add_ons if book.lookup(Item.add_on(c), _practice_id(case))],
            practice_id=_practice_id(case),
        )
    except ValidationError:
        return None


def _approved_quote(step: Step[AcceptPlan]) -> Quote | None:
    """The quote the approval fixes: the plan's, or re-quoted for the package the doctor
    chose, from the SAME price book version (a later price change never alters it)."""
    command, case = step.command, step.case
    quote = case.quote_of(command.plan_version)
    if quote is None:
        if command.package is not None:
            raise ValidationError.of("plan_not_quoted", "$.package")
        return None
    if command.package is None or command.package == quote.package_id:
        return quote
    network = step.uow.accounts.get_network(case.network_id)
    book = network.price_book_version(quote.book_version)
    plan = case.plan(command.plan_version)
    assert book is not None and plan is not None  # a quote names a version the network keeps
    return quote_plan(
        plan.summary,
        book,
        network.packages,
        plan_version=plan.number,
        package_id=command.package,
        add_ons=quote.add_ons,
        practice_id=_practice_id(case),
    )


def _accept_plan(step: Step[AcceptPlan]) -> Change:
    version = step.command.plan_version
    quote = _approved_quote(step)
    case = step.case
    if quote is not None:
        network = step.uow.accounts.get_network(case.network_id)
        package = packages_by_id(network.packages).get(quote.package_id or "")
        if package is None:  # the admin withdrew the package since the plan was quoted
            raise ValidationError.of("unknown_package", "$.package", package=quote.package_id)
        case = attrs.evolve(
            case, approved_quote=quote, entitlements=Entitlements(package, step.now)
        )
        invoice = billing.charge(step.uow, step.deps, case, quote, step.now).invoice
        details = {"plan_version": version, "invoice": str(invoice.number)}
        return Change(case, EventType.PLAN_ACCEPTED, details)
    return Change(case, EventType.PLAN_ACCEPTED, {"plan_version": version})


def _upgrade_package(step: Step[UpgradePackage]) -> Change:
    """A larger package for an approved case: its entitlements move to it (windows still run
    from the approval, follow-ups spent stay spent) and the difference in the current book's
    amounts is invoiced. The approved quote stays as approved."""
    case, wanted = step.case, step.command.package
    entitled = case.entitlements
    assert entitled is not None  # the lifecycle's guard: only an approved package upgrades
    network = step.uow.accounts.get_network(case.network_id)
    book = network.price_book
    if book is None:
        raise ValidationError.of("price_book_none", "$.package")
    target = packages_by_id(network.packages).get(wanted)
    if target is None:
        raise ValidationError.of("unknown_package", "$.package", package=wanted)
    upgrade = price_upgrade(entitled.package, target, book, _practice_id(case))
    case = attrs.evolve(case, entitlements=entitled.upgraded(target))
    details = {"package": target.id, "from": upgrade.from_package}
    if not upgrade.amount.is_zero:
        line = QuoteLine(upgrade.item, 1, upgrade.amount)
        quote = Quote(book.currency, upgrade.book_version, (line,))
        details["invoice"] = str(
            billing.charge(step.uow, step.deps, case, quote, step.now).invoice.number
        )
    return Change(case, EventType.PACKAGE_UPGRADED, details)


def _share_plan(step: Step[SharePlan]) -> Change:
    command, case, now = step.command, step.case, step.now
    link = ShareLink(
        step.deps.ids.new_id(), command.plan_version, step.actor.account_id, now, now + command.ttl
    )
    return Change(
        attrs.evolve(case, shares=(*case.shares, link)),
        EventType.PLAN_SHARED,
        {"plan_version": command.plan_version, "share": link.share_id},
    )


def _revoke_share(step: Step[RevokeShare]) -> Change:
    share_id, case = step.command.share_id, step.case
    if case.share(share_id) is None:
        raise NotFoundError("share link", share_id)
    shares = tuple(
        attrs.evolve(s, revoked_at=step.now)
        if s.share_id == share_id and s.revoked_at is None
        else s
        for s in case.shares
    )
    return Change(attrs.evolve(case, shares=shares), EventType.SHARE_REVOKED, {"share": share_id})


HANDLERS: dict[type, Handler] = {
    AcceptOrder: event_only(EventType.ORDER_ACCEPTED),
    RefuseOrder: for_reason(EventType.ORDER_REFUSED),
    UploadPlan: _upload_plan,
    AcceptPlan: _accept_plan,
    RejectPlan: for_reason(EventType.PLAN_REJECTED),
    RequestModification: for_reason(EventType.MODIFICATION_REQUESTED),
    SharePlan: _share_plan,
    RevokeShare: _revoke_share,
    UpgradePackage: _upgrade_package,
}
