"""A runnable tour of the library: one full case lifecycle, as a lab would see it.

Read it as an example: every step is a public command of the service. Run it
with ``aligner-core demo`` (or ``python examples/full_case_lifecycle.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO
from uuid import UUID

import attrs

from aligner_core.bootstrap import Core
from aligner_core.domain.accounts import Role
from aligner_core.domain.cases import Case, CaseKind
from aligner_core.domain.orders import (
    LingualRange,
    RefinementOrder,
    ReplacementOrder,
    ReplacementReason,
    RetainerOrder,
    RetainerType,
)
from aligner_core.domain.plans import IprContact, PlanStep, PlanSummary
from aligner_core.domain.prescriptions import (
    Adjustment,
    Arches,
    Choice,
    Pontic,
    Shade,
    TreatmentRequest,
    TreatmentScope,
    WearSchedule,
)
from aligner_core.domain.records import FileKind, ImpressionType
from aligner_core.domain.teeth import Tooth, ToothState
from aligner_core.testing.factories import address, arch_stl, patient_details, registration

__all__ = ["run_full_lifecycle"]


def _plan_steps(count: int, ipr_at: int) -> tuple[PlanStep, ...]:
    """A per-step schedule: IPR before step ``ipr_at``, attachments at step 1, checkpoints."""
    t = Tooth.from_palmer
    steps = []
    for n in range(1, count + 1):
        steps.append(
            PlanStep(
                number=n,
                ipr=(IprContact(t("UR1"), t("UL1"), 0.2),) if n == ipr_at else (),
                attachments_placed=(t("UR3"), t("UL3"), t("LR4"), t("LL4")) if n == 1 else (),
                checkpoint=n % 10 == 0,
            )
        )
    return tuple(steps)


def run_full_lifecycle(core: Core, out: TextIO = sys.stdout) -> Case:
    """Registration to remake: prints each step and the case's timeline; returns the case."""

    def say(text: str) -> None:
        print(text, file=out)

    # 1. The lab sets up its network; a practice registers with the reference code.
    network, admin = core.create_network(
        "Bright Aligners Lab", "BRIGHT-2026", registration("lab.admin")
    )
    say(f"network {network.name!r}: reference code {network.reference_code}")
    staff: dict[str, UUID] = {}
    for role, name in ((Role.PLANNER, "planner.anna"), (Role.PRODUCTION, "production.ben")):
        account = core.register(registration(name, reference_code=network.reference_code), role)
        core.activate(admin.account_id, account.account_id)
        staff[name] = account.account_id
    doctor = core.register(
        registration("dr.smile", reference_code=network.reference_code, clinic="Smile Dental")
    )
    say(f"registered {doctor.username!r}: {doctor.status.value} until an admin activates it")
    core.activate(admin.account_id, doctor.account_id)
    say(f"activated {doctor.username!r}")
    dr, planner, production = doctor.account_id, staff["planner.anna"], staff["production.ben"]
    for practice, city in (("Smile Dental Mitte", "Berlin"), ("Smile Dental Nord", "Hamburg")):
        core.add_practice(dr, dr, practice, attrs.evolve(address(), city=city))
    north = core.get_account(dr, dr).practices[-1]
    products = ", ".join(p.name for p in core.catalogue(dr).products)
    say(f"two treating practices; the lab's products: {products}")

    # 2. A draft with the treatment request and the tooth chart.
    request = TreatmentRequest(
        arches=Arches.BOTH,
        scope=TreatmentScope.FULL_7_7,
        overjet=Adjustment.IMPROVE,
        midline=Adjustment.IMPROVE,
        ipr=Choice.YES,
        attachments=Choice.AS_RECOMMENDED,
        wear_schedule=WearSchedule.DAYS_14,
        pontics=(Pontic(Tooth.from_palmer("LL5"), Shade.A2),),
        teeth_not_to_move=(Tooth.from_fdi(17),),
        chief_complaint="crowding of the lower incisors",
    )
    case = core.create_case(
        dr,
        CaseKind.TREATMENT,
        patient_details("Example", "Pat"),
        request=request,
        impression_type=ImpressionType.INTRAORAL_SCAN,
        practice_id=north.practice_id,
    )
    cid = case.case_id
    say(f"{case.reference}: draft of {case.product!r}, ships to {north.name}")
    core.set_tooth_states(
        dr, cid, {Tooth.from_palmer("LL5"): ToothState.MISSING, 36: ToothState.CROWN}
    )

    # 3. Records: both scans (content-checked STL) and the two confirmations.
    core.attach_file(dr, cid, FileKind.UPPER_SCAN, arch_stl(), "upper arch.stl")
    core.attach_file(dr, cid, FileKind.LOWER_SCAN, arch_stl(rows=10), "lower arch.stl")
    mesh = core.get_case(dr, cid).case.records.latest(FileKind.UPPER_SCAN)
    if mesh is not None and mesh.report.mesh is not None:
        m = mesh.report.mesh
        say(
            f"upper scan: {m.triangles} triangles, {m.size_mm[0]:.0f} x {m.size_mm[1]:.0f} mm, "
            f"{m.plausibility.value}"
        )
    print_blockers(core, dr, cid, say)
    core.confirm(dr, cid, complete=True, privacy=True)
    case = core.submit(dr, cid)
    say(f"{case.reference}: submitted -> {case.status.value}, plan due {_due(case)}")
    core.take_case(planner, cid)
    case = core.request_records(
        planner, cid, [FileKind.BITE_SCAN], "the bite is open on the left: please add a bite scan"
    )
    say(f"{case.reference}: taken by the planner, bite scan requested -> {case.status.value}")
    case = core.attach_file(dr, cid, FileKind.BITE_SCAN, arch_stl(rows=6), "bite.stl")
    say(f"{case.reference}: bite scan uploaded -> {case.status.value}, plan due {_due(case)}")

    # 4. Planning: version 1, a modification, version 2, approval.
    core.upload_plan(
        planner, cid, PlanSummary(20, 18, 0.2, 4, WearSchedule.DAYS_14), steps=_plan_steps(20, 5)
    )
    case = core.request_modification(dr, cid, "please add IPR between the lower incisors")
    say(f"{case.reference}: modification requested -> {case.status.value}, due {_due(case)}")
    case = core.upload_plan(
        planner,
        cid,
        PlanSummary(22, 22, 0.2, 4, WearSchedule.DAYS_14),
        steps=_plan_steps(22, 6),
        simulation_url="https://viewer.example/plan/2",
    )
    token = core.share_plan(dr, cid, 2)
    shared = core.resolve_share(token)
    say(f"share link shows case {shared.case_number}, plan v{shared.plan.number} (no patient data)")
    case = core.accept_plan(dr, cid, 2)
    say(f"{case.reference}: plan v2 accepted -> {case.status.value}")
    core.assign_case(admin.account_id, cid, production)
    core.comment(production, cid, "aligners 1-11 go out first")
    core.comment(dr, cid, "thank you")

    # 5. Production and shipping in two phases.
    core.ship(production, cid, carrier="DHL", tracking_number="JD0146000031", final=False)
    case = core.ship(production, cid, carrier="DHL", tracking_number="JD0146000032")
    say(f"{case.reference}: shipped in {case.shipped_phases} phases")
    core.confirm_delivery(dr, cid)

    # 6. Follow-up orders: refinement, retainer, remake.
    refinement = core.order_follow_up(
        dr, cid, RefinementOrder(keep_attachments=True, best_fitting_aligner=18)
    )
    core.attach_file(dr, refinement.case_id, FileKind.UPPER_SCAN, arch_stl(), "upper-r1.stl")
    core.attach_file(dr, refinement.case_id, FileKind.LOWER_SCAN, arch_stl(), "lower-r1.stl")
    core.confirm(dr, refinement.case_id, complete=True, privacy=True)
    refinement = core.submit(dr, refinement.case_id)
    say(f"{refinement.reference}: refinement -> {refinement.status.value}")

    retainer = core.order_follow_up(
        dr, cid, RetainerOrder(RetainerType.FIXED_LINGUAL, lower_range=LingualRange.R3_3)
    )
    say(f"{retainer.reference}: fixed retainer draft; submitting it without scans is refused:")
    print_blockers(core, dr, retainer.case_id, say)

    remake = core.order_follow_up(
        dr,
        cid,
        ReplacementOrder(
            upper="12",
            current_aligner=12,
            reason=ReplacementReason.BROKEN,
            not_quality_complaint=True,
        ),
    )
    core.confirm(dr, remake.case_id, complete=True, privacy=True)
    remake = core.submit(dr, remake.case_id)
    remake = core.accept_order(production, remake.case_id)
    say(f"{remake.reference}: remake of step 12 -> {remake.status.value}")

    case = core.close(dr, cid)
    say(f"{case.reference}: treatment finished -> {case.status.value}")
    board = core.dashboard(dr)
    say("dashboard: " + ", ".join(f"{s.value} {n}" for s, n in sorted(board.counts.items())))
    names = {
        admin.account_id: "admin",
        dr: "dr.smile",
        planner: "planner",
        production: "production",
    }
    print_timeline(core, dr, cid, say, names)
    return case


def _due(case: Case) -> str:
    return case.deadline.due.isoformat() if case.deadline else "-"


def print_blockers(core: Core, actor: UUID, case_id: UUID, say: Callable[[str], None]) -> None:
    from aligner_core.domain.actions import Action

    for reason in core.blockers(actor, case_id, Action.SUBMIT):
        say(f"  cannot submit yet: {reason}")


def print_timeline(
    core: Core,
    actor: UUID,
    case_id: UUID,
    say: Callable[[str], None],
    names: dict[UUID, str] | None = None,
) -> None:
    """The case's history, one line per event, as a shell would show it."""
    detail = core.get_case(actor, case_id)
    say(f"timeline of {detail.case.reference}:")
    for entry in detail.timeline:
        who = (names or {}).get(entry.actor_id, str(entry.actor_id)[:8])
        change = (
            entry.to_status.value
            if entry.from_status is None
            else f"{entry.from_status.value} -> {entry.to_status.value}"
        )
        known = {str(k): v for k, v in (names or {}).items()}  # account ids read as names
        extra = ", ".join(
            f"{k}={known.get(v, v)}"
            for k, v in entry.details
            if k not in ("sha256", "comment", "share")
        )
        say(f"  {entry.at:%Y-%m-%d %H:%M:%S}  {who:<10} {entry.action:<20} {change:<42} {extra}")
