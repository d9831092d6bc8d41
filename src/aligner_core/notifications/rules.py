"""Who is told what: a rule table from domain events to recipients.

Recipients are resolved when the event is queued (inside the command's unit of
work), so the dispatcher needs nothing but the outbox. Optional notifications
can be muted per user (``Account.muted_notifications``); mandatory ones cannot.
The actor is never told about their own action and blocked accounts are never
told anything.

Comments go to "the other side": a comment from the lab goes to the case's
doctor and the collaborators allowed to comment; a comment from the practice
side (the doctor or a collaborator) goes to the planners and, when a
collaborator wrote it, to the doctor. "Planners" means the case's assigned
planner while that account is active, otherwise every active planner of the
network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from uuid import UUID

from aligner_core.domain.accounts import Account, CollaboratorPermission, GrantStatus, Role
from aligner_core.domain.cases import Case
from aligner_core.domain.events import DomainEvent, EventType

__all__ = ["MANDATORY", "RULES", "Audience", "audiences", "recipients"]


class Audience(StrEnum):
    DOCTOR = "doctor"
    COMMENTING_COLLABORATORS = "commenting_collaborators"
    PLANNERS = "planners"
    PRODUCTION = "production"
    SUBJECT = "subject"
    PREVIOUS_OWNER = "previous_owner"
    INVITER = "inviter"


A = Audience
RULES: dict[EventType, tuple[Audience, ...]] = {
    EventType.PLAN_UPLOADED: (A.DOCTOR, A.COMMENTING_COLLABORATORS),
    EventType.CASE_SUBMITTED: (A.PLANNERS,),
    EventType.PLAN_ACCEPTED: (A.PLANNERS, A.PRODUCTION),
    EventType.MODIFICATION_REQUESTED: (A.PLANNERS,),
    EventType.PLAN_REJECTED: (A.PLANNERS,),
    EventType.ORDER_ACCEPTED: (A.DOCTOR,),
    EventType.ORDER_REFUSED: (A.DOCTOR,),
    EventType.CASE_SHIPPED: (A.DOCTOR,),
    EventType.CASE_HELD: (A.DOCTOR,),
    EventType.CASE_RELEASED: (A.DOCTOR,),
    EventType.CASE_CANCELLED: (A.PLANNERS, A.DOCTOR),
    EventType.ACCOUNT_ACTIVATED: (A.SUBJECT,),
    EventType.CASE_REASSIGNED: (A.DOCTOR, A.PREVIOUS_OWNER),
    EventType.COLLABORATOR_INVITED: (A.SUBJECT,),
    EventType.COLLABORATOR_ACCEPTED: (A.INVITER,),
    EventType.COLLABORATOR_DECLINED: (A.INVITER,),
    EventType.COLLABORATOR_REVOKED: (A.SUBJECT,),
}

#: Events every recipient gets whatever their preferences.
MANDATORY = frozenset(
    {
        EventType.ACCOUNT_ACTIVATED,
        EventType.PLAN_UPLOADED,
        EventType.CASE_SHIPPED,
        EventType.COLLABORATOR_INVITED,
        EventType.COLLABORATOR_REVOKED,
        EventType.ORDER_REFUSED,
        EventType.CASE_CANCELLED,
    }
)


def _comment_audience(event: DomainEvent) -> tuple[Audience, ...]:
    if event.get("side") == "lab":
        return (A.DOCTOR, A.COMMENTING_COLLABORATORS)
    return (A.PLANNERS, A.DOCTOR)  # the doctor only matters when a collaborator wrote it


def audiences(event: DomainEvent) -> tuple[Audience, ...]:
    """The audiences of one event (comments depend on which side wrote them)."""
    if event.type is EventType.COMMENT_ADDED:
        return _comment_audience(event)
    return RULES.get(event.type, ())


def recipients(
    event: DomainEvent,
    case: Case | None,
    load: Callable[[UUID], Account],
    network_staff: Callable[[UUID], Iterable[Account]],
) -> list[Account]:
    """Active accounts to tell about ``event``, minus the actor and users who muted it."""
    found: dict[UUID, Account] = {}

    def add(account: Account) -> None:
        found.setdefault(account.account_id, account)

    for audience in audiences(event):
        if audience is A.DOCTOR and case is not None:
            add(load(case.owner_id))
        elif audience is A.COMMENTING_COLLABORATORS and case is not None:
            for grant in case.collaborators:
                if grant.status is GrantStatus.ACCEPTED and grant.allows(
                    CollaboratorPermission.COMMENT
                ):
                    add(load(grant.account_id))
        elif audience in (A.PLANNERS, A.PRODUCTION):
            role = Role.PLANNER if audience is A.PLANNERS else Role.PRODUCTION
            if role is Role.PLANNER and case is not None and case.assigned_planner_id is not None:
                assigned = load(case.assigned_planner_id)
                if assigned.is_active:
                    add(assigned)
                    continue
            for account in network_staff(event.network_id):
                if account.role is role:
                    add(account)
        elif audience is A.SUBJECT and event.account_id is not None:
            add(load(event.account_id))
        elif audience is A.PREVIOUS_OWNER and (prev := event.get("previous_owner")):
            add(load(UUID(prev)))
        elif audience is A.INVITER and (inviter := event.get("invited_by")):
            add(load(UUID(inviter)))
    return [
        a
        for a in found.values()
        if a.is_active
        and a.account_id != event.actor_id
        and (event.type in MANDATORY or event.type.value not in a.muted_notifications)
    ]
