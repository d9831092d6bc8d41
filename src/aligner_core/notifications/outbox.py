"""Outbox entries: a notification queued in the same transaction as the change it reports."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID

import attrs

from aligner_core.domain._checks import aware, non_negative_int
from aligner_core.domain.accounts import Account
from aligner_core.domain.cases import Case
from aligner_core.domain.events import DomainEvent
from aligner_core.notifications.rules import recipients

__all__ = ["DeliveryState", "OutboxEntry", "entries_for"]


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


class _Accounts(Protocol):
    def get(self, account_id: UUID) -> Account: ...

    def in_network(self, network_id: UUID) -> Sequence[Account]: ...


def entries_for(
    event: DomainEvent,
    case: Case | None,
    accounts: _Accounts,
    *,
    new_id: Callable[[], UUID],
    now: datetime,
    message_id_domain: str,
) -> list[OutboxEntry]:
    """One entry per recipient the rules name, each with its fixed ``Message-ID``."""
    entries = []
    for account in recipients(event, case, accounts.get, accounts.in_network):
        entry_id = new_id()
        entries.append(
            OutboxEntry(
                entry_id=entry_id,
                event=event,
                recipient_id=account.account_id,
                recipient_email=account.email,
                language=account.language,
                created_at=now,
                next_attempt_at=now,
                message_id=f"<{entry_id}@{message_id_domain}>",
            )
        )
    return entries
