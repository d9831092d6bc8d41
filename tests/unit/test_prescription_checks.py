"""Prescription checks: pontics fill gaps; a plan's departures from its request are warnings."""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from aligner_core import ui
from aligner_core.bootstrap import Core
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import CaseStatus
from aligner_core.domain.plans import IprContact, PlanStep, PlanVersion
from aligner_core.domain.prescription_checks import plan_warnings
from aligner_core.domain.prescriptions import Pontic, Shade, TreatmentRequest, WearSchedule
from aligner_core.domain.records import FileKind
from aligner_core.domain.teeth import Tooth, ToothState
from aligner_core.errors import InvalidTransitionError
from aligner_core.testing.factories import Lab, arch_stl, plan_summary


def test_a_pontic_needs_a_gap_in_the_chart_or_an_extraction(core: Core, lab: Lab) -> None:
    case_id = lab.ready_case()
    request = TreatmentRequest(pontics=(Pontic(Tooth(12), Shade.A2), Pontic(Tooth(22))))
    core.update_draft(lab.doctor, case_id, request=request)
    with pytest.raises(InvalidTransitionError) as info:
        core.submit(lab.doctor, case_id)
    found = [(r.code, r.params, r.path) for r in info.value.reasons]
    assert found == [
        ("pontic_on_present_tooth", {"tooth": 12}, "$.pontics[0]"),
        ("pontic_on_present_tooth", {"tooth": 22}, "$.pontics[1]"),
    ]
    core.set_tooth_states(lab.doctor, case_id, {12: ToothState.MISSING})
    extracted = TreatmentRequest(pontics=request.pontics, teeth_to_extract=(Tooth(22),))
    core.update_draft(lab.doctor, case_id, request=extracted)
    assert core.submit(lab.doctor, case_id).status is CaseStatus.IN_PLANNING


def test_each_departure_of_the_plan_from_the_request_is_a_warning() -> None:
    request = TreatmentRequest(
        step_limit=10,
        wear_schedule=WearSchedule.DAYS_7,
        teeth_not_to_move=(Tooth(13), Tooth(31)),
        teeth_without_attachments=(Tooth(23),),
    )
    summary = plan_summary(upper=12, lower=3, ipr=0.2, attachments=3)
    steps = [PlanStep(n) for n in range(1, 13)]
    steps[0] = PlanStep(1, attachments_placed=(Tooth(23), Tooth(31), Tooth(44)))
    steps[2] = PlanStep(3, ipr=(IprContact(Tooth(13), Tooth(12), 0.2),))
    plan = PlanVersion(1, datetime.now(UTC), uuid4(), summary, tuple(steps))
    warnings = plan_warnings(request, plan)
    assert [(w.code, w.params) for w in warnings] == [
        ("plan_past_step_limit", {"steps": 12, "limit": 10}),
        ("plan_wear_schedule", {"plan": 14, "request": 7}),
        ("plan_ipr_on_kept_tooth", {"tooth": 13}),
        ("plan_attachment_on_excluded_tooth", {"tooth": 23}),
        ("plan_attachment_on_kept_tooth", {"tooth": 31}),
    ]
    assert {w.kind for w in warnings} == {"warning"}
    assert str(warnings[0]) == "the plan has 12 steps; the request limits it to 10"
    faithful = TreatmentRequest(wear_schedule=WearSchedule.DAYS_14)
    assert plan_warnings(faithful, plan) == ()
    assert plan_warnings(None, plan) == ()


def test_the_doctor_sees_the_warnings_before_accepting(core: Core, lab: Lab) -> None:
    case_id = lab.ready_case()
    core.update_draft(lab.doctor, case_id, request=TreatmentRequest(step_limit=15))
    core.submit(lab.doctor, case_id)
    core.upload_plan(lab.planner, case_id, plan_summary(upper=20, lower=18))
    options = {o.action: o for o in core.available_actions(lab.doctor, case_id)}
    accept = options[Action.ACCEPT_PLAN]
    assert [w.code for w in accept.warnings] == ["plan_past_step_limit"]
    assert accept.available  # a warning never blocks
    assert all(not o.warnings for a, o in options.items() if a is not Action.ACCEPT_PLAN)
    detail = core.get_case(lab.doctor, case_id)
    assert detail.plan_warnings == accept.warnings
    core.accept_plan(lab.doctor, case_id, 1)


def test_the_approve_button_asks_twice_and_lists_the_warnings(core: Core, lab: Lab) -> None:
    case_id = lab.ready_case()
    core.update_draft(lab.doctor, case_id, request=TreatmentRequest(step_limit=15))
    core.submit(lab.doctor, case_id)
    core.upload_plan(lab.planner, case_id, plan_summary(upper=20, lower=18))
    case = core.get_case(lab.doctor, case_id).case
    options = core.available_actions(lab.doctor, case_id)
    buttons = {b.action: b for b in ui.buttons(options, case=case)}
    approve = buttons[Action.ACCEPT_PLAN]
    assert approve.confirm and approve.warnings == (
        "the plan has 20 steps; the request limits it to 15",
    )
    german = {b.action: b for b in ui.buttons(options, case=case, language="de")}
    assert german[Action.ACCEPT_PLAN].warnings == (
        "der Plan hat 20 Stufen; die Verordnung begrenzt auf 15",
    )


def _scaled(stl: bytes, factor: float) -> bytes:
    """A binary STL with every vertex multiplied by ``factor`` (an export in other units)."""
    count = struct.unpack("<I", stl[80:84])[0]
    out = bytearray(stl[:84])
    for i in range(count):
        at = 84 + 50 * i
        values = struct.unpack("<12f", stl[at : at + 48])
        out += struct.pack("<12f", *values[:3], *(v * factor for v in values[3:]))
        out += stl[at + 48 : at + 50]
    return bytes(out)


def test_a_scan_that_looks_like_inches_is_a_warning_before_submission(core: Core, lab: Lab) -> None:
    case_id = lab.ready_case()

    def submit_warnings() -> list[str]:
        options = core.available_actions(lab.doctor, case_id)
        submit = next(o for o in options if o.action is Action.SUBMIT)
        return [ui.message(w, "de") for w in submit.warnings]

    assert submit_warnings() == []
    inches = _scaled(arch_stl(), 1 / 25.4)
    core.attach_file(lab.doctor, case_id, FileKind.LOWER_SCAN, inches, "lower-inch.stl")
    assert submit_warnings() == [
        "Unterkiefer-Scan in falschen Einheiten: Wirkt wie Zoll statt Millimeter"
    ]
    warning = next(o for o in core.available_actions(lab.doctor, case_id) if o.warnings).warnings
    assert [(w.code, w.kind, w.params) for w in warning] == [
        ("scan_units", "warning", {"kind": "lower_scan", "verdict": "looks_like_inches"})
    ]
    assert core.submit(lab.doctor, case_id).status is CaseStatus.IN_PLANNING  # not a refusal
