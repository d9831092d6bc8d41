"""Plumbing shared by the service's command families (private).

Loading the actor and the case, permission, lifecycle, history, deadlines and
the outbox all happen in ``ServiceBase._act`` so every command gets them alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import IO, Any, Protocol
from uuid import UUID

import attrs

from aligner_core.domain import lifecycle, permissions
from aligner_core.domain.accounts import Account
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import Case, CaseKind, CaseStatus, Deadline, HistoryEntry, Hold
from aligner_core.domain.deadlines import (
    Stage,
    add_business_days,
    business_days_between,
    turnaround,
)
from aligner_core.domain.events import DomainEvent, EventType
from aligner_core.domain.orders import (
    RefinementOrder,
    ReplacementOrder,
    RetainerOrder,
    RevisionOrder,
)
from aligner_core.domain.prescriptions import Design
from aligner_core.errors import NotFoundError, PermissionDeniedError
from aligner_core.notifications.outbox import OutboxEntry
from aligner_core.notifications.rules import recipients
from aligner_core.ports import BlobStore, Clock, FileScanner, IdGenerator, Storage, UnitOfWork

__all__ = ["ServiceBase", "SpooledFile", "Spooler"]

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


class ServiceBase:
    """State and plumbing every command family shares: ports, units of work, history, outbox."""

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
        message_id_domain: str = "aligner-core.invalid",
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
        self.message_id_domain = message_id_domain

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
                    message_id=f"<{entry_id}@{self.message_id_domain}>",
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

    def _act_for_reason(
        self, actor_id: UUID, case_id: UUID, action: Action, event: EventType, reason: str
    ) -> Case:
        """An action whose reason is both a guard argument and a line of the history."""
        return self._act(
            actor_id,
            case_id,
            action,
            args={"reason": reason},
            event=event,
            details={"reason": reason},
        )

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
