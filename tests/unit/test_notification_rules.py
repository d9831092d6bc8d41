"""Who is told what: every rule of the table, through the service's outbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

import aligner_core
from aligner_core.bootstrap import Core
from aligner_core.commands import InviteCollaborator
from aligner_core.domain.accounts import CollaboratorPermission, Role
from aligner_core.domain.cases import CaseKind
from aligner_core.domain.events import EventType
from aligner_core.domain.orders import (
    RefinementOrder,
    ReplacementOrder,
    ReplacementReason,
    RetainerOrder,
    RetainerType,
)
from aligner_core.domain.records import FileKind
from aligner_core.errors import ValidationError
from aligner_core.notifications.rules import MANDATORY, RULES
from aligner_core.testing.contracts.files import pdf_bytes
from aligner_core.testing.factories import (
    Lab,
    arch_stl,
    patient_details,
    plan_summary,
    registration,
    set_up_lab,
)

P = CollaboratorPermission


class World:
    """A lab with two planners, a second doctor, and two outside collaborators."""

    def __init__(self, url: str = "memory://") -> None:
        self.core: Core = aligner_core.connect(url)
        self.lab: Lab = set_up_lab(self.core)
        self.planner2 = self.lab.add(Role.PLANNER, "planner-two")
        self.doctor2 = self.lab.add(Role.DOCTOR, "doctor-two")
        outside = set_up_lab(self.core, "OUT-1")
        self.outside_admin = outside.admin
        self.commenter = outside.planner  # an outside planning service that may comment
        self.viewer = outside.production  # one that may only look
        self.seen = 0

    def told(self, event: EventType) -> set[UUID]:
        """Recipients of ``event`` queued since the last call."""
        with self.core.storage.unit_of_work() as uow:
            entries = list(uow.outbox.pending())
        new, self.seen = entries[self.seen :], len(entries)
        return {e.recipient_id for e in new if e.event.type is event}

    def skip(self) -> None:
        self.told(EventType.ACCOUNT_ACTIVATED)

    def submitted_case(self) -> UUID:
        case_id = self.lab.ready_case()
        self.core.submit(self.lab.doctor, case_id)
        return case_id

    def with_collaborators(self, case_id: UUID) -> None:
        core, doctor = self.core, self.lab.doctor
        core.invite_collaborator(doctor, case_id, self.commenter, [P.COMMENT, P.VIEW_SETUP])
        core.invite_collaborator(doctor, case_id, self.viewer, [P.VIEW_DETAILS])
        core.respond_to_invitation(self.commenter, case_id, accept=True)
        core.respond_to_invitation(self.viewer, case_id, accept=True)


@pytest.fixture(params=["memory", "sqlite"])
def w(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """The world on the in-memory storage, then on an SQLite file."""
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'cases.db'}"
    world = World(url)
    world.skip()
    yield world
    world.core.storage.close()


def test_account_activated_tells_the_user(w: World) -> None:
    fresh = registration("newbie", reference_code=w.lab.network.reference_code)
    account = w.core.register(fresh)
    w.core.activate(w.lab.admin, account.account_id)
    assert w.told(EventType.ACCOUNT_ACTIVATED) == {account.account_id}


def test_case_submitted_tells_every_planner_of_the_network(w: World) -> None:
    w.submitted_case()
    assert w.told(EventType.CASE_SUBMITTED) == {w.lab.planner, w.planner2}


def test_plan_uploaded_tells_the_doctor_and_commenting_collaborators(w: World) -> None:
    case_id = w.submitted_case()
    w.with_collaborators(case_id)
    w.skip()
    w.core.upload_plan(w.lab.planner, case_id, plan_summary())
    assert w.told(EventType.PLAN_UPLOADED) == {w.lab.doctor, w.commenter}


def test_lab_comment_tells_the_doctor_and_commenting_collaborators(w: World) -> None:
    case_id = w.submitted_case()
    w.with_collaborators(case_id)
    w.skip()
    w.core.comment(w.lab.production, case_id, "impressions are fine")
    assert w.told(EventType.COMMENT_ADDED) == {w.lab.doctor, w.commenter}


def test_doctor_comment_tells_the_planners_then_the_assigned_planner(w: World) -> None:
    case_id = w.submitted_case()
    w.core.comment(w.lab.doctor, case_id, "please hurry")
    assert w.told(EventType.COMMENT_ADDED) == {w.lab.planner, w.planner2}
    w.core.upload_plan(w.planner2, case_id, plan_summary())  # planner2 is now assigned
    w.core.comment(w.lab.doctor, case_id, "thanks")
    assert w.told(EventType.COMMENT_ADDED) == {w.planner2}


def test_collaborator_comment_tells_the_planners_and_the_doctor(w: World) -> None:
    case_id = w.submitted_case()
    w.with_collaborators(case_id)
    w.skip()
    w.core.comment(w.commenter, case_id, "suggest IPR")
    assert w.told(EventType.COMMENT_ADDED) == {w.lab.planner, w.planner2, w.lab.doctor}


def test_plan_accepted_and_modification_requested_tell_the_assigned_planner(w: World) -> None:
    case_id = w.submitted_case()
    w.core.upload_plan(w.lab.planner, case_id, plan_summary())
    w.core.request_modification(w.lab.doctor, case_id, "more torque")
    assert w.told(EventType.MODIFICATION_REQUESTED) == {w.lab.planner}
    w.core.upload_plan(w.lab.planner, case_id, plan_summary())
    w.core.accept_plan(w.lab.doctor, case_id, 2)
    assert w.told(EventType.PLAN_ACCEPTED) == {w.lab.planner, w.lab.production}


def test_a_blocked_assigned_planner_falls_back_to_the_other_planners(w: World) -> None:
    case_id = w.submitted_case()
    w.core.upload_plan(w.lab.planner, case_id, plan_summary())
    w.core.block(w.lab.admin, w.lab.planner)
    w.core.request_modification(w.lab.doctor, case_id, "more torque")
    assert w.told(EventType.MODIFICATION_REQUESTED) == {w.planner2}


def test_blocked_users_are_not_told(w: World) -> None:
    w.core.block(w.lab.admin, w.planner2)
    w.submitted_case()
    assert w.told(EventType.CASE_SUBMITTED) == {w.lab.planner}


def test_shipped_tells_the_doctor(w: World) -> None:
    case_id = w.submitted_case()
    w.core.upload_plan(w.lab.planner, case_id, plan_summary())
    w.core.accept_plan(w.lab.doctor, case_id, 1)
    w.core.ship(w.lab.production, case_id, carrier="DHL", tracking_number="JD0001")
    assert w.told(EventType.CASE_SHIPPED) == {w.lab.doctor}


def test_reassigned_tells_the_old_and_the_new_doctor(w: World) -> None:
    case_id = w.submitted_case()
    w.core.reassign(w.lab.admin, case_id, w.doctor2)
    assert w.told(EventType.CASE_REASSIGNED) == {w.lab.doctor, w.doctor2}


def test_collaboration_tells_the_other_party(w: World) -> None:
    case_id = w.submitted_case()
    doctor = w.lab.doctor
    w.core.invite_collaborator(doctor, case_id, w.commenter, [P.COMMENT])
    assert w.told(EventType.COLLABORATOR_INVITED) == {w.commenter}
    w.core.respond_to_invitation(w.commenter, case_id, accept=True)
    assert w.told(EventType.COLLABORATOR_ACCEPTED) == {doctor}
    w.core.invite_collaborator(doctor, case_id, w.viewer, [P.VIEW_DETAILS])
    w.skip()
    w.core.respond_to_invitation(w.viewer, case_id, accept=False)
    assert w.told(EventType.COLLABORATOR_DECLINED) == {doctor}


def test_optional_events_can_be_muted_but_mandatory_ones_cannot(w: World) -> None:
    w.core.set_muted_notifications(w.lab.doctor, [EventType.COMMENT_ADDED, EventType.CASE_SHIPPED])
    case_id = w.submitted_case()
    w.core.comment(w.lab.planner, case_id, "hello")
    assert w.told(EventType.COMMENT_ADDED) == set()
    w.core.upload_plan(w.lab.planner, case_id, plan_summary())
    w.core.accept_plan(w.lab.doctor, case_id, 1)
    w.core.ship(w.lab.production, case_id, carrier="DHL", tracking_number="JD0002")
    assert EventType.CASE_SHIPPED in MANDATORY
    assert w.told(EventType.CASE_SHIPPED) == {w.lab.doctor}


def test_the_actor_is_never_told(w: World) -> None:
    case_id = w.submitted_case()
    w.core.comment(w.lab.planner, case_id, "from a planner")
    w.core.upload_plan(w.lab.planner, case_id, plan_summary())
    w.core.comment(w.lab.planner, case_id, "the assigned planner writes")
    w.core.comment(w.lab.doctor, case_id, "the doctor writes")
    with w.core.storage.unit_of_work() as uow:
        entries = list(uow.outbox.pending())
    assert entries
    assert all(e.recipient_id != e.event.actor_id for e in entries)


def test_the_table_covers_the_issue() -> None:
    required = {
        EventType.PLAN_UPLOADED,
        EventType.CASE_SUBMITTED,
        EventType.PLAN_ACCEPTED,
        EventType.MODIFICATION_REQUESTED,
        EventType.CASE_SHIPPED,
        EventType.ACCOUNT_ACTIVATED,
        EventType.CASE_REASSIGNED,
        EventType.COLLABORATOR_INVITED,
        EventType.COLLABORATOR_ACCEPTED,
        EventType.COLLABORATOR_DECLINED,
    }
    assert required <= set(RULES)


def _shipped(w: World) -> UUID:
    case_id = w.submitted_case()
    w.core.upload_plan(w.lab.planner, case_id, plan_summary())
    w.core.accept_plan(w.lab.doctor, case_id, 1)
    w.core.ship(w.lab.production, case_id, carrier="DHL", tracking_number="JD0003")
    w.skip()
    return case_id


def test_orders_production_makes_are_told_to_production(w: World) -> None:
    parent = _shipped(w)
    orders = (
        RetainerOrder(RetainerType.REMOVABLE, model_step=10),
        ReplacementOrder(5, ReplacementReason.BROKEN, upper="3-4", not_quality_complaint=True),
    )
    for order in orders:
        draft = w.core.order_follow_up(w.lab.doctor, parent, order)
        w.core.confirm(w.lab.doctor, draft.case_id, complete=True, privacy=True)
        w.core.submit(w.lab.doctor, draft.case_id)
        assert w.told(EventType.CASE_SUBMITTED) == {w.lab.production}
    direct = w.core.create_case(w.lab.doctor, CaseKind.DIRECT_MANUFACTURING, patient_details())
    w.core.attach_file(w.lab.doctor, direct.case_id, FileKind.UPPER_SCAN, arch_stl(), "u.stl")
    w.core.confirm(w.lab.doctor, direct.case_id, complete=True, privacy=True)
    w.core.submit(w.lab.doctor, direct.case_id)
    assert w.told(EventType.CASE_SUBMITTED) == {w.lab.production}


def test_documents_added_after_submission_tell_whoever_acts_on_the_case(w: World) -> None:
    draft = w.lab.ready_case()
    w.core.attach_file(w.lab.doctor, draft, FileKind.OTHER, pdf_bytes(), "before.pdf")
    assert w.told(EventType.DOCUMENT_ADDED) == set()  # a draft is nobody's work yet
    w.core.submit(w.lab.doctor, draft)
    w.core.attach_file(w.lab.doctor, draft, FileKind.OTHER, pdf_bytes(), "referral.pdf")
    assert w.told(EventType.DOCUMENT_ADDED) == {w.lab.planner, w.planner2}
    shipped = _shipped(w)
    w.core.attach_file(w.lab.doctor, shipped, FileKind.OTHER, pdf_bytes(), "after.pdf")
    assert w.told(EventType.DOCUMENT_ADDED) == {w.lab.production}


def test_doctor_comment_reaches_commenting_collaborators(w: World) -> None:
    case_id = w.submitted_case()
    w.with_collaborators(case_id)
    w.skip()
    w.core.comment(w.lab.doctor, case_id, "what do you think?")
    assert w.told(EventType.COMMENT_ADDED) == {w.lab.planner, w.planner2, w.commenter}


def test_collaborators_carry_over_to_follow_ups(w: World) -> None:
    parent = _shipped(w)
    w.with_collaborators(parent)
    w.core.invite_collaborator(w.lab.doctor, parent, w.lab.add(Role.PLANNER, "p3"), [P.COMMENT])
    refinement = w.core.order_follow_up(w.lab.doctor, parent, RefinementOrder())
    assert {g.account_id for g in refinement.collaborators} == {w.commenter, w.viewer}
    seen = w.core.get_case(w.commenter, refinement.case_id)  # not NotFound
    assert seen.case.number == refinement.number
    w.skip()
    w.core.comment(w.lab.doctor, refinement.case_id, "phase two")
    assert w.commenter in w.told(EventType.COMMENT_ADDED)


def test_an_outside_planner_is_invited_by_e_mail_and_sees_only_that_case(w: World) -> None:
    case_id = w.submitted_case()
    other = w.submitted_case()
    outsider = next(a for a in w.core.list_accounts(w.outside_admin) if a.account_id == w.commenter)
    w.core.invite_by_email(w.lab.doctor, case_id, outsider.email.upper(), [P.COMMENT])
    assert w.told(EventType.COLLABORATOR_INVITED) == {w.commenter}
    w.core.respond_to_invitation(w.commenter, case_id, accept=True)
    assert {s.case_id for s in w.core.list_cases(w.commenter).items} == {case_id}
    assert other not in {s.case_id for s in w.core.list_cases(w.commenter).items}
    with pytest.raises(ValidationError) as owner:
        w.core.invite_by_email(
            w.lab.doctor, other, w.core.get_account(w.lab.doctor, w.lab.doctor).email, [P.COMMENT]
        )
    assert [(e.code, e.path) for e in owner.value.errors] == [("invitee_invalid", "$.email")]
    with pytest.raises(ValidationError) as both:
        InviteCollaborator(
            case_id=other, collaborator_id=w.viewer, email=outsider.email, permissions=(P.COMMENT,)
        )
    assert [e.code for e in both.value.errors] == ["invitee_one_of"]
