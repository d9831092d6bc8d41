"""What the case list and dashboard ask of storage: scopes, filters, summaries, pages.

The pure functions here (``visible``, ``matches``, ``summarize``, ``sort_key``)
are the reference semantics; the in-memory adapter uses them directly and the
contract suite checks SQL adapters against them.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar
from uuid import UUID

import attrs

from aligner_core.domain.cases import Case, CaseKind, CaseStatus
from aligner_core.domain.fields import Checked, field, integer, items, text
from aligner_core.domain.products import DEFAULT_PRODUCTS
from aligner_core.errors import FieldError, ValidationError

__all__ = [
    "DASHBOARD_STATUSES",
    "MAX_LIMIT",
    "MAX_NUMBER",
    "MAX_OFFSET",
    "MAX_SEARCH_TERMS",
    "CaseFilter",
    "CaseSummary",
    "NameMatch",
    "Page",
    "Scope",
    "SearchTerm",
    "SortKey",
    "cursor_after",
    "matches",
    "name_key",
    "paginate",
    "search_terms",
    "sort_key",
    "storable_text",
    "summarize",
    "visible",
]

T = TypeVar("T")

_CURSOR = re.compile(r"[A-Za-z0-9_-]+")

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


MAX_OFFSET = 100_000
"""The deepest page an offset reaches; deeper pages go by cursor (``CaseFilter.after``)."""
MAX_LIMIT = 500
MAX_NUMBER = 2**63 - 1
"""Case numbers are 64-bit signed integers in every store."""
MAX_NAME = 200
MAX_CURSOR = 512


def _sorted(kind: type[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """One value or several, in any order, as a sorted tuple of ``kind`` members."""

    def convert(value: Any) -> tuple[Any, ...]:
        if value is None:
            return ()
        items = (value,) if isinstance(value, str) else value
        return tuple(sorted({kind(v) for v in items}))

    return convert


def _instant(value: Any) -> Iterable[FieldError]:
    """A datetime that names an instant between the years 1 and 9999 in UTC."""
    if isinstance(value, datetime) and value.utcoffset() is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            yield FieldError.of("out_of_range", min="0001-01-01", max="9999-12-31")


def _cursor_fits(query: CaseFilter) -> Iterable[FieldError]:
    if isinstance(query.after, str) and len(query.after) <= MAX_CURSOR:
        try:
            _decode_cursor(query.after, query.sort, query.descending)
        except ValidationError as e:
            yield from e.errors


def _moment() -> Any:
    return field(default=None, rules=[_instant])


#: The most words of a search box that are matched (the rest are ignored).
MAX_SEARCH_TERMS = 8


@attrs.frozen
class SearchTerm:
    """One word of the search box: the name-word prefix, and the number and products it names."""

    text: str
    number: int | None
    kinds: tuple[CaseKind, ...]


#: What names a kind in the search box: its value and the names of the default catalogue's
#: products of that kind ("metal" finds retainers, "additional" replacements).
_PRODUCT_WORDS: dict[CaseKind, str] = {
    kind: " ".join(
        [
            kind.value.replace("_", " "),
            *(name_key(p.name) for p in DEFAULT_PRODUCTS if p.kind is kind),
        ]
    )
    for kind in CaseKind
}


def search_terms(search: str) -> tuple[SearchTerm, ...]:
    """The words of a search box, each with the case number and the products it may name."""
    found = []
    for word in name_key(search).split()[:MAX_SEARCH_TERMS]:
        digits = word.lstrip("#")
        number = int(digits) if digits.isdigit() and len(digits) <= 18 else None
        kinds = tuple(k for k in CaseKind if word in _PRODUCT_WORDS[k])
        found.append(SearchTerm(word, number, kinds))
    return tuple(found)


def _search_matches(case: Case, terms: Iterable[SearchTerm]) -> bool:
    words = " " + name_key(case.patient.full_name)
    return all(
        (" " + t.text) in words or case.number == t.number or case.kind in t.kinds for t in terms
    )


@attrs.frozen
class CaseFilter(Checked):
    """Case list filters, sort and page. Empty tuples mean 'any'.

    Every field is bounded (``ValidationError`` otherwise). A page starts after
    ``after`` (the ``next_cursor`` of the previous page, for this sort and
    direction), then skips ``offset`` rows; offsets stop at :data:`MAX_OFFSET`,
    cursors go as deep as the list does at the cost of the first page.
    """

    search: str | None = text(
        MAX_NAME,
        blank=True,
        default=None,
        doc="The search box: every word matches the start of a word of the patient's name, "
        "the case number or the product.",
    )
    patient_name: str | None = text(MAX_NAME, blank=True, default=None, doc="Name search.")
    name_match: NameMatch = field(default=NameMatch.PREFIX, converter=NameMatch)
    kinds: tuple[CaseKind, ...] = items(len(CaseKind), default=(), converter=_sorted(CaseKind))
    statuses: tuple[CaseStatus, ...] = items(
        len(CaseStatus), default=(), converter=_sorted(CaseStatus)
    )
    created_from: datetime | None = _moment()
    created_to: datetime | None = _moment()
    updated_from: datetime | None = _moment()
    updated_to: datetime | None = _moment()
    number: int | None = integer(1, MAX_NUMBER, default=None)
    owner_id: UUID | None = field(default=None)
    #: the lab staff member the cases are assigned to; the practice they ship to
    assigned_to: UUID | None = field(default=None, doc="Cases assigned to this account.")
    practice_id: UUID | None = field(default=None, doc="Cases shipping to this practice.")
    mine: bool = field(
        default=False,
        doc="My cases: assigned to me (lab staff) or my own (doctors); the service resolves it "
        "into assigned_to or owner_id before storage sees the filter.",
    )
    sort: SortKey = field(default=SortKey.UPDATED, converter=SortKey)
    descending: bool = field(default=True)
    offset: int = integer(0, MAX_OFFSET, default=0)
    limit: int = integer(1, MAX_LIMIT, default=50)
    after: str | None = text(
        MAX_CURSOR, blank=True, default=None, doc="The next_cursor of the previous page."
    )

    __rules__ = (_cursor_fits,)

    @property
    def name_key(self) -> str | None:
        return name_key(self.patient_name) if self.patient_name else None

    @property
    def search_terms(self) -> tuple[SearchTerm, ...]:
        return search_terms(self.search) if self.search else ()

    @property
    def position(self) -> tuple[Any, int] | None:
        """Where the page starts: the sort value and number of the row before it (or None)."""
        return (
            None if self.after is None else _decode_cursor(self.after, self.sort, self.descending)
        )


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
    #: the doctor's and the lab's display names (filled by the service for the viewer)
    doctor_name: str = ""
    lab_name: str = ""
    #: the practice's own label for the case
    name: str = ""
    #: the lab staff member working on the case, and the practice its aligners ship to
    assigned_to: UUID | None = None
    practice_id: UUID | None = None
    #: their display names (filled by the service for the viewer)
    assignee_name: str = ""
    practice_name: str = ""


@attrs.frozen
class Page(Generic[T]):
    """One page of a list: its rows, how many rows match in all, and where the next page starts.

    ``next_cursor`` is set when rows follow this page; pass it as ``CaseFilter.after``.
    """

    items: tuple[T, ...]
    total: int
    offset: int
    limit: int
    next_cursor: str | None = None

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


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
        name=case.name,
        assigned_to=case.assigned_to,
        practice_id=case.practice.practice_id if case.practice else None,
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
    if query.search and not _search_matches(case, query.search_terms):
        return False
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
        query.assigned_to is None or case.assigned_to == query.assigned_to,
        query.practice_id is None
        or (case.practice is not None and case.practice.practice_id == query.practice_id),
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


def cursor_after(summary: CaseSummary, query: CaseFilter) -> str:
    """The ``next_cursor`` of a page whose last row is ``summary``."""
    value, number = sort_key(summary, query.sort)
    if query.sort is SortKey.NUMBER:
        value = None
    elif isinstance(value, datetime):
        value = _utc_text(value)
    data = json.dumps([query.sort.value, query.descending, value, number], ensure_ascii=False)
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def _utc_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _decode_cursor(text: str, sort: SortKey, descending: bool) -> tuple[Any, int]:
    """The position a cursor names, for a list sorted by ``sort``; ``ValidationError`` if none."""
    problem = ValidationError.of("invalid_cursor", "$.after", subject="CaseFilter", sort=sort.value)
    if not _CURSOR.fullmatch(text):
        raise problem
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        kind, reverse, value, number = data
    except (ValueError, TypeError):
        raise problem from None
    if (
        kind != sort.value
        or reverse is not descending
        or isinstance(number, bool)
        or not isinstance(number, int)
        or not 1 <= number <= MAX_NUMBER
        or not _position_value_fits(sort, value)
    ):
        raise problem
    if sort is SortKey.NUMBER:
        value = number
    elif sort in (SortKey.CREATED, SortKey.UPDATED):
        value = datetime.fromisoformat(value)
    return value, number


def _position_value_fits(sort: SortKey, value: Any) -> bool:
    if sort is SortKey.NUMBER:
        return value is None
    if not isinstance(value, str) or len(value) > 4 * MAX_NAME or not storable_text(value):
        return False
    if sort is SortKey.STATUS:
        return value in CaseStatus._value2member_map_
    if sort is SortKey.PATIENT:
        return True
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return False
    return moment.utcoffset() == timedelta(0) and _utc_text(moment) == value


def storable_text(text: str) -> bool:
    """Text every store can hold: no NUL, no lone surrogate (stored text never has them)."""
    return "\x00" not in text and (text.isascii() or _encodable(text))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _beyond(key: tuple[Any, int], position: tuple[Any, int], descending: bool) -> bool:
    return key < position if descending else key > position


def paginate(rows: Sequence[CaseSummary], query: CaseFilter) -> Page[CaseSummary]:
    """The reference page: sorted with ``sort_key``, after the cursor, then offset and limit."""
    ordered = sorted(rows, key=lambda s: sort_key(s, query.sort), reverse=query.descending)
    total = len(ordered)
    position = query.position
    if position is not None:
        ordered = [
            s for s in ordered if _beyond(sort_key(s, query.sort), position, query.descending)
        ]
    window = ordered[query.offset : query.offset + query.limit]
    more = len(ordered) > query.offset + query.limit
    cursor = cursor_after(window[-1], query) if more else None
    return Page(tuple(window), total, query.offset, query.limit, cursor)
