"""Who is told what: a rule table from domain events to recipients.

Recipients are resolved when the event is queued (inside the command's unit of
work), so the dispatcher needs nothing but the outbox. Optional notifications
can be muted per user (``Account.muted_notifications``); mandatory ones cannot.
The actor is never told about their own action and blocked accounts are never
told anything.

Comments go to "the other side": a comment from the lab goes to the case's
doctor and the collaborators allowed to comment; a comment from the practice
side goes to the lab and to the rest of the practice side (the doctor, the
collaborators allowed to comment). "The lab" is whoever acts on the case now
(:func:`lab_side`): its planners while a plan is being made, production staff
for direct manufacturing, retainers, replacements and cases in production.
"Planners" means the case's assignee when a planner is assigned and active,
otherwise every active planner of the network; "production" likewise. An
assignment tells the assignee.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from uuid import UUID

from aligner_core.domain.accounts import Account, CollaboratorPermission, GrantStatus, Role
from aligner_core.domain.cases import Case
from aligner_core.domain.events import DomainEvent, EventType

__all__ = ["MANDATORY", "RULES", "Audience", "audiences", "lab_side", "recipients"]


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
    EventType.CASE_SUBMITTED: (),  # the lab side: audiences
    EventType.DOCUMENT_ADDED: (),  # after submission only; the lab side: audiences
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
    EventType.INVITATION_EMAILED: (),  # to the address invited (notifications.outbox)
    EventType.COLLABORATOR_ACCEPTED: (A.INVITER,),
    EventType.COLLABORATOR_DECLINED: (A.INVITER,),
    EventType.COLLABORATOR_REVOKED: (A.SUBJECT,),
    EventType.IMPRESSIONS_RECEIVED: (A.DOCTOR,),
    EventType.SCANS_DIGITISED: (A.DOCTOR,),  # and the lab side: audiences
    EventType.RECORDS_REQUESTED: (A.DOCTOR, A.COMMENTING_COLLABORATORS),
    EventType.RECORDS_RECEIVED: (),  # the lab side: audiences
    EventType.CASE_ASSIGNED: (A.SUBJECT,),
    EventType.PACKAGE_UPGRADED: (),  # the invoice is the record; nobody is e-mailed
}

#: Events every recipient gets whatever their preferences.
MANDATORY = frozenset(
    {
        EventType.ACCOUNT_ACTIVATED,
        EventType.PLAN_UPLOADED,
        EventType.CASE_SHIPPED,
        EventType.COLLABORATOR_INVITED,
        EventType.INVITATION_EMAILED,
        EventType.COLLABORATOR_REVOKED,
        EventType.ORDER_REFUSED,
        EventType.CASE_CANCELLED,
        EventType.RECORDS_REQUESTED,
    }
)


#: Events for whoever acts on the case in the lab now (see :func:`lab_side`).
_TO_LAB_SIDE = frozenset(
    {
        EventType.CASE_SUBMITTED,
        EventType.DOCUMENT_ADDED,
        EventType.SCANS_DIGITISED,
        EventType.RECORDS_RECEIVED,
    }
)


def lab_side(case: Case | None) -> Audience:
    """Who acts on ``case`` in the lab now: its planners until a plan is accepted
    (planned kinds), production for everything else (direct manufacturing,
    retainers, replacements, and every case once in production)."""
    if case is not None and case.kind.is_planned and case.accepted_at is None:
        return A.PLANNERS
    return A.PRODUCTION


def audiences(event: DomainEvent, case: Case | None = None) -> tuple[Audience, ...]:
    """The audiences of one event: comments go to the other side; submissions and
    documents added after submission go to whoever acts on the case in the lab."""
    if event.type is EventType.COMMENT_ADDED:
        if event.get("side") == "lab":
            return (A.DOCTOR, A.COMMENTING_COLLABORATORS)
        # the doctor only matters when a collaborator wrote it (the actor is left out)
        return (lab_side(case), A.DOCTOR, A.COMMENTING_COLLABORATORS)
    if event.type in _TO_LAB_SIDE:
        return (lab_side(case), *RULES.get(event.type, ()))
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

    for audience in audiences(event, case):
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
            if case is not None and case.assigned_to is not None:
                assigned = load(case.assigned_to)
                if assigned.is_active and assigned.role is role:
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
