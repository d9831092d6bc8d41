"""The lifecycle: one machine, the table row by row, every guard's named reason."""

from __future__ import annotations

import gc
import uuid
import weakref
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from aligner_core.domain import lifecycle
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import (
    ACTIVE_STATUSES,
    Case,
    CaseKind,
    CaseStatus,
    Hold,
    RecordsRequest,
    Shipment,
)
from aligner_core.domain.lifecycle import TABLE, Attempt, Row, blockers, fire, possible_actions
from aligner_core.domain.orders import (
    LingualRange,
    RefinementOrder,
    ReplacementOrder,
    ReplacementReason,
    RetainerOrder,
    RetainerType,
    RevisionOrder,
)
from aligner_core.domain.packages import Entitlements, Package
from aligner_core.domain.patients import Gender, Patient
from aligner_core.domain.plans import PlanVersion
from aligner_core.domain.prescriptions import TreatmentRequest
from aligner_core.domain.records import (
    ArchPlausibility,
    FileKind,
    FileRef,
    FileReport,
    ImpressionShipment,
    ImpressionType,
    MediaType,
    MeshReport,
    Records,
)
from aligner_core.errors import InvalidTransitionError
from aligner_core.testing.factories import plan_summary

S = CaseStatus
K = CaseKind
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ACTOR = uuid.UUID(int=1)

MESH = MeshReport(
    format="binary",
    triangles=576,
    vertices=325,
    degenerate_triangles=0,
    nonfinite_values=0,
    bbox_min=(-30.0, 0.0, 0.0),
    bbox_max=(30.0, 45.0, 18.0),
    size_mm=(60.0, 45.0, 18.0),
    plausibility=ArchPlausibility.PLAUSIBLE,
    surface_area_mm2=2500.0,
    boundary_edges=72,
    non_manifold_edges=0,
    inconsistent_winding_edges=0,
)


def file_ref(kind: FileKind, *, stl: bool = True) -> FileRef:
    report = (
        FileReport(MediaType.STL, 28_884, "a" * 64, mesh=MESH)
        if stl
        else FileReport(MediaType.PDF, 45, "b" * 64)
    )
    return FileRef(uuid.uuid4(), kind, f"{kind.value}.bin", report, NOW, ACTOR)


def records(*, scans: bool = True, complete: bool = True, privacy: bool = True) -> Records:
    files = (file_ref(FileKind.UPPER_SCAN), file_ref(FileKind.LOWER_SCAN)) if scans else ()
    return Records(
        impression_type=ImpressionType.INTRAORAL_SCAN,
        files=files,
        confirmed_complete=complete,
        privacy_accepted=privacy,
    )


def by_post(*, received: bool = False) -> Records:
    """Records of a draft whose silicone impressions are in the post (or arrived)."""
    parcel = ImpressionShipment("DHL", "JD01", NOW, ACTOR, NOW if received else None)
    base = records(scans=received)
    return attrs.evolve(
        base, impression_type=ImpressionType.SILICONE_IMPRESSION, impressions=parcel
    )


def records_request(
    left: CaseStatus = CaseStatus.IN_PLANNING, kinds: tuple[FileKind, ...] = (FileKind.UPPER_SCAN,)
) -> RecordsRequest:
    """The lab's request, made after the case's files were uploaded."""
    return RecordsRequest(kinds, "blurred", ACTOR, NOW + timedelta(hours=1), left)


ORDERS: dict[CaseKind, Any] = {
    K.REFINEMENT: RefinementOrder(),
    K.RETAINER: RetainerOrder(RetainerType.REMOVABLE, model_step=12),
    K.REPLACEMENT: ReplacementOrder(
        5, ReplacementReason.BROKEN, upper="3-4", not_quality_complaint=True
    ),
    K.REVISION: RevisionOrder("more torque on 11"),
}
PARENT_OK: dict[CaseKind, CaseStatus] = {
    K.REFINEMENT: S.SHIPPED,
    K.REVISION: S.IN_PRODUCTION,
    K.REPLACEMENT: S.SHIPPED,
    K.RETAINER: S.CLOSED,
}


def make_case(
    kind: CaseKind = K.TREATMENT,
    status: CaseStatus = S.DRAFT,
    *,
    plans: int = 0,
    hold_left: CaseStatus | None = None,
    parent: Case | None = None,
    **changes: Any,
) -> Case:
    """A case of ``kind`` in ``status`` that satisfies every submission precondition."""
    if status is S.ON_HOLD and hold_left is None:
        hold_left = S.IN_PLANNING
    case = Case(
        case_id=uuid.uuid4(),
        number=100,
        kind=kind,
        network_id=uuid.UUID(int=7),
        owner_id=ACTOR,
        patient=Patient(uuid.uuid4(), "Doe", Gender.FEMALE, "Jane"),
        created_at=NOW,
        updated_at=NOW,
        status=status,
        request=TreatmentRequest() if kind in (K.TREATMENT, K.REFINEMENT) else None,
        records=records(),
        order=ORDERS.get(kind),
        parent_id=parent.case_id if parent else None,
        plans=tuple(
            PlanVersion(n, NOW, ACTOR, plan_summary(upper=10 + n)) for n in range(1, plans + 1)
        ),
        hold=Hold("records unusable", hold_left, NOW) if hold_left else None,
        records_request=records_request() if status is S.AWAITING_RECORDS else None,
    )
    return attrs.evolve(case, **changes) if changes else case


def parent_of(kind: CaseKind, status: CaseStatus | None = None) -> Case:
    return make_case(K.TREATMENT, status or PARENT_OK.get(kind, S.SHIPPED))


def ready(kind: CaseKind, **changes: Any) -> Attempt:
    """A submission of a ``kind`` draft that every guard accepts."""
    parent = parent_of(kind) if kind.is_follow_up else None
    return Attempt(make_case(kind, parent=parent, **changes), Action.SUBMIT, {}, parent)


REASON = {"reason": "because"}


def args_for(row: Row) -> dict[str, Any]:
    """Arguments that satisfy the guards of ``row``'s action (and its routing)."""
    action = row.action
    if action in (
        Action.REJECT_PLAN,
        Action.REQUEST_MODIFICATION,
        Action.REFUSE_ORDER,
        Action.HOLD,
        Action.CANCEL,
    ):
        return dict(REASON)
    if action is Action.UPLOAD_PLAN:
        return {"plan": plan_summary()}
    if action in (Action.ACCEPT_PLAN, Action.SHARE_PLAN):
        return {"plan_version": 1}
    if action is Action.REQUEST_RECORDS:
        return {**REASON, "kinds": (FileKind.UPPER_SCAN,)}
    if action is Action.ADD_DOCUMENT:
        return {"kind": FileKind.UPPER_SCAN}
    if action in (Action.SHIP, Action.SHIP_IMPRESSIONS):
        return {"carrier": "DHL", "tracking_number": "JD01", "final": row.when != "earlier_phase"}
    return {}


def follow_up_kind(status: CaseStatus) -> CaseKind:
    return K.REVISION if status is S.IN_PRODUCTION else K.REFINEMENT


def _submit_changes(row: Row) -> dict[str, Any]:
    return {"records": by_post()} if row.when == "impressions_by_post" else {}


def _source_changes(row: Row, source: CaseStatus) -> dict[str, Any]:
    """What a case in ``source`` holds for the row's guards and routing to pass."""
    action = row.action
    if action is Action.SHIP_IMPRESSIONS:
        return {"records": attrs.evolve(by_post(), impressions=None)}
    if action is Action.RECEIVE_IMPRESSIONS:
        return {"records": by_post()}
    if action is Action.COMPLETE_DIGITISING:
        return {"records": by_post(received=True)}
    if action is Action.UPGRADE_PACKAGE:  # approved in a package
        return {"entitlements": Entitlements(Package("lite", "Lite", 14), NOW)}
    if source is S.AWAITING_RECORDS and row.when:
        left = S(row.when.removeprefix("records_complete_")) if "complete_" in row.when else None
        kinds = (FileKind.UPPER_SCAN,) if left else (FileKind.UPPER_SCAN, FileKind.LOWER_SCAN)
        return {"records_request": records_request(left or S.IN_PLANNING, kinds)}
    return {}


def row_attempts(row: Row) -> list[tuple[str, Attempt, CaseStatus]]:
    """One passing attempt per (source, kind) of the row, with the expected destination."""
    out = []
    kinds = row.kinds or (K.TREATMENT,)
    for source in row.sources:
        for kind in kinds:
            hold_left = None
            if row.when and row.when.startswith("left_"):
                hold_left = S(row.when.removeprefix("left_"))
            args = args_for(row)
            if row.action is Action.ORDER_FOLLOW_UP:
                args = {"kind": follow_up_kind(source)}
            if row.action is Action.SUBMIT:
                attempt = ready(kind, **_submit_changes(row))
            else:
                case = make_case(kind, source, plans=1, hold_left=hold_left)
                case = attrs.evolve(case, **_source_changes(row, source))
                if row.action is Action.CONFIRM_DELIVERY:  # a parcel on its way
                    parcel = Shipment(uuid.uuid4(), "DHL", "JD01", 1, True, NOW)
                    case = attrs.evolve(case, shipments=(parcel,))
                attempt = Attempt(case, row.action, args)
            dest = row.dest or source
            out.append(
                (f"{row.action.value}:{source.value}:{kind.value}:{row.when}", attempt, dest)
            )
    return out


ROW_CASES = [item for row in TABLE for item in row_attempts(row)]


# -- the machine ------------------------------------------------------------------------------
def test_the_machine_is_built_once_with_no_auto_transitions_and_no_models() -> None:
    machine = lifecycle._machine()
    assert lifecycle._machine() is machine
    assert machine.auto_transitions is False
    assert not [name for name in machine.events if name.startswith("to_")]
    assert set(machine.events) == {row.action.value for row in TABLE}
    for _, attempt, _ in ROW_CASES[:20]:
        fire(attempt)
    assert lifecycle._machine() is machine
    assert list(machine.models) == []
    assert set(machine.states) == {s.value for s in CaseStatus}


def test_firing_keeps_no_case_alive() -> None:
    attempt = Attempt(make_case(status=S.IN_PLANNING), Action.UPLOAD_PLAN, {"plan": plan_summary()})
    ref = weakref.ref(attempt.case)
    assert fire(attempt) is S.WAITING_FOR_APPROVAL
    del attempt
    gc.collect()
    assert ref() is None


def test_a_refused_fire_keeps_no_case_alive_either() -> None:
    case = make_case(status=S.SHIPPED)
    ref = weakref.ref(case)
    with pytest.raises(InvalidTransitionError):
        fire(Attempt(case, Action.SUBMIT))
    del case
    gc.collect()
    assert ref() is None


def test_firing_leaves_the_case_untouched() -> None:
    case = make_case(status=S.IN_PLANNING)
    before = attrs.asdict(case, recurse=False)
    fire(Attempt(case, Action.UPLOAD_PLAN, {"plan": plan_summary()}))
    assert attrs.asdict(case, recurse=False) == before


# -- the table, row by row -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("attempt", "dest"), [c[1:] for c in ROW_CASES], ids=[c[0] for c in ROW_CASES]
)
def test_every_row_of_the_table_is_reachable(attempt: Attempt, dest: CaseStatus) -> None:
    assert blockers(attempt) == []
    assert fire(attempt) is dest
    assert attempt.action in possible_actions(attempt.case)


def _allowed_sources(action: Action, kind: CaseKind) -> set[CaseStatus]:
    return {
        s
        for r in TABLE
        if r.action is action and (not r.kinds or kind in r.kinds)
        for s in r.sources
    }


REFUSED = [
    (action, status, kind)
    for action in Action
    for kind in (K.TREATMENT, K.DIRECT_MANUFACTURING, K.REPLACEMENT)
    for status in CaseStatus
    if status not in _allowed_sources(action, kind)
]


@pytest.mark.parametrize(
    ("action", "status", "kind"),
    REFUSED,
    ids=[f"{a.value}:{s.value}:{k.value}" for a, s, k in REFUSED],
)
def test_an_action_outside_the_table_is_refused_naming_state_and_action(
    action: Action, status: CaseStatus, kind: CaseKind
) -> None:
    case = make_case(kind, status, plans=1)
    attempt = Attempt(case, action, {**REASON, "plan_version": 1, "plan": plan_summary()})
    assert action not in possible_actions(case)
    with pytest.raises(InvalidTransitionError) as info:
        fire(attempt)
    err = info.value
    assert err.state == status.value
    assert err.action == action.value
    assert err.case == case.number
    if action is Action.CANCEL and status in lifecycle.AFTER_PRODUCTION_STARTED:
        assert err.reasons == ("the case is already in production",)
    else:
        assert err.reasons == (f"not possible in state {status.value}",)


def test_possible_actions_follow_the_table() -> None:
    for status in CaseStatus:
        for kind in CaseKind:
            case = make_case(kind, status)
            expected = {
                r.action for r in TABLE if status in r.sources and (not r.kinds or kind in r.kinds)
            }
            assert possible_actions(case) == expected


def test_deleted_cases_allow_nothing() -> None:
    assert possible_actions(make_case(status=S.DELETED)) == frozenset()


# -- submission per kind ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "dest"),
    [
        (K.TREATMENT, S.IN_PLANNING),
        (K.REFINEMENT, S.IN_PLANNING),
        (K.REVISION, S.IN_PLANNING),
        (K.DIRECT_MANUFACTURING, S.IN_PRODUCTION),
        (K.RETAINER, S.IN_PRODUCTION),
        (K.REPLACEMENT, S.LAB_REVIEW),
    ],
)
def test_submission_routes_by_kind(kind: CaseKind, dest: CaseStatus) -> None:
    assert fire(ready(kind)) is dest


def test_a_removable_retainer_with_a_model_step_of_its_parent_needs_no_scans() -> None:
    parent = parent_of(K.RETAINER)
    follow_up = make_case(K.RETAINER, parent=parent, records=records(scans=False))
    assert fire(Attempt(follow_up, Action.SUBMIT, {}, parent)) is S.IN_PRODUCTION
    # a new patient's retainer has no model to reuse: the lab needs scans
    with pytest.raises(InvalidTransitionError) as info:
        fire(ready(K.RETAINER, records=records(scans=False)))
    assert set(info.value.reasons) == {"upper scan missing", "lower scan missing"}


def test_a_fixed_retainer_needs_new_scans() -> None:
    fixed = RetainerOrder(RetainerType.FIXED_LINGUAL, upper_range=LingualRange.R3_3)
    attempt = ready(K.RETAINER, order=fixed, records=records(scans=False))
    with pytest.raises(InvalidTransitionError) as info:
        fire(attempt)
    assert set(info.value.reasons) == {"upper scan missing", "lower scan missing"}
    assert fire(ready(K.RETAINER, order=fixed)) is S.IN_PRODUCTION


def test_a_removable_retainer_without_model_step_needs_scans() -> None:
    order = RetainerOrder(RetainerType.REMOVABLE)
    with pytest.raises(InvalidTransitionError) as info:
        fire(ready(K.RETAINER, order=order, records=records(scans=False)))
    assert set(info.value.reasons) == {"upper scan missing", "lower scan missing"}


# -- guards: each precondition alone, then several ---------------------------------------------
def _no_file(kind: FileKind) -> Mapping[str, Any]:
    return {
        "records": Records(
            files=(
                file_ref(
                    FileKind.LOWER_SCAN if kind is FileKind.UPPER_SCAN else FileKind.UPPER_SCAN
                ),
            ),
            confirmed_complete=True,
            privacy_accepted=True,
            impression_type=ImpressionType.INTRAORAL_SCAN,
        )
    }


def _not_stl(kind: FileKind) -> Mapping[str, Any]:
    other = FileKind.LOWER_SCAN if kind is FileKind.UPPER_SCAN else FileKind.UPPER_SCAN
    return {
        "records": Records(
            files=(file_ref(other), file_ref(kind, stl=False)),
            confirmed_complete=True,
            privacy_accepted=True,
            impression_type=ImpressionType.INTRAORAL_SCAN,
        )
    }


SUBMIT_SINGLE = [
    (K.TREATMENT, {"request": None}, "treatment request missing"),
    (K.TREATMENT, {"records": records(complete=False)}, "completeness confirmation not given"),
    (K.TREATMENT, {"records": records(privacy=False)}, "privacy confirmation not given"),
    (K.TREATMENT, _no_file(FileKind.UPPER_SCAN), "upper scan missing"),
    (K.TREATMENT, _no_file(FileKind.LOWER_SCAN), "lower scan missing"),
    (K.TREATMENT, _not_stl(FileKind.UPPER_SCAN), "upper scan is not an accepted STL scan"),
    (K.TREATMENT, _not_stl(FileKind.LOWER_SCAN), "lower scan is not an accepted STL scan"),
    (K.REFINEMENT, _no_file(FileKind.UPPER_SCAN), "upper scan missing"),
    (K.REFINEMENT, {"order": None}, "order details missing"),
    (
        K.TREATMENT,
        {"records": attrs.evolve(records(), impression_type=None)},
        "impression type not chosen (scans or impressions by post)",
    ),
    (
        K.TREATMENT,
        {"records": attrs.evolve(by_post(), impressions=None)},
        "the impressions have not been sent (carrier and tracking)",
    ),
    (K.RETAINER, {"order": None}, "order details missing"),
    (K.REVISION, {"records": records(privacy=False)}, "privacy confirmation not given"),
    (
        K.DIRECT_MANUFACTURING,
        {"records": records(scans=False)},
        "no files attached for manufacturing",
    ),
    (
        K.REPLACEMENT,
        {"order": attrs.evolve(ORDERS[K.REPLACEMENT], not_quality_complaint=False)},
        "replacement not acknowledged as not a quality complaint",
    ),
]


@pytest.mark.parametrize(
    ("kind", "changes", "reason"),
    SUBMIT_SINGLE,
    ids=[f"{k.value}:{r}" for k, _, r in SUBMIT_SINGLE],
)
def test_each_submission_precondition_alone_names_exactly_itself(
    kind: CaseKind, changes: Mapping[str, Any], reason: str
) -> None:
    attempt = ready(kind, **changes)
    assert blockers(attempt) == [reason]
    with pytest.raises(InvalidTransitionError) as info:
        fire(attempt)
    assert info.value.reasons == (reason,)
    assert info.value.action == "submit"
    assert info.value.state == "draft"
    assert reason in str(info.value)


def test_every_missing_submission_precondition_is_named_together() -> None:
    case = make_case(request=None, records=Records(impression_type=ImpressionType.DESKTOP_SCAN))
    with pytest.raises(InvalidTransitionError) as info:
        fire(Attempt(case, Action.SUBMIT))
    assert set(info.value.reasons) == {
        "treatment request missing",
        "completeness confirmation not given",
        "privacy confirmation not given",
        "upper scan missing",
        "lower scan missing",
    }


@pytest.mark.parametrize("kind", [K.REFINEMENT, K.REPLACEMENT, K.REVISION, K.RETAINER])
def test_a_follow_up_whose_parent_is_gone_is_refused(kind: CaseKind) -> None:
    case = make_case(kind, parent=parent_of(kind))
    with pytest.raises(InvalidTransitionError) as info:
        fire(Attempt(case, Action.SUBMIT, {}, None))
    assert info.value.reasons == ("parent case not found",)


@pytest.mark.parametrize(
    ("kind", "parent_status", "allowed"),
    [
        (K.REFINEMENT, S.IN_PRODUCTION, "shipped or closed"),
        (K.REFINEMENT, S.CANCELLED, "shipped or closed"),
        (K.RETAINER, S.IN_PLANNING, "shipped or closed"),
        (K.REPLACEMENT, S.WAITING_FOR_APPROVAL, "in_production or shipped or closed"),
        (K.REVISION, S.DRAFT, "in_production or shipped or closed"),
    ],
)
def test_a_follow_up_needs_its_parent_in_a_state_that_allows_it(
    kind: CaseKind, parent_status: CaseStatus, allowed: str
) -> None:
    parent = parent_of(kind, parent_status)
    case = make_case(kind, parent=parent)
    with pytest.raises(InvalidTransitionError) as info:
        fire(Attempt(case, Action.SUBMIT, {}, parent))
    assert info.value.reasons == (
        f"parent case {parent.number} is {parent_status.value}; it must be {allowed}",
    )


@pytest.mark.parametrize("kind", [K.REFINEMENT, K.REPLACEMENT, K.REVISION])
def test_a_follow_up_without_a_parent_is_refused(kind: CaseKind) -> None:
    with pytest.raises(InvalidTransitionError) as info:
        fire(Attempt(make_case(kind), Action.SUBMIT))
    assert info.value.reasons == (f"a {kind.value} order needs a parent case",)


def test_a_refinement_names_missing_scans_and_parent_state_together() -> None:
    parent = parent_of(K.REFINEMENT, S.IN_PRODUCTION)
    case = make_case(K.REFINEMENT, parent=parent, records=records(scans=False, privacy=False))
    with pytest.raises(InvalidTransitionError) as info:
        fire(Attempt(case, Action.SUBMIT, {}, parent))
    assert set(info.value.reasons) == {
        "privacy confirmation not given",
        "upper scan missing",
        "lower scan missing",
        f"parent case {parent.number} is in_production; it must be shipped or closed",
    }


@pytest.mark.parametrize(
    ("action", "status"),
    [
        (Action.REJECT_PLAN, S.WAITING_FOR_APPROVAL),
        (Action.REQUEST_MODIFICATION, S.WAITING_FOR_APPROVAL),
        (Action.REQUEST_MODIFICATION, S.PLAN_REJECTED),
        (Action.REFUSE_ORDER, S.LAB_REVIEW),
        (Action.HOLD, S.IN_PLANNING),
        (Action.HOLD, S.IN_PRODUCTION),
        (Action.CANCEL, S.IN_PLANNING),
        (Action.CANCEL, S.ON_HOLD),
    ],
)
@pytest.mark.parametrize("reason", [None, "", "   ", 42])
def test_a_reason_is_required(action: Action, status: CaseStatus, reason: object) -> None:
    args = {} if reason is None else {"reason": reason}
    with pytest.raises(InvalidTransitionError) as info:
        fire(Attempt(make_case(status=status, plans=1), action, args))
    assert info.value.reasons == ("a reason is required",)
    assert info.value.state == status.value


def test_a_superseded_plan_version_cannot_be_accepted() -> None:
    case = make_case(status=S.WAITING_FOR_APPROVAL, plans=2)
    with pytest.raises(InvalidTransitionError) as info:
        fire(Attempt(case, Action.ACCEPT_PLAN, {"plan_version": 1}))
    assert info.value.reasons == ("plan version 1 is superseded by version 2",)
    assert fire(Attempt(case, Action.ACCEPT_PLAN, {"plan_version": 2})) is S.IN_PRODUCTION


@pytest.mark.parametrize("version", [0, 3, None, "1"])
def test_an_unknown_plan_version_cannot_be_accepted(version: object) -> None:
    case = make_case(status=S.WAITING_FOR_APPROVAL, plans=2)
    with pytest.raises(InvalidTransitionError) as info:
        fire(Attempt(case, Action.ACCEPT_PLAN, {"plan_version": version}))
    assert info.value.reasons == (f"plan version {version} does not exist",)


def test_an_unknown_plan_version_cannot_be_shared() -> None:
    case = make_case(status=S.WAITING_FOR_APPROVAL, plans=1)
    with pytest.raises(InvalidTransitionError) as info:
        fire(Attempt(case, Action.SHARE_PLAN, {"plan_version": 2}))
    assert info.value.reasons == ("plan version 2 does not exist",)


def test_uploading_needs_a_plan() -> None:
    with pytest.raises(InvalidTransitionError) as info:
        fire(Attempt(make_case(status=S.IN_PLANNING), Action.UPLOAD_PLAN, {}))
    assert info.value.reasons == ("plan missing",)


@pytest.mark.parametrize(
    ("args", "reasons"),
    [
        ({"tracking_number": "1"}, {"carrier missing"}),
        ({"carrier": "DHL", "tracking_number": " "}, {"tracking number missing"}),
        ({}, {"carrier missing", "tracking number missing"}),
    ],
)
def test_shipping_needs_carrier_and_tracking_number(
    args: dict[str, Any], reasons: set[str]
) -> None:
    with pytest.raises(InvalidTransitionError) as info:
        fire(Attempt(make_case(status=S.IN_PRODUCTION), Action.SHIP, args))
    assert set(info.value.reasons) == reasons


def test_ship_phases() -> None:
    case = make_case(status=S.IN_PRODUCTION)
    parcel = {"carrier": "DHL", "tracking_number": "1"}
    assert fire(Attempt(case, Action.SHIP, {**parcel, "final": False})) is S.IN_PRODUCTION
    assert fire(Attempt(case, Action.SHIP, {**parcel, "final": True})) is S.SHIPPED
    assert fire(Attempt(case, Action.SHIP, parcel)) is S.SHIPPED  # final by default


@pytest.mark.parametrize(
    ("status", "kind"),
    [(S.DRAFT, K.REFINEMENT), (S.IN_PLANNING, K.REVISION), (S.IN_PRODUCTION, K.REFINEMENT)],
)
def test_a_follow_up_needs_the_case_in_a_state_that_allows_it(
    status: CaseStatus, kind: CaseKind
) -> None:
    case = make_case(status=status)
    attempt = Attempt(case, Action.ORDER_FOLLOW_UP, {"kind": kind})
    with pytest.raises(InvalidTransitionError) as info:
        fire(attempt)
    if status is S.IN_PRODUCTION:
        assert info.value.reasons == (
            f"a {kind.value} needs this case shipped or closed, not {status.value}",
        )
    else:
        assert info.value.reasons == (f"not possible in state {status.value}",)


# -- hold, release, cancel ------------------------------------------------------------------
@pytest.mark.parametrize("status", sorted(ACTIVE_STATUSES))
def test_release_returns_to_the_state_the_hold_left(status: CaseStatus) -> None:
    case = make_case(status=status, plans=1)
    assert fire(Attempt(case, Action.HOLD, REASON)) is S.ON_HOLD
    held = attrs.evolve(case, status=S.ON_HOLD, hold=Hold("why", status, NOW))
    assert fire(Attempt(held, Action.RELEASE)) is status


@pytest.mark.parametrize("status", [S.DRAFT, S.SHIPPED, S.CLOSED, S.CANCELLED, S.ON_HOLD])
def test_only_active_states_can_be_held(status: CaseStatus) -> None:
    with pytest.raises(InvalidTransitionError) as info:
        fire(Attempt(make_case(status=status), Action.HOLD, REASON))
    assert info.value.reasons == (f"not possible in state {status.value}",)


@pytest.mark.parametrize(
    "status", [S.LAB_REVIEW, S.IN_PLANNING, S.WAITING_FOR_APPROVAL, S.PLAN_REJECTED]
)
def test_cancel_before_production_directly_or_from_hold(status: CaseStatus) -> None:
    assert fire(Attempt(make_case(status=status), Action.CANCEL, REASON)) is S.CANCELLED
    held = make_case(status=S.ON_HOLD, hold_left=status)
    assert fire(Attempt(held, Action.CANCEL, REASON)) is S.CANCELLED


@pytest.mark.parametrize("status", [S.IN_PRODUCTION, S.SHIPPED, S.CLOSED])
def test_cancel_is_refused_once_in_production(status: CaseStatus) -> None:
    with pytest.raises(InvalidTransitionError) as info:
        fire(Attempt(make_case(status=status), Action.CANCEL, REASON))
    assert info.value.reasons == ("the case is already in production",)
    assert info.value.state == status.value


def test_cancel_is_refused_from_a_hold_that_left_production() -> None:
    held = make_case(status=S.ON_HOLD, hold_left=S.IN_PRODUCTION)
    with pytest.raises(InvalidTransitionError) as info:
        fire(Attempt(held, Action.CANCEL, REASON))
    assert info.value.reasons == ("the case is already in production",)
    with pytest.raises(InvalidTransitionError) as info:
        fire(Attempt(held, Action.CANCEL, {}))
    assert set(info.value.reasons) == {"a reason is required", "the case is already in production"}


def test_reopen_and_close() -> None:
    assert fire(Attempt(make_case(status=S.SHIPPED), Action.CLOSE)) is S.CLOSED
    assert fire(Attempt(make_case(status=S.CLOSED), Action.REOPEN)) is S.SHIPPED


def test_modification_goes_back_to_planning_from_both_states() -> None:
    for status in (S.WAITING_FOR_APPROVAL, S.PLAN_REJECTED):
        attempt = Attempt(make_case(status=status, plans=1), Action.REQUEST_MODIFICATION, REASON)
        assert fire(attempt) is S.IN_PLANNING


# -- the fast path reads the machine's table; firing the machine agrees --------------------------
@pytest.mark.parametrize("status", [s for s in CaseStatus if s is not S.DELETED])
def test_table_route_and_machine_trigger_agree(status: CaseStatus) -> None:
    """``fire`` routes by reading ``machine.events[...].transitions``; the real trigger agrees."""
    lefts: list[CaseStatus | None] = list(lifecycle.HOLDABLE) if status is S.ON_HOLD else [None]
    checked = 0
    for action in Action:
        for kind in CaseKind:
            for left in lefts:
                case = make_case(kind, status, hold_left=left)
                for final in (True, False):
                    attempt = lifecycle.Attempt(case, action, {"final": final})
                    fast = lifecycle._route(attempt)
                    slow = lifecycle.trigger_on_machine(attempt)
                    expected = None if fast is False else (status if fast is None else fast)
                    assert slow == expected, (action, kind, left, final)
                    checked += 1
    assert checked > 100
