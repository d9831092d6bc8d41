"""Records arriving after submission: silicone impressions by post, the lab's records requests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

import aligner_core
from aligner_core.bootstrap import Core
from aligner_core.clock import ManualClock
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import Case, CaseKind, CaseStatus
from aligner_core.domain.events import EventType
from aligner_core.domain.orders import RetainerOrder, RetainerType
from aligner_core.domain.records import FileKind, ImpressionType
from aligner_core.errors import InvalidTransitionError, PermissionDeniedError, ValidationError
from aligner_core.testing.factories import Lab, arch_stl, patient_details, plan_summary, set_up_lab

S = CaseStatus
SCAN = arch_stl()


@pytest.fixture(params=["memory", "sqlite"])
def core(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Core]:
    """A core on each storage with a manual clock (deadlines are counted in business days)."""
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'cases.db'}"
    made = aligner_core.connect(url, clock=ManualClock())  # Monday 5 January 2026, 09:00 UTC
    yield made
    made.storage.close()


@pytest.fixture
def lab(core: Core) -> Lab:
    return set_up_lab(core)


def clock(core: Core) -> ManualClock:
    assert isinstance(core.clock, ManualClock)
    return core.clock


def stored(core: Core, case_id: UUID) -> Case:
    with core.storage.unit_of_work() as uow:
        return uow.cases.get(case_id)


def told(core: Core, event: EventType) -> set[UUID]:
    with core.storage.unit_of_work() as uow:
        return {e.recipient_id for e in uow.outbox.pending() if e.event.type is event}


def refused(fn: Any, *args: Any, **kwargs: Any) -> list[str]:
    with pytest.raises(InvalidTransitionError) as info:
        fn(*args, **kwargs)
    return [r.code for r in info.value.reasons]


def impressions_draft(core: Core, lab: Lab, kind: CaseKind = CaseKind.TREATMENT) -> UUID:
    order = RetainerOrder(RetainerType.REMOVABLE) if kind is CaseKind.RETAINER else None
    case = core.create_case(
        lab.doctor,
        kind,
        patient_details(),
        order=order,
        impression_type=ImpressionType.SILICONE_IMPRESSION,
    )
    core.confirm(lab.doctor, case.case_id, complete=True, privacy=True)
    return case.case_id


# -- impressions by post ----------------------------------------------------------------------
def test_the_impression_type_is_chosen_before_submission(core: Core, lab: Lab) -> None:
    case = core.create_case(lab.doctor, CaseKind.TREATMENT, patient_details())
    core.confirm(lab.doctor, case.case_id, complete=True, privacy=True)
    assert refused(core.submit, lab.doctor, case.case_id) == ["impression_type_missing"]
    core.update_draft(lab.doctor, case.case_id, impression_type=ImpressionType.DESKTOP_SCAN)
    assert refused(core.submit, lab.doctor, case.case_id) == ["scan_missing", "scan_missing"]


def test_a_follow_up_takes_the_parents_impression_type(core: Core, lab: Lab) -> None:
    parent = lab.ready_case()
    core.submit(lab.doctor, parent)
    core.upload_plan(lab.planner, parent, plan_summary())
    core.accept_plan(lab.doctor, parent, 1)
    core.ship(lab.production, parent, carrier="DHL", tracking_number="1")
    refinement = core.order_follow_up(lab.doctor, parent, RetainerOrder(RetainerType.REMOVABLE))
    assert refinement.records.impression_type is ImpressionType.INTRAORAL_SCAN


def test_impressions_by_post_from_draft_to_planning(core: Core, lab: Lab) -> None:
    case_id = impressions_draft(core, lab)
    assert refused(core.submit, lab.doctor, case_id) == ["impressions_not_shipped"]
    with pytest.raises(InvalidTransitionError) as blank:
        core.ship_impressions(lab.doctor, case_id, carrier=" ", tracking_number="")
    assert [r.path for r in blank.value.reasons] == ["$.carrier", "$.tracking_number"]
    core.ship_impressions(lab.doctor, case_id, carrier="UPS", tracking_number="1Z999")
    submitted = core.submit(lab.doctor, case_id)
    assert submitted.status is S.AWAITING_IMPRESSIONS
    assert submitted.deadline is None  # the lab's clock starts when it can plan
    parcel = submitted.records.impressions
    assert parcel is not None and (parcel.carrier, parcel.tracking_number) == ("UPS", "1Z999")
    assert parcel.received_at is None

    # the lab cannot go on before the parcel is in and digitised
    codes = refused(core.complete_digitising, lab.production, case_id)
    assert codes == ["impressions_not_received", "scan_missing", "scan_missing"]
    with pytest.raises(PermissionDeniedError):
        core.receive_impressions(lab.doctor, case_id)
    received = core.receive_impressions(lab.production, case_id)
    assert received.records.impressions is not None
    assert received.records.impressions.received_by == lab.production
    assert received.status is S.AWAITING_IMPRESSIONS
    assert lab.doctor in told(core, EventType.IMPRESSIONS_RECEIVED)
    assert refused(core.receive_impressions, lab.production, case_id) == [
        "impressions_already_received"
    ]
    core.attach_file(lab.production, case_id, FileKind.UPPER_SCAN, SCAN, "upper.stl")
    assert refused(core.complete_digitising, lab.production, case_id) == ["scan_missing"]
    core.attach_file(lab.production, case_id, FileKind.LOWER_SCAN, SCAN, "lower.stl")
    planning = core.complete_digitising(lab.production, case_id)
    assert planning.status is S.IN_PLANNING
    assert planning.deadline is not None and planning.deadline.stage == "planning"
    assert lab.planner in told(core, EventType.SCANS_DIGITISED)
    actions = [h.action for h in planning.history]
    assert actions.index("ship_impressions") < actions.index("submit")
    assert actions[-4:] == [
        "receive_impressions",
        "add_document",
        "add_document",
        "complete_digitising",
    ]


def test_a_new_patients_retainer_from_impressions_goes_to_production(core: Core, lab: Lab) -> None:
    case_id = impressions_draft(core, lab, CaseKind.RETAINER)
    core.ship_impressions(lab.doctor, case_id, carrier="DHL", tracking_number="JD1")
    assert core.submit(lab.doctor, case_id).status is S.AWAITING_IMPRESSIONS
    core.receive_impressions(lab.production, case_id)
    core.attach_file(lab.production, case_id, FileKind.UPPER_SCAN, SCAN, "upper.stl")
    core.attach_file(lab.production, case_id, FileKind.LOWER_SCAN, SCAN, "lower.stl")
    assert core.complete_digitising(lab.production, case_id).status is S.IN_PRODUCTION


def test_impressions_are_sent_only_for_impressions_by_post(core: Core, lab: Lab) -> None:
    case_id = lab.ready_case()  # intraoral scans
    assert refused(
        core.ship_impressions, lab.doctor, case_id, carrier="DHL", tracking_number="1"
    ) == ["impressions_not_by_post"]
    assert Action.SHIP_IMPRESSIONS not in {
        o.action for o in core.available_actions(lab.doctor, case_id)
    }
    by_post = impressions_draft(core, lab)
    assert Action.SHIP_IMPRESSIONS in {
        o.action for o in core.available_actions(lab.doctor, by_post)
    }


def test_shipping_fields_are_bounded(core: Core, lab: Lab) -> None:
    case_id = impressions_draft(core, lab)
    with pytest.raises(ValidationError) as info:
        core.ship_impressions(lab.doctor, case_id, carrier="x" * 81, tracking_number="1")
    assert [e.code for e in info.value.errors] == ["too_long"]


# -- records requests -------------------------------------------------------------------------
def submitted(core: Core, lab: Lab) -> UUID:
    case_id = lab.ready_case()
    core.submit(lab.doctor, case_id)
    return case_id


def test_the_lab_asks_for_records_and_the_case_waits_with_its_clock_paused(
    core: Core, lab: Lab
) -> None:
    case_id = submitted(core, lab)
    due = stored(core, case_id).deadline
    assert due is not None
    assert refused(core.request_records, lab.planner, case_id, [FileKind.LOWER_SCAN], " ") == [
        "reason_required"
    ]
    with pytest.raises(PermissionDeniedError):
        core.request_records(lab.doctor, case_id, [FileKind.LOWER_SCAN], "mine")
    waiting = core.request_records(
        lab.planner, case_id, [FileKind.LOWER_SCAN, FileKind.BITE_SCAN], "lower scan has holes"
    )
    assert waiting.status is S.AWAITING_RECORDS
    request = waiting.records_request
    assert request is not None and request.left_status is S.IN_PLANNING
    assert request.kinds == (FileKind.LOWER_SCAN, FileKind.BITE_SCAN)
    assert waiting.deadline is not None and waiting.deadline.paused_since is not None
    assert lab.doctor in told(core, EventType.RECORDS_REQUESTED)
    # the planner cannot plan while waiting
    assert refused(core.upload_plan, lab.planner, case_id, plan_summary()) == ["wrong_state"]

    # five business days later the doctor uploads the first: the case still waits
    clock(core).advance(timedelta(days=7))
    one = core.attach_file(lab.doctor, case_id, FileKind.LOWER_SCAN, SCAN, "lower-new.stl")
    assert one.status is S.AWAITING_RECORDS
    assert one.records_request is not None
    assert one.records_request.missing(one.records) == (FileKind.BITE_SCAN,)
    assert not told(core, EventType.RECORDS_RECEIVED)
    # the second resumes the case where it was, its deadline moved by the pause, the lab told
    back = core.attach_file(lab.doctor, case_id, FileKind.BITE_SCAN, SCAN, "bite.stl")
    assert back.status is S.IN_PLANNING
    assert back.records_request is None
    assert back.deadline is not None and back.deadline.paused_since is None
    assert back.deadline.due == date(2026, 1, 12) + timedelta(days=7)  # 5 business days later
    assert due.due == date(2026, 1, 12)
    assert lab.planner in told(core, EventType.RECORDS_RECEIVED)
    assert back.history[-1].from_status is S.AWAITING_RECORDS
    assert back.history[-1].to_status is S.IN_PLANNING


def test_files_uploaded_before_the_request_do_not_answer_it(core: Core, lab: Lab) -> None:
    case_id = submitted(core, lab)
    case = core.request_records(lab.planner, case_id, [FileKind.UPPER_SCAN], "blurred")
    assert case.records.has(FileKind.UPPER_SCAN)
    assert case.records_request is not None
    assert case.records_request.missing(case.records) == (FileKind.UPPER_SCAN,)


def test_a_case_awaiting_records_can_be_cancelled(core: Core, lab: Lab) -> None:
    case_id = submitted(core, lab)
    core.request_records(lab.planner, case_id, [FileKind.UPPER_SCAN], "blurred")
    cancelled = core.cancel(lab.doctor, case_id, "patient moved")
    assert cancelled.status is S.CANCELLED
    assert cancelled.records_request is None and cancelled.deadline is None


def test_records_requests_reach_cases_awaiting_impressions_too(core: Core, lab: Lab) -> None:
    case_id = impressions_draft(core, lab)
    core.ship_impressions(lab.doctor, case_id, carrier="DHL", tracking_number="JD1")
    core.submit(lab.doctor, case_id)
    core.receive_impressions(lab.production, case_id)
    waiting = core.request_records(lab.production, case_id, [FileKind.UPPER_SCAN], "torn")
    assert waiting.status is S.AWAITING_RECORDS
    clock(core).advance(timedelta(hours=1))
    back = core.attach_file(lab.doctor, case_id, FileKind.UPPER_SCAN, SCAN, "upper.stl")
    assert back.status is S.AWAITING_IMPRESSIONS
