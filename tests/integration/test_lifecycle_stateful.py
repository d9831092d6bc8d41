"""Random commands by random users across several networks; the invariants hold after every step."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any
from uuid import UUID

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)

from aligner_core import connect
from aligner_core.domain import lifecycle, permissions
from aligner_core.domain.accounts import Account, CollaboratorPermission, Role
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import Case, CaseKind, CaseStatus
from aligner_core.domain.orders import (
    RefinementOrder,
    ReplacementOrder,
    ReplacementReason,
    RetainerOrder,
    RetainerType,
    RevisionOrder,
)
from aligner_core.domain.queries import CaseFilter
from aligner_core.domain.records import FileKind
from aligner_core.errors import AlignerError, PermissionDeniedError
from aligner_core.testing.factories import (
    Lab,
    arch_stl,
    patient_details,
    plan_summary,
    registration,
    set_up_lab,
)

SCAN = arch_stl(4, 8)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NETWORKS = 3

# Who acts, relative to the case: mostly plausible actors, often wrong ones.
WHO = st.sampled_from(
    [
        "owner",
        "owner",
        "owner",
        "planner",
        "planner",
        "production",
        "production",
        "admin",
        "doctor2",
        "collaborator",
        "foreign_doctor",
        "foreign_planner",
        "foreign_admin",
        "blocked",
    ]
)
REASON = st.sampled_from(["missing bite scan", "", "  ", "patient asked"])
ORDERS = st.sampled_from(
    [
        RefinementOrder(),
        RetainerOrder(RetainerType.REMOVABLE, model_step=10),
        ReplacementOrder(2, ReplacementReason.LOST, upper="2-3", not_quality_complaint=True),
        ReplacementOrder(4, ReplacementReason.BROKEN, lower="4"),
        RevisionOrder("more torque"),
    ]
)
PERMS = st.lists(st.sampled_from(list(CollaboratorPermission)), min_size=1, max_size=3, unique=True)

# Which action a command is checked against (for "nobody changes a case outside their scope").
COMMAND_ACTION = {
    "submit": Action.SUBMIT,
    "upload_plan": Action.UPLOAD_PLAN,
    "accept_plan": Action.ACCEPT_PLAN,
    "reject_plan": Action.REJECT_PLAN,
    "request_modification": Action.REQUEST_MODIFICATION,
    "hold": Action.HOLD,
    "release": Action.RELEASE,
    "cancel": Action.CANCEL,
    "ship": Action.SHIP,
    "confirm_delivery": Action.CONFIRM_DELIVERY,
    "close": Action.CLOSE,
    "reopen": Action.REOPEN,
    "comment": Action.COMMENT,
    "delete_draft": Action.DELETE,
    "confirm": Action.CONFIRM,
    "set_tooth_states": Action.SET_TEETH,
    "update_draft": Action.EDIT,
    "accept_order": Action.ACCEPT_ORDER,
    "refuse_order": Action.REFUSE_ORDER,
    "share_plan": Action.SHARE_PLAN,
    "invite_collaborator": Action.INVITE_COLLABORATOR,
    "respond_to_invitation": Action.RESPOND_INVITATION,
    "reassign": Action.REASSIGN,
    "order_follow_up": Action.ORDER_FOLLOW_UP,
}


class CaseWorkflow(RuleBasedStateMachine):
    cases = Bundle("cases")

    def __init__(self) -> None:
        super().__init__()
        self.core = connect("memory://")
        self.labs: list[Lab] = [set_up_lab(self.core, f"NET-{i}") for i in range(NETWORKS)]
        self.by_network = {lab.network.network_id: lab for lab in self.labs}
        self.doctor2 = {
            lab.network.network_id: lab.add(Role.DOCTOR, f"dr2-{i}")
            for i, lab in enumerate(self.labs)
        }
        self.collaborator = self.labs[-1].add(Role.DOCTOR, "planning-service")
        self.blocked = self.core.register(registration(reference_code="NET-0")).account_id
        self.versions: dict[UUID, int] = {}
        self.steps = 0

    # -- plumbing ------------------------------------------------------------------------
    def state(self) -> Any:
        return self.core.storage._state  # type: ignore[attr-defined]

    def all_cases(self) -> dict[UUID, Case]:
        return dict(self.state().cases)

    def account(self, account_id: UUID) -> Account:
        return self.state().accounts[account_id]  # type: ignore[no-any-return]

    def users(self) -> list[UUID]:
        return list(self.state().accounts)

    def actor(self, case_id: UUID, who: str) -> UUID:
        case = self.all_cases()[case_id]
        lab = self.by_network[case.network_id]
        foreign = next(lab for lab in self.labs if lab.network.network_id != case.network_id)
        return {
            "owner": case.owner_id,
            "planner": lab.planner,
            "production": lab.production,
            "admin": lab.admin,
            "doctor2": self.doctor2[case.network_id],
            "collaborator": self.collaborator,
            "foreign_doctor": foreign.doctor,
            "foreign_planner": foreign.planner,
            "foreign_admin": foreign.admin,
            "blocked": self.blocked,
        }[who]

    def run(
        self, command: str, actor_id: UUID, case_id: UUID | None, *args: Any, **kwargs: Any
    ) -> Any:
        """Run one command; check what it may and may not have changed."""
        self.steps += 1
        before = self.all_cases()
        accounts_before = dict(self.state().accounts)
        outbox_before = len(self.state().outbox)
        actor_before = accounts_before.get(actor_id)
        fn: Callable[..., Any] = getattr(self.core, command)
        try:
            result = fn(actor_id, *((case_id,) if case_id else ()), *args, **kwargs)
        except AlignerError as e:
            assert self.all_cases() == before, f"failed {command} changed a case: {e!r}"
            assert self.state().accounts == accounts_before, f"failed {command} changed an account"
            assert len(self.state().outbox) == outbox_before, f"failed {command} queued mail"
            if isinstance(e, PermissionDeniedError) and actor_before is not None and case_id:
                action = COMMAND_ACTION.get(command)
                if action is not None:
                    assert not permissions.can(actor_before, action, before[case_id])
            return None
        after = self.all_cases()
        changed = {k for k in after if k not in before or after[k] != before[k]}
        for k in changed:
            if k in before:
                assert after[k].version == before[k].version + 1, (command, k)
            else:
                assert after[k].version == 1
                assert command in ("create_case", "order_follow_up")
        if case_id is not None and command in COMMAND_ACTION:
            assert actor_before is not None
            assert permissions.can(actor_before, COMMAND_ACTION[command], before[case_id]), (
                f"{command} by {actor_before.role} with no relation succeeded"
            )
            target = case_id
            assert target in changed, f"{command} succeeded without recording it"
            assert len(changed - {target}) <= (1 if command == "order_follow_up" else 0)
        return result

    # -- cases ---------------------------------------------------------------------------
    @initialize(target=cases)
    def seed(self) -> Any:
        ids = [lab.ready_case(last_name=f"Seed{i}") for i, lab in enumerate(self.labs)]
        return multiple(*ids)

    @rule(target=cases, net=st.integers(0, NETWORKS - 1), second=st.booleans(), ready=st.booleans())
    def new_treatment(self, net: int, second: bool, ready: bool) -> Any:
        lab = self.labs[net]
        doctor = self.doctor2[lab.network.network_id] if second else lab.doctor
        with self.core.storage.unit_of_work() as uow:
            active = uow.accounts.get(doctor).is_active  # manage_account may have blocked them
        if ready and active:
            return lab.ready_case(doctor)
        case = self.run("create_case", doctor, None, CaseKind.TREATMENT, patient_details("Ad-hoc"))
        return case.case_id if case else multiple()

    @rule(
        target=cases,
        net=st.integers(0, NETWORKS - 1),
        kind=st.sampled_from([CaseKind.DIRECT_MANUFACTURING, CaseKind.RETAINER]),
        staff=st.booleans(),
    )
    def new_other_kind(self, net: int, kind: CaseKind, staff: bool) -> Any:
        lab = self.labs[net]
        order = (
            RetainerOrder(RetainerType.REMOVABLE, model_step=3)
            if kind is CaseKind.RETAINER
            else None
        )
        actor = lab.planner if staff else lab.doctor
        case = self.run("create_case", actor, None, kind, patient_details("Other"), order=order)
        return case.case_id if case else multiple()

    @rule(
        case=cases,
        who=WHO,
        kind=st.sampled_from([FileKind.UPPER_SCAN, FileKind.LOWER_SCAN, FileKind.OTHER]),
        bad=st.booleans(),
    )
    def attach(self, case: UUID, who: str, kind: FileKind, bad: bool) -> None:
        data = PDF if bad or kind is FileKind.OTHER else SCAN
        self.run("attach_file", self.actor(case, who), case, kind, data, "file.stl")

    @rule(case=cases, who=WHO, complete=st.booleans(), privacy=st.booleans())
    def confirm(self, case: UUID, who: str, complete: bool, privacy: bool) -> None:
        self.run(
            "confirm", self.actor(case, who), case, complete=complete or privacy, privacy=privacy
        )

    @rule(case=cases, who=WHO)
    def edit(self, case: UUID, who: str) -> None:
        self.run("update_draft", self.actor(case, who), case, patient=patient_details("Edited"))

    @rule(case=cases, who=WHO)
    def set_teeth(self, case: UUID, who: str) -> None:
        self.run("set_tooth_states", self.actor(case, who), case, {18: "missing"})

    @rule(case=cases, who=WHO)
    def submit(self, case: UUID, who: str) -> None:
        self.run("submit", self.actor(case, who), case)

    @rule(case=cases, who=WHO)
    def delete(self, case: UUID, who: str) -> None:
        self.run("delete_draft", self.actor(case, who), case)

    @rule(case=cases, who=WHO)
    def upload_plan(self, case: UUID, who: str) -> None:
        self.run("upload_plan", self.actor(case, who), case, plan_summary())

    @rule(case=cases, who=WHO, version=st.integers(0, 3))
    def accept_plan(self, case: UUID, who: str, version: int) -> None:
        self.run("accept_plan", self.actor(case, who), case, version)

    @rule(case=cases, who=WHO, reason=REASON)
    def reject_plan(self, case: UUID, who: str, reason: str) -> None:
        self.run("reject_plan", self.actor(case, who), case, reason)

    @rule(case=cases, who=WHO, reason=REASON)
    def request_modification(self, case: UUID, who: str, reason: str) -> None:
        self.run("request_modification", self.actor(case, who), case, reason)

    @rule(case=cases, who=WHO, reason=REASON)
    def hold(self, case: UUID, who: str, reason: str) -> None:
        self.run("hold", self.actor(case, who), case, reason)

    @rule(case=cases, who=WHO)
    def release(self, case: UUID, who: str) -> None:
        self.run("release", self.actor(case, who), case)

    @rule(case=cases, who=WHO, reason=REASON)
    def cancel(self, case: UUID, who: str, reason: str) -> None:
        self.run("cancel", self.actor(case, who), case, reason)

    @rule(case=cases, who=WHO, final=st.booleans(), carrier=st.sampled_from(["DHL", ""]))
    def ship(self, case: UUID, who: str, final: bool, carrier: str) -> None:
        self.run(
            "ship", self.actor(case, who), case, carrier=carrier, tracking_number="T1", final=final
        )

    @rule(case=cases, who=WHO)
    def confirm_delivery(self, case: UUID, who: str) -> None:
        self.run("confirm_delivery", self.actor(case, who), case)

    @rule(case=cases, who=WHO)
    def close(self, case: UUID, who: str) -> None:
        self.run("close", self.actor(case, who), case)

    @rule(case=cases, who=WHO)
    def reopen(self, case: UUID, who: str) -> None:
        self.run("reopen", self.actor(case, who), case)

    @rule(case=cases, who=WHO, text=st.sampled_from(["hello", " "]))
    def comment(self, case: UUID, who: str, text: str) -> None:
        self.run("comment", self.actor(case, who), case, text)

    @rule(case=cases, who=WHO)
    def accept_order(self, case: UUID, who: str) -> None:
        self.run("accept_order", self.actor(case, who), case)

    @rule(case=cases, who=WHO, reason=REASON)
    def refuse_order(self, case: UUID, who: str, reason: str) -> None:
        self.run("refuse_order", self.actor(case, who), case, reason)

    @rule(case=cases, who=WHO, version=st.integers(1, 2))
    def share(self, case: UUID, who: str, version: int) -> None:
        self.run("share_plan", self.actor(case, who), case, version)

    @rule(
        case=cases,
        who=WHO,
        invitee=st.sampled_from(["collaborator", "doctor2", "foreign_doctor"]),
        perms=PERMS,
    )
    def invite(
        self, case: UUID, who: str, invitee: str, perms: list[CollaboratorPermission]
    ) -> None:
        self.run(
            "invite_collaborator", self.actor(case, who), case, self.actor(case, invitee), perms
        )

    @rule(
        case=cases,
        who=st.sampled_from(["collaborator", "doctor2", "foreign_doctor", "owner"]),
        accept=st.booleans(),
    )
    def respond(self, case: UUID, who: str, accept: bool) -> None:
        self.run("respond_to_invitation", self.actor(case, who), case, accept=accept)

    @rule(
        case=cases, who=WHO, to=st.sampled_from(["doctor2", "owner", "foreign_doctor", "planner"])
    )
    def reassign(self, case: UUID, who: str, to: str) -> None:
        self.run("reassign", self.actor(case, who), case, self.actor(case, to))

    @rule(target=cases, case=cases, who=WHO, order=ORDERS)
    def follow_up(self, case: UUID, who: str, order: Any) -> Any:
        created = self.run("order_follow_up", self.actor(case, who), case, order)
        return created.case_id if created else multiple()

    @rule(
        case=cases,
        who=WHO,
        subject=st.sampled_from(["doctor2", "collaborator", "blocked"]),
        block=st.booleans(),
    )
    def manage_account(self, case: UUID, who: str, subject: str, block: bool) -> None:
        command = "block" if block else "activate"
        self.run(command, self.actor(case, who), None, self.actor(case, subject))

    def _progress(self, case_id: UUID, choice: int) -> None:
        """The natural next command for the case's state, by the right actor (to go deep)."""
        case = self.all_cases()[case_id]
        lab = self.by_network[case.network_id]
        owner = case.owner_id
        status = case.status
        if status is CaseStatus.DRAFT:
            needs_scans = case.kind is not CaseKind.RETAINER and case.kind is not CaseKind.REVISION
            if needs_scans and case.records.latest(FileKind.UPPER_SCAN) is None:
                self.run("attach_file", owner, case_id, FileKind.UPPER_SCAN, SCAN, "u.stl")
            elif needs_scans and case.records.latest(FileKind.LOWER_SCAN) is None:
                self.run("attach_file", owner, case_id, FileKind.LOWER_SCAN, SCAN, "l.stl")
            elif not case.records.privacy_accepted:
                self.run("confirm", owner, case_id, complete=True, privacy=True)
            else:
                self.run("submit", owner, case_id)
        elif status is CaseStatus.LAB_REVIEW:
            if choice % 3:
                self.run("accept_order", lab.production, case_id)
            else:
                self.run("refuse_order", lab.admin, case_id, "not ours")
        elif status is CaseStatus.IN_PLANNING:
            self.run("upload_plan", lab.planner, case_id, plan_summary())
        elif status is CaseStatus.WAITING_FOR_APPROVAL:
            latest = len(case.plans)
            if choice % 4 == 0:
                self.run("reject_plan", owner, case_id, "no")
            elif choice % 4 == 1:
                self.run("request_modification", owner, case_id, "less IPR")
            else:
                self.run("accept_plan", owner, case_id, max(1, latest - (choice % 4 == 3)))
        elif status is CaseStatus.PLAN_REJECTED:
            self.run("request_modification", owner, case_id, "try again")
        elif status is CaseStatus.IN_PRODUCTION:
            self.run(
                "ship",
                lab.production,
                case_id,
                carrier="DHL",
                tracking_number="T",
                final=choice % 2 == 0,
            )
        elif status is CaseStatus.SHIPPED:
            if choice % 3 == 0:
                self.run("order_follow_up", owner, case_id, RefinementOrder())
            elif choice % 3 == 1:
                self.run("confirm_delivery", owner, case_id)
            else:
                self.run("close", owner, case_id)
        elif status is CaseStatus.ON_HOLD:
            self.run("release", lab.planner, case_id)
        elif status is CaseStatus.CLOSED:
            self.run("reopen", owner, case_id)

    @rule(case=cases, choices=st.lists(st.integers(0, 11), min_size=1, max_size=6))
    def progress(self, case: UUID, choices: list[int]) -> None:
        for choice in choices:  # each move is one command, checked on its own by ``run``
            self._progress(case, choice)

    @rule(case=cases, choices=st.lists(st.integers(0, 11), min_size=1, max_size=6))
    def progress_more(self, case: UUID, choices: list[int]) -> None:
        self.progress(case, choices)

    # -- invariants --------------------------------------------------------------------
    @invariant()
    def history_matches_status_and_table(self) -> None:
        for case in self.all_cases().values():
            history = case.history
            assert history, case.number
            assert history[0].from_status is None
            assert history[0].to_status is CaseStatus.DRAFT
            assert history[0].action == "create"
            for prev, entry in itertools.pairwise(history):
                assert entry.from_status is prev.to_status, (case.number, entry)
                if entry.from_status is not entry.to_status:
                    assert any(
                        row.action.value == entry.action
                        and entry.from_status in row.sources
                        and row.dest is entry.to_status
                        and (not row.kinds or case.kind in row.kinds)
                        for row in lifecycle.TABLE
                    ), (case.kind, entry)
            assert history[-1].to_status is case.status
            assert len(history) == case.version
            assert (case.status is CaseStatus.ON_HOLD) == (case.hold is not None)

    @invariant()
    def versions_only_grow(self) -> None:
        for case_id, case in self.all_cases().items():
            assert case.version >= self.versions.get(case_id, 1)
            self.versions[case_id] = case.version

    @invariant()
    def users_see_only_their_scope(self) -> None:
        cases = self.all_cases()
        for user_id in self.users():
            account = self.account(user_id)
            if not account.is_active:
                try:
                    self.core.list_cases(user_id)
                except PermissionDeniedError as e:
                    assert e.reason == "account is blocked"
                else:
                    raise AssertionError("a blocked user listed cases")
                continue
            page = self.core.list_cases(user_id, CaseFilter(limit=500))
            assert page.total == len(page.items)
            for summary in page.items:
                case = cases[summary.case_id]
                assert case.status is not CaseStatus.DELETED
                assert permissions.can(account, Action.VIEW, case), (account.role, case.number)
            assert self.core.dashboard(user_id).total == page.total

    @invariant()
    def reading_a_case_follows_the_relations(self) -> None:
        if self.steps % 5:
            return
        viewable = permissions.MATRIX[Action.VIEW]  # an invitee sees nothing before accepting
        for case in self.all_cases().values():
            for user_id in self.users():
                account = self.account(user_id)
                may = (
                    account.is_active
                    and case.status is not CaseStatus.DELETED
                    and bool(permissions.relations(account, case) & viewable)
                )
                try:
                    detail = self.core.get_case(user_id, case.case_id)
                except AlignerError:
                    assert not may, (account.role, case.number)
                else:
                    assert may, (account.role, case.number)
                    assert detail.allowed_actions <= lifecycle.possible_actions(case)


CaseWorkflow.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestCaseWorkflow = CaseWorkflow.TestCase
