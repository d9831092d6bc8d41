"""Domain events: what happened, recorded by commands and turned into notifications."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import attrs

from aligner_core.domain._checks import aware

__all__ = ["DomainEvent", "EventType"]


class EventType(StrEnum):
    ACCOUNT_REGISTERED = "account_registered"
    ACCOUNT_ACTIVATED = "account_activated"
    ACCOUNT_BLOCKED = "account_blocked"
    PROFILE_UPDATED = "profile_updated"
    CASE_CREATED = "case_created"
    CASE_UPDATED = "case_updated"
    CASE_DELETED = "case_deleted"
    CASE_SUBMITTED = "case_submitted"
    ORDER_ACCEPTED = "order_accepted"
    ORDER_REFUSED = "order_refused"
    PLAN_UPLOADED = "plan_uploaded"
    PLAN_ACCEPTED = "plan_accepted"
    PLAN_REJECTED = "plan_rejected"
    MODIFICATION_REQUESTED = "modification_requested"
    COMMENT_ADDED = "comment_added"
    DOCUMENT_ADDED = "document_added"
    CASE_HELD = "case_held"
    CASE_RELEASED = "case_released"
    CASE_CANCELLED = "case_cancelled"
    CASE_SHIPPED = "case_shipped"
    DELIVERY_CONFIRMED = "delivery_confirmed"
    CASE_CLOSED = "case_closed"
    CASE_REOPENED = "case_reopened"
    CASE_REASSIGNED = "case_reassigned"
    PLAN_SHARED = "plan_shared"
    SHARE_REVOKED = "share_revoked"
    COLLABORATOR_INVITED = "collaborator_invited"
    #: an invitation to an address without an account, with the link to create one
    INVITATION_EMAILED = "invitation_emailed"
    COLLABORATOR_ACCEPTED = "collaborator_accepted"
    COLLABORATOR_DECLINED = "collaborator_declined"
    COLLABORATOR_REVOKED = "collaborator_revoked"
    FOLLOW_UP_ORDERED = "follow_up_ordered"
    IMPRESSIONS_RECEIVED = "impressions_received"
    SCANS_DIGITISED = "scans_digitised"
    RECORDS_REQUESTED = "records_requested"
    RECORDS_RECEIVED = "records_received"
    CASE_ASSIGNED = "case_assigned"
    PACKAGE_UPGRADED = "package_upgraded"


def _data(value: Mapping[str, object] | tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple(sorted((str(k), str(v)) for k, v in items))


@attrs.frozen
class DomainEvent:
    """One thing that happened. Carries ids and the case number, never patient data."""

    type: EventType
    at: datetime = attrs.field(validator=aware)
    actor_id: UUID
    network_id: UUID
    case_id: UUID | None = None
    case_number: int | None = None
    account_id: UUID | None = None
    data: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_data)

    def get(self, key: str, default: str | None = None) -> str | None:
        return dict(self.data).get(key, default)
