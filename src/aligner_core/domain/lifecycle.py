"""The case lifecycle: one table, one ``transitions`` Machine built once, and the guards.

The machine is built at first use with ``model=None`` and never holds a case:
each trigger fires through ``machine.events[action]`` on a short-lived holder
that carries only the status, so no case is kept alive and cases stay immutable.
Routing conditions (by kind, by the status a hold left, by the final shipping
phase) live in the machine; guards that explain a refusal live in ``GUARDS`` and
are all evaluated, so an error names every unmet precondition.

This is the only module that imports ``transitions``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
from transitions import Machine, MachineError

from aligner_core.domain.accounts import GrantStatus, Network, Practice
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import ACTIVE_STATUSES, Case, CaseKind, CaseStatus
from aligner_core.domain.orders import ReplacementOrder, RetainerOrder
from aligner_core.domain.plans import PlanSummary
from aligner_core.domain.prescription_checks import pontic_problems
from aligner_core.domain.prescriptions import Arches, TreatmentRequest
from aligner_core.domain.products import Requirement
from aligner_core.domain.records import PHOTO_KINDS, FileKind, MediaType, Records
from aligner_core.errors import InvalidTransitionError, Reason

__all__ = [
    "GUARDS",
    "INPUT_GUARDS",
    "STATE_GUARDS",
    "TABLE",
    "Attempt",
    "Row",
    "blockers",
    "fire",
    "impressions_by_post",
    "possible_actions",
]

S = CaseStatus
ALL_BUT_DELETED = tuple(s for s in CaseStatus if s is not S.DELETED)
PLAN_VISIBLE = (S.WAITING_FOR_APPROVAL, S.PLAN_REJECTED, S.IN_PRODUCTION, S.SHIPPED, S.CLOSED)
HOLDABLE = tuple(sorted(ACTIVE_STATUSES))
BEFORE_PRODUCTION = (
    S.AWAITING_IMPRESSIONS,
    S.AWAITING_RECORDS,
    S.LAB_REVIEW,
    S.IN_PLANNING,
    S.WAITING_FOR_APPROVAL,
    S.PLAN_REJECTED,
)
#: Where the lab may find the records unusable and ask the doctor for new ones.
RECORDS_CHECKED = (S.AWAITING_IMPRESSIONS, S.LAB_REVIEW, S.IN_PLANNING)
AFTER_PRODUCTION_STARTED = (S.IN_PRODUCTION, S.SHIPPED, S.CLOSED)
OPEN = tuple(s for s in CaseStatus if s not in (S.DELETED, S.CANCELLED))
#: A later document is one more file, except where it is what the case waits for.
AFTER_SUBMISSION = tuple(s for s in OPEN if s not in (S.DRAFT, S.AWAITING_RECORDS))


@attrs.frozen
class Attempt:
    """An action tried on a case, with what the guards and routing need to know."""

    case: Case
    action: Action
    args: Mapping[str, Any] = attrs.field(factory=dict)
    parent: Case | None = None
    #: the case's network (what it requires confirmed before submission)
    network: Network | None = None
    #: the owner's treating practices (None: not asked; submission checks the one named)
    practices: tuple[Practice, ...] | None = None


@attrs.frozen
class Row:
    """One line of the lifecycle table. ``dest=None`` keeps the status (an internal action).

    ``when`` names a routing condition from ``CONDITIONS``; ``kinds`` limits the row.
    """

    action: Action
    sources: tuple[CaseStatus, ...]
    dest: CaseStatus | None
    kinds: tuple[CaseKind, ...] = ()
    when: str | None = None


PLANNED = tuple(k for k in CaseKind if k.is_planned)
TABLE: tuple[Row, ...] = (
    Row(Action.VIEW, ALL_BUT_DELETED, None),
    Row(Action.EDIT, (S.DRAFT,), None),
    Row(Action.SET_TEETH, (S.DRAFT,), None),
    Row(Action.ATTACH, (S.DRAFT,), None),
    Row(Action.CONFIRM, (S.DRAFT,), None),
    Row(Action.DELETE, (S.DRAFT,), S.DELETED),
    Row(Action.SHIP_IMPRESSIONS, (S.DRAFT,), None),
    Row(Action.SUBMIT, (S.DRAFT,), S.AWAITING_IMPRESSIONS, when="impressions_by_post"),
    Row(Action.SUBMIT, (S.DRAFT,), S.IN_PLANNING, kinds=PLANNED),
    Row(
        Action.SUBMIT,
        (S.DRAFT,),
        S.IN_PRODUCTION,
        kinds=(CaseKind.DIRECT_MANUFACTURING, CaseKind.RETAINER),
    ),
    Row(Action.SUBMIT, (S.DRAFT,), S.LAB_REVIEW, kinds=(CaseKind.REPLACEMENT,)),
    Row(Action.RECEIVE_IMPRESSIONS, (S.AWAITING_IMPRESSIONS,), None),
    Row(Action.COMPLETE_DIGITISING, (S.AWAITING_IMPRESSIONS,), S.IN_PLANNING, kinds=PLANNED),
    Row(
        Action.COMPLETE_DIGITISING,
        (S.AWAITING_IMPRESSIONS,),
        S.IN_PRODUCTION,
        kinds=(CaseKind.RETAINER,),
    ),
    Row(Action.REQUEST_RECORDS, RECORDS_CHECKED, S.AWAITING_RECORDS),
    *(
        Row(Action.ADD_DOCUMENT, (S.AWAITING_RECORDS,), s, when=f"records_complete_{s.value}")
        for s in RECORDS_CHECKED
    ),
    Row(Action.ADD_DOCUMENT, (S.AWAITING_RECORDS,), None, when="records_incomplete"),
    Row(Action.ACCEPT_ORDER, (S.LAB_REVIEW,), S.IN_PRODUCTION),
    Row(Action.REFUSE_ORDER, (S.LAB_REVIEW,), S.CANCELLED),
    Row(Action.UPLOAD_PLAN, (S.IN_PLANNING,), S.WAITING_FOR_APPROVAL),
    Row(Action.ACCEPT_PLAN, (S.WAITING_FOR_APPROVAL,), S.IN_PRODUCTION),
    Row(Action.REJECT_PLAN, (S.WAITING_FOR_APPROVAL,), S.PLAN_REJECTED),
    Row(Action.REQUEST_MODIFICATION, (S.WAITING_FOR_APPROVAL, S.PLAN_REJECTED), S.IN_PLANNING),
    Row(Action.HOLD, HOLDABLE, S.ON_HOLD),
    *(Row(Action.RELEASE, (S.ON_HOLD,), s, when=f"left_{s.value}") for s in HOLDABLE),
    Row(Action.CANCEL, BEFORE_PRODUCTION, S.CANCELLED),
    Row(Action.CANCEL, (S.ON_HOLD,), S.CANCELLED, when="hold_before_production"),
    Row(Action.SHIP, (S.IN_PRODUCTION,), S.SHIPPED, when="final_phase"),
    Row(Action.SHIP, (S.IN_PRODUCTION,), None, when="earlier_phase"),
    Row(Action.CONFIRM_DELIVERY, (S.IN_PRODUCTION, S.SHIPPED, S.CLOSED), None),
    Row(Action.CLOSE, (S.SHIPPED,), S.CLOSED),
    Row(Action.REOPEN, (S.CLOSED,), S.SHIPPED),
    Row(Action.COMMENT, ALL_BUT_DELETED, None),
    Row(Action.ADD_DOCUMENT, AFTER_SUBMISSION, None),
    Row(Action.SHARE_PLAN, PLAN_VISIBLE, None),
    Row(Action.REVOKE_SHARE, PLAN_VISIBLE, None),
    Row(Action.INVITE_COLLABORATOR, OPEN, None),
    Row(Action.REVOKE_COLLABORATOR, OPEN, None),
    Row(Action.RESPOND_INVITATION, OPEN, None),
    Row(Action.REASSIGN, OPEN, None),
    Row(Action.ORDER_FOLLOW_UP, (S.IN_PRODUCTION, S.SHIPPED, S.CLOSED), None),
    # assignment to lab staff (#15 item 5): any submitted open case; a planner takes one
    Row(Action.ASSIGN, tuple(s for s in OPEN if s is not S.DRAFT), None),
    Row(Action.TAKE, (S.IN_PLANNING,), None),
    # a larger package after approval (#16): a priced step, invoiced
    Row(Action.UPGRADE_PACKAGE, (S.IN_PRODUCTION, S.SHIPPED, S.CLOSED), None),
)


def _left(status: CaseStatus) -> Callable[[Attempt], bool]:
    def check(attempt: Attempt) -> bool:
        hold = attempt.case.hold
        return hold is not None and hold.left_status is status

    return check


def _hold_before_production(attempt: Attempt) -> bool:
    hold = attempt.case.hold
    return hold is not None and hold.left_status in BEFORE_PRODUCTION


def impressions_by_post(case: Case) -> bool:
    """Silicone impressions stand in for the scans the order needs: the lab digitises them."""
    kind = case.records.impression_type
    return kind is not None and kind.by_post and _needs_scans(case)


def _answers_request(attempt: Attempt) -> bool:
    """This upload is the last of the records the lab asked for."""
    request = attempt.case.records_request
    missing = request.missing(attempt.case.records) if request is not None else ()
    return request is not None and set(missing) <= {attempt.args.get("kind")}


def _records_complete(status: CaseStatus) -> Callable[[Attempt], bool]:
    def check(attempt: Attempt) -> bool:
        request = attempt.case.records_request
        return request is not None and request.left_status is status and _answers_request(attempt)

    return check


CONDITIONS: dict[str, Callable[[Attempt], bool]] = {
    **{f"left_{s.value}": _left(s) for s in HOLDABLE},
    **{f"records_complete_{s.value}": _records_complete(s) for s in RECORDS_CHECKED},
    "records_incomplete": lambda a: not _answers_request(a),
    "impressions_by_post": lambda a: impressions_by_post(a.case),
    "hold_before_production": _hold_before_production,
    "final_phase": lambda a: bool(a.args.get("final", True)),
    "earlier_phase": lambda a: not a.args.get("final", True),
}


def _kind_in(kinds: tuple[CaseKind, ...]) -> Callable[[Attempt], bool]:
    return lambda a: a.case.kind in kinds


class _Holder:
    """What the machine sees of a case for one trigger: its status, nothing else."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


@functools.cache
def _machine() -> Machine:
    transitions: list[dict[str, Any]] = []
    for row in TABLE:
        conditions: list[Callable[[Attempt], bool]] = []
        if row.kinds:
            conditions.append(_kind_in(row.kinds))
        if row.when:
            conditions.append(CONDITIONS[row.when])
        transitions.append(
            {
                "trigger": row.action.value,
                "source": [s.value for s in row.sources],
                "dest": row.dest.value if row.dest else None,
                "conditions": conditions,
            }
        )
    return Machine(
        model=None,
        states=[s.value for s in CaseStatus],
        transitions=transitions,
        initial=CaseStatus.DRAFT.value,
        auto_transitions=False,
        send_event=False,  # conditions get the Attempt itself, on either path below
        ignore_invalid_triggers=False,
    )


# -- guards: every unmet precondition, as coded reasons -----------------------------------------
Guard = Callable[[Attempt], Iterable[Reason]]


def _input(code: str, path: str, **params: Any) -> Reason:
    return Reason(code, params, kind="input", path=path)


def _reason_given(attempt: Attempt) -> Iterable[Reason]:
    reason = attempt.args.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        yield _input("reason_required", "$.reason")


def _scan(attempt: Attempt, kind: FileKind, arch: str) -> Iterable[Reason]:
    ref = attempt.case.records.latest(kind)
    if ref is None:
        yield Reason("scan_missing", {"arch": arch})
    elif ref.media_type is not MediaType.STL or ref.report.mesh is None:
        yield Reason("scan_not_stl", {"arch": arch})


def _needs_scans(case: Case) -> bool:
    """Treatments and refinements need scans; so do retainers, unless they reuse a model
    step of the parent's plan (a new patient's retainer has no model to reuse)."""
    if case.kind in (CaseKind.TREATMENT, CaseKind.REFINEMENT):
        return True
    return isinstance(case.order, RetainerOrder) and (
        case.order.needs_new_scans or case.parent_id is None
    )


#: Whether a case holds the records of a product's requirement (scans are checked as above).
_HOLDS: dict[Requirement, Callable[[Records], bool]] = {
    Requirement.FILES: lambda r: bool(r.files),
    Requirement.PHOTOS: lambda r: any(f.kind in PHOTO_KINDS for f in r.files),
    Requirement.BITE_SCAN: lambda r: r.has(FileKind.BITE_SCAN),
    Requirement.RADIOGRAPH: lambda r: r.has(FileKind.RADIOGRAPH),
    Requirement.IMPRESSION_TYPE: lambda r: r.impression_type is not None,
}


def _product_records(attempt: Attempt) -> Iterable[Reason]:
    """The records the case's product needs beyond those its kind needs (the network's
    catalogue says which; a product no longer offered needs nothing more)."""
    case, network = attempt.case, attempt.network
    product = network.products.product(case.product) if network and case.product else None
    if product is None:
        return
    for need in product.requires:
        if need is Requirement.SCANS:
            if not _needs_scans(case):
                yield from _scan(attempt, FileKind.UPPER_SCAN, "upper")
                yield from _scan(attempt, FileKind.LOWER_SCAN, "lower")
        elif need is Requirement.FILES and case.kind is CaseKind.DIRECT_MANUFACTURING:
            continue  # no_files above
        elif need is Requirement.IMPRESSION_TYPE and _needs_scans(case):
            continue  # impression_type_missing above
        elif not _HOLDS[need](case.records):
            yield Reason("product_record_missing", {"product": product.code, "record": need.value})


_PARENT_STATES: dict[CaseKind, tuple[CaseStatus, ...]] = {
    CaseKind.REFINEMENT: (S.SHIPPED, S.CLOSED),
    CaseKind.REVISION: (S.IN_PRODUCTION, S.SHIPPED, S.CLOSED),
    CaseKind.REPLACEMENT: (S.IN_PRODUCTION, S.SHIPPED, S.CLOSED),
    CaseKind.RETAINER: (S.SHIPPED, S.CLOSED),
}


def _shades_offered(request: TreatmentRequest, network: Network) -> Iterable[Reason]:
    offered = ", ".join(network.shades)
    for i, pontic in enumerate(request.pontics):
        if pontic.shade not in network.shades:
            yield Reason(
                "pontic_shade_not_offered",
                {"tooth": pontic.tooth.fdi, "shade": pontic.shade.value, "offered": offered},
                path=f"$.pontics[{i}]",
            )


def _required_versions(network: Network | None, records: Records) -> Iterable[Reason]:
    """The informed consent and terms the network asks for, in the version it asks for."""
    if network is None:
        return
    for name, required, given in (
        ("consent", network.consent_version, records.consent),
        ("terms", network.terms_version, records.terms),
    ):
        if required is None:
            continue
        if given is None:
            yield Reason("confirmation_missing", {"confirmation": name})
        elif given.version != required:
            yield Reason(
                "confirmation_outdated",
                {"confirmation": name, "version": given.version, "required": required},
            )


def _impressions_or_scans(attempt: Attempt) -> Iterable[Reason]:
    """The impression type, then its records: both scans, or the impressions' parcel."""
    records = attempt.case.records
    if records.impression_type is None:
        yield Reason("impression_type_missing")
    elif records.impression_type.by_post:
        if records.impressions is None:
            yield Reason("impressions_not_shipped")
    else:
        yield from _scan(attempt, FileKind.UPPER_SCAN, "upper")
        yield from _scan(attempt, FileKind.LOWER_SCAN, "lower")


def _impressions_by_post(attempt: Attempt) -> Iterable[Reason]:
    kind = attempt.case.records.impression_type
    if kind is None or not kind.by_post:
        yield Reason("impressions_not_by_post")


def _impressions_awaited(attempt: Attempt) -> Iterable[Reason]:
    shipment = attempt.case.records.impressions
    if shipment is None:
        yield Reason("impressions_not_shipped")
    elif shipment.received_at is not None:
        yield Reason("impressions_already_received")


def _digitised(attempt: Attempt) -> Iterable[Reason]:
    """The impressions arrived and their digitised scans are attached."""
    shipment = attempt.case.records.impressions
    if shipment is None or shipment.received_at is None:
        yield Reason("impressions_not_received")
    yield from _scan(attempt, FileKind.UPPER_SCAN, "upper")
    yield from _scan(attempt, FileKind.LOWER_SCAN, "lower")


def _submit_guard(attempt: Attempt) -> Iterable[Reason]:
    case = attempt.case
    records = case.records
    if case.kind is CaseKind.TREATMENT and case.request is None:
        yield Reason("request_missing")
    if case.request is not None:
        yield from pontic_problems(case.request, case.chart)
        if attempt.network is not None:
            yield from _shades_offered(case.request, attempt.network)
    if not records.confirmed_complete:
        yield Reason("confirmation_missing", {"confirmation": "completeness"})
    if not records.privacy_accepted:
        yield Reason("confirmation_missing", {"confirmation": "privacy"})
    yield from _required_versions(attempt.network, records)
    if _needs_scans(case):
        yield from _impressions_or_scans(attempt)
    if case.kind is CaseKind.DIRECT_MANUFACTURING and not records.files:
        yield Reason("no_files")
    yield from _product_records(attempt)
    yield from _payment_named(attempt)
    if (case.kind.is_follow_up or case.kind is CaseKind.RETAINER) and case.order is None:
        yield Reason("order_missing")
    if isinstance(case.order, ReplacementOrder) and not case.order.not_quality_complaint:
        yield Reason("quality_complaint_not_acknowledged")
    if case.parent_id is not None:
        parent = attempt.parent
        allowed = _PARENT_STATES.get(case.kind, ())
        if parent is None:
            yield Reason("parent_missing")
        elif parent.status not in allowed:
            yield Reason(
                "parent_state",
                {
                    "number": parent.number,
                    "state": parent.status.value,
                    "allowed": " or ".join(s.value for s in allowed),
                },
            )
    elif case.kind.is_follow_up:
        yield Reason("parent_needed", {"kind": case.kind.value})


#: The orders ClearCorrect asks a payment method for (in a network with prices).
_PAID_ON_ORDER = frozenset({CaseKind.RETAINER, CaseKind.REPLACEMENT, CaseKind.REVISION})


def _payment_named(attempt: Attempt) -> Iterable[Reason]:
    """A retainer, replacement or revision order, or any order that carries a charge, says
    how it is paid, where the network has a price book (a network without prices asks for
    none)."""
    network, case = attempt.network, attempt.case
    charged = case.charge is not None and not case.charge.total.is_zero
    if network is None or not network.price_books:
        return
    if case.kind not in _PAID_ON_ORDER and not charged:
        return
    if case.payment is None:
        yield Reason("payment_needed", path="$.payment")


def _practice_guard(attempt: Attempt) -> Iterable[Reason]:
    """A doctor with several practices names the one the order ships to (their only one is
    taken when none is named), and it is still theirs."""
    practices, named = attempt.practices, attempt.case.practice
    if practices is None:
        return
    if named is None and len(practices) > 1:
        yield Reason("practice_missing", path="$.practice_id")
    elif named is not None and all(p.practice_id != named.practice_id for p in practices):
        yield Reason("practice_unknown", {"practice": named.name}, path="$.practice_id")


def _unassigned(attempt: Attempt) -> Iterable[Reason]:
    if attempt.case.assigned_to is not None:
        yield Reason("already_assigned")


def _plan_version_guard(attempt: Attempt) -> Iterable[Reason]:
    number = attempt.args.get("plan_version")
    case = attempt.case
    latest = case.latest_plan
    if not isinstance(number, int) or case.plan(number) is None:
        yield _input("plan_version_missing", "$.plan_version", version=number)
    elif latest is not None and number != latest.number:
        yield _input(
            "plan_version_superseded", "$.plan_version", version=number, latest=latest.number
        )


def _share_guard(attempt: Attempt) -> Iterable[Reason]:
    number = attempt.args.get("plan_version")
    if not isinstance(number, int) or attempt.case.plan(number) is None:
        yield _input("plan_version_missing", "$.plan_version", version=number)


def _cancel_guard(attempt: Attempt) -> Iterable[Reason]:
    case = attempt.case
    if case.hold is not None and case.hold.left_status not in BEFORE_PRODUCTION:
        yield Reason("already_in_production")


def _upload_guard(attempt: Attempt) -> Iterable[Reason]:
    if attempt.args.get("plan", attempt.args.get("summary")) is None:
        yield _input("plan_missing", "$.summary")


def _ship_guard(attempt: Attempt) -> Iterable[Reason]:
    for key in ("carrier", "tracking_number"):
        value = attempt.args.get(key)
        if not isinstance(value, str) or not value.strip():
            yield _input("shipping_field_missing", f"$.{key}", field=key.replace("_", " "))


def _delivery_pending(attempt: Attempt) -> Iterable[Reason]:
    if all(s.delivered_at is not None for s in attempt.case.shipments):
        yield Reason("no_pending_delivery")


def _shipment_named(attempt: Attempt) -> Iterable[Reason]:
    wanted = attempt.args.get("shipment_id")
    if wanted is None:
        return
    pending = {s.shipment_id for s in attempt.case.shipments if s.delivered_at is None}
    if wanted not in pending:
        yield _input("shipment_not_pending", "$.shipment_id")


def _share_to_revoke(attempt: Attempt) -> Iterable[Reason]:
    if all(s.revoked_at is not None for s in attempt.case.shares):
        yield Reason("no_active_share")


def _collaborator_to_revoke(attempt: Attempt) -> Iterable[Reason]:
    live = (GrantStatus.INVITED, GrantStatus.ACCEPTED)
    if not any(g.status in live for g in attempt.case.collaborators):
        yield Reason("no_collaborator")


#: The kinds of case each follow-up may be ordered on: aligner series are refined,
#: revised and replaced; retainers follow any aligner treatment or another retainer.
FOLLOWS: dict[CaseKind, frozenset[CaseKind]] = {
    CaseKind.REFINEMENT: frozenset(PLANNED),
    CaseKind.REVISION: frozenset(PLANNED),
    CaseKind.REPLACEMENT: frozenset(PLANNED),
    CaseKind.RETAINER: frozenset((*PLANNED, CaseKind.DIRECT_MANUFACTURING, CaseKind.RETAINER)),
}


def _package_approved(attempt: Attempt) -> Iterable[Reason]:
    """Only a case approved in a package can move to a larger one."""
    if attempt.case.entitlements is None:
        yield Reason("no_package_approved")


def _follow_up_guard(attempt: Attempt) -> Iterable[Reason]:
    kind, parent = attempt.args.get("kind"), attempt.case
    if not isinstance(kind, CaseKind):
        return
    if parent.kind not in FOLLOWS.get(kind, frozenset()):
        yield _input("follow_up_parent_kind", "$.order", kind=kind.value, parent=parent.kind.value)
        return
    if parent.status not in _PARENT_STATES.get(kind, ()):
        allowed = _PARENT_STATES.get(kind, ())
        yield _input(
            "follow_up_state",
            "$.order",
            kind=kind.value,
            allowed=" or ".join(s.value for s in allowed),
            state=parent.status.value,
        )
    yield from _steps_in_parent_plan(parent, attempt.args.get("order"))


def _arch_steps(arches: Arches, summary: PlanSummary) -> list[tuple[str, int]]:
    """The treated arches of ``arches`` with the steps of a plan."""
    found = []
    if arches is not Arches.LOWER:
        found.append(("upper", summary.upper_steps))
    if arches is not Arches.UPPER:
        found.append(("lower", summary.lower_steps))
    return found


def _named_steps(order: object) -> list[tuple[str, Arches, Iterable[int]]]:
    """The steps an order names: its path, the arches they are of, the steps."""
    if isinstance(order, ReplacementOrder):
        return [
            (f"$.order.{arch.value}", arch, steps)
            for arch, steps in (
                (Arches.UPPER, order.upper_steps),
                (Arches.LOWER, order.lower_steps),
            )
            if steps.ranges
        ]
    if isinstance(order, RetainerOrder) and order.model_step is not None:
        return [("$.order.model_step", order.arches, (order.model_step,))]
    return []


def _steps_in_parent_plan(parent: Case, order: object) -> Iterable[Reason]:
    """Replacement steps (upper against the plan's upper steps, lower against its lower ones)
    and a retainer's model step lie within the parent's accepted plan; the first step past it
    is named with its arch (a parent without a plan, such as direct manufacturing, has none)."""
    named = _named_steps(order)
    if not named:
        return
    plan = parent.latest_plan if parent.accepted_at is not None else None
    if plan is None:
        yield _input("follow_up_no_plan", named[0][0], number=parent.number)
        return
    for path, arches, given in named:
        for arch, steps in _arch_steps(arches, plan.summary):
            outside = next((step for step in given if step > steps), None)
            if outside is not None:
                yield _input("step_outside_plan", path, step=outside, arch=arch, steps=steps)
                break


#: Preconditions on the case itself (its state, records, parent): known before any input.
STATE_GUARDS: dict[Action, tuple[Guard, ...]] = {
    Action.SUBMIT: (_submit_guard, _practice_guard),
    Action.TAKE: (_unassigned,),
    Action.UPGRADE_PACKAGE: (_package_approved,),
    Action.SHIP_IMPRESSIONS: (_impressions_by_post,),
    Action.RECEIVE_IMPRESSIONS: (_impressions_awaited,),
    Action.COMPLETE_DIGITISING: (_digitised,),
    Action.CANCEL: (_cancel_guard,),
    Action.CONFIRM_DELIVERY: (_delivery_pending,),
}

#: Whether there is anything to act on. A shell offers no "revoke" without a link to
#: revoke; the command itself names the missing one as not found (it is no state).
TARGET_GUARDS: dict[Action, tuple[Guard, ...]] = {
    Action.REVOKE_SHARE: (_share_to_revoke,),
    Action.REVOKE_COLLABORATOR: (_collaborator_to_revoke,),
}

#: Preconditions on what the user gives, checked against the case (plan version, reason, ...).
INPUT_GUARDS: dict[Action, tuple[Guard, ...]] = {
    Action.UPLOAD_PLAN: (_upload_guard,),
    Action.ACCEPT_PLAN: (_plan_version_guard,),
    Action.REJECT_PLAN: (_reason_given,),
    Action.REQUEST_MODIFICATION: (_reason_given,),
    Action.REFUSE_ORDER: (_reason_given,),
    Action.HOLD: (_reason_given,),
    Action.CANCEL: (_reason_given,),
    Action.SHIP: (_ship_guard,),
    Action.SHIP_IMPRESSIONS: (_ship_guard,),
    Action.REQUEST_RECORDS: (_reason_given,),
    Action.SHARE_PLAN: (_share_guard,),
    Action.CONFIRM_DELIVERY: (_shipment_named,),
    Action.ORDER_FOLLOW_UP: (_follow_up_guard,),
}

#: Every guard of an action, state first (what ``fire`` evaluates).
GUARDS: dict[Action, tuple[Guard, ...]] = {
    action: STATE_GUARDS.get(action, ()) + INPUT_GUARDS.get(action, ())
    for action in (*STATE_GUARDS, *INPUT_GUARDS)
}


# -- asking and firing -------------------------------------------------------------------------
def _route(attempt: Attempt) -> CaseStatus | bool | None:
    """The destination the machine's table gives (None: stays), or False when none applies.

    Reads ``machine.events[action].transitions[source]`` and evaluates each
    transition's conditions in order, as ``Event.trigger`` would, without the
    callback machinery: the fast path (a few microseconds). ``trigger_on_machine``
    is the same decision taken by firing the real event; the tests hold them equal.
    """
    event = _machine().events.get(attempt.action.value)
    candidates = event.transitions.get(attempt.case.status.value) if event else None
    for transition in candidates or ():
        if all(bool(c.func(attempt)) == c.target for c in transition.conditions):  # type: ignore[operator]
            return CaseStatus(transition.dest) if transition.dest is not None else None
    return False


def trigger_on_machine(attempt: Attempt) -> CaseStatus | None:
    """Fire the action through ``transitions`` itself on a short-lived holder.

    Returns the new status, or None when no transition applied. Slower than
    ``fire`` (the machine runs its callbacks); kept to prove the table and the
    fast path agree.
    """
    holder = _Holder(attempt.case.status.value)
    try:
        moved = _machine().events[attempt.action.value].trigger(holder, attempt)
    except MachineError:
        return None
    return CaseStatus(holder.state) if moved else None


@functools.cache
def _actions_from(status: CaseStatus, kind: CaseKind) -> frozenset[Action]:
    return frozenset(
        r.action for r in TABLE if status in r.sources and (not r.kinds or kind in r.kinds)
    )


def blockers(attempt: Attempt, *, inputs: bool = True, targets: bool = False) -> list[Reason]:
    """Every reason the attempt would be refused now (empty: it may go ahead).

    With ``inputs=False`` only the case's own state is asked about: what a shell
    shows before the user has typed anything (no "a reason is required").
    ``targets=True`` also asks whether there is anything to act on (``TARGET_GUARDS``).
    """
    case = attempt.case
    if attempt.action not in _actions_from(case.status, case.kind):
        if attempt.action is Action.CANCEL and case.status in AFTER_PRODUCTION_STARTED:
            return [Reason("already_in_production")]
        return [Reason("wrong_state", {"state": case.status.value})]
    reasons: list[Reason] = []
    for guard in STATE_GUARDS.get(attempt.action, ()):
        reasons.extend(guard(attempt))
    if targets:
        for guard in TARGET_GUARDS.get(attempt.action, ()):
            reasons.extend(guard(attempt))
    if inputs:
        for guard in INPUT_GUARDS.get(attempt.action, ()):
            reasons.extend(guard(attempt))
    return reasons


def possible_actions(case: Case) -> frozenset[Action]:
    """Actions the table allows from the case's status and kind (before guards and permissions)."""
    return _actions_from(case.status, case.kind)


def fire(attempt: Attempt) -> CaseStatus:
    """The status after the action, or ``InvalidTransitionError`` naming every reason."""
    case = attempt.case
    reasons = blockers(attempt)
    if reasons:
        raise InvalidTransitionError(case.number, case.status.value, attempt.action.value, reasons)
    dest = _route(attempt)
    if dest is False:
        raise InvalidTransitionError(
            case.number,
            case.status.value,
            attempt.action.value,
            [Reason("no_route", {"kind": case.kind.value, "state": case.status.value})],
        )
    return case.status if dest is None else dest  # type: ignore[return-value]
