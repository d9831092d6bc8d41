"""The application service: the only public way to change state.

Every command takes the acting user's id, loads through one unit of work,
checks permission, asks the lifecycle, applies the change, appends a history
entry, queues the notifications in the same unit of work (outbox), and commits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import IO, Any, Protocol
from uuid import UUID

import attrs

from aligner_core.domain import lifecycle, permissions
from aligner_core.domain.accounts import (
    Account,
    AccountStatus,
    CollaboratorGrant,
    CollaboratorPermission,
    GrantStatus,
    Network,
    Role,
)
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import (
    Case,
    CaseKind,
    CaseStatus,
    Comment,
    Deadline,
    HistoryEntry,
    Hold,
    ShareLink,
    Shipment,
)
from aligner_core.domain.deadlines import (
    Stage,
    add_business_days,
    business_days_between,
    turnaround,
)
from aligner_core.domain.events import DomainEvent, EventType
from aligner_core.domain.orders import (
    OrderDetails,
    RefinementOrder,
    ReplacementOrder,
    RetainerOrder,
    RevisionOrder,
)
from aligner_core.domain.patients import Patient
from aligner_core.domain.plans import PlanStep, PlanSummary, PlanVersion
from aligner_core.domain.prescriptions import Design, TreatmentRequest
from aligner_core.domain.queries import CaseFilter, CaseSummary, Page
from aligner_core.domain.records import (
    FileKind,
    FileRef,
    ImpressionType,
    Records,
    sanitize_filename,
)
from aligner_core.domain.teeth import Tooth, ToothChart, ToothState
from aligner_core.errors import (
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from aligner_core.notifications.outbox import OutboxEntry
from aligner_core.notifications.rules import recipients
from aligner_core.ports import BlobStore, Clock, FileScanner, IdGenerator, Storage, UnitOfWork
from aligner_core.service.inputs import PatientDetails, ProfileChanges, Registration
from aligner_core.service.views import CaseDetail, Dashboard, SharedPlan

__all__ = ["Service", "SpooledFile", "Spooler"]

#: Log lines name case numbers, account ids and actions: never a patient.
log = logging.getLogger("aligner_core.service")

_FOLLOW_UP_KIND: dict[type, CaseKind] = {
    RefinementOrder: CaseKind.REFINEMENT,
    RetainerOrder: CaseKind.RETAINER,
    ReplacementOrder: CaseKind.REPLACEMENT,
    RevisionOrder: CaseKind.REVISION,
}


class SpooledFile(Protocol):
    """An upload streamed to a local temporary file, with its digest; deleted on exit."""

    path: str
    size: int
    sha256: str

    def __enter__(self) -> SpooledFile: ...

    def __exit__(self, *exc: object) -> None: ...


Spooler = Callable[[IO[bytes] | Iterable[bytes], int], SpooledFile]
"""Streams an upload to disk, refusing it past ``max_bytes`` (``RejectedFileError``)."""


@attrs.frozen
class _Change:
    """What a command did to a case, for the history and the outbox."""

    case: Case
    event: EventType | None
    details: Mapping[str, object] = attrs.field(factory=dict)
    subject_id: UUID | None = None


class Service:
    """Commands and queries over one storage. Build it with :func:`aligner_core.connect`."""

    def __init__(
        self,
        storage: Storage,
        *,
        clock: Clock,
        ids: IdGenerator,
        blobs: BlobStore,
        scanner: FileScanner,
        spooler: Spooler,
        link_secret: bytes,
        max_upload_bytes: int = 2 * 1024**3,
        default_reference_code: str | None = None,
        turnaround_table: dict[tuple[Stage, Design], int] | None = None,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.ids = ids
        self.blobs = blobs
        self.scanner = scanner
        self._spool = spooler
        self._secret = link_secret
        self.max_upload_bytes = max_upload_bytes
        self.default_reference_code = default_reference_code
        self._turnaround = turnaround_table

    # ------------------------------------------------------------------ plumbing
    @contextmanager
    def _uow(self) -> Iterator[UnitOfWork]:
        with self.storage.unit_of_work() as uow:
            yield uow

    def _actor(self, uow: UnitOfWork, actor_id: UUID, action: str = "act") -> Account:
        """The acting user, refused when unknown or blocked (naming the action tried)."""
        try:
            actor = uow.accounts.get(actor_id)
        except NotFoundError:
            raise PermissionDeniedError(actor_id, action, None, "unknown user") from None
        if not actor.is_active:
            raise PermissionDeniedError(actor_id, action, None, "account is blocked")
        return actor

    def _case_for(
        self, uow: UnitOfWork, actor: Account, case_id: UUID, *, invitee: bool = False
    ) -> Case:
        """The case if the actor may see it; otherwise 'not found' (no existence leak).

        An invited collaborator sees nothing before accepting; ``invitee=True`` lets
        the invitation answer itself through.
        """
        case = uow.cases.get(case_id)
        if case.status is CaseStatus.DELETED:
            raise NotFoundError("case", case_id)
        allowed = permissions.MATRIX[Action.VIEW]
        if invitee:
            allowed = allowed | {permissions.Relation.INVITEE}
        if not permissions.relations(actor, case) & allowed:
            raise NotFoundError("case", case_id)
        return case

    def _account_for(
        self, uow: UnitOfWork, actor: Account, account_id: UUID, action: str
    ) -> Account:
        """Another account, for its network's admin only; others learn nothing of it."""
        if actor.account_id == account_id:
            return actor
        permissions.require_admin_of(actor, actor.network_id, action)
        target = uow.accounts.get(account_id)
        if target.network_id != actor.network_id:
            raise NotFoundError("account", account_id)
        return target

    def _queue(self, uow: UnitOfWork, event: DomainEvent, case: Case | None) -> None:
        now = self.clock.now()
        for account in recipients(event, case, uow.accounts.get, uow.accounts.in_network):
            entry_id = self.ids.new_id()
            uow.outbox.add(
                OutboxEntry(
                    entry_id=entry_id,
                    event=event,
                    recipient_id=account.account_id,
                    recipient_email=account.email,
                    language=account.language,
                    created_at=now,
                    next_attempt_at=now,
                    message_id=f"<{entry_id}@aligner-core>",
                )
            )

    def _event(
        self,
        kind: EventType,
        actor: Account,
        *,
        network_id: UUID,
        case: Case | None = None,
        account_id: UUID | None = None,
        data: Mapping[str, object] | None = None,
    ) -> DomainEvent:
        return DomainEvent(
            type=kind,
            at=self.clock.now(),
            actor_id=actor.account_id,
            network_id=network_id,
            case_id=case.case_id if case else None,
            case_number=case.number if case else None,
            account_id=account_id,
            data=dict(data or {}),
        )

    def _act(
        self,
        actor_id: UUID,
        case_id: UUID,
        action: Action,
        change: Callable[[Case, Account, datetime, UnitOfWork], _Change] | None = None,
        *,
        args: Mapping[str, Any] | None = None,
        event: EventType | None = None,
        details: Mapping[str, object] | None = None,
    ) -> Case:
        """Run one command on one case: permission, lifecycle, change, history, outbox, commit."""
        with self._uow() as uow:
            actor = self._actor(uow, actor_id, action.value)
            case = self._case_for(uow, actor, case_id, invitee=action is Action.RESPOND_INVITATION)
            permissions.ensure(actor, action, case)
            parent = self._parent(uow, case) if action is Action.SUBMIT else None
            new_status = lifecycle.fire(lifecycle.Attempt(case, action, dict(args or {}), parent))
            now = self.clock.now()
            done = change(case, actor, now, uow) if change else _Change(case, event, details or {})
            updated = self._advance(case, done.case, new_status, actor, action, now, done.details)
            uow.cases.update(updated)
            if done.event is not None:
                data = {
                    **{k: v for k, v in done.details.items() if k != "text"},
                    "action": action.value,
                }
                self._queue(
                    uow,
                    self._event(
                        done.event,
                        actor,
                        network_id=updated.network_id,
                        case=updated,
                        account_id=done.subject_id,
                        data=data,
                    ),
                    updated,
                )
            uow.commit()
        log.info(
            "case %d: %s by %s (%s -> %s, version %d)",
            updated.number,
            action.value,
            actor_id,
            case.status.value,
            updated.status.value,
            updated.version,
        )
        return updated

    def _parent(self, uow: UnitOfWork, case: Case) -> Case | None:
        if case.parent_id is None:
            return None
        try:
            return uow.cases.get(case.parent_id)
        except NotFoundError:
            return None

    def _advance(
        self,
        before: Case,
        changed: Case,
        status: CaseStatus,
        actor: Account,
        action: Action,
        now: datetime,
        details: Mapping[str, object],
    ) -> Case:
        """Status, hold, deadline, timestamps, history and version after an action."""
        hold = changed.hold
        if status is CaseStatus.ON_HOLD and before.status is not CaseStatus.ON_HOLD:
            hold = Hold(str(details.get("reason", "")), before.status, now)
        elif status is not CaseStatus.ON_HOLD:
            hold = None
        entry = HistoryEntry(
            at=now,
            actor_id=actor.account_id,
            action=action.value,
            from_status=before.status,
            to_status=status,
            details={k: v for k, v in details.items() if v is not None},
        )
        return attrs.evolve(
            changed,
            status=status,
            hold=hold,
            deadline=self._deadline(before, status, action, now, changed),
            updated_at=now,
            submitted_at=now if action is Action.SUBMIT else changed.submitted_at,
            accepted_at=(
                now
                if status is CaseStatus.IN_PRODUCTION and changed.accepted_at is None
                else changed.accepted_at
            ),
            history=(*changed.history, entry),
            version=before.version + 1,
        )

    def _deadline(
        self, before: Case, status: CaseStatus, action: Action, now: datetime, case: Case
    ) -> Deadline | None:
        """The lab's due date: set on entering a lab stage, paused on hold, moved on release."""
        today = now.date()
        design = case.request.design if case.request else Design.STANDARD
        if status is before.status:
            return before.deadline
        if status is CaseStatus.ON_HOLD:
            d = before.deadline
            return attrs.evolve(d, paused_since=today) if d else None
        if action is Action.RELEASE:
            d = before.deadline
            if d is None or d.paused_since is None:
                return d
            moved = business_days_between(d.paused_since, today)
            return Deadline(d.stage, add_business_days(d.due, moved), None)
        stage = {
            CaseStatus.IN_PLANNING: (
                Stage.MODIFICATION if action is Action.REQUEST_MODIFICATION else Stage.PLANNING
            ),
            CaseStatus.IN_PRODUCTION: Stage.PRODUCTION,
            CaseStatus.LAB_REVIEW: Stage.REVIEW,
        }.get(status)
        if stage is None:
            return None
        days = turnaround(stage, design, self._turnaround)
        return Deadline(stage.value, add_business_days(today, days))

    # ------------------------------------------------------------------ networks and accounts
    def create_network(
        self, name: str, reference_code: str, admin: Registration
    ) -> tuple[Network, Account]:
        """Set up a lab's network with its first admin (active from the start)."""
        now = self.clock.now()
        network = Network(self.ids.new_id(), name, reference_code)
        account = self._account_from(
            admin, network.network_id, Role.ADMIN, now, AccountStatus.ACTIVE
        )
        with self._uow() as uow:
            uow.accounts.add_network(network)
            uow.accounts.add(account)
            uow.commit()
        return network, account

    def _account_from(
        self, reg: Registration, network_id: UUID, role: Role, now: datetime, status: AccountStatus
    ) -> Account:
        return Account(
            account_id=self.ids.new_id(),
            network_id=network_id,
            role=role,
            username=reg.username,
            email=reg.email,
            first_name=reg.first_name,
            last_name=reg.last_name,
            clinic_name=reg.clinic_name,
            shipping_address=reg.shipping_address,
            created_at=now,
            status=status,
            telephone=reg.telephone,
            language=reg.language,
        )

    def register(self, registration: Registration, role: Role = Role.DOCTOR) -> Account:
        """A new account, blocked until a network admin activates it.

        The reference code names the network to join; without one the account
        joins the default network given to ``connect`` (or is refused).
        """
        code = registration.reference_code or self.default_reference_code
        if not code:
            raise ValidationError.single(
                "a reference code is needed to join a network", "$.reference_code"
            )
        if role is Role.ADMIN:
            raise ValidationError.single("admins are appointed, not registered", "$.role")
        with self._uow() as uow:
            try:
                network = uow.accounts.network_by_code(code)
            except NotFoundError:
                raise ValidationError.single("unknown reference code", "$.reference_code") from None
            account = self._account_from(
                registration, network.network_id, role, self.clock.now(), AccountStatus.BLOCKED
            )
            uow.accounts.add(account)
            uow.commit()
        return account

    def _manage(
        self,
        admin_id: UUID,
        account_id: UUID,
        action: str,
        change: Callable[[Account], Account],
        event: EventType | None,
    ) -> Account:
        with self._uow() as uow:
            actor = self._actor(uow, admin_id, action)
            if actor.account_id == account_id and action != "update profile":
                permissions.require_admin_of(actor, actor.network_id, action)
            target = self._account_for(uow, actor, account_id, action)
            updated = attrs.evolve(change(target), version=target.version + 1)
            uow.accounts.update(updated)
            if event is not None:
                self._queue(
                    uow,
                    self._event(event, actor, network_id=target.network_id, account_id=account_id),
                    None,
                )
            uow.commit()
        return updated

    def activate(self, admin_id: UUID, account_id: UUID) -> Account:
        return self._manage(
            admin_id,
            account_id,
            "activate",
            lambda a: attrs.evolve(a, status=AccountStatus.ACTIVE),
            EventType.ACCOUNT_ACTIVATED,
        )

    def block(self, admin_id: UUID, account_id: UUID) -> Account:
        if admin_id == account_id:
            raise PermissionDeniedError(
                admin_id, "block", account_id, "admins cannot block themselves"
            )
        return self._manage(
            admin_id,
            account_id,
            "block",
            lambda a: attrs.evolve(a, status=AccountStatus.BLOCKED),
            EventType.ACCOUNT_BLOCKED,
        )

    def update_profile(self, actor_id: UUID, account_id: UUID, changes: ProfileChanges) -> Account:
        """The user themself or an admin of their network."""
        values = {k: v for k, v in attrs.asdict(changes, recurse=False).items() if v is not None}
        return self._manage(
            actor_id, account_id, "update profile", lambda a: attrs.evolve(a, **values), None
        )

    def set_muted_notifications(self, actor_id: UUID, muted: Iterable[EventType]) -> Account:
        names = tuple(sorted({EventType(m).value for m in muted}))
        return self._manage(
            actor_id,
            actor_id,
            "update profile",
            lambda a: attrs.evolve(a, muted_notifications=names),
            None,
        )

    def get_account(self, actor_id: UUID, account_id: UUID) -> Account:
        with self._uow() as uow:
            actor = self._actor(uow, actor_id, "view account")
            return self._account_for(uow, actor, account_id, "view account")

    def list_accounts(self, admin_id: UUID) -> list[Account]:
        with self._uow() as uow:
            actor = self._actor(uow, admin_id)
            permissions.require_admin_of(actor, actor.network_id, "list accounts")
            return list(uow.accounts.in_network(actor.network_id))

    # ------------------------------------------------------------------ drafts
    def create_case(
        self,
        doctor_id: UUID,
        kind: CaseKind,
        patient: PatientDetails,
        *,
        request: TreatmentRequest | None = None,
        order: OrderDetails | None = None,
        impression_type: ImpressionType | None = None,
    ) -> Case:
        """A new draft for a new patient (treatment, direct manufacturing or retainer)."""
        if kind.is_follow_up:
            raise ValidationError.single(f"a {kind.value} is ordered on an existing case", "$.kind")
        with self._uow() as uow:
            actor = self._actor(uow, doctor_id)
            if actor.role is not Role.DOCTOR:
                raise PermissionDeniedError(
                    doctor_id, "create case", None, "only doctors order cases"
                )
            now = self.clock.now()
            case = Case(
                case_id=self.ids.new_id(),
                number=uow.cases.next_number(),
                kind=kind,
                network_id=actor.network_id,
                owner_id=actor.account_id,
                patient=Patient(self.ids.new_id(), **attrs.asdict(patient, recurse=False)),
                created_at=now,
                updated_at=now,
                request=request
                if request is not None
                else (TreatmentRequest() if kind is CaseKind.TREATMENT else None),
                order=order,
                records=Records(impression_type=impression_type),
                history=(HistoryEntry(now, actor.account_id, "create", None, CaseStatus.DRAFT),),
            )
            uow.cases.add(case)
            uow.commit()
        return case

    def order_follow_up(
        self,
        doctor_id: UUID,
        parent_case_id: UUID,
        order: OrderDetails,
        *,
        request: TreatmentRequest | None = None,
    ) -> Case:
        """A refinement, retainer, remake/replacement or revision draft on an existing case."""
        kind = _FOLLOW_UP_KIND[type(order)]
        with self._uow() as uow:
            actor = self._actor(uow, doctor_id)
            parent = self._case_for(uow, actor, parent_case_id)
            permissions.ensure(actor, Action.ORDER_FOLLOW_UP, parent)
            lifecycle.fire(lifecycle.Attempt(parent, Action.ORDER_FOLLOW_UP, {"kind": kind}))
            now = self.clock.now()
            case = Case(
                case_id=self.ids.new_id(),
                number=uow.cases.next_number(),
                kind=kind,
                network_id=parent.network_id,
                owner_id=parent.owner_id,
                patient=parent.patient,
                created_at=now,
                updated_at=now,
                request=request if request is not None else parent.request,
                chart=parent.chart,
                order=order,
                parent_id=parent.case_id,
                history=(
                    HistoryEntry(
                        now,
                        actor.account_id,
                        "create",
                        None,
                        CaseStatus.DRAFT,
                        {"parent": parent.number},
                    ),
                ),
            )
            uow.cases.add(case)
            parent_after = attrs.evolve(
                parent,
                updated_at=now,
                version=parent.version + 1,
                history=(
                    *parent.history,
                    HistoryEntry(
                        now,
                        actor.account_id,
                        Action.ORDER_FOLLOW_UP.value,
                        parent.status,
                        parent.status,
                        {"kind": kind.value, "case": case.number},
                    ),
                ),
            )
            uow.cases.update(parent_after)
            uow.commit()
        return case

    def update_draft(
        self,
        doctor_id: UUID,
        case_id: UUID,
        *,
        patient: PatientDetails | None = None,
        request: TreatmentRequest | None = None,
        order: OrderDetails | None = None,
        impression_type: ImpressionType | None = None,
    ) -> Case:
        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            updated = case
            fields: list[str] = []
            if patient is not None:
                updated = attrs.evolve(
                    updated,
                    patient=Patient(
                        case.patient.patient_id, **attrs.asdict(patient, recurse=False)
                    ),
                )
                fields.append("patient")
            if request is not None:
                updated = attrs.evolve(updated, request=request)
                fields.append("request")
            if order is not None:
                updated = attrs.evolve(updated, order=order)
                fields.append("order")
            if impression_type is not None:
                updated = attrs.evolve(
                    updated, records=attrs.evolve(updated.records, impression_type=impression_type)
                )
                fields.append("impression_type")
            return _Change(updated, None, {"fields": ",".join(fields)})

        return self._act(doctor_id, case_id, Action.EDIT, change)

    def set_tooth_states(
        self,
        doctor_id: UUID,
        case_id: UUID,
        states: Mapping[Tooth | int, ToothState | str] | ToothChart,
    ) -> Case:
        """Replace the draft's tooth chart (one state per tooth)."""
        chart = states if isinstance(states, ToothChart) else ToothChart.from_mapping(states)

        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            return _Change(attrs.evolve(case, chart=chart), None, {"teeth": len(chart)})

        return self._act(doctor_id, case_id, Action.SET_TEETH, change)

    def confirm(self, doctor_id: UUID, case_id: UUID, *, complete: bool, privacy: bool) -> Case:
        """The two confirmations: filled in completely and truthfully; privacy policy accepted."""

        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            records = attrs.evolve(
                case.records, confirmed_complete=complete, privacy_accepted=privacy
            )
            return _Change(
                attrs.evolve(case, records=records),
                None,
                {"complete": complete, "privacy": privacy},
            )

        return self._act(doctor_id, case_id, Action.CONFIRM, change)

    def delete_draft(self, doctor_id: UUID, case_id: UUID) -> None:
        self._act(doctor_id, case_id, Action.DELETE, event=EventType.CASE_DELETED)

    def submit(self, doctor_id: UUID, case_id: UUID) -> Case:
        return self._act(doctor_id, case_id, Action.SUBMIT, event=EventType.CASE_SUBMITTED)

    # ------------------------------------------------------------------ files
    def attach_file(
        self,
        actor_id: UUID,
        case_id: UUID,
        kind: FileKind,
        source: IO[bytes] | Iterable[bytes] | bytes,
        name: str,
    ) -> Case:
        """Stream, check and store a file, then attach it: to a draft, or as a later document.

        A refused file raises ``RejectedFileError`` with every reason; the case is unchanged.
        """
        action = self._attach_action(actor_id, case_id)
        data = (source,) if isinstance(source, bytes) else source
        with self._spool(data, self.max_upload_bytes) as spooled:
            report = self.scanner.scan(spooled.path, name=name, kind=kind)
            with open(spooled.path, "rb") as stream:
                self.blobs.put(stream, report.sha256)
        clean = sanitize_filename(name)

        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            ref = FileRef(self.ids.new_id(), kind, clean, report, now, actor.account_id)
            return _Change(
                attrs.evolve(case, records=case.records.with_file(ref)),
                EventType.DOCUMENT_ADDED if action is Action.ADD_DOCUMENT else None,
                {"file": clean, "kind": kind.value, "sha256": report.sha256},
            )

        return self._act(actor_id, case_id, action, change)

    def _attach_action(self, actor_id: UUID, case_id: UUID) -> Action:
        with self._uow() as uow:
            actor = self._actor(uow, actor_id)
            case = self._case_for(uow, actor, case_id)
            action = Action.ATTACH if case.status is CaseStatus.DRAFT else Action.ADD_DOCUMENT
            permissions.ensure(actor, action, case)
            lifecycle.fire(lifecycle.Attempt(case, action))
            return action

    def open_file(self, actor_id: UUID, case_id: UUID, file_id: UUID) -> IO[bytes]:
        with self._uow() as uow:
            actor = self._actor(uow, actor_id)
            case = self._case_for(uow, actor, case_id)
            for ref in case.records.files:
                if ref.file_id == file_id:
                    return self.blobs.open(ref.sha256)
        raise NotFoundError("file", file_id)

    # ------------------------------------------------------------------ lab review, plans
    def accept_order(self, staff_id: UUID, case_id: UUID) -> Case:
        return self._act(staff_id, case_id, Action.ACCEPT_ORDER, event=EventType.ORDER_ACCEPTED)

    def refuse_order(self, staff_id: UUID, case_id: UUID, reason: str) -> Case:
        return self._act(
            staff_id,
            case_id,
            Action.REFUSE_ORDER,
            args={"reason": reason},
            event=EventType.ORDER_REFUSED,
            details={"reason": reason},
        )

    def upload_plan(
        self,
        planner_id: UUID,
        case_id: UUID,
        summary: PlanSummary,
        *,
        steps: Iterable[PlanStep] = (),
        simulation_url: str | None = None,
        notes: str = "",
    ) -> Case:
        """Plan version N+1; the earlier versions are superseded."""
        step_list = tuple(steps)

        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            plan = PlanVersion(
                number=len(case.plans) + 1,
                uploaded_at=now,
                uploaded_by=actor.account_id,
                summary=summary,
                steps=step_list,
                simulation_url=simulation_url,
                notes=notes,
            )
            planner = case.assigned_planner_id
            if planner is None and actor.role is Role.PLANNER:
                planner = actor.account_id
            return _Change(
                attrs.evolve(case, plans=(*case.plans, plan), assigned_planner_id=planner),
                EventType.PLAN_UPLOADED,
                {"plan_version": plan.number},
            )

        return self._act(planner_id, case_id, Action.UPLOAD_PLAN, change, args={"plan": summary})

    def accept_plan(self, doctor_id: UUID, case_id: UUID, plan_version: int) -> Case:
        """Approve one named version; a superseded version cannot be approved."""
        return self._act(
            doctor_id,
            case_id,
            Action.ACCEPT_PLAN,
            args={"plan_version": plan_version},
            event=EventType.PLAN_ACCEPTED,
            details={"plan_version": plan_version},
        )

    def reject_plan(self, doctor_id: UUID, case_id: UUID, reason: str) -> Case:
        return self._act(
            doctor_id,
            case_id,
            Action.REJECT_PLAN,
            args={"reason": reason},
            event=EventType.PLAN_REJECTED,
            details={"reason": reason},
        )

    def request_modification(self, actor_id: UUID, case_id: UUID, reason: str) -> Case:
        """Back to planning with the reason and a new turnaround deadline."""
        return self._act(
            actor_id,
            case_id,
            Action.REQUEST_MODIFICATION,
            args={"reason": reason},
            event=EventType.MODIFICATION_REQUESTED,
            details={"reason": reason},
        )

    # ------------------------------------------------------------------ sharing
    def share_plan(
        self,
        doctor_id: UUID,
        case_id: UUID,
        plan_version: int,
        *,
        ttl: timedelta = timedelta(days=14),
    ) -> str:
        """A signed, expiring, revocable token that shows one plan version without a login."""
        if ttl <= timedelta(0) or ttl > timedelta(days=365):
            raise ValidationError.single("a link lives between 1 second and 365 days", "$.ttl")
        share_id = self.ids.new_id()

        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            link = ShareLink(share_id, plan_version, actor.account_id, now, now + ttl)
            return _Change(
                attrs.evolve(case, shares=(*case.shares, link)),
                EventType.PLAN_SHARED,
                {"plan_version": plan_version, "share": share_id},
            )

        case = self._act(
            doctor_id, case_id, Action.SHARE_PLAN, change, args={"plan_version": plan_version}
        )
        return self._token(case.case_id, share_id)

    def revoke_share(self, doctor_id: UUID, case_id: UUID, share_id: UUID) -> Case:
        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            if case.share(share_id) is None:
                raise NotFoundError("share link", share_id)
            shares = tuple(
                attrs.evolve(s, revoked_at=now)
                if s.share_id == share_id and s.revoked_at is None
                else s
                for s in case.shares
            )
            return _Change(
                attrs.evolve(case, shares=shares), EventType.SHARE_REVOKED, {"share": share_id}
            )

        return self._act(doctor_id, case_id, Action.REVOKE_SHARE, change)

    def _token(self, case_id: UUID, share_id: UUID) -> str:
        body = case_id.bytes + share_id.bytes
        mac = hmac.new(self._secret, body, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(body + mac).decode().rstrip("=")

    def resolve_share(self, token: str) -> SharedPlan:
        """What a share link shows; ``NotFoundError`` for a bad, expired or revoked link."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError):
            raise NotFoundError("share link", "?") from None
        if len(raw) != 48:
            raise NotFoundError("share link", "?")
        body, mac = raw[:32], raw[32:]
        if not secrets.compare_digest(
            mac, hmac.new(self._secret, body, hashlib.sha256).digest()[:16]
        ):
            raise NotFoundError("share link", "?")
        case_id, share_id = UUID(bytes=body[:16]), UUID(bytes=body[16:])
        with self._uow() as uow:
            case = uow.cases.get(case_id)
        link = case.share(share_id)
        plan = case.plan(link.plan_version) if link else None
        if (
            link is None
            or plan is None
            or not link.is_valid(self.clock.now())
            or case.status is CaseStatus.DELETED
        ):
            raise NotFoundError("share link", share_id)
        return SharedPlan(case.number, case.kind, plan, link.expires_at)

    # ------------------------------------------------------------------ comments, collaborators
    def comment(self, actor_id: UUID, case_id: UUID, text: str) -> Case:
        """A comment either way; the other side is told."""

        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            from_lab = actor.network_id == case.network_id and actor.role is not Role.DOCTOR
            note = Comment(self.ids.new_id(), actor.account_id, now, text, from_lab)
            return _Change(
                attrs.evolve(case, comments=(*case.comments, note)),
                EventType.COMMENT_ADDED,
                {"from_lab": from_lab, "comment": note.comment_id},
            )

        return self._act(actor_id, case_id, Action.COMMENT, change)

    def invite_collaborator(
        self,
        doctor_id: UUID,
        case_id: UUID,
        collaborator_id: UUID,
        permissions_: Iterable[CollaboratorPermission],
    ) -> Case:
        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            invitee = uow.accounts.get(collaborator_id)
            if not invitee.is_active or invitee.account_id == case.owner_id:
                raise ValidationError.single(
                    "invite an active account other than the owner", "$.collaborator"
                )
            existing = case.grant_for(collaborator_id)
            if existing is not None and existing.status in (
                GrantStatus.INVITED,
                GrantStatus.ACCEPTED,
            ):
                raise ValidationError.single("already invited", "$.collaborator")
            grant = CollaboratorGrant(collaborator_id, actor.account_id, now, tuple(permissions_))
            others = tuple(g for g in case.collaborators if g.account_id != collaborator_id)
            return _Change(
                attrs.evolve(case, collaborators=(*others, grant)),
                EventType.COLLABORATOR_INVITED,
                {"permissions": ",".join(grant.permissions)},
                subject_id=collaborator_id,
            )

        return self._act(doctor_id, case_id, Action.INVITE_COLLABORATOR, change)

    def respond_to_invitation(self, actor_id: UUID, case_id: UUID, *, accept: bool) -> Case:
        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            grant = case.grant_for(actor.account_id)
            assert grant is not None  # the INVITEE relation guarantees it
            status = GrantStatus.ACCEPTED if accept else GrantStatus.DECLINED
            grants = tuple(
                attrs.evolve(g, status=status) if g.account_id == actor.account_id else g
                for g in case.collaborators
            )
            return _Change(
                attrs.evolve(case, collaborators=grants),
                EventType.COLLABORATOR_ACCEPTED if accept else EventType.COLLABORATOR_DECLINED,
                {"invited_by": grant.invited_by},
                subject_id=actor.account_id,
            )

        return self._act(actor_id, case_id, Action.RESPOND_INVITATION, change)

    def reassign(self, admin_id: UUID, case_id: UUID, new_owner_id: UUID) -> Case:
        """Give a case to another doctor of the network; both doctors are told."""

        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            doctor = uow.accounts.get(new_owner_id)
            if (
                doctor.role is not Role.DOCTOR
                or not doctor.is_active
                or doctor.network_id != case.network_id
            ):
                raise ValidationError.single(
                    "the new owner is an active doctor of the network", "$.owner"
                )
            return _Change(
                attrs.evolve(case, owner_id=new_owner_id),
                EventType.CASE_REASSIGNED,
                {"previous_owner": case.owner_id, "owner": new_owner_id},
            )

        return self._act(admin_id, case_id, Action.REASSIGN, change)

    # ------------------------------------------------------------------ hold, cancel, ship, close
    def hold(self, staff_id: UUID, case_id: UUID, reason: str) -> Case:
        return self._act(
            staff_id,
            case_id,
            Action.HOLD,
            args={"reason": reason},
            event=EventType.CASE_HELD,
            details={"reason": reason},
        )

    def release(self, staff_id: UUID, case_id: UUID) -> Case:
        return self._act(staff_id, case_id, Action.RELEASE, event=EventType.CASE_RELEASED)

    def cancel(self, actor_id: UUID, case_id: UUID, reason: str) -> Case:
        return self._act(
            actor_id,
            case_id,
            Action.CANCEL,
            args={"reason": reason},
            event=EventType.CASE_CANCELLED,
            details={"reason": reason},
        )

    def ship(
        self,
        production_id: UUID,
        case_id: UUID,
        *,
        carrier: str,
        tracking_number: str,
        final: bool = True,
    ) -> Case:
        """Ship phase N (the next one); the last phase moves the case to shipped."""

        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            parcel = Shipment(
                self.ids.new_id(), carrier, tracking_number, len(case.shipments) + 1, final, now
            )
            return _Change(
                attrs.evolve(case, shipments=(*case.shipments, parcel)),
                EventType.CASE_SHIPPED,
                {
                    "carrier": carrier,
                    "tracking_number": tracking_number,
                    "phase": parcel.phase,
                    "final": final,
                },
            )

        return self._act(
            production_id,
            case_id,
            Action.SHIP,
            change,
            args={"carrier": carrier, "tracking_number": tracking_number, "final": final},
        )

    def confirm_delivery(
        self, actor_id: UUID, case_id: UUID, shipment_id: UUID | None = None
    ) -> Case:
        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            pending = [s for s in case.shipments if s.delivered_at is None]
            target = next((s for s in pending if shipment_id in (None, s.shipment_id)), None)
            if target is None:
                raise InvalidTransitionError(
                    case.number,
                    case.status.value,
                    Action.CONFIRM_DELIVERY.value,
                    [
                        "no undelivered shipment"
                        if shipment_id is None
                        else f"shipment {shipment_id} is not awaiting delivery"
                    ],
                )
            shipments = tuple(
                attrs.evolve(s, delivered_at=now) if s.shipment_id == target.shipment_id else s
                for s in case.shipments
            )
            return _Change(
                attrs.evolve(case, shipments=shipments),
                EventType.DELIVERY_CONFIRMED,
                {"phase": target.phase},
            )

        return self._act(actor_id, case_id, Action.CONFIRM_DELIVERY, change)

    def close(self, actor_id: UUID, case_id: UUID) -> Case:
        return self._act(actor_id, case_id, Action.CLOSE, event=EventType.CASE_CLOSED)

    def reopen(self, actor_id: UUID, case_id: UUID) -> Case:
        return self._act(actor_id, case_id, Action.REOPEN, event=EventType.CASE_REOPENED)

    # ------------------------------------------------------------------ queries
    def get_case(self, actor_id: UUID, case_id: UUID) -> CaseDetail:
        """The case as the viewer may see it (plans hidden from collaborators without setup)."""
        with self._uow() as uow:
            actor = self._actor(uow, actor_id)
            case = self._case_for(uow, actor, case_id)
        return self._detail(actor, case)

    def get_case_by_number(self, actor_id: UUID, number: int) -> CaseDetail:
        with self._uow() as uow:
            actor = self._actor(uow, actor_id)
            found = uow.cases.get_by_number(number)
            case = self._case_for(uow, actor, found.case_id)
        return self._detail(actor, case)

    def _detail(self, actor: Account, case: Case) -> CaseDetail:
        rel = permissions.relations(actor, case)
        sees_plans = bool(
            rel
            & {
                permissions.Relation.OWNER,
                permissions.Relation.PLANNER,
                permissions.Relation.PRODUCTION,
                permissions.Relation.ADMIN,
                permissions.Relation.COLLABORATOR_VIEW_SETUP,
            }
        )
        shown = case if sees_plans else attrs.evolve(case, plans=(), shares=())
        return CaseDetail(shown, self._allowed(actor, case), sees_plans)

    def _allowed(self, actor: Account, case: Case) -> frozenset[Action]:
        return frozenset(
            a for a in lifecycle.possible_actions(case) if permissions.can(actor, a, case)
        )

    def allowed_actions(self, actor_id: UUID, case_id: UUID) -> frozenset[Action]:
        """The buttons to draw: actions the state and the user's permissions allow now."""
        return self.get_case(actor_id, case_id).allowed_actions

    def blockers(self, actor_id: UUID, case_id: UUID, action: Action, **args: Any) -> list[str]:
        """Why ``action`` would be refused now (empty: it would go ahead)."""
        with self._uow() as uow:
            actor = self._actor(uow, actor_id)
            case = self._case_for(uow, actor, case_id)
            reasons = (
                [] if permissions.can(actor, action, case) else ["not permitted for this user"]
            )
            parent = self._parent(uow, case) if action is Action.SUBMIT else None
        return reasons + lifecycle.blockers(lifecycle.Attempt(case, action, args, parent))

    def list_cases(self, actor_id: UUID, query: CaseFilter | None = None) -> Page[CaseSummary]:
        with self._uow() as uow:
            actor = self._actor(uow, actor_id)
            return uow.cases.list(permissions.scope_for(actor), query or CaseFilter())

    def dashboard(self, actor_id: UUID) -> Dashboard:
        with self._uow() as uow:
            actor = self._actor(uow, actor_id)
            counts = uow.cases.count_by_status(permissions.scope_for(actor))
        return Dashboard(dict(counts))
