"""Comments both ways, collaborators on one case, reassignment to another doctor."""

from __future__ import annotations

import attrs

from aligner_core.commands import (
    Comment,
    InviteCollaborator,
    Reassign,
    RespondToInvitation,
    RevokeCollaborator,
)
from aligner_core.domain.accounts import CollaboratorGrant, GrantStatus, Role
from aligner_core.domain.cases import CaseStatus
from aligner_core.domain.cases import Comment as CaseComment
from aligner_core.domain.events import EventType
from aligner_core.errors import NotFoundError, ValidationError
from aligner_core.service.handlers._common import active_member
from aligner_core.service.pipeline import Change, Handler, Step

__all__ = ["HANDLERS"]


def _comment(step: Step[Comment]) -> Change:
    case, actor = step.case, step.actor
    from_lab = actor.network_id == case.network_id and actor.role is not Role.DOCTOR
    note = CaseComment(
        step.deps.ids.new_id(), actor.account_id, step.now, step.command.text, from_lab
    )
    return Change(
        attrs.evolve(case, comments=case.comments + (note,)),  # noqa: RUF005 - one copy, C speed
        EventType.COMMENT_ADDED,
        {"side": "lab" if from_lab else "practice", "comment": note.comment_id},
    )


def _invite(step: Step[InviteCollaborator]) -> Change:
    command, case = step.command, step.case
    path = "$.email" if command.email is not None else "$.collaborator_id"
    try:
        if command.email is not None:  # an account of any network, by its address
            invitee = step.uow.accounts.by_email(command.email)
        else:
            assert command.collaborator_id is not None  # the command's rule
            invitee = step.uow.accounts.get(command.collaborator_id)
    except NotFoundError:
        invitee = None
    # one answer for unknown, blocked and the owner: the address tells nobody who exists
    if invitee is None or not invitee.is_active or invitee.account_id == case.owner_id:
        raise ValidationError.of("invitee_invalid", path)
    invitee_id = invitee.account_id
    existing = case.grant_for(invitee_id)
    if existing is not None and existing.status in (GrantStatus.INVITED, GrantStatus.ACCEPTED):
        raise ValidationError.of("already_invited", path)
    grant = CollaboratorGrant(invitee_id, step.actor.account_id, step.now, command.permissions)
    others = tuple(g for g in case.collaborators if g.account_id != invitee_id)
    return Change(
        attrs.evolve(case, collaborators=(*others, grant)),
        EventType.COLLABORATOR_INVITED,
        {"permissions": ",".join(grant.permissions)},
        subject_id=invitee_id,
    )


def _respond(step: Step[RespondToInvitation]) -> Change:
    case, actor, accept = step.case, step.actor, step.command.accept
    grant = case.grant_for(actor.account_id)
    assert grant is not None  # the INVITEE relation guarantees it
    status = GrantStatus.ACCEPTED if accept else GrantStatus.DECLINED
    grants = tuple(
        attrs.evolve(g, status=status) if g.account_id == actor.account_id else g
        for g in case.collaborators
    )
    return Change(
        attrs.evolve(case, collaborators=grants),
        EventType.COLLABORATOR_ACCEPTED if accept else EventType.COLLABORATOR_DECLINED,
        {"invited_by": grant.invited_by},
        subject_id=actor.account_id,
    )


def _revoke(step: Step[RevokeCollaborator]) -> Change:
    collaborator_id, case = step.command.collaborator_id, step.case
    grant = case.grant_for(collaborator_id)
    if grant is None or grant.status not in (GrantStatus.INVITED, GrantStatus.ACCEPTED):
        raise NotFoundError("collaborator", collaborator_id)
    grants = tuple(
        attrs.evolve(g, status=GrantStatus.REVOKED) if g.account_id == collaborator_id else g
        for g in case.collaborators
    )
    return Change(
        attrs.evolve(case, collaborators=grants),
        EventType.COLLABORATOR_REVOKED,
        {"collaborator": collaborator_id},
        subject_id=collaborator_id,
    )


def _reassign(step: Step[Reassign]) -> Change:
    new_owner_id, case = step.command.owner, step.case
    if not active_member(step, new_owner_id, (Role.DOCTOR,)):
        raise ValidationError.of("new_owner_invalid", "$.owner")
    practice = case.practice
    if case.status is CaseStatus.DRAFT:  # a draft ships to the new doctor's only practice
        owned = step.uow.accounts.get(new_owner_id).practices
        practice = owned[0] if len(owned) == 1 else None
    return Change(
        attrs.evolve(case, owner_id=new_owner_id, practice=practice),
        EventType.CASE_REASSIGNED,
        {"previous_owner": case.owner_id, "owner": new_owner_id},
    )


HANDLERS: dict[type, Handler] = {
    Comment: _comment,
    InviteCollaborator: _invite,
    RespondToInvitation: _respond,
    RevokeCollaborator: _revoke,
    Reassign: _reassign,
}
