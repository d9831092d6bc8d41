"""Queuing notifications: the outbox entries of an event, one per recipient the rules name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from aligner_core.domain.accounts import Account
from aligner_core.domain.cases import Case
from aligner_core.domain.events import DomainEvent, EventType
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
    """One entry per recipient the rules name, each with its fixed ``Message-ID``; an
    e-mail invitation goes to its address (the recipient id is the invitation's)."""
    found = [
        (a.account_id, a.email, a.language)
        for a in recipients(event, case, accounts.get, accounts.in_network)
    ]
    invitation_id = event.get("invitation")
    if event.type is EventType.INVITATION_EMAILED and case is not None and invitation_id:
        invitation = case.invitation(UUID(invitation_id))
        if invitation is not None:  # written in the inviting doctor's language
            language = accounts.get(invitation.invited_by).language
            found.append((invitation.invitation_id, invitation.email, language))
    entries = []
    for recipient_id, email, language in found:
        entry_id = new_id()
        entries.append(
            OutboxEntry(
                entry_id=entry_id,
                event=event,
                recipient_id=recipient_id,
                recipient_email=email,
                language=language,
                created_at=now,
                next_attempt_at=now,
                message_id=f"<{entry_id}@{message_id_domain}>",
            )
        )
    return entries
