"""Outbox entries: a notification queued in the same transaction as the change it reports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

import attrs

from aligner_core.domain._checks import aware, non_negative_int
from aligner_core.domain.events import DomainEvent

__all__ = ["DeliveryState", "OutboxEntry"]


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


@attrs.frozen
class OutboxEntry:
    """One message to one recipient about one event.

    ``message_id`` is fixed when the entry is queued, so a resend after a crash
    carries the same ``Message-ID`` and the recipient's mail system can de-duplicate.
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
