"""Practices and assignment (#15 item 5): a doctor's treating practices, the practice each
order ships to, cases assigned to lab staff, "my cases", and the assignee told."""

from __future__ import annotations

from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aligner_core.bootstrap import Core
from aligner_core.domain.accounts import Role
from aligner_core.domain.cases import CaseKind, CaseStatus
from aligner_core.domain.events import EventType
from aligner_core.domain.orders import RetainerOrder, RetainerType
from aligner_core.domain.queries import CaseFilter
from aligner_core.domain.records import FileKind, ImpressionType
from aligner_core.errors import (
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from aligner_core.serialization import make_converter
from aligner_core.testing.factories import (
    Lab,
    address,
    arch_stl,
    patient_details,
    plan_summary,
    set_up_lab,
)


def _told(core: Core, event: EventType) -> set[UUID]:
    with core.storage.unit_of_work() as uow:
        return {e.recipient_id for e in uow.outbox.pending() if e.event.type is event}


def _two_practices(core: Core, lab: Lab) -> tuple[UUID, UUID]:
    core.add_practice(lab.doctor, lab.doctor, "Praxis Mitte", address())
    account = core.add_practice(lab.admin, lab.doctor, "Praxis Spandau", address("Austria"))
    first, second = account.practices
    return first.practice_id, second.practice_id


# -- practices ------------------------------------------------------------------------------------
def test_a_doctor_keeps_several_practices_and_an_admin_may_too(core: Core, lab: Lab) -> None:
    first, second = _two_practices(core, lab)
    account = core.get_account(lab.doctor, lab.doctor)
    assert [p.name for p in account.practices] == ["Praxis Mitte", "Praxis Spandau"]
    assert account.practices[1].shipping_address.country == "Austria"
    changed = core.update_practice(
        lab.doctor, lab.doctor, second, "Praxis Wien", address("Austria")
    )
    assert [p.name for p in changed.practices] == ["Praxis Mitte", "Praxis Wien"]
    left = core.remove_practice(lab.doctor, lab.doctor, first)
    assert [p.practice_id for p in left.practices] == [second]
    with pytest.raises(NotFoundError):
        core.remove_practice(lab.doctor, lab.doctor, first)


def test_practices_belong_to_doctors_and_only_they_or_their_admin_change_them(
    core: Core, lab: Lab
) -> None:
    doctor2 = lab.add(Role.DOCTOR, "dr-practices-2")
    with pytest.raises(PermissionDeniedError):
        core.add_practice(doctor2, lab.doctor, "Not mine", address())
    with pytest.raises(PermissionDeniedError):
        core.add_practice(lab.planner, lab.doctor, "Not mine", address())
    other = set_up_lab(core, "OTHER-LAB")
    with pytest.raises(NotFoundError):  # another network's admin learns nothing of the account
        core.add_practice(other.admin, lab.doctor, "Not mine", address())
    with pytest.raises(ValidationError) as planner:
        core.add_practice(lab.planner, lab.planner, "Lab desk", address())
    assert planner.value.codes == ["practices_for_doctors"]
    with pytest.raises(ValidationError) as long_name:
        core.add_practice(lab.doctor, lab.doctor, "x" * 201, address())
    assert long_name.value.paths == ["$.name"]


def test_an_order_names_the_practice_it_ships_to(core: Core, lab: Lab) -> None:
    first, second = _two_practices(core, lab)
    case_id = lab.ready_case()
    with pytest.raises(InvalidTransitionError) as missing:  # two practices: name one
        core.submit(lab.doctor, case_id)
    assert [r.code for r in missing.value.reasons] == ["practice_missing"]
    assert [r.code for r in core.blockers(lab.doctor, case_id, "submit").state] == [
        "practice_missing"
    ]
    stranger = lab.add(Role.DOCTOR, "dr-stranger")
    theirs = core.add_practice(stranger, stranger, "Elsewhere", address()).practices[0]
    with pytest.raises(ValidationError) as foreign:
        core.update_draft(lab.doctor, case_id, practice_id=theirs.practice_id)
    assert (foreign.value.codes, foreign.value.paths) == (["practice_not_owned"], ["$.practice_id"])
    core.update_draft(lab.doctor, case_id, practice_id=second)
    # the practice moves before submission: the order ships to the address as it is then
    core.update_practice(lab.doctor, lab.doctor, second, "Praxis Spandau", address("Italy"))
    case = core.submit(lab.doctor, case_id)
    assert case.practice is not None and case.practice.practice_id == second
    assert case.practice.shipping_address.country == "Italy"
    # and once ordered it stays: later changes to the practice do not move the parcel
    core.update_practice(lab.doctor, lab.doctor, second, "Praxis Spandau", address("Spain"))
    stored = core.get_case(lab.doctor, case_id).case
    assert stored.practice is not None and stored.practice.shipping_address.country == "Italy"
    row = core.list_cases(lab.doctor, CaseFilter(practice_id=second)).items
    assert [(r.case_id, r.practice_name) for r in row] == [(case_id, "Praxis Spandau")]
    assert core.list_cases(lab.doctor, CaseFilter(practice_id=first)).total == 0


def test_one_practice_is_the_default_and_a_removed_one_blocks_submission(
    core: Core, lab: Lab
) -> None:
    no_practice = lab.ready_case()
    assert core.get_case(lab.doctor, no_practice).case.practice is None  # nothing to name
    only = core.add_practice(lab.doctor, lab.doctor, "Praxis Mitte", address()).practices[0]
    # a draft made before the doctor's only practice ships there
    assert core.submit(lab.doctor, no_practice).practice == only
    case_id = lab.ready_case()
    assert core.get_case(lab.doctor, case_id).case.practice == only
    core.remove_practice(lab.doctor, lab.doctor, only.practice_id)
    core.add_practice(lab.doctor, lab.doctor, "Praxis Neu", address())
    with pytest.raises(InvalidTransitionError) as gone:
        core.submit(lab.doctor, case_id)
    assert [(r.code, r.params) for r in gone.value.reasons] == [
        ("practice_unknown", {"practice": "Praxis Mitte"})
    ]
    # given to another doctor, a draft ships to the new doctor's only practice
    doctor2 = lab.add(Role.DOCTOR, "dr-practices-3")
    theirs = core.add_practice(doctor2, doctor2, "Praxis Nord", address()).practices[0]
    assert core.reassign(lab.admin, case_id, doctor2).practice == theirs
    assert core.submit(doctor2, case_id).practice == theirs


def test_a_follow_up_ships_where_its_parent_did_unless_it_names_another(
    core: Core, lab: Lab
) -> None:
    first, second = _two_practices(core, lab)
    case = core.create_case(
        lab.doctor,
        CaseKind.RETAINER,
        patient_details(),
        order=RetainerOrder(type=RetainerType.REMOVABLE),
        practice_id=first,
        impression_type=ImpressionType.INTRAORAL_SCAN,
    )
    order = RetainerOrder(type=RetainerType.REMOVABLE)
    parent = core.get_case(lab.doctor, case.case_id).case
    assert parent.practice is not None and parent.practice.practice_id == first
    _submit_and_ship(core, lab, case.case_id)
    same = core.order_follow_up(lab.doctor, case.case_id, order)
    assert same.practice is not None and same.practice.practice_id == first
    other = core.order_follow_up(lab.doctor, case.case_id, order, practice_id=second)
    assert other.practice is not None and other.practice.practice_id == second


def _submit_and_ship(core: Core, lab: Lab, case_id: UUID) -> None:
    for kind in (FileKind.UPPER_SCAN, FileKind.LOWER_SCAN):
        core.attach_file(lab.doctor, case_id, kind, arch_stl(), f"{kind.value}.stl")
    core.confirm(lab.doctor, case_id, complete=True, privacy=True)
    core.submit(lab.doctor, case_id)
    core.ship(lab.production, case_id, carrier="DHL", tracking_number="1")


# -- assignment -----------------------------------------------------------------------------------
def test_an_admin_assigns_lab_staff_who_are_told_and_the_history_says_so(
    core: Core, lab: Lab
) -> None:
    case_id = lab.ready_case()
    with pytest.raises(InvalidTransitionError):  # a draft is the practice's, not the lab's yet
        core.assign_case(lab.admin, case_id, lab.planner)
    core.submit(lab.doctor, case_id)
    case = core.assign_case(lab.admin, case_id, lab.production)
    assert case.assigned_to == lab.production
    assert case.history[-1].action == "assign"
    assert case.history[-1].detail("assignee") == str(lab.production)
    assert _told(core, EventType.CASE_ASSIGNED) == {lab.production}
    case = core.assign_case(lab.admin, case_id, None)
    assert case.assigned_to is None
    assert case.history[-1].detail("previous") == str(lab.production)


def test_only_admins_assign_and_only_to_active_lab_staff_of_the_network(
    core: Core, lab: Lab
) -> None:
    case_id = lab.ready_case()
    core.submit(lab.doctor, case_id)
    for actor in (lab.planner, lab.production, lab.doctor):
        with pytest.raises(PermissionDeniedError):
            core.assign_case(actor, case_id, lab.planner)
    other = set_up_lab(core, "OTHER-LAB")
    blocked = lab.add(Role.PLANNER, "planner-blocked")
    core.block(lab.admin, blocked)
    for target in (lab.doctor, lab.admin, other.planner, blocked, lab.network.network_id):
        with pytest.raises(ValidationError) as refused:
            core.assign_case(lab.admin, case_id, target)
        assert (refused.value.codes, refused.value.paths) == (
            ["assignee_invalid"],
            ["$.assignee_id"],
        )
    assert core.get_case(lab.admin, case_id).case.assigned_to is None


def test_a_planner_takes_an_unassigned_case_in_planning(core: Core, lab: Lab) -> None:
    case_id = lab.ready_case()
    core.submit(lab.doctor, case_id)
    other_planner = lab.add(Role.PLANNER, "planner-two")
    case = core.take_case(lab.planner, case_id)
    assert case.assigned_to == lab.planner
    assert _told(core, EventType.CASE_ASSIGNED) == set()  # the actor is not told of their own
    with pytest.raises(InvalidTransitionError) as taken:
        core.take_case(other_planner, case_id)
    assert [r.code for r in taken.value.reasons] == ["already_assigned"]
    with pytest.raises(PermissionDeniedError):
        core.take_case(lab.production, case_id)
    # the assigned planner, not every planner, hears of the doctor's modification request
    core.upload_plan(other_planner, case_id, plan_summary())
    core.request_modification(lab.doctor, case_id, "less IPR")
    assert _told(core, EventType.MODIFICATION_REQUESTED) == {lab.planner}


def test_production_assigned_hears_what_production_hears(core: Core, lab: Lab) -> None:
    case_id = lab.ready_case()
    core.submit(lab.doctor, case_id)
    other = lab.add(Role.PRODUCTION, "production-two")
    core.assign_case(lab.admin, case_id, other)
    core.upload_plan(lab.planner, case_id, plan_summary())
    core.accept_plan(lab.doctor, case_id, 1)
    # planners: none assigned (the assignee is production), so every planner
    told = _told(core, EventType.PLAN_ACCEPTED)
    assert other in told and lab.production not in told and lab.planner in told


def test_my_cases_and_the_assignee_in_list_rows_and_counts(core: Core, lab: Lab) -> None:
    mine, theirs, draft = lab.ready_case(), lab.ready_case(), lab.ready_case()
    for case_id in (mine, theirs):
        core.submit(lab.doctor, case_id)
    core.take_case(lab.planner, mine)
    core.assign_case(lab.admin, theirs, lab.production)
    page = core.list_cases(lab.planner, CaseFilter(mine=True))
    assert [(r.case_id, r.assigned_to) for r in page.items] == [(mine, lab.planner)]
    planner_name = core.get_account(lab.planner, lab.planner).display_name
    assert page.items[0].assignee_name == planner_name
    by_id = core.list_cases(lab.admin, CaseFilter(assigned_to=lab.production))
    assert [r.case_id for r in by_id.items] == [theirs]
    board = core.dashboard(lab.production, CaseFilter(mine=True))
    assert board.counts.get(CaseStatus.IN_PLANNING) == 1
    assert sum(board.counts.values()) == 1
    doctor_mine = core.list_cases(lab.doctor, CaseFilter(mine=True))
    assert {r.case_id for r in doctor_mine.items} == {mine, theirs, draft}


# -- stored documents before schema 6 --------------------------------------------------------------
def test_a_stored_case_naming_its_assigned_planner_still_loads(core: Core, lab: Lab) -> None:
    case_id = lab.ready_case()
    core.submit(lab.doctor, case_id)
    case = core.take_case(lab.planner, case_id)
    converter = make_converter()
    old = converter.to_document(case)
    old["assigned_planner_id"] = old.pop("assigned_to")
    assert converter.from_document(old, type(case)).assigned_to == lab.planner


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(picks=st.lists(st.sampled_from(["planner", "production", None]), min_size=1, max_size=6))
def test_the_assignee_is_the_last_one_given(core: Core, lab: Lab, picks: list[str | None]) -> None:
    case_id = lab.ready_case()
    core.submit(lab.doctor, case_id)
    for pick in picks:
        core.assign_case(lab.admin, case_id, getattr(lab, pick) if pick else None)
    expected = getattr(lab, picks[-1]) if picks[-1] else None
    assert core.get_case(lab.admin, case_id).case.assigned_to == expected
    listed = core.list_cases(
        lab.admin, CaseFilter(number=core.get_case(lab.admin, case_id).case.number)
    )
    assert listed.items[0].assigned_to == expected
