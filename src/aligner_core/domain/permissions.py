"""Who may do what: one matrix from actions to the relations that allow them.

A user's *relations* to a case are derived from their role, network and the
case's collaborator grants. Blocked accounts have no relation to anything.
"""

from __future__ import annotations

from enum import StrEnum

from aligner_core.domain.accounts import (
    Account,
    CollaboratorPermission,
    GrantStatus,
    Role,
)
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import Case
from aligner_core.domain.queries import Scope
from aligner_core.errors import PermissionDeniedError, Reason

__all__ = [
    "MATRIX",
    "Relation",
    "can",
    "ensure",
    "ensure_relations",
    "refusal",
    "relations",
    "require_admin_of",
    "scope_for",
]


class Relation(StrEnum):
    OWNER = "owner"
    COLLABORATOR_VIEW = "collaborator_view"
    COLLABORATOR_COMMENT = "collaborator_comment"
    COLLABORATOR_VIEW_SETUP = "collaborator_view_setup"
    COLLABORATOR_EDIT_SETUP = "collaborator_edit_setup"
    INVITEE = "invitee"
    PLANNER = "planner"
    PRODUCTION = "production"
    ADMIN = "admin"


R = Relation
_LAB = frozenset({R.PLANNER, R.PRODUCTION, R.ADMIN})

MATRIX: dict[Action, frozenset[Relation]] = {
    Action.VIEW: _LAB | {R.OWNER, R.COLLABORATOR_VIEW},
    Action.EDIT: frozenset({R.OWNER}),
    Action.SET_TEETH: frozenset({R.OWNER}),
    Action.ATTACH: frozenset({R.OWNER}),
    Action.CONFIRM: frozenset({R.OWNER}),
    Action.DELETE: frozenset({R.OWNER}),
    Action.SUBMIT: frozenset({R.OWNER}),
    Action.ACCEPT_ORDER: frozenset({R.PRODUCTION, R.ADMIN}),
    Action.REFUSE_ORDER: frozenset({R.PRODUCTION, R.ADMIN}),
    Action.UPLOAD_PLAN: frozenset({R.PLANNER, R.COLLABORATOR_EDIT_SETUP}),
    Action.ACCEPT_PLAN: frozenset({R.OWNER}),
    Action.REJECT_PLAN: frozenset({R.OWNER}),
    Action.REQUEST_MODIFICATION: frozenset({R.OWNER, R.COLLABORATOR_EDIT_SETUP}),
    Action.HOLD: _LAB,
    Action.RELEASE: _LAB,
    Action.CANCEL: frozenset({R.OWNER, R.ADMIN}),
    Action.SHIP: frozenset({R.PRODUCTION}),
    Action.CONFIRM_DELIVERY: frozenset({R.OWNER, R.PRODUCTION, R.ADMIN}),
    Action.CLOSE: frozenset({R.OWNER, R.ADMIN}),
    Action.REOPEN: frozenset({R.OWNER, R.ADMIN}),
    Action.COMMENT: _LAB | {R.OWNER, R.COLLABORATOR_COMMENT},
    Action.ADD_DOCUMENT: _LAB | {R.OWNER, R.COLLABORATOR_EDIT_SETUP},
    Action.SHARE_PLAN: frozenset({R.OWNER}),
    Action.REVOKE_SHARE: frozenset({R.OWNER}),
    Action.INVITE_COLLABORATOR: frozenset({R.OWNER}),
    Action.REVOKE_COLLABORATOR: frozenset({R.OWNER}),
    Action.RESPOND_INVITATION: frozenset({R.INVITEE}),
    Action.REASSIGN: frozenset({R.ADMIN}),
    Action.ORDER_FOLLOW_UP: frozenset({R.OWNER}),
    Action.SHIP_IMPRESSIONS: frozenset({R.OWNER}),
    Action.RECEIVE_IMPRESSIONS: _LAB,
    Action.COMPLETE_DIGITISING: _LAB,
    Action.REQUEST_RECORDS: _LAB,
    Action.ASSIGN: frozenset({R.ADMIN}),
    Action.TAKE: frozenset({R.PLANNER}),
    Action.UPGRADE_PACKAGE: frozenset({R.OWNER}),
}

_GRANT_RELATIONS = {
    CollaboratorPermission.VIEW_DETAILS: R.COLLABORATOR_VIEW,
    CollaboratorPermission.COMMENT: R.COLLABORATOR_COMMENT,
    CollaboratorPermission.VIEW_SETUP: R.COLLABORATOR_VIEW_SETUP,
    CollaboratorPermission.EDIT_SETUP: R.COLLABORATOR_EDIT_SETUP,
}


def relations(actor: Account, case: Case) -> frozenset[Relation]:
    """How ``actor`` stands to ``case`` (empty for blocked accounts and strangers)."""
    if not actor.is_active:
        return frozenset()
    found: set[Relation] = set()
    if actor.account_id == case.owner_id:
        found.add(R.OWNER)
    if actor.network_id == case.network_id:
        if actor.role is Role.PLANNER:
            found.add(R.PLANNER)
        elif actor.role is Role.PRODUCTION:
            found.add(R.PRODUCTION)
        elif actor.role is Role.ADMIN:
            found.add(R.ADMIN)
    grant = case.grant_for(actor.account_id)
    if grant is not None:
        if grant.status is GrantStatus.INVITED:
            found.add(R.INVITEE)
        for permission, relation in _GRANT_RELATIONS.items():
            if grant.allows(permission):
                found.add(relation)
    return frozenset(found)


def can(actor: Account, action: Action, case: Case) -> bool:
    return bool(relations(actor, case) & MATRIX[action])


def ensure(actor: Account, action: Action, case: Case) -> None:
    """Raise ``PermissionDeniedError`` with the reason unless ``actor`` may take ``action``."""
    ensure_relations(actor, action, case, relations(actor, case))


def refusal(actor: Account, action: Action, held: frozenset[Relation]) -> Reason | None:
    """Why ``actor``, standing to a case as ``held``, may not take ``action`` (None: they may)."""
    if not actor.is_active:
        return Reason("account_blocked", kind="permission")
    if held & MATRIX[action]:
        return None
    needed = ", ".join(sorted(r.value for r in MATRIX[action]))
    mine = ", ".join(sorted(r.value for r in held)) or "none"
    return Reason("needs_relation", {"needed": needed, "held": mine}, kind="permission")


def ensure_relations(actor: Account, action: Action, case: Case, held: frozenset[Relation]) -> None:
    """``ensure`` with the relations already computed (a command computes them once)."""
    reason = refusal(actor, action, held)
    if reason is not None:
        raise PermissionDeniedError(actor.account_id, action.value, case.reference, reason)


def require_admin_of(actor: Account, network_id: object, action: str) -> None:
    """Account management: an active admin of the same network."""
    if not actor.is_active:
        raise PermissionDeniedError(
            actor.account_id, action, network_id, Reason("account_blocked", kind="permission")
        )
    if actor.role is not Role.ADMIN or actor.network_id != network_id:
        raise PermissionDeniedError(
            actor.account_id, action, network_id, Reason("not_network_admin", kind="permission")
        )


def scope_for(actor: Account) -> Scope:
    """The cases a user may list: their own and shared ones; lab staff also their network's."""
    if not actor.is_active:
        raise PermissionDeniedError(
            actor.account_id, "list cases", None, Reason("account_blocked", kind="permission")
        )
    if actor.role is Role.DOCTOR:
        return Scope(member_id=actor.account_id)
    return Scope(network_id=actor.network_id, member_id=actor.account_id)
