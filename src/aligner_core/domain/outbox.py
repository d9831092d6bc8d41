"""Outbox entries: a notification queued in the same transaction as the change it reports.

An entry's delivery state moves like this (``docs/notifications.md`` says why)::

    pending --sent--------------------------------------> sent
    pending --temporary failure, within the retry period-> pending (later)
    pending --temporary failure, period over------------> stalled
    pending --no answer after the message (1st time)----> pending (later, resent once)
    pending --no answer after the message (2nd time)----> sent (unconfirmed)
    pending --permanent failure, rendering failure------> dead
    stalled --a delivery succeeds, retry, a probe-------> pending (due now)
    dead    --requeue-----------------------------------> pending (due now)

Nothing moves an entry to ``dead`` or ``stalled`` because time passed alone: a
held outbox (no notifier) keeps its entries pending and unattempted.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import attrs

from aligner_core.domain._checks import aware, non_negative_int
from aligner_core.domain.events import DomainEvent

__all__ = ["DeliveryState", "OutboxEntry"]


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    #: temporary failures for longer than the retry period: waits for a successful
    #: delivery, a probe or an operator's retry (``versionadded`` 0.2)
    STALLED = "stalled"
    DEAD = "dead"


@attrs.frozen
class OutboxEntry:
    """One message to one recipient about one event.

    ``message_id`` is fixed when the entry is queued, so a resend after a crash
    carries the same ``Message-ID`` and the recipient's mail system can de-duplicate.

    Delivery bookkeeping: ``lease_until`` and ``lease_token`` belong to the
    dispatcher holding the entry (each claim has its own token); ``failing_since``
    is the first temporary failure of the current retry period; ``unconfirmed_sends``
    counts sends whose outcome is unknown (the server took the message but its
    answer never came), so the entry is resent at most once after one.
    """

    entry_id: UUID
    event: DomainEvent
    recipient_id: UUID
    recipient_email: str
    language: str
    created_at: datetime = attrs.field(validator=aware)
    next_attempt_at: datetime = attrs.field(validator=aware)
    message_id: str
    state: DeliveryState = DeliveryState.PENDING
    attempts: int = attrs.field(default=0, validator=non_negative_int)
    last_error: str | None = None
    sent_at: datetime | None = attrs.field(default=None, validator=aware)
    lease_until: datetime | None = attrs.field(default=None, validator=aware)
    lease_token: UUID | None = None
    failing_since: datetime | None = attrs.field(default=None, validator=aware)
    unconfirmed_sends: int = attrs.field(default=0, validator=non_negative_int)

    # ------------------------------------------------------------------ outcomes of one attempt
    def delivered(self, at: datetime, note: str | None = None) -> OutboxEntry:
        """Sent at ``at`` (``note``: why it counts as sent without a confirmation)."""
        return self._ended(
            state=DeliveryState.SENT, attempts=self.attempts + 1, sent_at=at, last_error=note
        )

    def deferred(self, at: datetime, error: str, next_at: datetime) -> OutboxEntry:
        """A temporary failure: tried again at ``next_at``, in the retry period begun first."""
        return self._ended(
            attempts=self.attempts + 1,
            last_error=error,
            next_attempt_at=next_at,
            failing_since=self.failing_since or at,
        )

    def unconfirmed(self, at: datetime, error: str, next_at: datetime) -> OutboxEntry:
        """The server may have the message but never said so: resent once at ``next_at``."""
        return attrs.evolve(
            self.deferred(at, error, next_at), unconfirmed_sends=self.unconfirmed_sends + 1
        )

    def stalled(self, at: datetime, error: str, next_probe: datetime) -> OutboxEntry:
        """Temporary failures beyond the retry period: waits (one probe at ``next_probe``)."""
        return attrs.evolve(self.deferred(at, error, next_probe), state=DeliveryState.STALLED)

    def given_up(self, reason: str) -> OutboxEntry:
        """Dead: a permanent failure or a message that cannot be rendered (an operator may
        requeue it)."""
        return self._ended(state=DeliveryState.DEAD, attempts=self.attempts + 1, last_error=reason)

    def _ended(self, **changes: Any) -> OutboxEntry:
        """The attempt is over: the lease ends with it."""
        return attrs.evolve(self, lease_until=None, lease_token=None, **changes)
