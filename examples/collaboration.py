"""Collaboration: a doctor invites an outside treatment-planning service to one case.

The collaborator (for example a planning service such as OrthoTPS) may view the
case, comment and edit the setup, but only the primary doctor approves a plan.
"""

from __future__ import annotations

import sys

import aligner_core
from aligner_core.domain.accounts import CollaboratorPermission, Role
from aligner_core.errors import PermissionDeniedError
from aligner_core.testing.factories import plan_summary, set_up_lab


def main() -> int:
    core = aligner_core.connect("memory://")
    lab = set_up_lab(core, "COLLAB-LAB")
    planning_service = set_up_lab(core, "TPS-NET")
    tps = planning_service.add(Role.DOCTOR, "ortho.tps")
    case_id = lab.ready_case()
    core.submit(lab.doctor, case_id)

    core.invite_collaborator(
        lab.doctor,
        case_id,
        tps,
        [
            CollaboratorPermission.VIEW_DETAILS,
            CollaboratorPermission.COMMENT,
            CollaboratorPermission.EDIT_SETUP,
        ],
    )
    print("invited ortho.tps with view, comment and edit-setup permissions")
    core.respond_to_invitation(tps, case_id, accept=True)
    print("ortho.tps accepted; the doctor is told")

    core.upload_plan(tps, case_id, plan_summary(24, 20))
    core.comment(tps, case_id, "setup v1 ready: please review the lower midline")
    print("ortho.tps uploaded plan v1 and commented")
    try:
        core.accept_plan(tps, case_id, 1)
    except PermissionDeniedError as e:
        print(f"ortho.tps may not approve: {e.reason}")
    case = core.accept_plan(lab.doctor, case_id, 1)
    print(f"{case.reference}: the primary doctor approved v1 -> {case.status.value}")
    print("ortho.tps can now:", sorted(a.value for a in core.allowed_actions(tps, case_id)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
