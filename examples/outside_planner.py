"""An outside planning service (OrthoTPS over a collaborator suite), end to end.

A doctor invites the service by its e-mail address (its account lives in another
network; a second service without an account gets a link to create one), the service
accepts and sees that case only, designs the setup, the
doctor reads how the plan departs from the request before approving, and the
service stays on the refinement that follows. Prints the case's timeline.
"""

from __future__ import annotations

import sys
from datetime import timedelta

import attrs

import aligner_core
from aligner_core.cli.demo import print_timeline
from aligner_core.domain.accounts import CollaboratorPermission as P
from aligner_core.domain.accounts import Role
from aligner_core.domain.actions import Action
from aligner_core.domain.events import EventType
from aligner_core.domain.orders import RefinementOrder
from aligner_core.domain.prescriptions import TreatmentRequest
from aligner_core.testing.factories import plan_summary, registration, set_up_lab


def main() -> int:
    core = aligner_core.connect("memory://")
    lab = set_up_lab(core, "SMILE-LAB")
    service = set_up_lab(core, "ORTHO-TPS")  # the planning service's own network
    tps = service.add(Role.DOCTOR, "ortho.tps")
    tps_email = next(a.email for a in core.list_accounts(service.admin) if a.account_id == tps)
    names = {lab.doctor: "doctor", tps: "ortho.tps", lab.production: "production"}

    def later(hours: int) -> None:  # the in-memory core runs on a manual clock
        advance = getattr(core.clock, "advance", None)
        if advance is not None:
            advance(timedelta(hours=hours))

    case_id = lab.ready_case()
    core.update_draft(lab.doctor, case_id, request=TreatmentRequest(step_limit=20))
    core.submit(lab.doctor, case_id)
    another = lab.ready_case(last_name="Other")
    core.submit(lab.doctor, another)

    later(2)
    core.invite_by_email(lab.doctor, case_id, tps_email, [P.VIEW_DETAILS, P.COMMENT, P.EDIT_SETUP])
    later(5)
    core.respond_to_invitation(tps, case_id, accept=True)
    visible = [s.number for s in core.list_cases(tps).items]
    print(f"ortho.tps accepted by e-mail invitation and sees cases {visible} only")

    # a second service has no account yet: the invitation's e-mail carries a link to make one
    core.invite_by_email(lab.doctor, case_id, "tps@smile-design.example", [P.VIEW_DETAILS])
    with core.storage.unit_of_work() as uow:
        mail = next(e for e in uow.outbox.pending() if e.event.type is EventType.INVITATION_EMAILED)
    token = mail.event.get("token") or ""
    print(
        f"an invitation goes to {mail.recipient_email}: {core.links.invitation_url(token)[:48]}..."
    )
    guest = core.accept_invitation(
        token, attrs.evolve(registration("smile.design"), email="tps@smile-design.example")
    )
    names[guest.account_id] = "smile.design"
    seen = core.list_cases(guest.account_id).total
    print(f"smile.design made its account by the link and sees {seen} case")

    later(1)
    core.comment(lab.doctor, case_id, "Please keep the upper incisors' torque.")
    with core.storage.unit_of_work() as uow:
        told = {
            e.recipient_id for e in uow.outbox.pending() if e.event.type is EventType.COMMENT_ADDED
        }
    print(f"the doctor's comment is queued for ortho.tps: {tps in told}")

    later(48)
    core.upload_plan(tps, case_id, plan_summary(24, 20))
    core.comment(tps, case_id, "Setup v1 ready: 24 upper steps for the torque you asked.")
    approve = next(
        o for o in core.available_actions(lab.doctor, case_id) if o.action is Action.ACCEPT_PLAN
    )
    for warning in approve.warnings:
        print(f"before approving, the doctor reads: {warning}")
    later(20)
    core.accept_plan(lab.doctor, case_id, 1)
    later(96)
    core.ship(lab.production, case_id, carrier="DHL", tracking_number="JD0142")

    later(24 * 90)
    refinement = core.order_follow_up(lab.doctor, case_id, RefinementOrder(best_fitting_aligner=22))
    still = core.get_case(tps, refinement.case_id).case
    print(f"refinement {still.number}: ortho.tps is still a collaborator and sees it")

    print()
    print_timeline(core, lab.doctor, case_id, print, names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
