"""What the case list and dashboard ask of storage: scopes, filters, summaries, pages.

The pure functions here (``visible``, ``matches``, ``summarize``, ``sort_key``)
are the reference semantics; the in-memory adapter uses them directly and the
contract suite checks SQL adapters against them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar
from uuid import UUID

import attrs

from aligner_core.domain._checks import non_negative_int, positive
from aligner_core.domain.cases import Case, CaseKind, CaseStatus
from aligner_core.errors import ValidationError

__all__ = [
    "DASHBOARD_STATUSES",
    "CaseFilter",
    "CaseSummary",
    "NameMatch",
    "Page",
    "Scope",
    "SortKey",
    "matches",
    "name_key",
    "sort_key",
    "summarize",
    "visible",
]

T = TypeVar("T")

DASHBOARD_STATUSES = (
    CaseStatus.DRAFT,
    CaseStatus.IN_PLANNING,
    CaseStatus.WAITING_FOR_APPROVAL,
    CaseStatus.PLAN_REJECTED,
    CaseStatus.IN_PRODUCTION,
    CaseStatus.SHIPPED,
)


def name_key(text: str) -> str:
    """The form patient names are searched in: casefolded, single spaces."""
    return " ".join(text.casefold().split())


@attrs.frozen
class Scope:
    """Which cases a viewer may see: a whole network, cases they are a member of, or both.

    ``member_id``: the cases someone owns or collaborates on (any network); a
    doctor's scope. ``network_id``: every case of the network; lab staff and
    admins have both (their network plus cases of other networks shared with
    them). ``everything``: no restriction (maintenance tools and tests only).
    """

    network_id: UUID | None = None
    member_id: UUID | None = None
    everything: bool = False

    def __attrs_post_init__(self) -> None:
        if not self.everything and self.network_id is None and self.member_id is None:
            raise ValidationError.of("scope_needed")


class NameMatch(StrEnum):
    PREFIX = "prefix"
    SUBSTRING = "substring"


class SortKey(StrEnum):
    NUMBER = "number"
    CREATED = "created_at"
    UPDATED = "updated_at"
    STATUS = "status"
    PATIENT = "patient_name"


def _kinds(value: Any) -> tuple[CaseKind, ...]:
    """One kind or several, in any order, as a sorted tuple."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (CaseKind(value),)
    return tuple(sorted({CaseKind(v) for v in value}))


def _statuses(value: Any) -> tuple[CaseStatus, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (CaseStatus(value),)
    return tuple(sorted({CaseStatus(v) for v in value}))


@attrs.frozen
class CaseFilter:
    """Case list filters, sort and page. Empty tuples mean 'any'."""

    patient_name: str | None = None
    name_match: NameMatch = NameMatch.PREFIX
    kinds: tuple[CaseKind, ...] = attrs.field(default=(), converter=_kinds)
    statuses: tuple[CaseStatus, ...] = attrs.field(default=(), converter=_statuses)
    created_from: datetime | None = None
    created_to: datetime | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    number: int | None = attrs.field(default=None, validator=positive)
    owner_id: UUID | None = None
    sort: SortKey = SortKey.UPDATED
    descending: bool = True
    offset: int = attrs.field(default=0, validator=non_negative_int)
    limit: int = attrs.field(default=50, validator=positive)

    def __attrs_post_init__(self) -> None:
        if self.limit > 500:
            raise ValidationError.of("page_limit", "$.limit", max=500)

    @property
    def name_key(self) -> str | None:
        return name_key(self.patient_name) if self.patient_name else None


@attrs.frozen
class CaseSummary:
    """A row of the case list. The patient's name is for the practice's own screens."""

    case_id: UUID
    number: int
    kind: CaseKind
    status: CaseStatus
    patient_name: str
    owner_id: UUID
    network_id: UUID
    created_at: datetime
    updated_at: datetime
    accepted_at: datetime | None
    version: int


@attrs.frozen
class Page(Generic[T]):
    items: tuple[T, ...]
    total: int
    offset: int
    limit: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total


def summarize(case: Case) -> CaseSummary:
    return CaseSummary(
        case_id=case.case_id,
        number=case.number,
        kind=case.kind,
        status=case.status,
        patient_name=case.patient.full_name,
        owner_id=case.owner_id,
        network_id=case.network_id,
        created_at=case.created_at,
        updated_at=case.updated_at,
        accepted_at=case.accepted_at,
        version=case.version,
    )


def visible(case: Case, scope: Scope) -> bool:
    """Deleted drafts are in no list; otherwise the scope decides."""
    if case.status is CaseStatus.DELETED:
        return False
    if scope.everything:
        return True
    if scope.member_id is not None and scope.member_id in case.member_ids:
        return True
    return scope.network_id is not None and scope.network_id == case.network_id


def matches(case: Case, query: CaseFilter) -> bool:
    key = query.name_key
    if key:
        name = name_key(case.patient.full_name)
        if query.name_match is NameMatch.PREFIX and not name.startswith(key):
            return False
        if query.name_match is NameMatch.SUBSTRING and key not in name:
            return False
    checks = (
        not query.kinds or case.kind in query.kinds,
        not query.statuses or case.status in query.statuses,
        query.created_from is None or case.created_at >= query.created_from,
        query.created_to is None or case.created_at <= query.created_to,
        query.updated_from is None or case.updated_at >= query.updated_from,
        query.updated_to is None or case.updated_at <= query.updated_to,
        query.number is None or case.number == query.number,
        query.owner_id is None or case.owner_id == query.owner_id,
    )
    return all(checks)


def sort_key(summary: CaseSummary, key: SortKey) -> tuple[Any, ...]:
    """Sort value with the case number as tie-breaker, so pages are stable."""
    value: Any
    if key is SortKey.NUMBER:
        value = summary.number
    elif key is SortKey.CREATED:
        value = summary.created_at
    elif key is SortKey.UPDATED:
        value = summary.updated_at
    elif key is SortKey.STATUS:
        value = summary.status.value
    else:
        value = name_key(summary.patient_name)
    return (value, summary.number)


def paginate(rows: Sequence[CaseSummary], query: CaseFilter) -> Page[CaseSummary]:
    ordered = sorted(rows, key=lambda s: sort_key(s, query.sort), reverse=query.descending)
    window = ordered[query.offset : query.offset + query.limit]
    return Page(tuple(window), len(ordered), query.offset, query.limit)
