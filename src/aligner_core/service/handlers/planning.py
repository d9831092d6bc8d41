"""Lab review and treatment planning: plan versions, approval, rejection, modification, sharing."""

from __future__ import annotations

import attrs

from aligner_core.commands import (
    AcceptOrder,
    AcceptPlan,
    RefuseOrder,
    RejectPlan,
    RequestModification,
    RevokeShare,
    SharePlan,
    UploadPlan,
)
from aligner_core.domain.accounts import Role
from aligner_core.domain.cases import ShareLink
from aligner_core.domain.events import EventType
from aligner_core.domain.plans import PlanVersion
from aligner_core.errors import NotFoundError
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
    return Change(
        attrs.evolve(case, plans=(*case.plans, plan), assigned_to=assignee),
        EventType.PLAN_UPLOADED,
        {"plan_version": plan.number},
    )


def _accept_plan(step: Step[AcceptPlan]) -> Change:
    version = step.command.plan_version
    return Change(step.case, EventType.PLAN_ACCEPTED, {"plan_version": version})


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
}
