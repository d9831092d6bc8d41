"""Revoking a collaborator: access ends at once, the collaborator is told, only the owner may."""

from __future__ import annotations

import pytest

import aligner_core
from aligner_core.domain.accounts import CollaboratorPermission as P
from aligner_core.domain.accounts import GrantStatus, Role
from aligner_core.domain.actions import Action
from aligner_core.domain.events import EventType
from aligner_core.errors import NotFoundError, PermissionDeniedError
from aligner_core.testing.factories import set_up_lab


def test_revoked_collaborator_loses_access_and_is_told() -> None:
    core = aligner_core.connect("memory://")
    lab = set_up_lab(core)
    tps = set_up_lab(core, "TPS").add(Role.DOCTOR, "tps")
    case_id = lab.ready_case()
    core.invite_collaborator(lab.doctor, case_id, tps, [P.VIEW_DETAILS, P.COMMENT])
    core.respond_to_invitation(tps, case_id, accept=True)
    assert core.get_case(tps, case_id).case.case_id == case_id
    assert Action.REVOKE_COLLABORATOR in core.allowed_actions(lab.doctor, case_id)

    with pytest.raises(PermissionDeniedError) as denied:
        core.revoke_collaborator(lab.planner, case_id, tps)
    assert denied.value.reason == "needs one of [owner], has [planner]"

    case = core.revoke_collaborator(lab.doctor, case_id, tps)
    assert case.grant_for(tps) is not None
    assert case.grant_for(tps).status is GrantStatus.REVOKED  # type: ignore[union-attr]
    assert case.history[-1].action == "revoke_collaborator"
    with pytest.raises(NotFoundError):
        core.get_case(tps, case_id)
    with pytest.raises(NotFoundError):
        core.comment(tps, case_id, "still here?")
    assert case_id not in {c.case_id for c in core.list_cases(tps).items}

    with core.storage.unit_of_work() as uow:
        told = [
            e
            for e in uow.outbox.pending()
            if e.event.type is EventType.COLLABORATOR_REVOKED and e.recipient_id == tps
        ]
    assert len(told) == 1

    with pytest.raises(NotFoundError):
        core.revoke_collaborator(lab.doctor, case_id, tps)


def test_staff_collaborator_lists_the_shared_case_of_another_network() -> None:
    core = aligner_core.connect("memory://")
    lab = set_up_lab(core)
    tps_lab = set_up_lab(core, "TPS")
    case_id = lab.ready_case()
    core.invite_collaborator(lab.doctor, case_id, tps_lab.planner, [P.EDIT_SETUP])
    assert case_id not in {c.case_id for c in core.list_cases(tps_lab.planner).items}
    core.respond_to_invitation(tps_lab.planner, case_id, accept=True)
    listed = {c.case_id for c in core.list_cases(tps_lab.planner).items}
    assert case_id in listed
    assert core.dashboard(tps_lab.planner).total == 1
    # their own network's staff do not see it
    assert case_id not in {c.case_id for c in core.list_cases(tps_lab.production).items}
