"""The outbox in SQL: entries are written with the unit of work; claims take effect at once.

The document keeps the entry as queued; its delivery state lives in columns
(state, attempts, last error, sent and lease times, lease token, next attempt,
retry period, unconfirmed sends), so saving an entry's state is one ``UPDATE``
that reads nothing. A save fenced by a lease token adds ``AND lease_token = ?``:
a dispatcher whose lease was taken over updates no row and its unit of work
fails with ``ConcurrencyConflictError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

import attrs

from aligner_core.errors import ConcurrencyConflictError, NotFoundError
from aligner_core.notifications.outbox import DeliveryState, OutboxEntry
from aligner_core.storage._bases import OutboxReads, check_claimable, check_delivery
from aligner_core.storage._pending import check_count, check_text
from aligner_core.storage.sql.columns import as_time, as_uuid, check_document, encode_time
from aligner_core.storage.sql.dialect import Cursor

if TYPE_CHECKING:
    from aligner_core.storage.sql.unit_of_work import SqlUnitOfWork

__all__ = ["SqlOutboxRepository"]

_COLUMNS = (
    "doc, state, attempts, last_error, sent_at, lease_until, next_attempt_at, created_at, "
    "entry_id, lease_token, failing_since, unconfirmed_sends"
)
_INSERT = f"INSERT INTO outbox ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_SAVE = (
    "state = ?, attempts = ?, last_error = ?, sent_at = ?, next_attempt_at = ?, "
    "failing_since = ?, unconfirmed_sends = ?"
)
_FREE = "(lease_until IS NULL OR lease_until <= ?)"
#: Ids per ``IN (...)`` list of a retry or requeue.
_CHUNK = 500


def _time(value: datetime | None) -> str | None:
    return None if value is None else encode_time(value)


def _text(value: UUID | None) -> str | None:
    return None if value is None else str(value)


class SqlOutboxRepository(OutboxReads):
    """Notifications waiting to be sent (see ``ports.OutboxRepository``)."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.added: list[OutboxEntry] = []
        #: (entry id, the lease token fencing the change, assignments, their parameters)
        self.changes: list[tuple[UUID, UUID | None, str, tuple[Any, ...]]] = []

    def _entry(self, row: Sequence[Any]) -> OutboxEntry:
        entry = self._uow.storage.converter.document_loads(row[0], OutboxEntry)
        return attrs.evolve(
            entry,
            state=DeliveryState(row[1]),
            attempts=row[2],
            last_error=row[3],
            sent_at=as_time(row[4]),
            lease_until=as_time(row[5]),
            next_attempt_at=as_time(row[6]) or entry.next_attempt_at,
            lease_token=None if row[9] is None else as_uuid(row[9]),
            failing_since=as_time(row[10]),
            unconfirmed_sends=row[11],
        )

    def add(self, entry: OutboxEntry) -> None:
        self.added.append(entry)

    def get(self, entry_id: UUID) -> OutboxEntry:
        rows = self._uow.session.fetch(
            f"SELECT {_COLUMNS} FROM outbox WHERE entry_id = ?",
            (str(entry_id),),
            "reading an outbox entry",
        )
        if not rows:
            raise NotFoundError("outbox entry", entry_id)
        return self._entry(rows[0])

    # ------------------------------------------------------------------ leases (at once)
    def claim(
        self,
        now: datetime,
        lease_until: datetime,
        limit: int,
        *,
        state: DeliveryState = DeliveryState.PENDING,
    ) -> Sequence[OutboxEntry]:
        """Lease due entries in their own transaction, so concurrent claims never overlap."""
        wanted = check_claimable(state).value  # a literal: PostgreSQL's partial index matches
        if limit <= 0:
            return []
        at = encode_time(now)
        lock = self._uow.storage.dialect.claim_lock
        with self._uow.session.transaction("claiming outbox entries") as cursor:
            rows = cursor.execute(
                f"""WITH due AS (
                        SELECT entry_id FROM outbox
                        WHERE state = '{wanted}' AND next_attempt_at <= ? AND {_FREE}
                        ORDER BY next_attempt_at, created_at, entry_id LIMIT ? {lock})
                    UPDATE outbox SET lease_until = ?, lease_token = ?
                    WHERE entry_id IN (SELECT entry_id FROM due)
                    RETURNING {_COLUMNS}""",
                (at, at, limit, encode_time(lease_until), str(uuid4())),
            ).fetchall()
        claimed = [self._entry(r) for r in rows]
        return sorted(claimed, key=lambda e: (e.next_attempt_at, e.created_at, str(e.entry_id)))

    def renew(self, entry_id: UUID, token: UUID, lease_until: datetime) -> bool:
        """Extend a lease while ``token`` holds it (its own transaction)."""
        with self._uow.session.transaction("renewing an outbox lease") as cursor:
            done = cursor.execute(
                "UPDATE outbox SET lease_until = ? WHERE entry_id = ? AND lease_token = ? "
                "AND state IN ('pending', 'stalled')",
                (encode_time(lease_until), str(entry_id), str(token)),
            ).rowcount
        return done == 1

    def retry(
        self, now: datetime, entry_ids: Iterable[UUID] | None = None, *, stalled_only: bool = False
    ) -> Sequence[UUID]:
        """Stalled entries (and pending ones not yet due) due now, at once."""
        which = "state IN ('stalled', 'pending')"
        params: tuple[str, ...] = ()
        if stalled_only:
            which = "state = 'stalled'"
        elif entry_ids is None:  # pending entries only while they wait for their next attempt
            which = "(state = 'stalled' OR (state = 'pending' AND next_attempt_at > ?))"
            params = (encode_time(now),)
        return self._due_again(now, entry_ids, which, params, "", "retrying outbox entries")

    def requeue(self, now: datetime, entry_ids: Iterable[UUID]) -> Sequence[UUID]:
        """Dead entries due now with no attempts counted, at once."""
        return self._due_again(
            now, entry_ids, "state = 'dead'", (), ", attempts = 0", "requeuing outbox entries"
        )

    def _due_again(
        self,
        now: datetime,
        entry_ids: Iterable[UUID] | None,
        which: str,
        which_params: tuple[Any, ...],
        more: str,
        what: str,
    ) -> list[UUID]:
        at = encode_time(now)
        head = (
            "UPDATE outbox SET state = 'pending', next_attempt_at = ?, failing_since = NULL, "
            f"lease_until = NULL, lease_token = NULL{more} WHERE {which} AND {_FREE}"
        )
        done: list[UUID] = []
        ids = None if entry_ids is None else iter([str(i) for i in entry_ids])
        with self._uow.session.transaction(what) as cursor:
            while True:
                chunk = None if ids is None else list(islice(ids, _CHUNK))
                if chunk == []:
                    break
                sql, params = head, (at, *which_params, at)
                if chunk is not None:
                    sql += f" AND entry_id IN ({', '.join('?' * len(chunk))})"
                    params += tuple(chunk)
                rows = cursor.execute(f"{sql} RETURNING entry_id", params).fetchall()
                done.extend(as_uuid(r[0]) for r in rows)
                if chunk is None:
                    break
        return done

    # ------------------------------------------------------------------ marks (at commit)
    def save(self, entry: OutboxEntry, *, token: UUID | None = None) -> None:
        """Store the delivery state of ``entry`` and end its lease (takes effect at commit)."""
        check_delivery(entry)
        params = (
            entry.state.value, entry.attempts, entry.last_error, _time(entry.sent_at),
            encode_time(entry.next_attempt_at), _time(entry.failing_since),
            entry.unconfirmed_sends,
        )  # fmt: skip
        self.changes.append((entry.entry_id, token, _SAVE, params))

    def mark_sent(self, entry_id: UUID, at: datetime, *, token: UUID | None = None) -> None:
        """Sent (takes effect at commit)."""
        self.changes.append(
            (entry_id, token, "state = 'sent', sent_at = ?, last_error = NULL", (encode_time(at),))
        )

    def reschedule(
        self,
        entry_id: UUID,
        attempts: int,
        next_at: datetime,
        error: str,
        *,
        token: UUID | None = None,
    ) -> None:
        """Try again at ``next_at`` (takes effect at commit)."""
        check_count(attempts, "$.attempts")
        check_text(error, "$.last_error")
        self.changes.append(
            (entry_id, token, "attempts = ?, next_attempt_at = ?, last_error = ?",
             (attempts, encode_time(next_at), error))
        )  # fmt: skip

    def mark_dead(
        self, entry_id: UUID, attempts: int, reason: str, *, token: UUID | None = None
    ) -> None:
        """Given up (takes effect at commit)."""
        check_count(attempts, "$.attempts")
        check_text(reason, "$.last_error")
        self.changes.append(
            (entry_id, token, "state = 'dead', attempts = ?, last_error = ?", (attempts, reason))
        )

    # ------------------------------------------------------------------ reads
    def counts(self) -> Mapping[DeliveryState, int]:
        rows = self._uow.session.fetch(
            "SELECT state, count(*) FROM outbox GROUP BY state", (), "counting outbox entries"
        )
        return {DeliveryState(state): int(n) for state, n in rows}

    def _in_state(self, state: DeliveryState, limit: int | None) -> Sequence[OutboxEntry]:
        sql = f"SELECT {_COLUMNS} FROM outbox WHERE state = ? ORDER BY created_at, entry_id"
        params: tuple[Any, ...] = (state.value,)
        if limit is not None:
            sql, params = f"{sql} LIMIT ?", (*params, limit)
        return [self._entry(r) for r in self._uow.session.fetch(sql, params)]

    # ------------------------------------------------------------------ commit
    def prepare(self) -> list[tuple[Any, ...]]:
        dumps = self._uow.storage.converter.document_dumps
        rows = []
        for e in self.added:
            doc = check_document(dumps(e))
            rows.append(
                (doc, e.state.value, e.attempts, e.last_error, _time(e.sent_at),
                 _time(e.lease_until), encode_time(e.next_attempt_at), encode_time(e.created_at),
                 str(e.entry_id), _text(e.lease_token), _time(e.failing_since),
                 e.unconfirmed_sends)
            )  # fmt: skip
        return rows

    def flush(self, cursor: Cursor, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            cursor.executemany(_INSERT, rows)
        for entry_id, token, assignments, params in self.changes:
            fence, fence_params = (
                ("", ()) if token is None else (" AND lease_token = ?", (str(token),))
            )
            done = cursor.execute(
                f"UPDATE outbox SET {assignments}, lease_until = NULL, lease_token = NULL "
                f"WHERE entry_id = ?{fence}",
                (*params, str(entry_id), *fence_params),
            ).rowcount
            if done == 1:
                continue
            if token is not None:
                found = cursor.execute("SELECT 1 FROM outbox WHERE entry_id = ?", (str(entry_id),))
                if found.fetchone() is not None:
                    raise ConcurrencyConflictError("outbox lease", entry_id, 0)
            raise NotFoundError("outbox entry", entry_id)
