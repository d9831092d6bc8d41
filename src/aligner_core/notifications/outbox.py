"""Queuing notifications: the outbox entries of an event, one per recipient the rules name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from aligner_core.domain.accounts import Account
from aligner_core.domain.cases import Case
from aligner_core.domain.events import DomainEvent
from aligner_core.domain.outbox import DeliveryState, OutboxEntry
from aligner_core.notifications.rules import recipients

__all__ = ["DeliveryState", "OutboxEntry", "entries_for"]


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
