"""Comments both ways, collaborators on one case, reassignment to another doctor."""

from __future__ import annotations

from uuid import UUID

import attrs

from aligner_core.commands import (
    AcceptInvitation,
    Comment,
    InviteCollaborator,
    Reassign,
    RespondToInvitation,
    RevokeCollaborator,
)
from aligner_core.domain.accounts import (
    Account,
    AccountStatus,
    CollaboratorGrant,
    EmailInvitation,
    GrantStatus,
    Role,
)
from aligner_core.domain.cases import CaseStatus, HistoryEntry
from aligner_core.domain.cases import Comment as CaseComment
from aligner_core.domain.events import EventType
from aligner_core.errors import NotFoundError, ValidationError
from aligner_core.service import pipeline, sharing
from aligner_core.service.deps import Deps
from aligner_core.service.handlers import accounts
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
    if command.email is not None and (invitee is None or not invitee.is_active):
        # no usable account: the address gets a link to create one (a blocked account
        # is answered alike, so the answer tells nobody who exists)
        return _invite_address(step, command.email)
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


def _invite_address(step: Step[InviteCollaborator], email: str) -> Change:
    case, address = step.case, email.casefold()
    if any(
        i.email.casefold() == address and i.status is GrantStatus.INVITED for i in case.invitations
    ):
        raise ValidationError.of("already_invited", "$.email")
    invitation = EmailInvitation(
        step.deps.ids.new_id(), email, step.actor.account_id, step.now, step.command.permissions
    )
    token = sharing.sign(
        step.deps.link_keys, case.case_id, invitation.invitation_id, sharing.INVITATION
    )
    return Change(
        attrs.evolve(case, invitations=(*case.invitations, invitation)),
        EventType.INVITATION_EMAILED,
        {"permissions": ",".join(invitation.permissions), "invitation": invitation.invitation_id},
        mail_only={"token": token},
    )


def accept_invitation(deps: Deps, actor_id: UUID | None, command: AcceptInvitation) -> Account:
    """A new account from an e-mail invitation's link: active at once in the case's network
    (the invitation vouches for its address) and the case's collaborator, nothing more."""
    found = sharing.verify(deps.link_keys, command.token, sharing.INVITATION)
    with deps.storage.unit_of_work() as uow:
        try:
            case = uow.cases.get(found[0]) if found else None
        except NotFoundError:
            case = None
        invitation = case.invitation(found[1]) if case and found else None
        if case is None or invitation is None or invitation.status is not GrantStatus.INVITED:
            raise ValidationError.of("invitation_invalid", "$.token")
        if command.registration.email.casefold() != invitation.email.casefold():
            raise ValidationError.of("invitation_other_email", "$.registration.email")
        now = deps.clock.now()
        account = accounts.new_account(
            deps, command.registration, case.network_id, Role.DOCTOR, now, AccountStatus.ACTIVE
        )
        uow.accounts.add(account)
        grant = CollaboratorGrant(
            account.account_id,
            invitation.invited_by,
            invitation.invited_at,
            invitation.permissions,
            GrantStatus.ACCEPTED,
        )
        used = attrs.evolve(invitation, status=GrantStatus.ACCEPTED, account_id=account.account_id)
        entry = HistoryEntry(
            now,
            account.account_id,
            "accept_invitation",
            case.status,
            case.status,
            {"invitation": invitation.invitation_id},
        )
        updated = attrs.evolve(
            case,
            collaborators=(*case.collaborators, grant),
            invitations=tuple(used if i is invitation else i for i in case.invitations),
            history=(*case.history, entry),
            updated_at=now,
            version=case.version + 1,
        )
        uow.cases.update(updated)
        accepted = EventType.COLLABORATOR_ACCEPTED
        facts = {"invited_by": invitation.invited_by}
        who = account.account_id
        pipeline.tell(deps, uow, accepted, updated, who, now, who, facts)
        uow.commit()
    return account


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
