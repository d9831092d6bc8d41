"""In-memory adapters: real adapters (a lock, the same errors, versions), for tests and demos.

Committed state is a set of dicts of immutable values guarded by one lock. A
unit of work buffers its writes and applies them at commit under the lock,
after checking every version, so a stale writer gets ``ConcurrencyConflictError``
and nothing of its unit of work is applied. Reads see committed state.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self
from uuid import UUID

import attrs

from aligner_core.domain.accounts import Account, Network
from aligner_core.domain.cases import Case, CaseStatus
from aligner_core.domain.queries import (
    CaseFilter,
    CaseSummary,
    Page,
    Scope,
    matches,
    paginate,
    summarize,
    visible,
)
from aligner_core.errors import (
    ConcurrencyConflictError,
    NotFoundError,
    StorageError,
    ValidationError,
)
from aligner_core.notifications.outbox import DeliveryState, OutboxEntry
from aligner_core.storage._pending import PendingAccounts, PendingCases

__all__ = [
    "MemoryStorage",
    "MemoryUnitOfWork",
]


@attrs.define
class _State:
    cases: dict[UUID, Case] = attrs.field(factory=dict)
    numbers: dict[int, UUID] = attrs.field(factory=dict)
    accounts: dict[UUID, Account] = attrs.field(factory=dict)
    usernames: dict[str, UUID] = attrs.field(factory=dict)
    emails: dict[str, UUID] = attrs.field(factory=dict)
    networks: dict[UUID, Network] = attrs.field(factory=dict)
    codes: dict[str, UUID] = attrs.field(factory=dict)
    outbox: dict[UUID, OutboxEntry] = attrs.field(factory=dict)
    next_number: int = 100


class MemoryStorage:
    """Storage in a dict; safe for many threads of one process."""

    def __init__(self, *, first_case_number: int = 100) -> None:
        self._lock = threading.RLock()
        self._state = _State(next_number=first_case_number)
        self._secret = os.urandom(32)
        self._closed = False

    def unit_of_work(self) -> MemoryUnitOfWork:
        if self._closed:
            raise StorageError("storage is closed")
        return MemoryUnitOfWork(self)

    def link_secret(self) -> bytes:
        return self._secret

    def close(self) -> None:
        self._closed = True


class _Cases:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self.pending = PendingCases()
        self.added, self.updated = self.pending.added, self.pending.updated

    def _committed(self) -> _State:
        return self._uow.storage._state

    def add(self, case: Case) -> None:
        self.pending.add(case)

    def get(self, case_id: UUID) -> Case:
        if (pending := self.pending.find(case_id)) is not None:
            return pending
        with self._uow.storage._lock:
            found = self._committed().cases.get(case_id)
        if found is None:
            raise NotFoundError("case", case_id)
        return found

    def get_by_number(self, number: int) -> Case:
        if (pending := self.pending.find_number(number)) is not None:
            return pending
        with self._uow.storage._lock:
            case_id = self._committed().numbers.get(number)
            found = self._committed().cases.get(case_id) if case_id else None
        if found is None or found.status is CaseStatus.DELETED:
            raise NotFoundError("case number", number)
        return found

    def update(self, case: Case) -> None:
        """Queue a change; its version must be one more than the stored one (checked at commit)."""
        self.pending.update(case)

    def next_number(self) -> int:
        with self._uow.storage._lock:
            state = self._committed()
            number = state.next_number
            state.next_number += 1
            return number

    def _snapshot(self) -> list[Case]:
        with self._uow.storage._lock:
            return list(self._committed().cases.values())

    def list(self, scope: Scope, query: CaseFilter) -> Page[CaseSummary]:
        rows = [summarize(c) for c in self._snapshot() if visible(c, scope) and matches(c, query)]
        return paginate(rows, query)

    def count_by_status(self, scope: Scope) -> Mapping[CaseStatus, int]:
        counts: dict[CaseStatus, int] = {}
        for case in self._snapshot():
            if visible(case, scope):
                counts[case.status] = counts.get(case.status, 0) + 1
        return counts


class _Accounts:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self.networks: dict[UUID, Network] = {}
        self.pending = PendingAccounts()
        self.added, self.updated = self.pending.added, self.pending.updated

    def _state(self) -> _State:
        return self._uow.storage._state

    def add_network(self, network: Network) -> None:
        self.networks[network.network_id] = network

    def get_network(self, network_id: UUID) -> Network:
        if network_id in self.networks:
            return self.networks[network_id]
        with self._uow.storage._lock:
            found = self._state().networks.get(network_id)
        if found is None:
            raise NotFoundError("network", network_id)
        return found

    def network_by_code(self, reference_code: str) -> Network:
        key = reference_code.casefold()
        for network in self.networks.values():
            if network.reference_code.casefold() == key:
                return network
        with self._uow.storage._lock:
            network_id = self._state().codes.get(key)
            found = self._state().networks.get(network_id) if network_id else None
        if found is None:
            raise NotFoundError("network with reference code", reference_code)
        return found

    def add(self, account: Account) -> None:
        self.pending.add(account)

    def get(self, account_id: UUID) -> Account:
        if (pending := self.pending.find(account_id)) is not None:
            return pending
        with self._uow.storage._lock:
            found = self._state().accounts.get(account_id)
        if found is None:
            raise NotFoundError("account", account_id)
        return found

    def by_username(self, username: str) -> Account:
        key = username.casefold()
        if (pending := self.pending.find_username(username)) is not None:
            return pending
        with self._uow.storage._lock:
            account_id = self._state().usernames.get(key)
        if account_id is None:
            raise NotFoundError("account", username)
        return self.get(account_id)

    def update(self, account: Account) -> None:
        self.pending.update(account)

    def in_network(self, network_id: UUID) -> Sequence[Account]:
        with self._uow.storage._lock:
            found = {
                a.account_id: a
                for a in self._state().accounts.values()
                if a.network_id == network_id
            }
        for pending in (self.added, self.updated):
            found.update({k: a for k, a in pending.items() if a.network_id == network_id})
        return sorted(found.values(), key=lambda a: a.username.casefold())


class _Outbox:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self.added: list[OutboxEntry] = []
        self.marks: list[tuple[UUID, dict[str, Any]]] = []

    def _entries(self) -> dict[UUID, OutboxEntry]:
        return self._uow.storage._state.outbox

    def add(self, entry: OutboxEntry) -> None:
        self.added.append(entry)

    def claim(self, now: datetime, lease_until: datetime, limit: int) -> Sequence[OutboxEntry]:
        """Leases are taken at once (not at commit) so that concurrent claims never overlap."""
        with self._uow.storage._lock:
            due = sorted(
                (
                    e
                    for e in self._entries().values()
                    if e.state is DeliveryState.PENDING
                    and e.next_attempt_at <= now
                    and (e.lease_until is None or e.lease_until <= now)
                ),
                key=lambda e: (e.next_attempt_at, e.created_at, str(e.entry_id)),
            )[:limit]
            claimed = [attrs.evolve(e, lease_until=lease_until) for e in due]
            for entry in claimed:
                self._entries()[entry.entry_id] = entry
            return claimed

    def mark_sent(self, entry_id: UUID, at: datetime) -> None:
        self.marks.append(
            (
                entry_id,
                {
                    "state": DeliveryState.SENT,
                    "sent_at": at,
                    "lease_until": None,
                    "last_error": None,
                },
            )
        )

    def reschedule(self, entry_id: UUID, attempts: int, next_at: datetime, error: str) -> None:
        self.marks.append(
            (
                entry_id,
                {
                    "attempts": attempts,
                    "next_attempt_at": next_at,
                    "last_error": error,
                    "lease_until": None,
                },
            )
        )

    def mark_dead(self, entry_id: UUID, attempts: int, reason: str) -> None:
        self.marks.append(
            (
                entry_id,
                {
                    "state": DeliveryState.DEAD,
                    "attempts": attempts,
                    "last_error": reason,
                    "lease_until": None,
                },
            )
        )

    def _in_state(self, state: DeliveryState) -> Sequence[OutboxEntry]:
        with self._uow.storage._lock:
            found = [e for e in self._entries().values() if e.state is state]
        return sorted(found, key=lambda e: (e.created_at, str(e.entry_id)))

    def dead(self) -> Sequence[OutboxEntry]:
        return self._in_state(DeliveryState.DEAD)

    def pending(self) -> Sequence[OutboxEntry]:
        return self._in_state(DeliveryState.PENDING)

    def sent(self) -> Sequence[OutboxEntry]:
        return self._in_state(DeliveryState.SENT)


class MemoryUnitOfWork:
    """Buffers writes; ``commit`` checks versions and uniqueness, then applies all at once."""

    def __init__(self, storage: MemoryStorage) -> None:
        self.storage = storage
        self.cases = _Cases(self)
        self.accounts = _Accounts(self)
        self.outbox = _Outbox(self)
        self._done = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._done:
            self.rollback()

    def rollback(self) -> None:
        self.cases = _Cases(self)
        self.accounts = _Accounts(self)
        self.outbox = _Outbox(self)
        self._done = True

    def commit(self) -> None:
        if self._done:
            raise StorageError("this unit of work has already ended")
        with self.storage._lock:
            state = self.storage._state
            self._check(state)
            self._apply(state)
        self._done = True

    def _check(self, state: _State) -> None:
        for case_id, case in self.cases.updated.items():
            current = state.cases.get(case_id)
            if current is None:
                raise NotFoundError("case", case_id)
            if current.version != case.version - 1:
                raise ConcurrencyConflictError("case", case_id, case.version - 1, current.version)
        for case in self.cases.added.values():
            if case.case_id in state.cases or case.number in state.numbers:
                raise ValidationError.single(f"case {case.number} already exists", "$.number")
        for account_id, account in self.accounts.updated.items():
            current_account = state.accounts.get(account_id) or self.accounts.added.get(account_id)
            if current_account is None:
                raise NotFoundError("account", account_id)
            if account_id in state.accounts and current_account.version != account.version - 1:
                raise ConcurrencyConflictError(
                    "account", account_id, account.version - 1, current_account.version
                )
        seen_users: set[str] = set()
        seen_mails: set[str] = set()
        for account in self.accounts.added.values():
            user, mail = account.username.casefold(), account.email.casefold()
            if user in state.usernames or user in seen_users:
                raise ValidationError.single("username is taken", "$.username")
            if mail in state.emails or mail in seen_mails:
                raise ValidationError.single("e-mail address is taken", "$.email")
            seen_users.add(user)
            seen_mails.add(mail)
        for account_id, account in self.accounts.updated.items():
            owner = state.emails.get(account.email.casefold())
            if owner is not None and owner != account_id:
                raise ValidationError.single("e-mail address is taken", "$.email")
        added = {e.entry_id for e in self.outbox.added}
        for entry_id, _ in self.outbox.marks:
            if entry_id not in state.outbox and entry_id not in added:
                raise NotFoundError("outbox entry", entry_id)
        for network in self.accounts.networks.values():
            if network.reference_code.casefold() in state.codes:
                raise ValidationError.single("reference code is taken", "$.reference_code")

    def _apply(self, state: _State) -> None:
        for network in self.accounts.networks.values():
            state.networks[network.network_id] = network
            state.codes[network.reference_code.casefold()] = network.network_id
        # an account added and changed in one unit of work is stored once, as version 1
        pending = self.accounts.pending
        for account in (*pending.final_added().values(), *pending.final_updated().values()):
            previous = state.accounts.get(account.account_id)
            if previous is not None:
                state.emails.pop(previous.email.casefold(), None)
            state.accounts[account.account_id] = account
            state.usernames[account.username.casefold()] = account.account_id
            state.emails[account.email.casefold()] = account.account_id
        for case in (*self.cases.added.values(), *self.cases.updated.values()):
            state.cases[case.case_id] = case
            state.numbers[case.number] = case.case_id
        for entry in self.outbox.added:
            state.outbox[entry.entry_id] = entry
        for entry_id, changes in self.outbox.marks:
            state.outbox[entry_id] = attrs.evolve(state.outbox[entry_id], **changes)
