"""In-memory adapters: real adapters (a lock, the same errors, versions), for tests and demos.

Committed state is a set of dicts of immutable values guarded by one lock. A
unit of work buffers its writes and applies them at commit under the lock,
after checking every version, so a stale writer gets ``ConcurrencyConflictError``
and nothing of its unit of work is applied. Reads see committed state.
"""

from __future__ import annotations

import threading
import typing
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from enum import Enum
from types import UnionType
from typing import Any
from uuid import UUID, uuid4

import attrs

from aligner_core.domain.accounts import Account, Network
from aligner_core.domain.audit import AuditEntry, AuditFilter, audit_matches, audit_page
from aligner_core.domain.cases import Case, CaseStatus
from aligner_core.domain.invoices import InvoiceNumber
from aligner_core.domain.ledger import IssuedInvoice
from aligner_core.domain.metrics import CaseMoments, moments_of
from aligner_core.domain.queries import (
    CaseFilter,
    CaseSummary,
    Page,
    Scope,
    matches,
    paginate,
    storable_text,
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
from aligner_core.storage._bases import (
    CLAIMABLE,
    DELIVERY_FIELDS,
    OutboxReads,
    UnitOfWorkBase,
    check_claimable,
    check_delivery,
)
from aligner_core.storage._counts import CountKey, count_changes, count_key, tally
from aligner_core.storage._invoices import CounterKey, InvoiceNumbers, number_order, selected
from aligner_core.storage._pending import PendingAccounts, PendingCases, check_count, check_text

__all__ = [
    "MemoryStorage",
    "MemoryUnitOfWork",
]


@attrs.define
class _State:
    cases: dict[UUID, Case] = attrs.field(factory=dict)
    numbers: dict[int, UUID] = attrs.field(factory=dict)
    accounts: dict[UUID, Account] = attrs.field(factory=dict)
    #: each network's accounts (ids in the order they joined)
    members: dict[UUID, dict[UUID, None]] = attrs.field(factory=dict)
    usernames: dict[str, UUID] = attrs.field(factory=dict)
    emails: dict[str, UUID] = attrs.field(factory=dict)
    networks: dict[UUID, Network] = attrs.field(factory=dict)
    codes: dict[str, UUID] = attrs.field(factory=dict)
    outbox: dict[UUID, OutboxEntry] = attrs.field(factory=dict)
    #: the dashboard counts, kept with every case write
    counts: dict[CountKey, int] = attrs.field(factory=dict)
    #: accepted collaborators -> the cases they were granted (owners are found by counts)
    shared: dict[UUID, set[UUID]] = attrs.field(factory=dict)
    audit: list[AuditEntry] = attrs.field(factory=list)
    invoices: dict[UUID, IssuedInvoice] = attrs.field(factory=dict)
    invoice_counters: dict[CounterKey, int] = attrs.field(factory=dict)
    next_number: int = 100

    def store_case(self, case: Case) -> None:
        before = self.cases.get(case.case_id)
        if (
            before is None
            or before.status is not case.status
            or before.owner_id != case.owner_id
            or before.network_id != case.network_id
        ):
            change = (count_key(before) if before else None, count_key(case))
            for key, n in count_changes([change]).items():
                self.counts[key] = self.counts.get(key, 0) + n
        if (
            before is None
            or before.collaborators is not case.collaborators
            or before.owner_id != case.owner_id
        ):
            old = before.member_ids - {before.owner_id} if before else frozenset()
            for member in old - (case.member_ids - {case.owner_id}):
                self.shared[member].discard(case.case_id)
            for member in case.member_ids - {case.owner_id}:
                self.shared.setdefault(member, set()).add(case.case_id)
        self.cases[case.case_id] = case
        self.numbers[case.number] = case.case_id


#: Values every store holds as they are (their text is the library's own).
_PLAIN = frozenset({type(None), bool, int, float, UUID, datetime, date, timedelta})


def _unstorable(value: Any, before: Any) -> list[str] | None:
    """The path (innermost part first) of the first text no store can hold.

    Parts shared with ``before`` (the stored version) are skipped: identical
    fields, and the stored prefix of a sequence that grew (comments, history).
    """
    kind = type(value)
    if value is before or kind in _PLAIN:
        return None
    if kind is str:
        return None if storable_text(value) else []
    names = _FIELDS.get(kind, _UNSEEN)
    if names is _UNSEEN:
        names = _FIELDS[kind] = _text_fields(kind) if attrs.has(kind) else None
    if names is not None:
        same = type(before) is kind
        for name in names:
            item = getattr(value, name)
            old_item = getattr(before, name) if same else None
            if item is not old_item and (found := _unstorable(item, old_item)) is not None:
                return [*found, f".{name}"]
        return None
    if isinstance(value, Enum):
        return None
    if isinstance(value, str):
        return None if storable_text(value) else []
    if isinstance(value, tuple | list):
        old = before if isinstance(before, tuple | list) else ()
        # the stored prefix compares equal at C speed (identical items)
        start = len(old) if old and value[: len(old)] == old else 0
        for i in range(start, len(value)):
            found = _unstorable(value[i], old[i] if i < len(old) else None)
            if found is not None:
                return [*found, f"[{i}]"]
        return None
    if isinstance(value, frozenset | set):
        for item in value:
            if (found := _unstorable(item, None)) is not None:
                return found
        return None
    if kind is dict or isinstance(value, Mapping):
        for key, item in value.items():
            if _unstorable(key, None) is not None:
                return []
            if (found := _unstorable(item, None)) is not None:
                return [*found, f".{key}"]
    return None


#: The text-holding fields of each attrs class met so far (None: not an attrs class).
_FIELDS: dict[type, tuple[str, ...] | None] = {}
_UNSEEN: Any = object()


def _text_fields(cls: type) -> tuple[str, ...]:
    """The fields of an attrs class that may hold text (not ids, times, numbers, enums)."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an unresolvable annotation: walk every field
        hints = {}

    def plain(hint: Any) -> bool:
        arms = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, UnionType) else ()
        if arms:
            return all(map(plain, arms))
        return hint in _PLAIN or (isinstance(hint, type) and issubclass(hint, Enum))

    return tuple(
        a.name for a in attrs.fields(cls) if a.name not in hints or not plain(hints[a.name])
    )


def _check_storable(value: Any, before: Any = None) -> None:
    found = _unstorable(value, before)
    if found is not None:
        raise ValidationError.of("not_storable", "$" + "".join(reversed(found)))


class MemoryStorage:
    """Storage in a dict; safe for many threads of one process."""

    def __init__(self, *, first_case_number: int = 100) -> None:
        self._lock = threading.RLock()
        self._state = _State(next_number=first_case_number)
        self._closed = False

    def unit_of_work(self) -> MemoryUnitOfWork:
        """A unit of work over the committed dicts (``StorageError`` once closed)."""
        if not self._closed:
            return MemoryUnitOfWork(self)
        raise StorageError("storage is closed")

    def scrub(self) -> None:
        """Nothing to do: what is replaced in a dict is gone."""

    def close(self) -> None:
        self._closed = True

    def import_cases(self, cases: Iterable[Case], *, batch: int = 10_000) -> int:
        """Store many new cases at once (all or nothing); returns how many."""
        if batch < 1:
            raise ValidationError.of("batch_size", "$.batch")
        pending = PendingCases()
        for case in cases:
            if case.case_id in pending.added:
                raise ValidationError.of("imported_twice", "$.number", number=case.number)
            pending.add(case)
            _check_storable(case)
        with self._lock:
            state = self._state
            numbers = {c.number for c in pending.added.values()}
            if len(numbers) < len(pending.added) or any(
                c.case_id in state.cases or c.number in state.numbers
                for c in pending.added.values()
            ):
                raise ValidationError.of("already_exists", "$.number")
            for case in pending.added.values():
                state.store_case(case)
            state.next_number = max(state.next_number, max(numbers, default=0) + 1)
        return len(pending.added)


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

    def list(self, scope: Scope, query: CaseFilter) -> Page[CaseSummary]:
        with self._uow.storage._lock:
            cases = list(self._committed().cases.values())
        rows = [summarize(c) for c in cases if visible(c, scope) and matches(c, query)]
        return paginate(rows, query)

    def count_by_status(
        self, scope: Scope, query: CaseFilter | None = None
    ) -> Mapping[CaseStatus, int]:
        """From the kept counts, plus the cases shared with a member outside the scope's
        network; a ``query`` filtering by more than statuses counts the matching cases."""
        if query is not None:
            with self._uow.storage._lock:
                cases = list(self._committed().cases.values())
            return tally(
                (c.status.value, 1) for c in cases if visible(c, scope) and matches(c, query)
            )
        network = str(scope.network_id) if scope.network_id else None
        member = str(scope.member_id) if scope.member_id else None
        with self._uow.storage._lock:
            state = self._committed()
            rows: list[tuple[str, object]] = [
                (status, n)
                for (net, owner, status), n in state.counts.items()
                if scope.everything or net == network or owner == member
            ]
            if not scope.everything and scope.member_id is not None:
                for case_id in state.shared.get(scope.member_id, ()):
                    shared = state.cases[case_id]
                    if shared.network_id != scope.network_id:
                        rows.append((shared.status.value, 1))
        return tally(rows)

    def of_patient(self, patient_id: UUID) -> Sequence[Case]:
        with self._uow.storage._lock:
            found = {
                c.case_id: c
                for c in self._committed().cases.values()
                if c.patient.patient_id == patient_id
            }
        for case in (*self.added.values(), *self.updated.values()):
            if case.patient.patient_id == patient_id:
                found[case.case_id] = case
        return sorted(found.values(), key=lambda c: c.number)

    def file_digests(self) -> set[str]:
        with self._uow.storage._lock:
            cases = list(self._committed().cases.values())
        return {f.sha256 for c in cases for f in c.records.files}

    def moments(
        self, network_id: UUID, since: datetime, *, owner_id: UUID | None = None
    ) -> Sequence[CaseMoments]:
        if since.utcoffset() is None:
            raise ValidationError.of("naive_datetime", "$.since")
        with self._uow.storage._lock:
            cases = list(self._committed().cases.values())
        found = [
            c
            for c in cases
            if c.network_id == network_id
            and (owner_id is None or c.owner_id == owner_id)
            and c.status is not CaseStatus.DELETED
            and c.updated_at >= since
        ]
        return [moments_of(c) for c in sorted(found, key=lambda c: c.number)]


class _Audit:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self.added: list[AuditEntry] = []

    def add(self, entry: AuditEntry) -> None:
        self.added.append(entry)

    def list(self, network_id: UUID, query: AuditFilter) -> Page[AuditEntry]:
        with self._uow.storage._lock:
            entries = [
                e for e in self._uow.storage._state.audit if audit_matches(e, network_id, query)
            ]
        return audit_page(entries, query)


class _Invoices:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self.pending = InvoiceNumbers()

    def _counter(self, key: CounterKey) -> int:
        with self._uow.storage._lock:
            return self._uow.storage._state.invoice_counters.get(key, 0)

    def next_number(self, network_id: UUID, year: int) -> InvoiceNumber:
        return self.pending.allocate((network_id, year), self._counter)

    def add(self, invoice: IssuedInvoice) -> None:
        self.pending.add(invoice)

    def get(self, invoice_id: UUID) -> IssuedInvoice:
        with self._uow.storage._lock:
            found = self.pending.added.get(invoice_id) or self._uow.storage._state.invoices.get(
                invoice_id
            )
        if found is None:
            raise NotFoundError("invoice", invoice_id)
        return found

    def list(
        self,
        network_id: UUID,
        *,
        doctor_id: UUID | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Sequence[IssuedInvoice]:
        with self._uow.storage._lock:
            every = {**self._uow.storage._state.invoices, **self.pending.added}
        chosen = (e for e in every.values() if selected(e, network_id, doctor_id, since, until))
        return sorted(chosen, key=number_order)


class _Accounts:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self.pending = PendingAccounts()
        self.networks = self.pending.networks
        self.added, self.updated = self.pending.added, self.pending.updated

    def _state(self) -> _State:
        return self._uow.storage._state

    def add_network(self, network: Network) -> None:
        self.pending.add_network(network)

    def update_network(self, network: Network) -> None:
        self.pending.update_network(network)

    def get_network(self, network_id: UUID) -> Network:
        if (pending := self.pending.find_network(network_id)) is not None:
            return pending
        with self._uow.storage._lock:
            found = self._state().networks.get(network_id)
        if found is None:
            raise NotFoundError("network", network_id)
        return found

    def network_by_code(self, reference_code: str) -> Network:
        if (pending := self.pending.find_code(reference_code)) is not None:
            return pending
        with self._uow.storage._lock:
            network_id = self._state().codes.get(reference_code.casefold())
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

    def _by(self, index: dict[str, UUID], text: str, pending: Account | None) -> Account:
        if pending is not None:
            return pending
        with self._uow.storage._lock:
            account_id = index.get(text.casefold())
        if account_id is None:
            raise NotFoundError("account", text)
        return self.get(account_id)

    def by_username(self, username: str) -> Account:
        return self._by(self._state().usernames, username, self.pending.find_username(username))

    def by_email(self, email: str) -> Account:
        return self._by(self._state().emails, email, self.pending.find_email(email))

    def update(self, account: Account) -> None:
        self.pending.update(account)

    def in_network(self, network_id: UUID) -> Sequence[Account]:
        with self._uow.storage._lock:
            state = self._state()
            stored = [state.accounts[a] for a in state.members.get(network_id, ())]
        return self.pending.in_network(stored, network_id)


class _Outbox(OutboxReads):
    """Claims, renewals, retries and requeues act at once under the lock; marks at commit."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self.added: list[OutboxEntry] = []
        #: (entry id, the lease token the mark is fenced by, the changes)
        self.marks: list[tuple[UUID, UUID | None, dict[str, Any]]] = []

    def _entries(self) -> dict[UUID, OutboxEntry]:
        return self._uow.storage._state.outbox

    def add(self, entry: OutboxEntry) -> None:
        self.added.append(entry)

    def get(self, entry_id: UUID) -> OutboxEntry:
        with self._uow.storage._lock:
            found = self._entries().get(entry_id)
        if found is None:
            raise NotFoundError("outbox entry", entry_id)
        return found

    def claim(
        self,
        now: datetime,
        lease_until: datetime,
        limit: int,
        *,
        state: DeliveryState = DeliveryState.PENDING,
    ) -> Sequence[OutboxEntry]:
        """Leases are taken at once (not at commit) so that concurrent claims never overlap."""
        wanted = check_claimable(state)
        token = uuid4()
        with self._uow.storage._lock:
            due = sorted(
                (
                    e
                    for e in self._entries().values()
                    if e.state is wanted
                    and e.next_attempt_at <= now
                    and (e.lease_until is None or e.lease_until <= now)
                ),
                key=lambda e: (e.next_attempt_at, e.created_at, str(e.entry_id)),
            )[: max(limit, 0)]
            claimed = [attrs.evolve(e, lease_until=lease_until, lease_token=token) for e in due]
            for entry in claimed:
                self._entries()[entry.entry_id] = entry
            return claimed

    def renew(self, entry_id: UUID, token: UUID, lease_until: datetime) -> bool:
        with self._uow.storage._lock:
            entry = self._entries().get(entry_id)
            if entry is None or entry.lease_token != token or entry.state not in CLAIMABLE:
                return False
            self._entries()[entry_id] = attrs.evolve(entry, lease_until=lease_until)
            return True

    def save(self, entry: OutboxEntry, *, token: UUID | None = None) -> None:
        check_delivery(entry)
        changes = {name: getattr(entry, name) for name in DELIVERY_FIELDS}
        self.marks.append((entry.entry_id, token, changes))

    def _mark(self, entry_id: UUID, token: UUID | None, **changes: Any) -> None:
        self.marks.append((entry_id, token, {"last_error": None, **changes}))

    def mark_sent(self, entry_id: UUID, at: datetime, *, token: UUID | None = None) -> None:
        self._mark(entry_id, token, state=DeliveryState.SENT, sent_at=at)

    def reschedule(
        self,
        entry_id: UUID,
        attempts: int,
        next_at: datetime,
        error: str,
        *,
        token: UUID | None = None,
    ) -> None:
        check_count(attempts, "$.attempts")
        check_text(error, "$.last_error")
        self._mark(entry_id, token, attempts=attempts, next_attempt_at=next_at, last_error=error)

    def mark_dead(
        self, entry_id: UUID, attempts: int, reason: str, *, token: UUID | None = None
    ) -> None:
        check_count(attempts, "$.attempts")
        check_text(reason, "$.last_error")
        self._mark(entry_id, token, state=DeliveryState.DEAD, attempts=attempts, last_error=reason)

    def retry(
        self, now: datetime, entry_ids: Iterable[UUID] | None = None, *, stalled_only: bool = False
    ) -> Sequence[UUID]:
        def wanted(e: OutboxEntry) -> bool:
            if e.state is DeliveryState.STALLED:
                return True
            return (
                not stalled_only
                and e.state is DeliveryState.PENDING
                and (entry_ids is not None or e.next_attempt_at > now)
            )

        return self._due_again(now, entry_ids, wanted, {})

    def requeue(self, now: datetime, entry_ids: Iterable[UUID]) -> Sequence[UUID]:
        return self._due_again(
            now, entry_ids, lambda e: e.state is DeliveryState.DEAD, {"attempts": 0}
        )

    def _due_again(
        self,
        now: datetime,
        entry_ids: Iterable[UUID] | None,
        wanted: Callable[[OutboxEntry], bool],
        changes: dict[str, Any],
    ) -> list[UUID]:
        """Entries ``wanted`` (of ``entry_ids``) and not leased: pending, due at ``now``."""
        ids = None if entry_ids is None else set(entry_ids)
        with self._uow.storage._lock:
            every = self._entries()
            chosen = sorted(
                (e for e in every.values() if ids is None or e.entry_id in ids),
                key=lambda e: (e.created_at, str(e.entry_id)),
            )
            done = []
            for e in chosen:
                if wanted(e) and (e.lease_until is None or e.lease_until <= now):
                    every[e.entry_id] = attrs.evolve(
                        e, state=DeliveryState.PENDING, next_attempt_at=now, failing_since=None,
                        lease_until=None, lease_token=None, **changes,
                    )  # fmt: skip
                    done.append(e.entry_id)
            return done

    def counts(self) -> Mapping[DeliveryState, int]:
        with self._uow.storage._lock:
            return dict(Counter(e.state for e in self._entries().values()))

    def _in_state(self, state: DeliveryState, limit: int | None) -> Sequence[OutboxEntry]:
        with self._uow.storage._lock:
            found = [e for e in self._entries().values() if e.state is state]
        return sorted(found, key=lambda e: (e.created_at, str(e.entry_id)))[:limit]


class MemoryUnitOfWork(UnitOfWorkBase):
    """Buffers writes; ``commit`` checks versions and uniqueness, then applies all at once."""

    def __init__(self, storage: MemoryStorage) -> None:
        self.storage = storage
        self._begin()

    def _begin(self) -> None:
        self.cases, self.accounts, self.outbox = _Cases(self), _Accounts(self), _Outbox(self)
        self.audit = _Audit(self)
        self.invoices = _Invoices(self)

    def _write(self) -> None:
        with self.storage._lock:
            state = self.storage._state
            self._check(state)
            self._apply(state)

    def _check(self, state: _State) -> None:
        for key, (base, _) in self.invoices.pending.advances().items():
            if (last := state.invoice_counters.get(key, 0)) != base:
                raise ConcurrencyConflictError("invoice number", key, base, last)
        for case_id, case in self.cases.updated.items():
            current = state.cases.get(case_id)
            if current is None:
                raise NotFoundError("case", case_id)
            if current.version != case.version - 1:
                raise ConcurrencyConflictError("case", case_id, case.version - 1, current.version)
            _check_storable(case, current)
        for case in self.cases.added.values():
            if case.case_id in state.cases or case.number in state.numbers:
                raise ValidationError.of("case_exists", "$.number", number=case.number)
            _check_storable(case)
        for account_id, account in self.accounts.updated.items():
            current_account = state.accounts.get(account_id) or self.accounts.added.get(account_id)
            if current_account is None:
                raise NotFoundError("account", account_id)
            if account_id in state.accounts and current_account.version != account.version - 1:
                raise ConcurrencyConflictError(
                    "account", account_id, account.version - 1, current_account.version
                )
            _check_storable(account, current_account)
        seen_users: set[str] = set()
        seen_mails: set[str] = set()
        for account in self.accounts.added.values():
            _check_storable(account)
            user, mail = account.username.casefold(), account.email.casefold()
            if user in state.usernames or user in seen_users:
                raise ValidationError.of("username_taken", "$.username")
            if mail in state.emails or mail in seen_mails:
                raise ValidationError.of("email_taken", "$.email")
            seen_users.add(user)
            seen_mails.add(mail)
        for account_id, account in self.accounts.updated.items():
            owner = state.emails.get(account.email.casefold())
            if owner is not None and owner != account_id:
                raise ValidationError.of("email_taken", "$.email")
        added: set[UUID] = set()
        for entry in self.outbox.added:
            _check_storable(entry)
            if entry.entry_id in state.outbox or entry.entry_id in added:
                raise ValidationError.of("already_exists", "$.entry_id")
            added.add(entry.entry_id)
        for entry_id, token, _ in self.outbox.marks:
            if entry_id not in state.outbox and entry_id not in added:
                raise NotFoundError("outbox entry", entry_id)
            held = state.outbox.get(entry_id)
            if token is not None and (held is None or held.lease_token != token):
                raise ConcurrencyConflictError("outbox lease", entry_id, 0)
        for network in self.accounts.networks.values():
            _check_storable(network)
            if network.reference_code.casefold() in state.codes:
                raise ValidationError.of("reference_code_taken", "$.reference_code")
        for network in self.accounts.pending.changed_networks.values():
            stored = state.networks.get(network.network_id)
            if stored is None:
                raise NotFoundError("network", network.network_id)
            if stored.reference_code.casefold() != network.reference_code.casefold():
                raise ValidationError.of("invalid", "$.reference_code")  # it stays
            _check_storable(network, stored)

    def _apply(self, state: _State) -> None:
        for network in self.accounts.networks.values():
            state.networks[network.network_id] = network
            state.codes[network.reference_code.casefold()] = network.network_id
        for network in self.accounts.pending.changed_networks.values():
            state.networks[network.network_id] = network
        # an account added and changed in one unit of work is stored once, as version 1
        pending = self.accounts.pending
        for account in (*pending.final_added().values(), *pending.final_updated().values()):
            previous = state.accounts.get(account.account_id)
            if previous is not None:
                state.emails.pop(previous.email.casefold(), None)
                if previous.network_id != account.network_id:
                    state.members[previous.network_id].pop(previous.account_id, None)
            state.accounts[account.account_id] = account
            state.members.setdefault(account.network_id, {})[account.account_id] = None
            state.usernames[account.username.casefold()] = account.account_id
            state.emails[account.email.casefold()] = account.account_id
        for case in (*self.cases.added.values(), *self.cases.updated.values()):
            state.store_case(case)
        for entry in self.outbox.added:
            state.outbox[entry.entry_id] = entry
        for entry_id, _, changes in self.outbox.marks:
            state.outbox[entry_id] = attrs.evolve(
                state.outbox[entry_id], **changes, lease_until=None, lease_token=None
            )
        state.audit.extend(self.audit.added)
        for key, (_, last) in self.invoices.pending.advances().items():
            state.invoice_counters[key] = last
        state.invoices.update(self.invoices.pending.added)
