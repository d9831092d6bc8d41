"""Strategies for domain events and outbox entries."""

from __future__ import annotations

from typing import TypeVar

from hypothesis import strategies as st

from aligner_core.domain.events import DomainEvent, EventType
from aligner_core.notifications.outbox import DeliveryState, OutboxEntry
from aligner_core.testing.strategies._common import (
    DETAILS,
    LANGUAGES,
    POSITIVE,
    after,
    aware_datetimes,
    emails,
    optional,
    text,
)

T = TypeVar("T")


def domain_events() -> st.SearchStrategy[DomainEvent]:
    return st.builds(
        DomainEvent,
        type=st.sampled_from(EventType),
        at=aware_datetimes(),
        actor_id=st.uuids(),
        network_id=st.uuids(),
        case_id=optional(st.uuids()),
        case_number=optional(POSITIVE),
        account_id=optional(st.uuids()),
        data=DETAILS,
    )


@st.composite
def outbox_entries(draw: st.DrawFn) -> OutboxEntry:
    created = draw(aware_datetimes())
    state = draw(st.sampled_from(DeliveryState))
    attempts = draw(st.integers(0, 20))
    return OutboxEntry(
        entry_id=draw(st.uuids()),
        event=draw(domain_events()),
        recipient_id=draw(st.uuids()),
        recipient_email=draw(emails()),
        language=draw(LANGUAGES),
        created_at=created,
        next_attempt_at=draw(after(created, 7)),
        message_id=draw(st.builds(lambda u: f"<{u}@aligner.example.org>", st.uuids())),
        state=state,
        attempts=attempts,
        last_error=draw(optional(text(500))) if attempts else None,
        sent_at=draw(after(created, 7)) if state is DeliveryState.SENT else None,
        lease_until=draw(optional(after(created, 1))),
        lease_token=draw(optional(st.uuids())),
        failing_since=draw(optional(after(created, 7))) if attempts else None,
        unconfirmed_sends=draw(st.integers(0, 2)),
    )
