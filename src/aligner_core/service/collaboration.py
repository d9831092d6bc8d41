"""Comments both ways, collaborators on one case, reassignment to another doctor."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import attrs

from aligner_core.domain.accounts import (
    Account,
    CollaboratorGrant,
    CollaboratorPermission,
    GrantStatus,
    Role,
)
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import Case, Comment
from aligner_core.domain.events import EventType
from aligner_core.errors import NotFoundError, ValidationError
from aligner_core.ports import UnitOfWork
from aligner_core.service._base import ServiceBase, _Change

__all__ = ["CollaborationCommands"]


class CollaborationCommands(ServiceBase):
    """Comments both ways, collaborators on one case, reassignment to another doctor."""

    # ------------------------------------------------------------------ comments, collaborators
    def comment(self, actor_id: UUID, case_id: UUID, text: str) -> Case:
        """A comment either way; the other side is told."""

        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            from_lab = actor.network_id == case.network_id and actor.role is not Role.DOCTOR
            note = Comment(self.ids.new_id(), actor.account_id, now, text, from_lab)
            return _Change(
                attrs.evolve(case, comments=(*case.comments, note)),
                EventType.COMMENT_ADDED,
                {"side": "lab" if from_lab else "practice", "comment": note.comment_id},
            )

        return self._act(actor_id, case_id, Action.COMMENT, change)

    def invite_collaborator(
        self,
        doctor_id: UUID,
        case_id: UUID,
        collaborator_id: UUID,
        permissions_: Iterable[CollaboratorPermission],
    ) -> Case:
        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            invitee = uow.accounts.get(collaborator_id)
            if not invitee.is_active or invitee.account_id == case.owner_id:
                raise ValidationError.single(
                    "invite an active account other than the owner", "$.collaborator"
                )
            existing = case.grant_for(collaborator_id)
            if existing is not None and existing.status in (
                GrantStatus.INVITED,
                GrantStatus.ACCEPTED,
            ):
                raise ValidationError.single("already invited", "$.collaborator")
            grant = CollaboratorGrant(collaborator_id, actor.account_id, now, tuple(permissions_))
            others = tuple(g for g in case.collaborators if g.account_id != collaborator_id)
            return _Change(
                attrs.evolve(case, collaborators=(*others, grant)),
                EventType.COLLABORATOR_INVITED,
                {"permissions": ",".join(grant.permissions)},
                subject_id=collaborator_id,
            )

        return self._act(doctor_id, case_id, Action.INVITE_COLLABORATOR, change)

    def respond_to_invitation(self, actor_id: UUID, case_id: UUID, *, accept: bool) -> Case:
        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            grant = case.grant_for(actor.account_id)
            assert grant is not None  # the INVITEE relation guarantees it
            status = GrantStatus.ACCEPTED if accept else GrantStatus.DECLINED
            grants = tuple(
                attrs.evolve(g, status=status) if g.account_id == actor.account_id else g
                for g in case.collaborators
            )
            return _Change(
                attrs.evolve(case, collaborators=grants),
                EventType.COLLABORATOR_ACCEPTED if accept else EventType.COLLABORATOR_DECLINED,
                {"invited_by": grant.invited_by},
                subject_id=actor.account_id,
            )

        return self._act(actor_id, case_id, Action.RESPOND_INVITATION, change)

    def revoke_collaborator(self, doctor_id: UUID, case_id: UUID, collaborator_id: UUID) -> Case:
        """End a collaborator's access (invited or accepted); they are told."""

        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            grant = case.grant_for(collaborator_id)
            if grant is None or grant.status not in (GrantStatus.INVITED, GrantStatus.ACCEPTED):
                raise NotFoundError("collaborator", collaborator_id)
            grants = tuple(
                attrs.evolve(g, status=GrantStatus.REVOKED)
                if g.account_id == collaborator_id
                else g
                for g in case.collaborators
            )
            return _Change(
                attrs.evolve(case, collaborators=grants),
                EventType.COLLABORATOR_REVOKED,
                {"collaborator": collaborator_id},
                subject_id=collaborator_id,
            )

        return self._act(doctor_id, case_id, Action.REVOKE_COLLABORATOR, change)

    def reassign(self, admin_id: UUID, case_id: UUID, new_owner_id: UUID) -> Case:
        """Give a case to another doctor of the network; both doctors are told."""

        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            doctor = uow.accounts.get(new_owner_id)
            if (
                doctor.role is not Role.DOCTOR
                or not doctor.is_active
                or doctor.network_id != case.network_id
            ):
                raise ValidationError.single(
                    "the new owner is an active doctor of the network", "$.owner"
                )
            return _Change(
                attrs.evolve(case, owner_id=new_owner_id),
                EventType.CASE_REASSIGNED,
                {"previous_owner": case.owner_id, "owner": new_owner_id},
            )

        return self._act(admin_id, case_id, Action.REASSIGN, change)
