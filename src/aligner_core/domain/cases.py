"""The case aggregate: one order for one patient, from draft to closed.

A case is an immutable value; every change makes a new one with ``attrs.evolve``
and a version one higher, which is what optimistic concurrency compares. State
changes go through :mod:`aligner_core.domain.lifecycle`; the application service
is the only public way to make them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

import attrs

from aligner_core.domain._checks import aware, non_blank, positive, text_limit
from aligner_core.domain.accounts import (
    CollaboratorGrant,
    EmailInvitation,
    GrantStatus,
    Practice,
)
from aligner_core.domain.kinds import CaseKind
from aligner_core.domain.orders import OrderDetails
from aligner_core.domain.packages import Entitlements
from aligner_core.domain.patients import Patient
from aligner_core.domain.payments import PaymentMethod
from aligner_core.domain.plans import PlanVersion
from aligner_core.domain.prescriptions import TreatmentRequest
from aligner_core.domain.quotes import Quote
from aligner_core.domain.records import FileKind, Records
from aligner_core.domain.teeth import ToothChart
from aligner_core.errors import ValidationError

__all__ = [
    "ACTIVE_STATUSES",
    "Case",
    "CaseKind",
    "CaseStatus",
    "Comment",
    "Deadline",
    "HistoryEntry",
    "Hold",
    "RecordsRequest",
    "ShareLink",
    "Shipment",
]


#: The longest name a practice may give a case.
MAX_CASE_NAME = 120


class CaseStatus(StrEnum):
    DRAFT = "draft"
    #: silicone impressions are in the post; the lab digitises them, then plans
    AWAITING_IMPRESSIONS = "awaiting_impressions"
    #: the lab asked the doctor for new records; the lab's turnaround is paused
    AWAITING_RECORDS = "awaiting_records"
    LAB_REVIEW = "lab_review"
    IN_PLANNING = "in_planning"
    WAITING_FOR_APPROVAL = "waiting_for_approval"
    PLAN_REJECTED = "plan_rejected"
    IN_PRODUCTION = "in_production"
    SHIPPED = "shipped"
    ON_HOLD = "on_hold"
    CANCELLED = "cancelled"
    CLOSED = "closed"
    DELETED = "deleted"


ACTIVE_STATUSES = frozenset(
    {
        CaseStatus.AWAITING_IMPRESSIONS,
        CaseStatus.LAB_REVIEW,
        CaseStatus.IN_PLANNING,
        CaseStatus.WAITING_FOR_APPROVAL,
        CaseStatus.PLAN_REJECTED,
        CaseStatus.IN_PRODUCTION,
    }
)


def _details(
    value: Mapping[str, object] | tuple[tuple[str, str], ...],
) -> tuple[tuple[str, str], ...]:
    if not value:
        return ()
    items = value.items() if isinstance(value, Mapping) else value
    return tuple(sorted((str(k), str(v)) for k, v in items))


@attrs.frozen
class HistoryEntry:
    """One line of a case's timeline: who did what, when, and the status before and after."""

    at: datetime = attrs.field(validator=aware)
    actor_id: UUID
    action: str
    from_status: CaseStatus | None
    to_status: CaseStatus
    details: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_details)

    def detail(self, key: str, default: str | None = None) -> str | None:
        return dict(self.details).get(key, default)


@attrs.frozen
class Comment:
    comment_id: UUID
    author_id: UUID
    at: datetime = attrs.field(validator=aware)
    text: str = attrs.field(validator=[non_blank, text_limit(10_000)])
    from_lab: bool = False


@attrs.frozen
class Shipment:
    """A parcel: phase N of the aligners, the carrier and its tracking number."""

    shipment_id: UUID
    carrier: str = attrs.field(validator=[non_blank, text_limit(80)])
    tracking_number: str = attrs.field(validator=[non_blank, text_limit(80)])
    phase: int = attrs.field(validator=positive)
    final: bool
    shipped_at: datetime = attrs.field(validator=aware)
    delivered_at: datetime | None = attrs.field(default=None, validator=aware)


@attrs.frozen
class ShareLink:
    """A plan version shared with someone without portal access (signed, expiring, revocable)."""

    share_id: UUID
    plan_version: int = attrs.field(validator=positive)
    created_by: UUID
    created_at: datetime = attrs.field(validator=aware)
    expires_at: datetime = attrs.field(validator=aware)
    revoked_at: datetime | None = attrs.field(default=None, validator=aware)

    def is_valid(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


@attrs.frozen
class Hold:
    """Why a case is on hold and the status it returns to on release."""

    reason: str = attrs.field(validator=[non_blank, text_limit(2000)])
    left_status: CaseStatus
    since: datetime = attrs.field(validator=aware)


@attrs.frozen
class RecordsRequest:
    """The lab's request for new records (iTero's "return scan"): which, why, and the
    status the case goes back to once the doctor has uploaded them."""

    kinds: tuple[FileKind, ...] = attrs.field(validator=attrs.validators.min_len(1))
    reason: str = attrs.field(validator=[non_blank, text_limit(2000)])
    requested_by: UUID
    requested_at: datetime = attrs.field(validator=aware)
    left_status: CaseStatus

    def missing(self, records: Records) -> tuple[FileKind, ...]:
        """The kinds asked for that have no file uploaded since the request."""
        fresh = {f.kind for f in records.files if f.uploaded_at >= self.requested_at}
        return tuple(k for k in self.kinds if k not in fresh)


@attrs.frozen
class Deadline:
    """The lab's due date for the current stage, in business days; paused while waiting."""

    stage: str
    due: date
    paused_since: date | None = None


@attrs.frozen
class Case:
    """A case and everything recorded on it. ``number`` identifies it outside the system."""

    case_id: UUID
    number: int = attrs.field(validator=positive)
    kind: CaseKind
    network_id: UUID
    owner_id: UUID
    patient: Patient
    created_at: datetime = attrs.field(validator=aware)
    updated_at: datetime = attrs.field(validator=aware)
    status: CaseStatus = CaseStatus.DRAFT
    request: TreatmentRequest | None = None
    chart: ToothChart = attrs.field(factory=ToothChart)
    records: Records = attrs.field(factory=Records)
    order: OrderDetails | None = None
    parent_id: UUID | None = None
    plans: tuple[PlanVersion, ...] = ()
    comments: tuple[Comment, ...] = ()
    shipments: tuple[Shipment, ...] = ()
    collaborators: tuple[CollaboratorGrant, ...] = ()
    #: invitations sent to addresses without an account (they become grants when accepted)
    invitations: tuple[EmailInvitation, ...] = ()
    shares: tuple[ShareLink, ...] = ()
    history: tuple[HistoryEntry, ...] = ()
    hold: Hold | None = None
    #: what the lab asked the doctor for, while the case is awaiting records
    records_request: RecordsRequest | None = None
    deadline: Deadline | None = None
    #: the lab staff member (planner or production) who works on the case now
    assigned_to: UUID | None = None
    submitted_at: datetime | None = attrs.field(default=None, validator=aware)
    accepted_at: datetime | None = attrs.field(default=None, validator=aware)
    version: int = attrs.field(default=1, validator=positive)
    #: the practice's own label for the case ("Anna, second phase"), shown beside its number
    name: str = attrs.field(default="", validator=text_limit(MAX_CASE_NAME))
    #: the practice the aligners ship to, as the order named it (a copy: it stays as ordered)
    practice: Practice | None = None
    #: the code of the product ordered, in the network's catalogue when the case was made
    product: str | None = None
    #: the quotes of the plan versions, each naming its version (a network with prices)
    quotes: tuple[Quote, ...] = ()
    #: the quote fixed when the doctor approved the plan: no later price change alters it
    approved_quote: Quote | None = None
    #: the package approved and the follow-ups it paid for
    entitlements: Entitlements | None = None
    #: how the order is paid (a retainer, replacement or revision order of a priced network)
    payment: PaymentMethod | None = None
    #: what this follow-up order costs, worked out when it was ordered (None: not priced)
    charge: Quote | None = None
    #: the add-ons ordered with the case (``tps``, ``rush``): quoted with its plan or charged
    #: with the follow-up
    add_ons: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        numbers = [p.number for p in self.plans]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValidationError.of("plan_numbering", "$.plans")
        if (self.status is CaseStatus.ON_HOLD) != (self.hold is not None):
            raise ValidationError.of("hold_state", "$.hold")
        if (self.status is CaseStatus.AWAITING_RECORDS) != (self.records_request is not None):
            raise ValidationError.of("records_request_state", "$.records_request")
        if self.order is not None and not _order_fits(self.kind, self.order):
            raise ValidationError.of("order_kind_mismatch", "$.order", kind=self.kind.value)

    # -- reading ---------------------------------------------------------------------------
    @property
    def reference(self) -> str:
        """The case id as shown outside the system (e-mails, links): no patient data."""
        return f"Case {self.number}"

    @property
    def latest_plan(self) -> PlanVersion | None:
        return self.plans[-1] if self.plans else None

    def plan(self, number: int) -> PlanVersion | None:
        return self.plans[number - 1] if 0 < number <= len(self.plans) else None

    def quote_of(self, plan_version: int) -> Quote | None:
        """The quote of plan version ``plan_version`` (None: it was not quoted)."""
        return next((q for q in self.quotes if q.plan_version == plan_version), None)

    def invitation(self, invitation_id: UUID) -> EmailInvitation | None:
        return next((i for i in self.invitations if i.invitation_id == invitation_id), None)

    def grant_for(self, account_id: UUID) -> CollaboratorGrant | None:
        for grant in self.collaborators:
            if grant.account_id == account_id:
                return grant
        return None

    @property
    def member_ids(self) -> frozenset[UUID]:
        """The primary doctor and accepted collaborators: who sees the case outside the lab."""
        return frozenset(
            {self.owner_id}
            | {g.account_id for g in self.collaborators if g.status is GrantStatus.ACCEPTED}
        )

    def share(self, share_id: UUID) -> ShareLink | None:
        for link in self.shares:
            if link.share_id == share_id:
                return link
        return None

    @property
    def shipped_phases(self) -> int:
        return len(self.shipments)


def _order_fits(kind: CaseKind, order: object) -> bool:
    from aligner_core.domain.orders import (
        RefinementOrder,
        ReplacementOrder,
        RetainerOrder,
        RevisionOrder,
    )

    expected = {
        CaseKind.REFINEMENT: RefinementOrder,
        CaseKind.RETAINER: RetainerOrder,
        CaseKind.REPLACEMENT: ReplacementOrder,
        CaseKind.REVISION: RevisionOrder,
    }.get(kind)
    return expected is not None and isinstance(order, expected)
