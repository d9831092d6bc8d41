"""Who may do what: the matrix, blocked accounts, scope, collaborators, admins, reassignment."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from aligner_core import connect
from aligner_core.bootstrap import Core
from aligner_core.domain import permissions
from aligner_core.domain.accounts import (
    Account,
    AccountStatus,
    CollaboratorGrant,
    CollaboratorPermission,
    GrantStatus,
    ProfileChanges,
    Role,
)
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import Case, CaseKind, CaseStatus
from aligner_core.domain.patients import Gender, Patient
from aligner_core.domain.permissions import MATRIX, Relation
from aligner_core.domain.queries import Scope
from aligner_core.errors import NotFoundError, PermissionDeniedError, ValidationError
from aligner_core.testing.factories import (
    Lab,
    address,
    patient_details,
    plan_summary,
    set_up_lab,
)

P = CollaboratorPermission
R = Relation
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NET = uuid.UUID(int=100)
OTHER_NET = uuid.UUID(int=200)
OWNER = uuid.UUID(int=1)


def account(n: int, role: Role, network: uuid.UUID = NET, *, active: bool = True) -> Account:
    return Account(
        account_id=uuid.UUID(int=n),
        network_id=network,
        role=role,
        username=f"user{n}",
        email=f"user{n}@example.org",
        first_name="A",
        last_name="B",
        clinic_name="C",
        shipping_address=address(),
        created_at=NOW,
        status=AccountStatus.ACTIVE if active else AccountStatus.BLOCKED,
    )


def grant(n: int, *perms: P, status: GrantStatus = GrantStatus.ACCEPTED) -> CollaboratorGrant:
    return CollaboratorGrant(uuid.UUID(int=n), OWNER, NOW, perms, status)


CASE = Case(
    case_id=uuid.UUID(int=999),
    number=100,
    kind=CaseKind.TREATMENT,
    network_id=NET,
    owner_id=OWNER,
    patient=Patient(uuid.UUID(int=998), "Doe", Gender.FEMALE),
    created_at=NOW,
    updated_at=NOW,
    collaborators=(
        grant(10, P.VIEW_DETAILS),
        grant(11, P.COMMENT),
        grant(12, P.VIEW_SETUP),
        grant(13, P.EDIT_SETUP),
        grant(14, P.EDIT_SETUP, status=GrantStatus.INVITED),
        grant(15, P.EDIT_SETUP, status=GrantStatus.DECLINED),
        grant(16, P.EDIT_SETUP, status=GrantStatus.REVOKED),
    ),
)

# persona -> (account, the relations it must hold: written out, not computed)
PERSONAS: dict[str, tuple[Account, frozenset[Relation]]] = {
    "owner": (account(1, Role.DOCTOR), frozenset({R.OWNER})),
    "collab_view": (account(10, Role.DOCTOR, OTHER_NET), frozenset({R.COLLABORATOR_VIEW})),
    "collab_comment": (
        account(11, Role.DOCTOR, OTHER_NET),
        frozenset({R.COLLABORATOR_VIEW, R.COLLABORATOR_COMMENT}),
    ),
    "collab_view_setup": (
        account(12, Role.DOCTOR, OTHER_NET),
        frozenset({R.COLLABORATOR_VIEW, R.COLLABORATOR_VIEW_SETUP}),
    ),
    "collab_edit_setup": (
        account(13, Role.DOCTOR, OTHER_NET),
        frozenset({R.COLLABORATOR_VIEW, R.COLLABORATOR_VIEW_SETUP, R.COLLABORATOR_EDIT_SETUP}),
    ),
    "invitee": (account(14, Role.DOCTOR, OTHER_NET), frozenset({R.INVITEE})),
    "declined": (account(15, Role.DOCTOR, OTHER_NET), frozenset()),
    "revoked": (account(16, Role.DOCTOR, OTHER_NET), frozenset()),
    "planner": (account(2, Role.PLANNER), frozenset({R.PLANNER})),
    "production": (account(3, Role.PRODUCTION), frozenset({R.PRODUCTION})),
    "admin": (account(4, Role.ADMIN), frozenset({R.ADMIN})),
    "other_doctor_same_network": (account(5, Role.DOCTOR), frozenset()),
    "planner_other_network": (account(6, Role.PLANNER, OTHER_NET), frozenset()),
    "production_other_network": (account(7, Role.PRODUCTION, OTHER_NET), frozenset()),
    "admin_other_network": (account(8, Role.ADMIN, OTHER_NET), frozenset()),
    "blocked_owner": (account(1, Role.DOCTOR, active=False), frozenset()),
    "blocked_planner": (account(2, Role.PLANNER, active=False), frozenset()),
    "blocked_collaborator": (account(13, Role.DOCTOR, OTHER_NET, active=False), frozenset()),
}


def test_every_relation_is_held_by_some_persona() -> None:
    held = set().union(*(rels for _, rels in PERSONAS.values()))
    assert held == set(Relation)


def test_every_action_has_a_matrix_row_and_someone_allowed() -> None:
    assert set(MATRIX) == set(Action)
    assert all(MATRIX[a] for a in Action)


@pytest.mark.parametrize("name", list(PERSONAS))
def test_relations_per_persona(name: str) -> None:
    actor, expected = PERSONAS[name]
    assert permissions.relations(actor, CASE) == expected


@pytest.mark.parametrize("action", list(Action), ids=[a.value for a in Action])
@pytest.mark.parametrize("name", list(PERSONAS))
def test_the_matrix_every_action_for_every_relation(action: Action, name: str) -> None:
    actor, rels = PERSONAS[name]
    allowed = bool(rels & MATRIX[action])
    assert permissions.can(actor, action, CASE) is allowed
    if allowed:
        permissions.ensure(actor, action, CASE)
        return
    with pytest.raises(PermissionDeniedError) as info:
        permissions.ensure(actor, action, CASE)
    err = info.value
    assert err.action == action.value
    assert err.actor == actor.account_id
    assert err.target == CASE.reference
    if not actor.is_active:
        assert err.reason == "account is blocked"
    else:
        needed = ", ".join(sorted(r.value for r in MATRIX[action]))
        held = ", ".join(sorted(r.value for r in rels)) or "none"
        assert err.reason == f"needs one of [{needed}], has [{held}]"


# The design's table, written out independently of MATRIX: a change to MATRIX must show here.
SPEC: dict[Action, set[Relation]] = {
    Action.VIEW: {R.OWNER, R.COLLABORATOR_VIEW, R.PLANNER, R.PRODUCTION, R.ADMIN},
    Action.EDIT: {R.OWNER},
    Action.SET_TEETH: {R.OWNER},
    Action.ATTACH: {R.OWNER},
    Action.CONFIRM: {R.OWNER},
    Action.DELETE: {R.OWNER},
    Action.SUBMIT: {R.OWNER},
    Action.ACCEPT_ORDER: {R.PRODUCTION, R.ADMIN},
    Action.REFUSE_ORDER: {R.PRODUCTION, R.ADMIN},
    Action.UPLOAD_PLAN: {R.PLANNER, R.COLLABORATOR_EDIT_SETUP},
    Action.ACCEPT_PLAN: {R.OWNER},
    Action.REJECT_PLAN: {R.OWNER},
    Action.REQUEST_MODIFICATION: {R.OWNER, R.COLLABORATOR_EDIT_SETUP},
    Action.HOLD: {R.PLANNER, R.PRODUCTION, R.ADMIN},
    Action.RELEASE: {R.PLANNER, R.PRODUCTION, R.ADMIN},
    Action.CANCEL: {R.OWNER, R.ADMIN},
    Action.SHIP: {R.PRODUCTION},
    Action.CLOSE: {R.OWNER, R.ADMIN},
    Action.REOPEN: {R.OWNER, R.ADMIN},
    Action.SHARE_PLAN: {R.OWNER},
    Action.REVOKE_SHARE: {R.OWNER},
    Action.INVITE_COLLABORATOR: {R.OWNER},
    Action.REVOKE_COLLABORATOR: {R.OWNER},
    Action.RESPOND_INVITATION: {R.INVITEE},
    Action.REASSIGN: {R.ADMIN},
}


@pytest.mark.parametrize("action", list(SPEC), ids=[a.value for a in SPEC])
def test_the_matrix_matches_the_design_table(action: Action) -> None:
    assert set(MATRIX[action]) == SPEC[action]


def test_comment_and_documents_are_open_to_everyone_who_sees_the_case_with_the_permission() -> None:
    lab = {R.PLANNER, R.PRODUCTION, R.ADMIN}
    assert set(MATRIX[Action.COMMENT]) == lab | {R.OWNER, R.COLLABORATOR_COMMENT}
    assert {R.OWNER} | lab <= set(MATRIX[Action.ADD_DOCUMENT])
    assert R.COLLABORATOR_VIEW not in MATRIX[Action.ADD_DOCUMENT]


def test_no_collaborator_ever_accepts_or_rejects_a_plan() -> None:
    collab = {R.COLLABORATOR_VIEW, R.COLLABORATOR_COMMENT, R.COLLABORATOR_VIEW_SETUP}
    for action in (Action.ACCEPT_PLAN, Action.REJECT_PLAN, Action.SUBMIT, Action.CANCEL):
        assert not MATRIX[action] & (collab | {R.COLLABORATOR_EDIT_SETUP, R.INVITEE})


def test_scope_for_each_role() -> None:
    assert permissions.scope_for(account(1, Role.DOCTOR)) == Scope(member_id=uuid.UUID(int=1))
    for role in (Role.PLANNER, Role.PRODUCTION, Role.ADMIN):
        # staff see their network plus any other network's case shared with them
        assert permissions.scope_for(account(2, role)) == Scope(
            network_id=NET, member_id=uuid.UUID(int=2)
        )
    with pytest.raises(PermissionDeniedError) as info:
        permissions.scope_for(account(1, Role.DOCTOR, active=False))
    assert info.value.reason == "account is blocked"


# -- through the service -----------------------------------------------------------------------
@attrs.define
class World:
    core: Core
    lab: Lab
    other: Lab
    doctor2: uuid.UUID
    outsider: uuid.UUID  # a doctor of the other network (a planning service to invite)


@pytest.fixture
def w() -> Iterator[World]:
    with connect("memory://") as core:
        lab = set_up_lab(core, "NET-A")
        other = set_up_lab(core, "NET-B")
        doctor2 = lab.add(Role.DOCTOR, "doctor2-NET-A")
        outsider = other.add(Role.DOCTOR, "service-NET-B")
        yield World(core, lab, other, doctor2, outsider)


def waiting_case(w: World) -> uuid.UUID:
    case_id = w.lab.ready_case()
    w.core.submit(w.lab.doctor, case_id)
    w.core.upload_plan(w.lab.planner, case_id, plan_summary())
    return case_id


def denied(fn: Any, *args: Any, **kwargs: Any) -> PermissionDeniedError:
    with pytest.raises(PermissionDeniedError) as info:
        fn(*args, **kwargs)
    return info.value


def not_found(fn: Any, *args: Any, **kwargs: Any) -> NotFoundError:
    with pytest.raises(NotFoundError) as info:
        fn(*args, **kwargs)
    return info.value


def version_of(w: World, case_id: uuid.UUID) -> int:
    with w.core.storage.unit_of_work() as uow:
        return uow.cases.get(case_id).version


def test_blocked_accounts_can_do_nothing(w: World) -> None:
    case_id = waiting_case(w)
    core = w.core
    for user in (w.lab.doctor, w.lab.planner, w.lab.production):
        core.block(w.lab.admin, user)
    before = version_of(w, case_id)
    attempts = [
        (core.get_case, w.lab.doctor, case_id),
        (core.list_cases, w.lab.doctor),
        (core.dashboard, w.lab.doctor),
        (core.allowed_actions, w.lab.doctor, case_id),
        (core.accept_plan, w.lab.doctor, case_id, 1),
        (core.comment, w.lab.doctor, case_id, "hello"),
        (core.request_modification, w.lab.doctor, case_id, "more"),
        (core.cancel, w.lab.doctor, case_id, "stop"),
        (core.upload_plan, w.lab.planner, case_id, plan_summary()),
        (core.hold, w.lab.production, case_id, "x"),
        (core.create_case, w.lab.doctor, CaseKind.TREATMENT, patient_details()),
        (core.get_account, w.lab.doctor, w.lab.doctor),
    ]
    for fn, *args in attempts:
        err = denied(fn, *args)
        assert err.reason == "account is blocked", fn
    assert version_of(w, case_id) == before


def test_a_blocked_account_cannot_manage_anything_even_its_own_profile(w: World) -> None:
    fresh = _fresh_account(w, "NET-A")
    w.core.block(w.lab.admin, w.lab.planner)
    err = denied(
        w.core.update_profile, w.lab.planner, w.lab.planner, ProfileChanges(first_name="X")
    )
    assert err.reason == "account is blocked"
    err = denied(w.core.activate, w.lab.planner, fresh)
    assert err.reason == "account is blocked"


def test_an_unknown_user_is_refused(w: World) -> None:
    err = denied(w.core.list_cases, uuid.UUID(int=123456789))
    assert err.reason == "unknown user"


def test_strangers_from_another_network_see_nothing(w: World) -> None:
    case_id = waiting_case(w)
    number = w.core.get_case(w.lab.doctor, case_id).case.number
    for stranger in (
        w.other.doctor,
        w.other.planner,
        w.other.production,
        w.other.admin,
        w.outsider,
    ):
        err = not_found(w.core.get_case, stranger, case_id)
        assert (err.kind, err.key) == ("case", case_id)
        not_found(w.core.get_case_by_number, stranger, number)
        not_found(w.core.allowed_actions, stranger, case_id)
        not_found(w.core.comment, stranger, case_id, "hi")
        not_found(w.core.hold, stranger, case_id, "why")
        assert case_id not in {c.case_id for c in w.core.list_cases(stranger).items}
        assert w.core.dashboard(stranger).total == 0
    assert not_found(w.core.upload_plan, w.other.planner, case_id, plan_summary()).key == case_id
    assert not_found(w.core.reassign, w.other.admin, case_id, w.other.doctor).key == case_id


def test_not_found_looks_the_same_for_a_missing_and_a_foreign_case(w: World) -> None:
    case_id = w.lab.ready_case()
    foreign = not_found(w.core.get_case, w.other.doctor, case_id)
    missing = not_found(w.core.get_case, w.other.doctor, uuid.UUID(int=424242))
    assert type(foreign) is type(missing)
    assert foreign.kind == missing.kind == "case"


@pytest.mark.parametrize(
    ("who", "call", "action", "held"),
    [
        ("planner", "accept_plan", "accept_plan", "planner"),
        ("production", "accept_plan", "accept_plan", "production"),
        ("admin", "accept_plan", "accept_plan", "admin"),
        ("planner", "reject_plan", "reject_plan", "planner"),
        ("production", "request_modification", "request_modification", "production"),
        ("planner", "cancel", "cancel", "planner"),
        ("doctor", "hold", "hold", "owner"),
        ("doctor", "upload_plan", "upload_plan", "owner"),
        ("planner", "share_plan", "share_plan", "planner"),
        ("admin", "share_plan", "share_plan", "admin"),
        ("planner", "invite_collaborator", "invite_collaborator", "planner"),
        ("doctor", "reassign", "reassign", "owner"),
        ("planner", "reassign", "reassign", "planner"),
    ],
)
def test_commands_refused_for_users_who_see_the_case_but_lack_the_relation(
    w: World, who: str, call: str, action: str, held: str
) -> None:
    case_id = waiting_case(w)
    actor = getattr(w.lab, who)
    args: dict[str, tuple[Any, ...]] = {
        "accept_plan": (1,),
        "reject_plan": ("no",),
        "request_modification": ("more",),
        "cancel": ("stop",),
        "hold": ("why",),
        "upload_plan": (plan_summary(),),
        "share_plan": (1,),
        "invite_collaborator": (w.outsider, [P.VIEW_DETAILS]),
        "reassign": (w.doctor2,),
    }
    before = version_of(w, case_id)
    err = denied(getattr(w.core, call), actor, case_id, *args[call])
    needed = ", ".join(sorted(r.value for r in MATRIX[Action(action)]))
    assert err.action == action
    assert err.reason == f"needs one of [{needed}], has [{held}]"
    assert version_of(w, case_id) == before


def test_only_doctors_create_cases(w: World) -> None:
    for staff in (w.lab.planner, w.lab.production, w.lab.admin):
        err = denied(w.core.create_case, staff, CaseKind.TREATMENT, patient_details())
        assert err.reason == "only doctors order cases"


def test_ship_is_for_production_staff_only(w: World) -> None:
    case_id = waiting_case(w)
    w.core.accept_plan(w.lab.doctor, case_id, 1)
    for who, held in (("planner", "planner"), ("admin", "admin"), ("doctor", "owner")):
        err = denied(w.core.ship, getattr(w.lab, who), case_id, carrier="DHL", tracking_number="1")
        assert err.reason == f"needs one of [production], has [{held}]"
    assert w.core.ship(w.lab.production, case_id, carrier="DHL", tracking_number="1").status is (
        CaseStatus.SHIPPED
    )


def test_doctors_see_only_their_own_and_shared_cases(w: World) -> None:
    mine = w.lab.ready_case(last_name="Mine")
    theirs = w.lab.ready_case(doctor=w.doctor2, last_name="Theirs")
    listed = {c.case_id for c in w.core.list_cases(w.lab.doctor).items}
    assert listed == {mine}
    assert {c.case_id for c in w.core.list_cases(w.doctor2).items} == {theirs}
    assert not_found(w.core.get_case, w.doctor2, mine).key == mine
    assert w.core.dashboard(w.lab.doctor).total == 1
    # staff of the network see both
    for staff in (w.lab.planner, w.lab.production, w.lab.admin):
        assert {c.case_id for c in w.core.list_cases(staff).items} == {mine, theirs}
        assert w.core.dashboard(staff).total == 2
    # share with doctor2: an invitation shows nothing yet (no patient data before
    # accepting) and lists nothing; once accepted the case is listed
    w.core.invite_collaborator(w.lab.doctor, mine, w.doctor2, [P.VIEW_DETAILS])
    assert not_found(w.core.get_case, w.doctor2, mine).key == mine
    assert mine not in {c.case_id for c in w.core.list_cases(w.doctor2).items}
    w.core.respond_to_invitation(w.doctor2, mine, accept=True)
    assert {c.case_id for c in w.core.list_cases(w.doctor2).items} == {mine, theirs}
    assert w.core.dashboard(w.doctor2).total == 2


def collaborator(w: World, *perms: P) -> tuple[uuid.UUID, uuid.UUID]:
    case_id = w.lab.ready_case()
    w.core.submit(w.lab.doctor, case_id)
    w.core.invite_collaborator(w.lab.doctor, case_id, w.outsider, perms)
    w.core.respond_to_invitation(w.outsider, case_id, accept=True)
    return case_id, w.outsider


def test_a_view_only_collaborator_reads_but_does_nothing_else(w: World) -> None:
    case_id, col = collaborator(w, P.VIEW_DETAILS)
    detail = w.core.get_case(col, case_id)
    assert detail.may_view_plans is False
    w.core.upload_plan(w.lab.planner, case_id, plan_summary())
    detail = w.core.get_case(col, case_id)
    assert detail.case.plans == ()
    assert detail.allowed_actions == {Action.VIEW}
    err = denied(w.core.comment, col, case_id, "hi")
    assert (
        err.reason == "needs one of [admin, collaborator_comment, owner, planner, production], "
        "has [collaborator_view]"
    )
    err = denied(w.core.request_modification, col, case_id, "more")
    assert err.reason == "needs one of [collaborator_edit_setup, owner], has [collaborator_view]"


def test_a_commenting_collaborator_comments_and_the_lab_is_told(w: World) -> None:
    case_id, col = collaborator(w, P.COMMENT)
    case = w.core.comment(col, case_id, "please check 21")
    assert case.comments[-1].author_id == col
    err = denied(w.core.accept_plan, col, case_id, 1)
    assert err.reason == "needs one of [owner], has [collaborator_comment, collaborator_view]"


def test_a_view_setup_collaborator_sees_plans_but_cannot_change_them(w: World) -> None:
    case_id, col = collaborator(w, P.VIEW_SETUP)
    w.core.upload_plan(w.lab.planner, case_id, plan_summary())
    detail = w.core.get_case(col, case_id)
    assert detail.may_view_plans is True
    assert len(detail.case.plans) == 1
    err = denied(w.core.request_modification, col, case_id, "more")
    assert "has [collaborator_view, collaborator_view_setup]" in err.reason


def test_an_edit_setup_collaborator_proposes_but_never_accepts(w: World) -> None:
    case_id, col = collaborator(w, P.EDIT_SETUP)
    case = w.core.upload_plan(col, case_id, plan_summary(upper=25))
    assert case.status is CaseStatus.WAITING_FOR_APPROVAL
    assert case.plans[-1].uploaded_by == col
    case = w.core.request_modification(col, case_id, "less IPR")
    assert case.status is CaseStatus.IN_PLANNING
    w.core.upload_plan(w.lab.planner, case_id, plan_summary(upper=22))
    err = denied(w.core.accept_plan, col, case_id, 2)
    assert err.action == "accept_plan"
    assert err.reason == (
        "needs one of [owner], "
        "has [collaborator_edit_setup, collaborator_view, collaborator_view_setup]"
    )
    err = denied(w.core.reject_plan, col, case_id, "no")
    assert err.reason.startswith("needs one of [owner]")
    assert Action.ACCEPT_PLAN not in w.core.allowed_actions(col, case_id)
    assert Action.REQUEST_MODIFICATION in w.core.allowed_actions(col, case_id)
    assert w.core.accept_plan(w.lab.doctor, case_id, 2).status is CaseStatus.IN_PRODUCTION


def test_an_invitee_may_only_respond(w: World) -> None:
    case_id = w.lab.ready_case()
    w.core.invite_collaborator(w.lab.doctor, case_id, w.outsider, [P.EDIT_SETUP])
    assert not_found(w.core.comment, w.outsider, case_id, "hi").key == case_id
    w.core.respond_to_invitation(w.outsider, case_id, accept=False)
    assert not_found(w.core.get_case, w.outsider, case_id).key == case_id
    assert not_found(w.core.respond_to_invitation, w.outsider, case_id, accept=True).key == case_id


def test_only_the_primary_doctor_approves(w: World) -> None:
    case_id = waiting_case(w)
    for actor, held in ((w.lab.admin, "admin"), (w.lab.planner, "planner")):
        err = denied(w.core.accept_plan, actor, case_id, 1)
        assert err.reason == f"needs one of [owner], has [{held}]"
    # after a reassignment the new primary doctor approves, the old one may not see it any more
    w.core.reassign(w.lab.admin, case_id, w.doctor2)
    assert not_found(w.core.accept_plan, w.lab.doctor, case_id, 1).key == case_id
    assert w.core.accept_plan(w.doctor2, case_id, 1).status is CaseStatus.IN_PRODUCTION


def _fresh_account(w: World, code: str) -> uuid.UUID:
    from aligner_core.testing.factories import registration

    return w.core.register(registration(reference_code=code)).account_id


def test_admins_manage_only_their_own_network(w: World) -> None:
    pending_a = _fresh_account(w, "NET-A")
    other_admin = w.other.admin
    for call, args in (
        (w.core.activate, (pending_a,)),
        (w.core.block, (w.lab.doctor,)),
        (w.core.update_profile, (w.lab.doctor, ProfileChanges(first_name="Eve"))),
        (w.core.get_account, (w.lab.doctor,)),
    ):
        # another network's accounts do not exist for this admin (no existence leak)
        assert not_found(call, other_admin, *args).kind == "account"
    err = denied(w.core.list_accounts, w.lab.doctor)
    assert err.reason == "not an admin of this network"
    with w.core.storage.unit_of_work() as uow:
        assert uow.accounts.get(pending_a).status is AccountStatus.BLOCKED
        assert uow.accounts.get(w.lab.doctor).status is AccountStatus.ACTIVE
        assert uow.accounts.get(w.lab.doctor).first_name == "Alex"
    # the own admin may
    assert w.core.activate(w.lab.admin, pending_a).status is AccountStatus.ACTIVE
    assert (
        w.core.update_profile(
            w.lab.admin, w.lab.doctor, ProfileChanges(first_name="Eve")
        ).first_name
        == "Eve"
    )
    assert {a.network_id for a in w.core.list_accounts(w.lab.admin)} == {w.lab.network.network_id}


@pytest.mark.parametrize("who", ["doctor", "planner", "production"])
def test_non_admins_cannot_manage_accounts(w: World, who: str) -> None:
    pending = _fresh_account(w, "NET-A")
    actor = getattr(w.lab, who)
    for call, args in (
        (w.core.activate, (pending,)),
        (w.core.block, (w.doctor2,)),
        (w.core.update_profile, (w.doctor2, ProfileChanges(first_name="Eve"))),
    ):
        assert denied(call, actor, *args).reason == "not an admin of this network"


def test_users_update_their_own_profile_and_admins_cannot_block_themselves(w: World) -> None:
    updated = w.core.update_profile(
        w.lab.doctor, w.lab.doctor, ProfileChanges(telephone="+49 30 99")
    )
    assert updated.telephone == "+49 30 99"
    assert denied(w.core.block, w.lab.admin, w.lab.admin).reason == "admins cannot block themselves"


def test_reassign(w: World) -> None:
    case_id = waiting_case(w)
    case = w.core.reassign(w.lab.admin, case_id, w.doctor2)
    assert case.owner_id == w.doctor2
    assert case.history[-1].action == "reassign"
    assert {c.case_id for c in w.core.list_cases(w.doctor2).items} == {case_id}
    assert w.core.list_cases(w.lab.doctor).total == 0
    with w.core.storage.unit_of_work() as uow:
        told = {
            e.recipient_id for e in uow.outbox.pending() if e.event.type.value == "case_reassigned"
        }
    assert told == {w.lab.doctor, w.doctor2}
    # to a doctor of another network, or to a non-doctor: refused with the field named
    for target in (w.other.doctor, w.lab.planner):
        with pytest.raises(ValidationError) as info:
            w.core.reassign(w.lab.admin, case_id, target)
        assert info.value.paths == ["$.owner"]
    assert not_found(w.core.reassign, w.other.admin, case_id, w.other.doctor).key == case_id
