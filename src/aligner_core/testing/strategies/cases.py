"""Strategies for a case and its parts (comments, shipments, links, history, holds)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from hypothesis import strategies as st

from aligner_core.domain.cases import (
    ACTIVE_STATUSES,
    Case,
    CaseKind,
    CaseStatus,
    Comment,
    Deadline,
    HistoryEntry,
    Hold,
    RecordsRequest,
    ShareLink,
    Shipment,
)
from aligner_core.domain.deadlines import Stage
from aligner_core.domain.products import DEFAULT_PRODUCTS
from aligner_core.domain.records import FileKind
from aligner_core.testing.strategies._common import (
    DETAILS,
    after,
    aware_datetimes,
    dates,
    optional,
    small_tuples,
    text,
)
from aligner_core.testing.strategies.accounts import (
    collaborator_grants,
    email_invitations,
    practices,
)
from aligner_core.testing.strategies.orders import _ORDERS_OF_KIND
from aligner_core.testing.strategies.plans import plan_versions
from aligner_core.testing.strategies.prescriptions import patients, treatment_requests
from aligner_core.testing.strategies.records import records
from aligner_core.testing.strategies.teeth import tooth_charts

T = TypeVar("T")


def comments() -> st.SearchStrategy[Comment]:
    return st.builds(
        Comment,
        comment_id=st.uuids(),
        author_id=st.uuids(),
        at=aware_datetimes(),
        text=text(10_000, blank=False),
        from_lab=st.booleans(),
    )


@st.composite
def shipments(draw: st.DrawFn) -> Shipment:
    shipped = draw(aware_datetimes())
    return Shipment(
        shipment_id=draw(st.uuids()),
        carrier=draw(st.sampled_from(["DHL", "UPS", "FedEx", "La Poste"]) | text(80, blank=False)),
        tracking_number=draw(
            st.text(st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"), min_size=8, max_size=30)
            | text(80, blank=False)
        ),
        phase=draw(st.integers(1, 10)),
        final=draw(st.booleans()),
        shipped_at=shipped,
        delivered_at=draw(optional(after(shipped, 30))),
    )


@st.composite
def share_links(draw: st.DrawFn, plan_version: int | None = None) -> ShareLink:
    created = draw(aware_datetimes())
    return ShareLink(
        share_id=draw(st.uuids()),
        plan_version=plan_version if plan_version is not None else draw(st.integers(1, 20)),
        created_by=draw(st.uuids()),
        created_at=created,
        expires_at=draw(after(created + timedelta(hours=1), 90)),
        revoked_at=draw(optional(after(created, 30))),
    )


def history_entries() -> st.SearchStrategy[HistoryEntry]:
    return st.builds(
        HistoryEntry,
        at=aware_datetimes(),
        actor_id=st.uuids(),
        action=st.sampled_from(["create", "submit", "accept", "upload_plan", "hold"]) | text(60),
        from_status=optional(st.sampled_from(CaseStatus)),
        to_status=st.sampled_from(CaseStatus),
        details=DETAILS,
    )


def holds() -> st.SearchStrategy[Hold]:
    return st.builds(
        Hold,
        reason=text(2000, blank=False),
        left_status=st.sampled_from(sorted(ACTIVE_STATUSES)),
        since=aware_datetimes(),
    )


def records_requests() -> st.SearchStrategy[RecordsRequest]:
    return st.builds(
        RecordsRequest,
        kinds=st.lists(st.sampled_from(FileKind), min_size=1, max_size=3, unique=True).map(tuple),
        reason=text(2000, blank=False),
        requested_by=st.uuids(),
        requested_at=aware_datetimes(),
        left_status=st.sampled_from(
            [CaseStatus.AWAITING_IMPRESSIONS, CaseStatus.LAB_REVIEW, CaseStatus.IN_PLANNING]
        ),
    )


@st.composite
def deadlines(draw: st.DrawFn) -> Deadline:
    due = draw(dates())
    return Deadline(
        stage=draw(st.sampled_from([s.value for s in Stage])),
        due=due,
        paused_since=draw(optional(dates(max_value=due))),
    )


@st.composite
def cases(
    draw: st.DrawFn,
    *,
    kinds: Sequence[CaseKind] = tuple(CaseKind),
    statuses: Sequence[CaseStatus] = tuple(CaseStatus),
    max_items: int = 2,
) -> Case:
    """A whole case respecting its invariants, with at most ``max_items`` of each collection.

    Plans are numbered 1..N, a hold is recorded exactly when the status is ``on_hold``, the
    order details (if any) fit the case kind, follow-ups name a parent case, and timestamps
    run forward from ``created_at``.
    """
    kind = draw(st.sampled_from(kinds))
    status = draw(st.sampled_from(statuses))
    created = draw(aware_datetimes(max_value=datetime(2099, 1, 1)))
    updated = draw(after(created, 300))
    plans = (
        tuple(
            draw(plan_versions(n, max_steps=3))
            for n in range(1, draw(st.integers(0, max_items)) + 1)
        )
        if kind.is_planned
        else ()
    )
    order_strategy = _ORDERS_OF_KIND.get(kind)
    items = max_items
    return Case(
        case_id=draw(st.uuids()),
        number=draw(st.integers(1, 10**9)),
        kind=kind,
        network_id=draw(st.uuids()),
        owner_id=draw(st.uuids()),
        patient=draw(patients()),
        created_at=created,
        updated_at=updated,
        status=status,
        request=draw(optional(treatment_requests())) if order_strategy is None else None,
        chart=draw(tooth_charts(max_marks=4)),
        records=draw(records(max_files=items)),
        order=draw(optional(order_strategy)) if order_strategy is not None else None,
        parent_id=draw(st.uuids()) if order_strategy is not None else None,
        plans=plans,
        comments=draw(small_tuples(comments(), items)),
        shipments=draw(small_tuples(shipments(), items)),
        collaborators=draw(
            st.lists(collaborator_grants(), max_size=items, unique_by=lambda g: g.account_id).map(
                tuple
            )
        ),
        invitations=draw(
            st.lists(email_invitations(), max_size=2, unique_by=lambda i: i.invitation_id).map(
                tuple
            )
        ),
        shares=(
            draw(small_tuples(st.integers(1, len(plans)).flatmap(share_links), items))
            if plans
            else ()
        ),
        history=draw(small_tuples(history_entries(), items)),
        hold=draw(holds()) if status is CaseStatus.ON_HOLD else None,
        records_request=(
            draw(records_requests()) if status is CaseStatus.AWAITING_RECORDS else None
        ),
        deadline=draw(optional(deadlines())),
        assigned_to=draw(optional(st.uuids())),
        practice=draw(optional(practices())),
        product=draw(optional(st.sampled_from([p.code for p in DEFAULT_PRODUCTS]))),
        submitted_at=draw(optional(after(created, 30))),
        accepted_at=draw(optional(after(created, 60))),
        version=draw(st.integers(1, 1000)),
    )
