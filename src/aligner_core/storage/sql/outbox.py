"""The outbox in SQL: entries are written with the unit of work; claims take effect at once.

The document keeps the entry as queued; its delivery state lives in columns
(state, attempts, last error, sent and lease times, next attempt), so marking
an entry is one ``UPDATE`` that reads nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import attrs

from aligner_core.errors import NotFoundError
from aligner_core.notifications.outbox import DeliveryState, OutboxEntry
from aligner_core.storage._bases import OutboxReads
from aligner_core.storage._pending import check_count, check_text
from aligner_core.storage.sql.columns import as_time, check_document, encode_time
from aligner_core.storage.sql.dialect import Cursor

if TYPE_CHECKING:
    from aligner_core.storage.sql.unit_of_work import SqlUnitOfWork

__all__ = ["SqlOutboxRepository"]

_COLUMNS = (
    "doc, state, attempts, last_error, sent_at, lease_until, next_attempt_at, created_at, entry_id"
)
_INSERT = f"INSERT INTO outbox ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


def _time(value: datetime | None) -> str | None:
    return None if value is None else encode_time(value)


class SqlOutboxRepository(OutboxReads):
    """Notifications waiting to be sent (see ``ports.OutboxRepository``)."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.added: list[OutboxEntry] = []
        self.changes: list[tuple[UUID, str, tuple[Any, ...]]] = []

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
        )

    def add(self, entry: OutboxEntry) -> None:
        self.added.append(entry)

    def claim(self, now: datetime, lease_until: datetime, limit: int) -> Sequence[OutboxEntry]:
        """Lease due entries in their own transaction, so concurrent claims never overlap."""
        if limit <= 0:
            return []
        at = encode_time(now)
        lock = self._uow.storage.dialect.claim_lock
        with self._uow.session.transaction("claiming outbox entries") as cursor:
            rows = cursor.execute(
                f"""WITH due AS (
                        SELECT entry_id FROM outbox
                        WHERE state = 'pending' AND next_attempt_at <= ?
                          AND (lease_until IS NULL OR lease_until <= ?)
                        ORDER BY next_attempt_at, created_at, entry_id LIMIT ? {lock})
                    UPDATE outbox SET lease_until = ?
                    WHERE entry_id IN (SELECT entry_id FROM due)
                    RETURNING {_COLUMNS}""",
                (at, at, limit, encode_time(lease_until)),
            ).fetchall()
        claimed = [self._entry(r) for r in rows]
        return sorted(claimed, key=lambda e: (e.next_attempt_at, e.created_at, str(e.entry_id)))

    def mark_sent(self, entry_id: UUID, at: datetime) -> None:
        """Sent (takes effect at commit)."""
        self.changes.append(
            (entry_id, "state = 'sent', sent_at = ?, last_error = NULL", (encode_time(at),))
        )

    def reschedule(self, entry_id: UUID, attempts: int, next_at: datetime, error: str) -> None:
        """Try again at ``next_at`` (takes effect at commit)."""
        check_count(attempts, "$.attempts")
        check_text(error, "$.last_error")
        self.changes.append(
            (entry_id, "attempts = ?, next_attempt_at = ?, last_error = ?",
             (attempts, encode_time(next_at), error))
        )  # fmt: skip

    def mark_dead(self, entry_id: UUID, attempts: int, reason: str) -> None:
        """Given up (takes effect at commit)."""
        check_count(attempts, "$.attempts")
        check_text(reason, "$.last_error")
        self.changes.append(
            (entry_id, "state = 'dead', attempts = ?, last_error = ?", (attempts, reason))
        )

    def _in_state(self, state: DeliveryState) -> Sequence[OutboxEntry]:
        rows = self._uow.session.fetch(
            f"SELECT {_COLUMNS} FROM outbox WHERE state = ? ORDER BY created_at, entry_id",
            (state.value,),
        )
        return [self._entry(r) for r in rows]

    # ------------------------------------------------------------------ commit
    def prepare(self) -> list[tuple[Any, ...]]:
        dumps = self._uow.storage.converter.document_dumps
        rows = []
        for e in self.added:
            doc = check_document(dumps(e))
            rows.append(
                (doc, e.state.value, e.attempts, e.last_error, _time(e.sent_at),
                 _time(e.lease_until), encode_time(e.next_attempt_at), encode_time(e.created_at),
                 str(e.entry_id))
            )  # fmt: skip
        return rows

    def flush(self, cursor: Cursor, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            cursor.executemany(_INSERT, rows)
        for entry_id, assignments, params in self.changes:
            done = cursor.execute(
                f"UPDATE outbox SET {assignments}, lease_until = NULL WHERE entry_id = ?",
                (*params, str(entry_id)),
            ).rowcount
            if done != 1:
                raise NotFoundError("outbox entry", entry_id)
