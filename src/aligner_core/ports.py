"""The ports: what the core needs from the outside world, as ``typing.Protocol``s.

Adapters need not inherit anything; mypy checks them structurally where
``bootstrap`` wires them. Each docstring states the contract and the errors;
the contract suites in :mod:`aligner_core.testing` check them for every adapter.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from email.message import EmailMessage
from types import TracebackType
from typing import IO, TYPE_CHECKING, Protocol, Self
from uuid import UUID

if TYPE_CHECKING:
    from aligner_core.domain.accounts import Account, Network
    from aligner_core.domain.audit import AuditEntry, AuditFilter
    from aligner_core.domain.cases import Case, CaseStatus
    from aligner_core.domain.invoices import InvoiceNumber
    from aligner_core.domain.ledger import IssuedInvoice
    from aligner_core.domain.metrics import CaseMoments
    from aligner_core.domain.outbox import DeliveryState, OutboxEntry
    from aligner_core.domain.queries import CaseFilter, CaseSummary, Page, Scope
    from aligner_core.domain.records import FileKind, FileReport

__all__ = [
    "AccountRepository",
    "AuditRepository",
    "BlobStore",
    "CaseRepository",
    "Clock",
    "FileScanner",
    "IdGenerator",
    "Intake",
    "InvoiceRepository",
    "Notifier",
    "OutboxRepository",
    "ReceivedUpload",
    "Storage",
    "UnitOfWork",
]


class Clock(Protocol):
    """The time. ``now()`` returns a timezone-aware UTC datetime that never goes backwards."""

    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    """New identifiers (accounts, patients, cases, files, outbox entries)."""

    def new_id(self) -> UUID: ...


class CaseRepository(Protocol):
    """Cases of one unit of work.

    ``add`` a new case (version 1); ``get`` raises ``NotFoundError``; ``update``
    stores a case whose ``version`` is exactly one more than the stored one and
    otherwise raises ``ConcurrencyConflictError`` (at the latest at commit).
    Deleted drafts are kept but never listed nor counted. Numbers come from
    ``next_number`` and are unique and increasing per storage.

    ``list`` pages like ``domain.queries.paginate`` (``Page.next_cursor`` starts
    the next page, as ``CaseFilter.after``); ``count_by_status`` is the dashboard,
    read from counts kept with every write. Values no store can hold never reach
    a driver: text with NUL or a lone surrogate, numbers beyond 64 bits. Reads
    of them find nothing (``NotFoundError``, an empty page); writes of them
    raise ``ValidationError``.
    """

    def add(self, case: Case) -> None: ...

    def get(self, case_id: UUID) -> Case: ...

    def get_by_number(self, number: int) -> Case: ...

    def update(self, case: Case) -> None: ...

    def next_number(self) -> int: ...

    def list(self, scope: Scope, query: CaseFilter) -> Page[CaseSummary]: ...

    def count_by_status(
        self, scope: Scope, query: CaseFilter | None = None
    ) -> Mapping[CaseStatus, int]:
        """Visible cases per status (statuses with none absent); ``query`` filters them
        as the case list does (its sort and page aside)."""
        ...

    def of_patient(self, patient_id: UUID) -> Sequence[Case]:
        """Every case of one patient, deleted drafts included (export and erasure)."""
        ...

    def file_digests(self) -> set[str]:
        """The sha256 of every file any case refers to (what the blob store must keep)."""
        ...

    def moments(
        self, network_id: UUID, since: datetime, *, owner_id: UUID | None = None
    ) -> Sequence[CaseMoments]:
        """When the committed cases of a network (of one owner) updated at or after ``since``
        were submitted, approved and first shipped, by number; deleted drafts left out.

        Practice metrics read these instead of whole cases: every moment of a case is
        at or before its ``updated_at``, so ``since`` (the start of a period) leaves out
        only cases with nothing in it. A naive ``since`` is a ``ValidationError``.
        """
        ...


class AccountRepository(Protocol):
    """Networks and user accounts; usernames and e-mails are unique (case-insensitive).

    ``add`` raises ``ValidationError`` on a taken username, e-mail or reference
    code; ``update`` is versioned like cases. Lookups by id, username, e-mail or
    code raise ``NotFoundError``; text no store can hold finds nothing.
    """

    def add_network(self, network: Network) -> None: ...

    def update_network(self, network: Network) -> None:
        """Replace a stored network's settings (its reference code stays)."""
        ...

    def get_network(self, network_id: UUID) -> Network: ...

    def network_by_code(self, reference_code: str) -> Network: ...

    def add(self, account: Account) -> None: ...

    def get(self, account_id: UUID) -> Account: ...

    def by_username(self, username: str) -> Account: ...

    def by_email(self, email: str) -> Account:
        """The account with this e-mail address, ignoring case."""
        ...

    def update(self, account: Account) -> None: ...

    def in_network(self, network_id: UUID) -> Sequence[Account]: ...


class OutboxRepository(Protocol):
    """Notifications waiting to be sent, written in the same transaction as the change.

    ``claim`` hands out due entries of ``state`` (pending; stalled ones for a probe):
    ``next_attempt_at <= now`` and no unexpired lease. It leases them until
    ``lease_until`` under a new ``lease_token`` at once (in its own transaction), so
    concurrent dispatchers never hold the same entry at once. ``renew`` extends a
    lease at once while ``token`` still holds it and says whether it does (``False``:
    another claim took the entry, or it was retried or requeued meanwhile).

    ``save`` stores the delivery state of an entry (state, attempts, last error,
    sent time, next attempt, retry period, unconfirmed sends) and ends its lease.
    With ``token`` it is fenced: if that lease no longer holds the entry, ``commit``
    raises ``ConcurrencyConflictError`` and writes nothing of the unit of work.
    ``mark_sent``, ``reschedule`` and ``mark_dead`` are shorthands (fenced the same
    way). These take effect at commit.

    ``retry`` makes stalled entries (and pending ones waiting for a retry, unless
    ``stalled_only``) due at ``now`` with a fresh retry period; ``requeue`` does the
    same for dead entries, counting attempts from zero. Both act at once on all such
    entries or only on ``entry_ids``, leave leased entries alone, and return the ids
    they changed. ``get`` raises ``NotFoundError``; ``entries`` lists one state,
    oldest first; ``counts`` is the number of entries per state. An attempt count
    beyond 64 bits or an error text no store can hold is a ``ValidationError``.

    .. versionchanged:: 0.2 lease tokens, ``renew``, ``save``, ``retry``,
       ``requeue``, ``get``, ``entries``, ``stalled``, ``counts``; fenced marks.
    """

    def add(self, entry: OutboxEntry) -> None: ...

    def get(self, entry_id: UUID) -> OutboxEntry: ...

    def claim(
        self,
        now: datetime,
        lease_until: datetime,
        limit: int,
        *,
        state: DeliveryState = ...,
    ) -> Sequence[OutboxEntry]: ...

    def renew(self, entry_id: UUID, token: UUID, lease_until: datetime) -> bool: ...

    def save(self, entry: OutboxEntry, *, token: UUID | None = None) -> None: ...

    def mark_sent(self, entry_id: UUID, at: datetime, *, token: UUID | None = None) -> None: ...

    def reschedule(
        self,
        entry_id: UUID,
        attempts: int,
        next_at: datetime,
        error: str,
        *,
        token: UUID | None = None,
    ) -> None: ...

    def mark_dead(
        self, entry_id: UUID, attempts: int, reason: str, *, token: UUID | None = None
    ) -> None: ...

    def retry(
        self, now: datetime, entry_ids: Iterable[UUID] | None = None, *, stalled_only: bool = False
    ) -> Sequence[UUID]: ...

    def requeue(self, now: datetime, entry_ids: Iterable[UUID]) -> Sequence[UUID]: ...

    def entries(
        self, state: DeliveryState, *, limit: int | None = None
    ) -> Sequence[OutboxEntry]: ...

    def counts(self) -> Mapping[DeliveryState, int]: ...

    def dead(self) -> Sequence[OutboxEntry]: ...

    def pending(self) -> Sequence[OutboxEntry]: ...

    def sent(self) -> Sequence[OutboxEntry]: ...

    def stalled(self) -> Sequence[OutboxEntry]: ...


class AuditRepository(Protocol):
    """The audit log: entries are written with the unit of work, read by network (newest first)."""

    def add(self, entry: AuditEntry) -> None: ...

    def list(self, network_id: UUID, query: AuditFilter) -> Page[AuditEntry]: ...


class InvoiceRepository(Protocol):
    """Issued invoices and credit notes, numbered without gaps per network and year.

    ``next_number`` hands out ``INV-<year>-<n>`` after the last committed number of
    the network and year (the counter is read once per unit of work). Added invoices
    must carry the numbers the unit allocated, in order (else ``ValidationError`` at
    commit); ``commit`` advances the counter by them only if no other unit did so
    meanwhile, else it raises ``ConcurrencyConflictError`` and writes nothing. A
    rolled-back unit consumes no number; committed numbers are 1..n, no gap, no
    repeat. ``get`` raises ``NotFoundError``; ``list`` gives a network's invoices
    (of one doctor, issued from ``since`` to ``until`` inclusive) in number order.
    """

    def next_number(self, network_id: UUID, year: int) -> InvoiceNumber: ...

    def add(self, invoice: IssuedInvoice) -> None: ...

    def get(self, invoice_id: UUID) -> IssuedInvoice: ...

    def list(
        self,
        network_id: UUID,
        *,
        doctor_id: UUID | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Sequence[IssuedInvoice]: ...


class UnitOfWork(Protocol):
    """One transaction over the repositories: commit all or nothing.

    Leaving the ``with`` block without ``commit()`` rolls back. ``commit`` raises
    ``ConcurrencyConflictError`` on a stale version and ``StorageError`` on a
    driver failure; after either, nothing of the unit of work was written.
    """

    @property
    def cases(self) -> CaseRepository: ...

    @property
    def accounts(self) -> AccountRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def audit(self) -> AuditRepository: ...

    @property
    def invoices(self) -> InvoiceRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class Storage(Protocol):
    """A storage backend: makes units of work; owns its connections."""

    def unit_of_work(self) -> UnitOfWork: ...

    def scrub(self) -> None:
        """Make what was overwritten or deleted unrecoverable from the storage's own files.

        Called after a patient's data is erased (SQLite: a WAL checkpoint over pages
        zeroed by ``secure_delete``; PostgreSQL: ``VACUUM`` of the case tables).
        """
        ...

    def close(self) -> None: ...


class BlobStore(Protocol):
    """File content, addressed by its sha256 (lowercase hex).

    ``put`` streams ``source`` to the store (never holding it whole in memory),
    checks it against ``sha256`` when given, and is idempotent: the same content
    is stored once. ``put_file`` takes over a local file whose ``sha256`` the
    caller computed while writing it: the store does not hash it again, moves it
    into place where it can (else streams it once) and the file is gone
    afterwards. Storing content that is already there refreshes its age.
    ``open`` raises ``NotFoundError``. ``list_blobs`` yields every stored sha256
    with the (aware, UTC) time it was last stored. ``delete`` removes a blob,
    only if it was last stored before ``stored_before`` when given, and says
    whether it did. A malformed sha256 raises ``ValidationError``; failures
    raise ``StorageError``.
    """

    def put(self, source: IO[bytes], sha256: str | None = None) -> str: ...

    def put_file(self, path: str | os.PathLike[str], sha256: str) -> str: ...

    def open(self, sha256: str) -> IO[bytes]: ...

    def exists(self, sha256: str) -> bool: ...

    def list_blobs(self) -> Iterator[tuple[str, datetime]]: ...

    def delete(self, sha256: str, *, stored_before: datetime | None = None) -> bool: ...


class FileScanner(Protocol):
    """Checks a file's content (not its name) and describes it.

    ``path`` is a local file already streamed to disk with size limits applied.
    ``sha256`` is its digest when the caller computed it while writing the file
    (the scanner then does not hash it again). Returns a ``FileReport`` or
    raises ``RejectedFileError`` listing every reason; its message never
    repeats ``name`` nor text from the file.
    """

    def scan(
        self,
        path: str | os.PathLike[str],
        *,
        name: str,
        kind: FileKind,
        sha256: str | None = None,
    ) -> FileReport: ...


class ReceivedUpload(Protocol):
    """An upload that passed its checks, valid inside its ``with`` block."""

    @property
    def report(self) -> FileReport: ...

    def store(self, blobs: BlobStore) -> str:
        """Hand the kept bytes to ``blobs`` once; returns their sha256."""
        ...


class Intake(Protocol):
    """Takes an upload in: streams it (the size limit of its kind enforced while reading),
    checks its content, sanitises it (photos re-encoded) and yields what to keep.

    Raises ``RejectedFileError`` with every reason, or ``StorageError``; whatever
    happens, nothing of the upload is left in the spool once the block ends.
    """

    def __call__(
        self, source: IO[bytes] | Iterable[bytes] | bytes, *, name: str, kind: FileKind
    ) -> AbstractContextManager[ReceivedUpload]: ...


class Notifier(Protocol):
    """Sends one rendered e-mail (its ``Message-ID`` is stable per notification).

    Raises ``TemporaryDeliveryError`` (retry later) or ``PermanentDeliveryError``
    (give up); nothing else. Two kinds of temporary error say more:
    ``ServerUnavailableError`` (nothing was sent: the server could not be reached)
    and ``AmbiguousDeliveryError`` (the message went out, its confirmation never
    came: the server may have it). A notifier with a true ``holds_messages``
    attribute delivers nothing and the dispatcher leaves the outbox alone.
    """

    def send(self, message: EmailMessage) -> None: ...
