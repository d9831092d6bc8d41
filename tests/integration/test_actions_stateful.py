"""The buttons a shell draws never lie: offered actions succeed, others are refused with a blocker.

Random users take random actions on random cases. For every step:

- an action ``available_actions`` offers, sent with valid inputs, succeeds;
- an action it does not offer is refused, and ``blockers`` for that action (with
  the same command) names at least one reason; a case the user may not see is
  "not found" for both;
- the state reasons of ``blockers`` never mention inputs nobody has typed.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from aligner_core import (
    AcceptOrder,
    AcceptPlan,
    Action,
    AlignerError,
    AssignCase,
    AttachFile,
    Cancel,
    CaseCommand,
    CaseKind,
    CaseStatus,
    Close,
    CollaboratorPermission,
    Comment,
    CompleteDigitising,
    Confirm,
    ConfirmDelivery,
    DeleteDraft,
    FileKind,
    Hold,
    ImpressionType,
    InviteCollaborator,
    NotFoundError,
    OrderFollowUp,
    Reassign,
    ReceiveImpressions,
    RefinementOrder,
    RefuseOrder,
    RejectPlan,
    Release,
    Reopen,
    ReplacementOrder,
    ReplacementReason,
    RequestModification,
    RequestRecords,
    RespondToInvitation,
    RetainerOrder,
    RetainerType,
    RevisionOrder,
    RevokeCollaborator,
    RevokeShare,
    Role,
    SetTeeth,
    SharePlan,
    Ship,
    ShipImpressions,
    Submit,
    TakeCase,
    ToothChart,
    UpdateDraft,
    UpgradePackage,
    UploadPlan,
    connect,
)
from aligner_core.domain.cases import Case
from aligner_core.service.queries import COMMAND_FOR
from aligner_core.testing.factories import arch_stl, patient_details, plan_summary, set_up_lab

SCAN = arch_stl(4, 8)
WHO = ("owner", "owner", "planner", "production", "admin", "doctor2", "outsider")
_FOLLOW_UPS: dict[CaseStatus, tuple[Any, ...]] = {
    CaseStatus.IN_PRODUCTION: (
        RevisionOrder("more torque"),
        ReplacementOrder(1, ReplacementReason.LOST, upper="1", not_quality_complaint=True),
    ),
    CaseStatus.SHIPPED: (RefinementOrder(), RetainerOrder(RetainerType.REMOVABLE, model_step=1)),
    CaseStatus.CLOSED: (RefinementOrder(), RevisionOrder("again")),
}


def _later_kind(case: Case) -> FileKind:
    """What a careful user uploads later: what the case waits for, else a document."""
    if case.records_request is not None:
        return case.records_request.kinds[0]
    if case.status is CaseStatus.AWAITING_IMPRESSIONS:  # the lab's digitised scans
        return FileKind.LOWER_SCAN if case.records.has(FileKind.UPPER_SCAN) else FileKind.UPPER_SCAN
    return FileKind.OTHER


def valid_command(action: Action, case: Case, people: dict[str, UUID]) -> Any:
    """A command for ``action`` whose inputs fit ``case`` (what a careful user would send)."""
    cid = case.case_id
    latest = case.latest_plan.number if case.latest_plan else 1
    pending = [s for s in case.shipments if s.delivered_at is None]
    shares = [s for s in case.shares if s.revoked_at is None]
    grants = [g for g in case.collaborators if g.status.value in ("invited", "accepted")]
    taken = {g.account_id for g in grants} | {case.owner_id}
    invitee = next((people[w] for w in ("outsider", "stranger") if people[w] not in taken), None)
    made: dict[Action, Any] = {
        Action.EDIT: lambda: UpdateDraft(case_id=cid, patient=patient_details("Roe")),
        Action.SET_TEETH: lambda: SetTeeth(
            case_id=cid, teeth=ToothChart.from_mapping({11: "crown"})
        ),
        Action.ATTACH: lambda: AttachFile(
            case_id=cid, kind=FileKind.UPPER_SCAN, name="u.stl", content=SCAN
        ),
        Action.ADD_DOCUMENT: lambda: AttachFile(
            case_id=cid, kind=_later_kind(case), name="later.stl", content=SCAN
        ),
        Action.SHIP_IMPRESSIONS: lambda: ShipImpressions(
            case_id=cid, carrier="DHL", tracking_number="JD2"
        ),
        Action.RECEIVE_IMPRESSIONS: lambda: ReceiveImpressions(case_id=cid),
        Action.COMPLETE_DIGITISING: lambda: CompleteDigitising(case_id=cid),
        Action.REQUEST_RECORDS: lambda: RequestRecords(
            case_id=cid, kinds=(FileKind.LOWER_SCAN,), reason="bite not closed"
        ),
        Action.CONFIRM: lambda: Confirm(case_id=cid, complete=True, privacy=True),
        Action.DELETE: lambda: DeleteDraft(case_id=cid),
        Action.SUBMIT: lambda: Submit(case_id=cid),
        Action.ACCEPT_ORDER: lambda: AcceptOrder(case_id=cid),
        Action.REFUSE_ORDER: lambda: RefuseOrder(case_id=cid, reason="not our lab"),
        Action.UPLOAD_PLAN: lambda: UploadPlan(case_id=cid, summary=plan_summary()),
        Action.ACCEPT_PLAN: lambda: AcceptPlan(case_id=cid, plan_version=latest),
        Action.REJECT_PLAN: lambda: RejectPlan(case_id=cid, reason="too long"),
        Action.REQUEST_MODIFICATION: lambda: RequestModification(case_id=cid, reason="less IPR"),
        Action.HOLD: lambda: Hold(case_id=cid, reason="records unclear"),
        Action.RELEASE: lambda: Release(case_id=cid),
        Action.CANCEL: lambda: Cancel(case_id=cid, reason="patient moved"),
        Action.SHIP: lambda: Ship(case_id=cid, carrier="DHL", tracking_number="JD1", final=True),
        Action.CONFIRM_DELIVERY: lambda: ConfirmDelivery(
            case_id=cid, shipment_id=pending[0].shipment_id if pending else None
        ),
        Action.CLOSE: lambda: Close(case_id=cid),
        Action.REOPEN: lambda: Reopen(case_id=cid),
        Action.COMMENT: lambda: Comment(case_id=cid, text="looks good"),
        Action.SHARE_PLAN: lambda: SharePlan(case_id=cid, plan_version=latest),
        Action.REVOKE_SHARE: lambda: RevokeShare(
            case_id=cid, share_id=shares[0].share_id if shares else uuid4()
        ),
        Action.INVITE_COLLABORATOR: lambda: (
            InviteCollaborator(
                case_id=cid,
                collaborator_id=invitee,
                permissions=(CollaboratorPermission.COMMENT,),
            )
            if invitee
            else None
        ),
        Action.REVOKE_COLLABORATOR: lambda: RevokeCollaborator(
            case_id=cid, collaborator_id=grants[0].account_id if grants else uuid4()
        ),
        Action.RESPOND_INVITATION: lambda: RespondToInvitation(case_id=cid, accept=True),
        Action.REASSIGN: lambda: Reassign(
            case_id=cid,
            owner=people["doctor2"] if case.owner_id == people["owner"] else people["owner"],
        ),
        Action.ORDER_FOLLOW_UP: lambda: OrderFollowUp(
            parent_case_id=cid,
            order=_FOLLOW_UPS.get(case.status, (RevisionOrder("x"),))[0],
        ),
        Action.ASSIGN: lambda: AssignCase(case_id=cid, assignee_id=people["planner"]),
        Action.TAKE: lambda: TakeCase(case_id=cid),
        Action.UPGRADE_PACKAGE: lambda: UpgradePackage(case_id=cid, package="comprehensive"),
    }
    return made[action]()


class ActionsMachine(RuleBasedStateMachine):
    cases = Bundle("cases")

    @initialize()
    def set_up(self) -> None:
        self.core = connect("memory://")
        lab = set_up_lab(self.core)
        other = set_up_lab(self.core, "OTHER")
        self.people = {
            "owner": lab.doctor,
            "planner": lab.planner,
            "production": lab.production,
            "admin": lab.admin,
            "doctor2": lab.add(Role.DOCTOR, "doctor-two"),
            "outsider": other.doctor,
            "stranger": other.planner,
        }
        self.lab = lab
        self.offered_ok = 0
        self.refused_ok = 0

    def _case(self, case_id: UUID) -> Case:
        with self.core.storage.unit_of_work() as uow:
            return uow.cases.get(case_id)

    @rule(target=cases, kind=st.sampled_from([CaseKind.TREATMENT, CaseKind.DIRECT_MANUFACTURING]))
    def new_case(self, kind: CaseKind) -> UUID:
        if kind is CaseKind.TREATMENT:
            return self.lab.ready_case()
        case = self.core.create_case(self.lab.doctor, kind, patient_details())
        return case.case_id

    @rule(target=cases)
    def new_case_with_impressions_by_post(self) -> UUID:
        case = self.core.create_case(
            self.lab.doctor,
            CaseKind.TREATMENT,
            patient_details(),
            impression_type=ImpressionType.SILICONE_IMPRESSION,
        )
        self.core.confirm(self.lab.doctor, case.case_id, complete=True, privacy=True)
        return case.case_id

    @rule(case_id=cases, who=st.sampled_from(WHO), pick=st.integers(0, 100))
    def take_an_offered_action(self, case_id: UUID, who: str, pick: int) -> None:
        actor = self.people[who]
        try:
            offered = self.core.available_actions(actor, case_id)
        except NotFoundError:
            return
        if not offered:
            return
        option = offered[pick % len(offered)]
        command = valid_command(option.action, self._case(case_id), self.people)
        if command is None:
            return  # no valid input exists (everyone is invited already)
        assert isinstance(command, option.command)
        self.core.execute(actor, command)  # an offered action with valid inputs succeeds
        self.offered_ok += 1

    @rule(case_id=cases, who=st.sampled_from(WHO), action=st.sampled_from(sorted(COMMAND_FOR)))
    def try_an_action_not_offered(self, case_id: UUID, who: str, action: Action) -> None:
        actor = self.people[who]
        try:
            offered = self.core.available_actions(actor, case_id)
        except NotFoundError:
            offered = ()
        if COMMAND_FOR[action] in {o.command for o in offered}:
            return  # the same command is offered (a file is "attach" or "add_document" by state)
        case = self._case(case_id)
        command = valid_command(action, case, self.people)
        if command is None:
            return
        try:
            self.core.execute(actor, command)
        except NotFoundError:
            if case.status is not CaseStatus.DELETED:
                self._assert_unseen_or_blocked(actor, case_id, action, command)
            return
        except AlignerError:
            self.refused_ok += 1
        else:
            raise AssertionError(f"{action} was not offered to {who} but succeeded")
        if not isinstance(command, CaseCommand):
            return
        reasons = self.core.blockers(actor, case_id, action, command)
        assert reasons, f"{action} refused for {who} without a blocker"

    def _assert_unseen_or_blocked(
        self, actor: UUID, case_id: UUID, action: Action, command: Any
    ) -> None:
        """Not found: the case is hidden from the actor, or what the command names is gone."""
        try:
            reasons = self.core.blockers(actor, case_id, action, command)
        except NotFoundError:
            return
        assert reasons, f"{action}: not found, yet the case is visible and nothing blocks it"

    @invariant()
    def blockers_of_offered_actions_are_empty(self) -> None:
        if not hasattr(self, "core"):
            return
        page = self.core.list_cases(self.people["admin"])
        owner = self.people["owner"]
        for summary in page.items[:3]:
            try:
                offered = self.core.available_actions(owner, summary.case_id)
            except NotFoundError:
                continue
            for option in offered:
                state = self.core.blockers(self.people["owner"], summary.case_id, option.action)
                assert not state, (option.action, list(state))
                assert not state.inputs  # nobody typed anything


ActionsMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestActions = ActionsMachine.TestCase
