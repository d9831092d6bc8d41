"""Every workflow of the seeds, end to end on the memory and the SQLite storage."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import attrs
import pytest

from aligner_core import connect
from aligner_core.bootstrap import Core
from aligner_core.clock import ManualClock
from aligner_core.domain.accounts import AccountStatus, CollaboratorPermission, Role
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import Case, CaseKind, CaseStatus
from aligner_core.domain.events import EventType
from aligner_core.domain.orders import (
    LingualRange,
    RefinementOrder,
    ReplacementOrder,
    ReplacementReason,
    RetainerOrder,
    RetainerType,
    RevisionOrder,
)
from aligner_core.domain.patients import PatientDetails
from aligner_core.domain.prescriptions import Arches, Design, TreatmentRequest
from aligner_core.domain.queries import CaseFilter, NameMatch, SortKey
from aligner_core.domain.records import FileKind, ImpressionType
from aligner_core.domain.teeth import Tooth, ToothState
from aligner_core.errors import (
    ConcurrencyConflictError,
    InvalidTransitionError,
    NotFoundError,
    RejectedFileError,
    ValidationError,
)
from aligner_core.testing.contracts.files import pdf_bytes
from aligner_core.testing.factories import (
    Lab,
    arch_stl,
    patient_details,
    plan_summary,
    registration,
    set_up_lab,
)

S = CaseStatus
P = CollaboratorPermission
PDF = pdf_bytes()  # a well-formed PDF (the content checks parse it)


@pytest.fixture(params=["memory", "sqlite"])
def core(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Core]:
    """A core on the in-memory storage, then on an SQLite file, both on a manual clock."""
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'cases.db'}"
    with connect(url, clock=ManualClock()) as c:
        yield c


@pytest.fixture
def lab(core: Core) -> Lab:
    return set_up_lab(core, "LAB-1")


def stored(core: Core, case_id: UUID) -> Case:
    with core.storage.unit_of_work() as uow:
        return uow.cases.get(case_id)


def outbox(core: Core, event: EventType | None = None) -> list[Any]:
    with core.storage.unit_of_work() as uow:
        entries = list(uow.outbox.pending())
    return [e for e in entries if event is None or e.event.type is event]


def refused(fn: Any, *args: Any, **kwargs: Any) -> InvalidTransitionError:
    with pytest.raises(InvalidTransitionError) as info:
        fn(*args, **kwargs)
    return info.value


def clock(core: Core) -> ManualClock:
    assert isinstance(core.clock, ManualClock)
    return core.clock


def waiting(core: Core, lab: Lab, **kw: Any) -> UUID:
    case_id = lab.ready_case(**kw)
    core.submit(lab.doctor, case_id)
    core.upload_plan(lab.planner, case_id, plan_summary())
    return case_id


def shipped(core: Core, lab: Lab) -> UUID:
    case_id = waiting(core, lab)
    core.accept_plan(lab.doctor, case_id, 1)
    core.ship(lab.production, case_id, carrier="DHL", tracking_number="JD1")
    return case_id


def attach_scans(core: Core, doctor: UUID, case_id: UUID) -> Case:
    core.attach_file(doctor, case_id, FileKind.UPPER_SCAN, arch_stl(), "upper.stl")
    return core.attach_file(doctor, case_id, FileKind.LOWER_SCAN, arch_stl(), "lower.stl")


# -- registration ---------------------------------------------------------------------------
def test_registration_with_a_reference_code_then_activation(core: Core, lab: Lab) -> None:
    account = core.register(registration("new doctor", reference_code="lab-1"))
    assert account.status is AccountStatus.BLOCKED
    assert account.network_id == lab.network.network_id
    assert account.role is Role.DOCTOR
    with pytest.raises(Exception) as info:
        core.list_cases(account.account_id)
    assert getattr(info.value, "reason", None) == "account is blocked"
    active = core.activate(lab.admin, account.account_id)
    assert active.status is AccountStatus.ACTIVE
    assert active.version == account.version + 1
    told = outbox(core, EventType.ACCOUNT_ACTIVATED)
    assert account.account_id in {e.recipient_id for e in told}
    assert core.list_cases(account.account_id).total == 0


def test_registration_without_a_reference_code_joins_the_default_network() -> None:
    with connect("memory://", default_reference_code="HOME-1") as core:
        home = set_up_lab(core, "HOME-1")
        account = core.register(registration())
        assert account.network_id == home.network.network_id
        assert account.status is AccountStatus.BLOCKED


def test_registration_without_any_reference_code_is_refused(core: Core, lab: Lab) -> None:
    with pytest.raises(ValidationError) as info:
        core.register(registration())
    assert info.value.paths == ["$.reference_code"]
    assert "a reference code is needed" in info.value.messages[0]


def test_registration_with_an_unknown_code_or_as_admin_is_refused(core: Core, lab: Lab) -> None:
    with pytest.raises(ValidationError) as info:
        core.register(registration(reference_code="NOPE-9"))
    assert info.value.messages == ["unknown reference code @ $.reference_code"]
    with pytest.raises(ValidationError) as info:
        core.register(registration(reference_code="LAB-1"), Role.ADMIN)
    assert info.value.paths == ["$.role"]


# -- drafts --------------------------------------------------------------------------------
def test_draft_create_edit_delete(core: Core, lab: Lab) -> None:
    case = core.create_case(lab.doctor, CaseKind.TREATMENT, patient_details("Doe"))
    assert case.status is S.DRAFT
    assert case.version == 1
    assert [h.action for h in case.history] == ["create"]
    edited = core.update_draft(
        lab.doctor,
        case.case_id,
        patient=patient_details("Smith", "John"),
        request=TreatmentRequest(design=Design.EXPRESS),
    )
    assert edited.patient.full_name == "John Smith"
    assert edited.patient.patient_id == case.patient.patient_id
    assert edited.request is not None
    assert edited.request.design is Design.EXPRESS
    assert edited.version == 2
    assert edited.history[-1].detail("fields") == "patient,request"
    assert core.dashboard(lab.doctor)[S.DRAFT] == 1

    core.delete_draft(lab.doctor, case.case_id)
    assert core.list_cases(lab.doctor).total == 0
    assert core.list_cases(lab.admin).total == 0
    assert core.dashboard(lab.doctor).total == 0
    assert core.dashboard(lab.planner).total == 0
    for viewer in (lab.doctor, lab.admin):
        with pytest.raises(NotFoundError):
            core.get_case(viewer, case.case_id)
    with pytest.raises(NotFoundError):
        core.get_case_by_number(lab.doctor, case.number)
    with pytest.raises(NotFoundError):
        core.update_draft(lab.doctor, case.case_id, patient=patient_details("X"))


def test_a_submitted_case_cannot_be_edited_or_deleted(core: Core, lab: Lab) -> None:
    case_id = lab.ready_case()
    core.submit(lab.doctor, case_id)
    err = refused(core.update_draft, lab.doctor, case_id, patient=patient_details("X"))
    assert (err.state, err.action, err.reasons) == (
        "in_planning",
        "edit",
        ("not possible in state in_planning",),
    )
    assert refused(core.delete_draft, lab.doctor, case_id).action == "delete"
    assert refused(core.set_tooth_states, lab.doctor, case_id, {11: "crown"}).action == "set_teeth"
    assert (
        refused(core.confirm, lab.doctor, case_id, complete=True, privacy=True).action == "confirm"
    )
    # documents and comments can still be added
    case = core.attach_file(lab.doctor, case_id, FileKind.OTHER, PDF, "referral.pdf")
    assert case.history[-1].action == "add_document"
    added = outbox(core, EventType.DOCUMENT_ADDED)  # the lab acting on it is told
    assert {e.recipient_id for e in added} == {lab.planner}
    assert core.comment(lab.doctor, case_id, "see referral").comments[-1].from_lab is False


def test_patient_last_name_is_mandatory(core: Core, lab: Lab) -> None:
    with pytest.raises(ValidationError):  # refused where the details are made, before any case
        blank = PatientDetails(last_name="  ", gender=patient_details().gender)
        core.create_case(lab.doctor, CaseKind.TREATMENT, blank)
    assert core.list_cases(lab.doctor).total == 0


def test_tooth_chart(core: Core, lab: Lab) -> None:
    case = core.create_case(lab.doctor, CaseKind.TREATMENT, patient_details())
    case = core.set_tooth_states(
        lab.doctor,
        case.case_id,
        {18: "missing", 36: ToothState.CROWN, Tooth.from_palmer("UL1"): "do_not_move"},
    )
    chart = core.get_case(lab.doctor, case.case_id).case.chart
    assert chart.state_of(18) is ToothState.MISSING
    assert chart.state_of(Tooth.from_universal(19)) is ToothState.CROWN
    assert chart.state_of(21) is ToothState.DO_NOT_MOVE
    assert chart.state_of(11) is ToothState.NONE
    assert case.history[-1].detail("teeth") == "3"
    with pytest.raises(ValidationError):
        core.set_tooth_states(lab.doctor, case.case_id, {99: "missing"})
    assert stored(core, case.case_id).version == case.version


# -- records and submission ------------------------------------------------------------------
def test_attach_confirm_submit(core: Core, lab: Lab) -> None:
    case = core.create_case(lab.doctor, CaseKind.TREATMENT, patient_details())
    err = refused(core.submit, lab.doctor, case.case_id)
    assert set(err.reasons) == {
        "completeness confirmation not given",
        "privacy confirmation not given",
        "impression type not chosen (scans or impressions by post)",
    }
    core.update_draft(lab.doctor, case.case_id, impression_type=ImpressionType.INTRAORAL_SCAN)
    err = refused(core.submit, lab.doctor, case.case_id)
    assert set(err.reasons) == {
        "completeness confirmation not given",
        "privacy confirmation not given",
        "upper scan missing",
        "lower scan missing",
    }
    attach_scans(core, lab.doctor, case.case_id)
    core.confirm(lab.doctor, case.case_id, complete=True, privacy=False)
    err = refused(core.submit, lab.doctor, case.case_id)
    assert err.reasons == ("privacy confirmation not given",)
    assert core.blockers(lab.doctor, case.case_id, Action.SUBMIT) == [
        "privacy confirmation not given"
    ]
    core.confirm(lab.doctor, case.case_id, complete=True, privacy=True)
    assert core.blockers(lab.doctor, case.case_id, Action.SUBMIT) == []
    submitted = core.submit(lab.doctor, case.case_id)
    assert submitted.status is S.IN_PLANNING
    assert submitted.submitted_at is not None
    assert submitted.deadline is not None
    assert submitted.deadline.stage == "planning"
    assert submitted.deadline.due == date(2026, 1, 12)  # Mon 5 Jan + 5 business days
    assert {e.recipient_id for e in outbox(core, EventType.CASE_SUBMITTED)} == {lab.planner}
    scans = [
        f for f in submitted.records.files if f.kind in (FileKind.UPPER_SCAN, FileKind.LOWER_SCAN)
    ]
    assert all(f.report.mesh is not None for f in scans)


def test_a_rejected_file_leaves_the_case_unchanged(core: Core, lab: Lab) -> None:
    case = core.create_case(lab.doctor, CaseKind.TREATMENT, patient_details())
    before = stored(core, case.case_id)
    entries = len(outbox(core))
    with pytest.raises(RejectedFileError) as info:
        core.attach_file(lab.doctor, case.case_id, FileKind.UPPER_SCAN, PDF, "upper.stl")
    assert info.value.name == "upper.stl"
    assert any("application/pdf" in r and "model/stl" in r for r in info.value.reasons)
    after = stored(core, case.case_id)
    assert after == before
    assert after.version == before.version
    assert after.records == before.records
    assert len(outbox(core)) == entries


def test_express_design_has_shorter_deadlines(core: Core, lab: Lab) -> None:
    case_id = lab.ready_case()
    core.update_draft(lab.doctor, case_id, request=TreatmentRequest(design=Design.EXPRESS))
    case = core.submit(lab.doctor, case_id)
    assert case.deadline is not None
    assert case.deadline.due == date(2026, 1, 7)  # 2 business days


# -- plans ------------------------------------------------------------------------------------
def test_plan_versions_modification_and_approval(core: Core, lab: Lab) -> None:
    case_id = waiting(core, lab)
    case = stored(core, case_id)
    assert case.status is S.WAITING_FOR_APPROVAL
    assert case.assigned_to == lab.planner
    assert case.deadline is None  # waiting on the doctor: no lab deadline
    assert {e.recipient_id for e in outbox(core, EventType.PLAN_UPLOADED)} == {lab.doctor}

    err = refused(core.request_modification, lab.doctor, case_id, "  ")
    assert err.reasons == ("a reason is required",)
    clock(core).advance(timedelta(days=2))  # Wednesday
    case = core.request_modification(lab.doctor, case_id, "less IPR on 31/41")
    assert case.status is S.IN_PLANNING
    assert case.deadline is not None
    assert case.deadline.stage == "modification"
    assert case.deadline.due == date(2026, 1, 12)  # Wed 7 Jan + 3 business days
    assert case.history[-1].detail("reason") == "less IPR on 31/41"
    assert {e.recipient_id for e in outbox(core, EventType.MODIFICATION_REQUESTED)} == {lab.planner}

    case = core.upload_plan(lab.planner, case_id, plan_summary(ipr=0.3))
    assert [p.number for p in case.plans] == [1, 2]
    err = refused(core.accept_plan, lab.doctor, case_id, 1)
    assert err.reasons == ("plan version 1 is superseded by version 2",)
    err = refused(core.accept_plan, lab.doctor, case_id, 3)
    assert err.reasons == ("plan version 3 does not exist",)
    case = core.accept_plan(lab.doctor, case_id, 2)
    assert case.status is S.IN_PRODUCTION
    assert case.accepted_at is not None
    assert case.deadline is not None
    assert case.deadline.stage == "production"
    assert case.history[-1].detail("plan_version") == "2"
    told = {e.recipient_id for e in outbox(core, EventType.PLAN_ACCEPTED)}
    assert told == {lab.planner, lab.production}


def test_reject_then_modify(core: Core, lab: Lab) -> None:
    case_id = waiting(core, lab)
    assert refused(core.reject_plan, lab.doctor, case_id, "").reasons == ("a reason is required",)
    case = core.reject_plan(lab.doctor, case_id, "too long")
    assert case.status is S.PLAN_REJECTED
    assert refused(core.accept_plan, lab.doctor, case_id, 1).state == "plan_rejected"
    case = core.request_modification(lab.doctor, case_id, "shorter please")
    assert case.status is S.IN_PLANNING
    assert case.deadline is not None
    assert case.deadline.stage == "modification"


def test_upload_refused_outside_planning(core: Core, lab: Lab) -> None:
    case_id = waiting(core, lab)
    err = refused(core.upload_plan, lab.planner, case_id, plan_summary())
    assert err.reasons == ("not possible in state waiting_for_approval",)


# -- shipping, delivery, close, reopen -----------------------------------------------------
def test_ship_in_phases_confirm_delivery_close_reopen(core: Core, lab: Lab) -> None:
    case_id = waiting(core, lab)
    core.accept_plan(lab.doctor, case_id, 1)
    err = refused(core.ship, lab.production, case_id, carrier=" ", tracking_number="")
    assert set(err.reasons) == {"carrier missing", "tracking number missing"}
    case = core.ship(lab.production, case_id, carrier="DHL", tracking_number="P1", final=False)
    assert case.status is S.IN_PRODUCTION
    assert [(s.phase, s.final) for s in case.shipments] == [(1, False)]
    case = core.ship(lab.production, case_id, carrier="UPS", tracking_number="P2")
    assert case.status is S.SHIPPED
    assert [(s.phase, s.final, s.tracking_number) for s in case.shipments] == [
        (1, False, "P1"),
        (2, True, "P2"),
    ]
    assert len(outbox(core, EventType.CASE_SHIPPED)) == 2
    assert (
        refused(core.ship, lab.production, case_id, carrier="DHL", tracking_number="x").state
        == "shipped"
    )

    first = case.shipments[0].shipment_id
    case = core.confirm_delivery(lab.doctor, case_id, first)
    assert case.shipments[0].delivered_at is not None
    assert case.shipments[1].delivered_at is None
    case = core.confirm_delivery(lab.doctor, case_id)
    assert all(s.delivered_at for s in case.shipments)
    assert refused(core.confirm_delivery, lab.doctor, case_id).reasons == (
        "no undelivered shipment",
    )

    assert core.close(lab.doctor, case_id).status is S.CLOSED
    assert refused(core.close, lab.doctor, case_id).reasons == ("not possible in state closed",)
    assert core.reopen(lab.admin, case_id).status is S.SHIPPED
    assert core.close(lab.admin, case_id).status is S.CLOSED
    history = stored(core, case_id).history
    assert [h.action for h in history[-3:]] == ["close", "reopen", "close"]


# -- follow-up orders ----------------------------------------------------------------------
def test_refinement_needs_a_shipped_or_closed_parent_and_new_scans(core: Core, lab: Lab) -> None:
    parent = waiting(core, lab)
    core.accept_plan(lab.doctor, parent, 1)
    err = refused(core.order_follow_up, lab.doctor, parent, RefinementOrder())
    assert err.reasons == ("a refinement needs this case shipped or closed, not in_production",)
    core.ship(lab.production, parent, carrier="DHL", tracking_number="1")
    core.close(lab.doctor, parent)
    draft = core.order_follow_up(lab.doctor, parent, RefinementOrder(keep_attachments=False))
    assert draft.kind is CaseKind.REFINEMENT
    assert draft.parent_id == parent
    assert draft.patient == stored(core, parent).patient
    assert draft.records.files == ()
    assert stored(core, parent).history[-1].action == "order_follow_up"
    core.confirm(lab.doctor, draft.case_id, complete=True, privacy=True)
    err = refused(core.submit, lab.doctor, draft.case_id)
    assert set(err.reasons) == {"upper scan missing", "lower scan missing"}
    attach_scans(core, lab.doctor, draft.case_id)
    case = core.submit(lab.doctor, draft.case_id)
    assert case.status is S.IN_PLANNING
    case = core.upload_plan(lab.planner, draft.case_id, plan_summary(upper=8, lower=6))
    assert core.accept_plan(lab.doctor, draft.case_id, 1).status is S.IN_PRODUCTION


def test_removable_retainer_on_a_model_step_needs_no_scans(core: Core, lab: Lab) -> None:
    parent = shipped(core, lab)
    order = RetainerOrder(RetainerType.REMOVABLE, sets=2, model_step=18)  # both arches have 18
    draft = core.order_follow_up(lab.doctor, parent, order)
    assert draft.kind is CaseKind.RETAINER
    core.confirm(lab.doctor, draft.case_id, complete=True, privacy=True)
    assert core.submit(lab.doctor, draft.case_id).status is S.IN_PRODUCTION


def test_fixed_retainer_needs_new_scans(core: Core, lab: Lab) -> None:
    parent = shipped(core, lab)
    order = RetainerOrder(
        RetainerType.FIXED_LINGUAL, upper_range=LingualRange.R3_3, lower_range=LingualRange.R4_4
    )
    draft = core.order_follow_up(lab.doctor, parent, order)
    core.confirm(lab.doctor, draft.case_id, complete=True, privacy=True)
    err = refused(core.submit, lab.doctor, draft.case_id)
    assert set(err.reasons) == {"upper scan missing", "lower scan missing"}
    attach_scans(core, lab.doctor, draft.case_id)
    assert core.submit(lab.doctor, draft.case_id).status is S.IN_PRODUCTION
    with pytest.raises(ValidationError) as info:
        RetainerOrder(RetainerType.FIXED_LINGUAL, upper_range=LingualRange.R3_3, model_step=3)
    assert "$.model_step" in info.value.paths


def test_retainer_for_a_new_patient_needs_records(core: Core, lab: Lab) -> None:
    # a model step names nothing without a parent plan: the lab needs scans to make it
    order = RetainerOrder(RetainerType.REMOVABLE, model_step=1)
    case = core.create_case(
        lab.doctor,
        CaseKind.RETAINER,
        patient_details(),
        order=order,
        impression_type=ImpressionType.DESKTOP_SCAN,
    )
    core.confirm(lab.doctor, case.case_id, complete=True, privacy=True)
    err = refused(core.submit, lab.doctor, case.case_id)
    assert set(err.reasons) == {"upper scan missing", "lower scan missing"}
    attach_scans(core, lab.doctor, case.case_id)
    assert core.submit(lab.doctor, case.case_id).status is S.IN_PRODUCTION


def test_follow_ups_name_steps_of_the_parent_plan_per_arch(core: Core, lab: Lab) -> None:
    parent = shipped(core, lab)  # accepted plan: 20 upper steps, 18 lower
    beyond = ReplacementOrder(20, ReplacementReason.LOST, upper="3, 25-30")
    err = refused(core.order_follow_up, lab.doctor, parent, beyond)
    assert [(r.code, r.path) for r in err.reasons] == [("step_outside_plan", "$.order.upper")]
    assert err.reasons[0].params == {"step": 25, "arch": "upper", "steps": 20}
    assert err.http_status == 422  # only the given order does not fit
    # each arch against its own steps: 19 is within the upper 20, past the lower 18
    lower = ReplacementOrder(17, ReplacementReason.BROKEN, upper="17-19", lower="17, 19")
    err = refused(core.order_follow_up, lab.doctor, parent, lower)
    assert [(r.path, r.params) for r in err.reasons] == [
        ("$.order.lower", {"step": 19, "arch": "lower", "steps": 18})
    ]
    both = ReplacementOrder(17, ReplacementReason.BROKEN, upper="21", lower="2, 30")
    err = refused(core.order_follow_up, lab.doctor, parent, both)
    assert [(r.path, r.params["step"]) for r in err.reasons] == [
        ("$.order.upper", 21),
        ("$.order.lower", 30),
    ]
    model = RetainerOrder(RetainerType.REMOVABLE, model_step=99)
    err = refused(core.order_follow_up, lab.doctor, parent, model)
    assert [r.code for r in err.reasons] == ["step_outside_plan"]
    upper_only = RetainerOrder(RetainerType.REMOVABLE, model_step=20, arches=Arches.UPPER)
    assert core.order_follow_up(lab.doctor, parent, upper_only).kind is CaseKind.RETAINER
    within = ReplacementOrder(18, ReplacementReason.BROKEN, upper="18-20", lower="1, 18")
    assert core.order_follow_up(lab.doctor, parent, within).kind is CaseKind.REPLACEMENT


def test_follow_ups_follow_only_the_kinds_they_continue(core: Core, lab: Lab) -> None:
    parent = shipped(core, lab)
    retainer = core.order_follow_up(
        lab.doctor, parent, RetainerOrder(RetainerType.REMOVABLE, model_step=10)
    )
    core.confirm(lab.doctor, retainer.case_id, complete=True, privacy=True)
    core.submit(lab.doctor, retainer.case_id)
    core.ship(lab.production, retainer.case_id, carrier="DHL", tracking_number="JD9")
    err = refused(core.order_follow_up, lab.doctor, retainer.case_id, RefinementOrder())
    assert [(r.code, r.params) for r in err.reasons] == [
        ("follow_up_parent_kind", {"kind": "refinement", "parent": "retainer"})
    ]
    # a retainer of a retainer is a new set; it has no plan to take a model step from
    again = RetainerOrder(RetainerType.REMOVABLE)
    assert core.order_follow_up(lab.doctor, retainer.case_id, again).kind is CaseKind.RETAINER
    err = refused(
        core.order_follow_up,
        lab.doctor,
        retainer.case_id,
        RetainerOrder(RetainerType.REMOVABLE, model_step=3),
    )
    assert [r.code for r in err.reasons] == ["follow_up_no_plan"]


def _replacement(ack: bool) -> ReplacementOrder:
    return ReplacementOrder(5, ReplacementReason.BROKEN, upper="5-6", not_quality_complaint=ack)


def test_replacement_goes_through_lab_review(core: Core, lab: Lab) -> None:
    parent = shipped(core, lab)
    draft = core.order_follow_up(lab.doctor, parent, _replacement(ack=False))
    core.confirm(lab.doctor, draft.case_id, complete=True, privacy=True)
    err = refused(core.submit, lab.doctor, draft.case_id)
    assert err.reasons == ("replacement not acknowledged as not a quality complaint",)
    core.update_draft(lab.doctor, draft.case_id, order=_replacement(ack=True))
    case = core.submit(lab.doctor, draft.case_id)
    assert case.status is S.LAB_REVIEW
    assert case.deadline is not None
    assert case.deadline.stage == "review"
    assert refused(core.refuse_order, lab.production, draft.case_id, "").reasons == (
        "a reason is required",
    )
    case = core.accept_order(lab.production, draft.case_id)
    assert case.status is S.IN_PRODUCTION
    assert {e.recipient_id for e in outbox(core, EventType.ORDER_ACCEPTED)} == {lab.doctor}

    second = core.order_follow_up(lab.doctor, parent, _replacement(ack=True))
    core.confirm(lab.doctor, second.case_id, complete=True, privacy=True)
    core.submit(lab.doctor, second.case_id)
    case = core.refuse_order(lab.admin, second.case_id, "step 5 was never shipped")
    assert case.status is S.CANCELLED
    assert case.history[-1].detail("reason") == "step 5 was never shipped"
    assert {e.recipient_id for e in outbox(core, EventType.ORDER_REFUSED)} == {lab.doctor}


def test_a_follow_up_kind_cannot_be_created_as_a_new_case(core: Core, lab: Lab) -> None:
    with pytest.raises(ValidationError) as info:
        core.create_case(lab.doctor, CaseKind.REFINEMENT, patient_details())
    assert info.value.paths == ["$.kind"]


def test_revision_of_a_case_in_production(core: Core, lab: Lab) -> None:
    parent = waiting(core, lab)
    core.accept_plan(lab.doctor, parent, 1)
    draft = core.order_follow_up(
        lab.doctor, parent, RevisionOrder("add elastic cutouts", ("elastic_cutouts",))
    )
    assert draft.kind is CaseKind.REVISION
    core.confirm(lab.doctor, draft.case_id, complete=True, privacy=True)
    assert core.submit(lab.doctor, draft.case_id).status is S.IN_PLANNING


# -- share links ------------------------------------------------------------------------------
def test_share_link_shows_the_plan_never_the_patient(core: Core, lab: Lab) -> None:
    case_id = waiting(core, lab, last_name="Zimmermann")
    case = stored(core, case_id)
    token = core.share_plan(lab.doctor, case_id, 1)
    shared = core.resolve_share(token)
    assert shared.case_number == case.number
    assert shared.plan == case.plans[0]
    assert not any("patient" in f.name for f in attrs.fields(type(shared)))
    assert "Zimmermann" not in repr(shared)
    assert "Zimmermann" not in token

    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(NotFoundError):
        core.resolve_share(tampered)
    for garbage in ("", "abc", "!!!!", token + "AAAA"):
        with pytest.raises(NotFoundError):
            core.resolve_share(garbage)

    link = stored(core, case_id).shares[-1]
    core.revoke_share(lab.doctor, case_id, link.share_id)
    with pytest.raises(NotFoundError):
        core.resolve_share(token)


def test_share_link_expires(core: Core, lab: Lab) -> None:
    case_id = waiting(core, lab)
    token = core.share_plan(lab.doctor, case_id, 1, ttl=timedelta(days=2))
    assert core.resolve_share(token).plan.number == 1
    clock(core).advance(timedelta(days=2, seconds=1))
    with pytest.raises(NotFoundError):
        core.resolve_share(token)


def test_share_refused_before_a_plan_and_for_unknown_versions(core: Core, lab: Lab) -> None:
    case_id = lab.ready_case()
    core.submit(lab.doctor, case_id)
    assert refused(core.share_plan, lab.doctor, case_id, 1).reasons == (
        "not possible in state in_planning",
    )
    core.upload_plan(lab.planner, case_id, plan_summary())
    assert refused(core.share_plan, lab.doctor, case_id, 2).reasons == (
        "plan version 2 does not exist",
    )
    with pytest.raises(ValidationError):
        core.share_plan(lab.doctor, case_id, 1, ttl=timedelta(0))
    with pytest.raises(NotFoundError):
        core.revoke_share(lab.doctor, case_id, UUID(int=5))


# -- comments and collaborators --------------------------------------------------------------
def test_comments_both_ways_tell_the_other_side(core: Core, lab: Lab) -> None:
    case_id = waiting(core, lab)
    case = core.comment(lab.doctor, case_id, "can we avoid IPR?")
    assert case.comments[-1].from_lab is False
    to_lab = outbox(core, EventType.COMMENT_ADDED)
    assert {e.recipient_id for e in to_lab} == {lab.planner}
    case = core.comment(lab.planner, case_id, "yes, plan 2 tomorrow")
    assert case.comments[-1].from_lab is True
    told = [e.recipient_id for e in outbox(core, EventType.COMMENT_ADDED)]
    assert sorted(told, key=str) == sorted([lab.planner, lab.doctor], key=str)
    for entry in outbox(core, EventType.COMMENT_ADDED):
        assert entry.event.case_number == case.number
        assert "avoid IPR" not in str(entry.event.data)
    with pytest.raises(ValidationError):
        core.comment(lab.doctor, case_id, "   ")


def test_collaborator_invite_accept_and_decline(core: Core, lab: Lab) -> None:
    other = set_up_lab(core, "LAB-2")
    service = other.add(Role.DOCTOR, "planning-service")
    second = other.add(Role.DOCTOR, "planning-service-2")
    case_id = waiting(core, lab)
    core.invite_collaborator(lab.doctor, case_id, service, [P.COMMENT, P.VIEW_SETUP])
    assert {e.recipient_id for e in outbox(core, EventType.COLLABORATOR_INVITED)} == {service}
    with pytest.raises(ValidationError):
        core.invite_collaborator(lab.doctor, case_id, service, [P.COMMENT])
    with pytest.raises(ValidationError):
        core.invite_collaborator(lab.doctor, case_id, lab.doctor, [P.COMMENT])
    case = core.respond_to_invitation(service, case_id, accept=True)
    assert service in case.member_ids
    assert {e.recipient_id for e in outbox(core, EventType.COLLABORATOR_ACCEPTED)} == {lab.doctor}
    detail = core.get_case(service, case_id)
    assert detail.may_view_plans
    assert len(detail.case.plans) == 1
    # the lab's comment now reaches the commenting collaborator too
    core.comment(lab.planner, case_id, "updated")
    lab_comment = [e for e in outbox(core, EventType.COMMENT_ADDED) if e.event.get("side") == "lab"]
    assert {e.recipient_id for e in lab_comment} == {lab.doctor, service}

    core.invite_collaborator(lab.doctor, case_id, second, [P.VIEW_DETAILS])
    case = core.respond_to_invitation(second, case_id, accept=False)
    assert second not in case.member_ids
    assert {e.recipient_id for e in outbox(core, EventType.COLLABORATOR_DECLINED)} == {lab.doctor}
    with pytest.raises(NotFoundError):
        core.get_case(second, case_id)


# -- hold and release ----------------------------------------------------------------------
def test_hold_pauses_the_deadline_and_release_moves_it_by_business_days(
    core: Core, lab: Lab
) -> None:
    case_id = lab.ready_case()
    case = core.submit(lab.doctor, case_id)
    assert case.deadline is not None
    assert case.deadline.due == date(2026, 1, 12)
    assert refused(core.hold, lab.planner, case_id, "").reasons == ("a reason is required",)
    case = core.hold(lab.planner, case_id, "upper scan unusable")
    assert case.status is S.ON_HOLD
    assert case.hold is not None
    assert case.hold.left_status is S.IN_PLANNING
    assert case.hold.reason == "upper scan unusable"
    assert case.deadline is not None
    assert case.deadline.paused_since == date(2026, 1, 5)
    assert {e.recipient_id for e in outbox(core, EventType.CASE_HELD)} == {lab.doctor}
    assert refused(core.hold, lab.planner, case_id, "again").state == "on_hold"
    assert refused(core.upload_plan, lab.planner, case_id, plan_summary()).state == "on_hold"

    clock(core).advance(timedelta(days=7))  # Monday 12 Jan: five business days on hold
    case = core.release(lab.production, case_id)
    assert case.status is S.IN_PLANNING
    assert case.hold is None
    assert case.deadline is not None
    assert case.deadline.paused_since is None
    assert case.deadline.stage == "planning"
    assert case.deadline.due == date(2026, 1, 19)
    assert refused(core.release, lab.planner, case_id).reasons == (
        "not possible in state in_planning",
    )


@pytest.mark.parametrize(
    "status", [S.IN_PLANNING, S.WAITING_FOR_APPROVAL, S.IN_PRODUCTION, S.LAB_REVIEW]
)
def test_release_goes_back_where_the_hold_left(core: Core, lab: Lab, status: CaseStatus) -> None:
    if status is S.LAB_REVIEW:
        parent = shipped(core, lab)
        draft = core.order_follow_up(lab.doctor, parent, _replacement(ack=True))
        core.confirm(lab.doctor, draft.case_id, complete=True, privacy=True)
        case_id = draft.case_id
        core.submit(lab.doctor, case_id)
    else:
        case_id = lab.ready_case()
        core.submit(lab.doctor, case_id)
        if status is not S.IN_PLANNING:
            core.upload_plan(lab.planner, case_id, plan_summary())
        if status is S.IN_PRODUCTION:
            core.accept_plan(lab.doctor, case_id, 1)
    assert stored(core, case_id).status is status
    core.hold(lab.admin, case_id, "waiting for payment")
    assert core.release(lab.admin, case_id).status is status


def test_cancel_before_production_only(core: Core, lab: Lab) -> None:
    case_id = waiting(core, lab)
    core.hold(lab.planner, case_id, "question")
    assert refused(core.cancel, lab.doctor, case_id, "").reasons == ("a reason is required",)
    case = core.cancel(lab.doctor, case_id, "patient moved")
    assert case.status is S.CANCELLED
    assert case.hold is None
    assert {e.recipient_id for e in outbox(core, EventType.CASE_CANCELLED)} == {lab.planner}

    started = waiting(core, lab)
    core.accept_plan(lab.doctor, started, 1)
    err = refused(core.cancel, lab.admin, started, "too late")
    assert err.reasons == ("the case is already in production",)
    core.hold(lab.production, started, "material")
    err = refused(core.cancel, lab.doctor, started, "too late")
    assert err.reasons == ("the case is already in production",)
    assert stored(core, started).status is S.ON_HOLD


# -- queries ---------------------------------------------------------------------------------
def test_dashboard_counts_per_status(core: Core, lab: Lab) -> None:
    lab.ready_case()  # draft
    planning = lab.ready_case()
    core.submit(lab.doctor, planning)
    waiting(core, lab)
    rejected = waiting(core, lab)
    core.reject_plan(lab.doctor, rejected, "no")
    production = waiting(core, lab)
    core.accept_plan(lab.doctor, production, 1)
    shipped(core, lab)
    board = core.dashboard(lab.doctor)
    expected = {
        S.DRAFT: 1,
        S.IN_PLANNING: 1,
        S.WAITING_FOR_APPROVAL: 1,
        S.PLAN_REJECTED: 1,
        S.IN_PRODUCTION: 1,
        S.SHIPPED: 1,
    }
    assert {s: board[s] for s in expected} == expected
    assert board.total == 6
    assert core.dashboard(lab.planner).counts == board.counts
    other = set_up_lab(core, "LAB-2")
    assert core.dashboard(other.admin).total == 0
    assert core.dashboard(other.doctor).total == 0


@pytest.fixture
def listed(core: Core, lab: Lab) -> dict[str, Any]:
    names = ["Müller", "Mueller", "Ørsted", "Groß", "Smith", "Smithers"]
    ids: dict[str, Any] = {}
    for i, name in enumerate(names):
        case = core.create_case(lab.doctor, CaseKind.TREATMENT, patient_details(name, None))
        ids[name] = case
        clock(core).advance(timedelta(days=1))
        if i % 2:
            core.update_draft(lab.doctor, case.case_id, patient=patient_details(name, None))
    dm = core.create_case(
        lab.doctor, CaseKind.DIRECT_MANUFACTURING, patient_details("Jane Doe", "Anna")
    )
    ids["dm"] = dm
    return ids


def names_of(core: Core, viewer: UUID, query: CaseFilter) -> list[str]:
    return [c.patient_name for c in core.list_cases(viewer, query).items]


def test_list_filters_by_name(core: Core, lab: Lab, listed: dict[str, Any]) -> None:
    def find(text: str, match: NameMatch = NameMatch.PREFIX) -> set[str]:
        return set(names_of(core, lab.doctor, CaseFilter(patient_name=text, name_match=match)))

    assert find("mü") == {"Müller"}
    assert find("MÜLL") == {"Müller"}
    assert find("m") == {"Müller", "Mueller"}
    assert find("ller", NameMatch.SUBSTRING) == {"Müller", "Mueller"}
    assert find("ØR") == {"Ørsted"}
    assert find("sted", NameMatch.SUBSTRING) == {"Ørsted"}
    assert find("GROSS") == {"Groß"}  # casefolded: ß == ss
    assert find("smith") == {"Smith", "Smithers"}
    assert find("ithers", NameMatch.SUBSTRING) == {"Smithers"}
    assert find("anna  jane") == {"Anna Jane Doe"}
    assert find("zzz") == set()
    assert find("ller") == set()  # a substring is not a prefix


def test_list_filters_by_kind_status_number(core: Core, lab: Lab, listed: dict[str, Any]) -> None:
    dm = listed["dm"]
    assert names_of(core, lab.doctor, CaseFilter(kinds=CaseKind.DIRECT_MANUFACTURING)) == [
        "Anna Jane Doe"
    ]
    assert core.list_cases(lab.doctor, CaseFilter(kinds=[CaseKind.TREATMENT])).total == 6
    assert core.list_cases(lab.doctor, CaseFilter(statuses=[S.DRAFT])).total == 7
    assert core.list_cases(lab.doctor, CaseFilter(statuses=[S.IN_PLANNING])).total == 0
    page = core.list_cases(lab.doctor, CaseFilter(number=dm.number))
    assert [c.case_id for c in page.items] == [dm.case_id]
    assert core.list_cases(lab.doctor, CaseFilter(number=99999)).total == 0
    with pytest.raises(ValidationError):
        CaseFilter(number=0)


def test_list_filters_by_date_ranges(core: Core, lab: Lab, listed: dict[str, Any]) -> None:
    smith = listed["Smith"]
    day = timedelta(days=1)
    created = CaseFilter(
        created_from=smith.created_at, created_to=smith.created_at + day - timedelta(seconds=1)
    )
    assert names_of(core, lab.doctor, created) == ["Smith"]
    assert (
        core.list_cases(lab.doctor, CaseFilter(created_to=listed["Müller"].created_at)).total == 1
    )
    later = CaseFilter(created_from=listed["Groß"].created_at)
    assert set(names_of(core, lab.doctor, later)) == {"Groß", "Smith", "Smithers", "Anna Jane Doe"}
    # updated: odd-indexed drafts were edited a day after creation
    mueller = stored(core, listed["Mueller"].case_id)
    assert mueller.updated_at > mueller.created_at
    window = CaseFilter(updated_from=mueller.updated_at, updated_to=mueller.updated_at)
    assert names_of(core, lab.doctor, window) == ["Mueller"]


def test_list_sort_and_pagination(core: Core, lab: Lab, listed: dict[str, Any]) -> None:
    by_number = CaseFilter(sort=SortKey.NUMBER, descending=False, limit=3)
    first = core.list_cases(lab.doctor, by_number)
    assert first.total == 7
    assert first.has_more
    assert [c.patient_name for c in first.items] == ["Müller", "Mueller", "Ørsted"]
    second = core.list_cases(lab.doctor, attrs.evolve(by_number, offset=3))
    third = core.list_cases(lab.doctor, attrs.evolve(by_number, offset=6))
    assert [c.patient_name for c in second.items] == ["Groß", "Smith", "Smithers"]
    assert [c.patient_name for c in third.items] == ["Anna Jane Doe"]
    assert not third.has_more
    numbers = [c.number for page in (first, second, third) for c in page.items]
    assert numbers == sorted(numbers)
    desc = core.list_cases(lab.doctor, CaseFilter(sort=SortKey.NUMBER))
    assert [c.number for c in desc.items] == sorted(numbers, reverse=True)
    by_name = names_of(core, lab.doctor, CaseFilter(sort=SortKey.PATIENT, descending=False))
    assert by_name == sorted(by_name, key=str.casefold)
    by_created = core.list_cases(
        lab.doctor, CaseFilter(sort=SortKey.CREATED, descending=False)
    ).items
    assert [c.created_at for c in by_created] == sorted(c.created_at for c in by_created)
    with pytest.raises(ValidationError):
        CaseFilter(limit=501)
    with pytest.raises(ValidationError):
        CaseFilter(offset=-1)


def test_case_detail_has_the_timeline(core: Core, lab: Lab) -> None:
    case_id = waiting(core, lab)
    detail = core.get_case(lab.doctor, case_id)
    assert [h.action for h in detail.timeline] == [
        "create",
        "attach",
        "attach",
        "confirm",
        "submit",
        "upload_plan",
    ]
    assert detail.timeline[-1].actor_id == lab.planner
    by_number = core.get_case_by_number(lab.doctor, detail.case.number)
    assert by_number.case == detail.case


A = Action


@pytest.mark.parametrize(
    ("state", "who", "expected"),
    [
        (
            "draft",
            "doctor",
            {
                A.VIEW,
                A.EDIT,
                A.SET_TEETH,
                A.ATTACH,
                A.CONFIRM,
                A.DELETE,
                A.SUBMIT,
                A.SHIP_IMPRESSIONS,
                A.COMMENT,
                A.INVITE_COLLABORATOR,
                A.REVOKE_COLLABORATOR,
            },
        ),
        ("draft", "planner", {A.VIEW, A.COMMENT}),
        ("draft", "admin", {A.VIEW, A.COMMENT, A.REASSIGN}),
        (
            "in_planning",
            "planner",
            {A.VIEW, A.UPLOAD_PLAN, A.HOLD, A.COMMENT, A.ADD_DOCUMENT, A.REQUEST_RECORDS, A.TAKE},
        ),
        (
            "in_planning",
            "production",
            {A.VIEW, A.HOLD, A.COMMENT, A.ADD_DOCUMENT, A.REQUEST_RECORDS},
        ),
        (
            "in_planning",
            "doctor",
            {
                A.VIEW,
                A.CANCEL,
                A.COMMENT,
                A.ADD_DOCUMENT,
                A.INVITE_COLLABORATOR,
                A.REVOKE_COLLABORATOR,
            },
        ),
        (
            "waiting_for_approval",
            "doctor",
            {
                A.VIEW,
                A.ACCEPT_PLAN,
                A.REJECT_PLAN,
                A.REQUEST_MODIFICATION,
                A.CANCEL,
                A.COMMENT,
                A.ADD_DOCUMENT,
                A.SHARE_PLAN,
                A.REVOKE_SHARE,
                A.INVITE_COLLABORATOR,
                A.REVOKE_COLLABORATOR,
            },
        ),
        (
            "waiting_for_approval",
            "admin",
            {A.VIEW, A.HOLD, A.CANCEL, A.COMMENT, A.ADD_DOCUMENT, A.REASSIGN, A.ASSIGN},
        ),
        (
            "in_production",
            "production",
            {A.VIEW, A.HOLD, A.SHIP, A.CONFIRM_DELIVERY, A.COMMENT, A.ADD_DOCUMENT},
        ),
        (
            "in_production",
            "doctor",
            {
                A.VIEW,
                A.CONFIRM_DELIVERY,
                A.COMMENT,
                A.ADD_DOCUMENT,
                A.SHARE_PLAN,
                A.REVOKE_SHARE,
                A.INVITE_COLLABORATOR,
                A.REVOKE_COLLABORATOR,
                A.ORDER_FOLLOW_UP,
                A.UPGRADE_PACKAGE,
            },
        ),
        (
            "shipped",
            "doctor",
            {
                A.VIEW,
                A.CONFIRM_DELIVERY,
                A.CLOSE,
                A.COMMENT,
                A.ADD_DOCUMENT,
                A.SHARE_PLAN,
                A.REVOKE_SHARE,
                A.INVITE_COLLABORATOR,
                A.REVOKE_COLLABORATOR,
                A.ORDER_FOLLOW_UP,
                A.UPGRADE_PACKAGE,
            },
        ),
        ("on_hold", "planner", {A.VIEW, A.RELEASE, A.COMMENT, A.ADD_DOCUMENT}),
        (
            "on_hold",
            "doctor",
            {
                A.VIEW,
                A.CANCEL,
                A.COMMENT,
                A.ADD_DOCUMENT,
                A.INVITE_COLLABORATOR,
                A.REVOKE_COLLABORATOR,
            },
        ),
    ],
)
def test_allowed_actions_per_role_per_state(
    core: Core, lab: Lab, state: str, who: str, expected: set[Action]
) -> None:
    case_id = lab.ready_case()
    if state != "draft":
        core.submit(lab.doctor, case_id)
    if state in ("waiting_for_approval", "in_production", "shipped"):
        core.upload_plan(lab.planner, case_id, plan_summary())
    if state in ("in_production", "shipped"):
        core.accept_plan(lab.doctor, case_id, 1)
    if state == "shipped":
        core.ship(lab.production, case_id, carrier="DHL", tracking_number="1")
    if state == "on_hold":
        core.hold(lab.planner, case_id, "why")
    assert stored(core, case_id).status.value == state
    assert core.allowed_actions(getattr(lab, who), case_id) == expected


def test_blockers_query(core: Core, lab: Lab) -> None:
    case = core.create_case(
        lab.doctor,
        CaseKind.TREATMENT,
        patient_details(),
        impression_type=ImpressionType.INTRAORAL_SCAN,
    )
    reasons = core.blockers(lab.doctor, case.case_id, Action.SUBMIT)
    assert set(reasons) == {
        "completeness confirmation not given",
        "privacy confirmation not given",
        "upper scan missing",
        "lower scan missing",
    }
    assert (
        core.blockers(lab.planner, case.case_id, Action.SUBMIT)[0] == "not permitted for this user"
    )
    assert core.blockers(lab.production, case.case_id, Action.SHIP) == [
        "not possible in state draft"
    ]
    case_id = waiting(core, lab)
    assert core.blockers(lab.doctor, case_id, Action.ACCEPT_PLAN, plan_version=1) == []
    assert core.blockers(lab.doctor, case_id, Action.REJECT_PLAN) == []  # nothing typed yet
    blocked = core.blockers(lab.doctor, case_id, Action.REJECT_PLAN, reason=" ")
    assert blocked == ["a reason is required"] and blocked.inputs == ("a reason is required",)
    with pytest.raises(NotFoundError):
        core.blockers(set_up_lab(core, "LAB-2").doctor, case_id, Action.VIEW)


# -- concurrency -----------------------------------------------------------------------------
def test_two_units_of_work_on_the_same_case_second_gets_a_conflict(core: Core, lab: Lab) -> None:
    case_id = lab.ready_case()
    first = core.storage.unit_of_work()
    second = core.storage.unit_of_work()
    with first, second:
        a = first.cases.get(case_id)
        b = second.cases.get(case_id)
        assert a.version == b.version
        first.cases.update(attrs.evolve(a, version=a.version + 1, updated_at=a.updated_at))
        first.commit()
        second.cases.update(attrs.evolve(b, version=b.version + 1))
        with pytest.raises(ConcurrencyConflictError) as info:
            second.commit()
    assert info.value.expected == b.version
    assert info.value.actual == a.version + 1
    assert stored(core, case_id).version == a.version + 1


def test_a_service_command_racing_a_stale_unit_of_work(core: Core, lab: Lab) -> None:
    case_id = lab.ready_case()
    stale = core.storage.unit_of_work()
    with stale:
        loaded = stale.cases.get(case_id)
        submitted = core.submit(lab.doctor, case_id)  # commits version + 1 meanwhile
        stale.cases.update(attrs.evolve(loaded, status=S.DRAFT, version=loaded.version + 1))
        with pytest.raises(ConcurrencyConflictError):
            stale.commit()
    assert stored(core, case_id) == submitted


# -- a whole direct-manufacturing order --------------------------------------------------------
def test_direct_manufacturing(core: Core, lab: Lab) -> None:
    case = core.create_case(lab.doctor, CaseKind.DIRECT_MANUFACTURING, patient_details())
    core.confirm(lab.doctor, case.case_id, complete=True, privacy=True)
    err = refused(core.submit, lab.doctor, case.case_id)
    assert err.reasons == ("no files attached for manufacturing",)
    core.attach_file(lab.doctor, case.case_id, FileKind.OTHER, PDF, "models.pdf")
    case = core.submit(lab.doctor, case.case_id)
    assert case.status is S.IN_PRODUCTION
    assert case.plans == ()
    assert (
        refused(core.upload_plan, lab.planner, case.case_id, plan_summary()).state
        == "in_production"
    )
    case = core.ship(lab.production, case.case_id, carrier="DHL", tracking_number="1")
    assert case.status is S.SHIPPED
    assert [h.to_status for h in case.history if h.from_status not in (None, h.to_status)] == [
        S.IN_PRODUCTION,
        S.SHIPPED,
    ]
