"""The columns of stored cases: what is indexed beside each JSON document, and its encodings.

Times are fixed-width ISO 8601 UTC text (text order is time order); a dialect
may store them in a native type, and rows read back are decoded whichever way
they come (``as_uuid``, ``as_time``). Nothing here touches a driver.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import attrs

from aligner_core.domain.cases import Case, CaseKind, CaseStatus
from aligner_core.domain.queries import CaseSummary, SortKey, name_key
from aligner_core.errors import ValidationError

__all__ = [
    "CASE_COLUMNS",
    "SORT_COLUMNS",
    "SUMMARY_COLUMNS",
    "CaseRow",
    "as_time",
    "as_uuid",
    "case_row",
    "check_document",
    "column_values",
    "count_of",
    "decode_time",
    "encode_time",
    "load_summary",
    "prefix_upper_bound",
]

_MAX_CHAR = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)

#: The column each sort key orders by (the case number is always the tie-breaker).
SORT_COLUMNS: dict[SortKey, str] = {
    SortKey.NUMBER: "number",
    SortKey.CREATED: "created_at",
    SortKey.UPDATED: "updated_at",
    SortKey.STATUS: "status",
    SortKey.PATIENT: "name_key",
}


def encode_time(value: datetime) -> str:
    """Fixed-width ISO 8601 UTC text, so that text order is time order.

    Raises ``ValidationError`` for a naive datetime (it names no instant) or one
    whose UTC time is outside the years 1 to 9999.
    """
    if value.utcoffset() is None:
        raise ValidationError.of("naive_datetime", "$")
    try:
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    except OverflowError:
        raise ValidationError.of("out_of_range", "$", min="0001", max="9999") from None


def decode_time(text: str | None) -> datetime | None:
    """The inverse of :func:`encode_time` (``None`` stays ``None``)."""
    return None if text is None else datetime.fromisoformat(text)


def as_time(value: datetime | str | None) -> datetime | None:
    """A stored time as a datetime, whether the driver gave text or a datetime."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def as_uuid(value: UUID | str) -> UUID:
    """A stored id as a UUID, whether the driver gave text or a UUID."""
    return value if isinstance(value, UUID) else UUID(value)


#: ``\u0000`` in JSON text that is not itself an escaped backslash: a NUL in the document.
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def check_document(doc: str) -> str:
    """``doc`` unless it holds a NUL, which no database stores alike (``ValidationError``).

    Lone surrogates fail when the driver encodes the text (also a ``ValidationError``).
    """
    if "\\u0000" in doc and _NUL.search(doc):
        raise ValidationError.of("not_storable", "$")
    return doc


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix``.

    ``key >= prefix AND key < bound`` is then exactly ``key.startswith(prefix)`` in
    code point order (which is UTF-8 byte order, what SQLite's BINARY collation
    and PostgreSQL's ``COLLATE "C"`` compare). ``None`` means "no upper bound"
    (the prefix is all U+10FFFF). Surrogates are skipped: no stored text has them.
    """
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < _MAX_CHAR:
            nxt = last + 1
            if nxt in _SURROGATES:
                nxt = _SURROGATES.stop
            return "".join(chars) + chr(nxt)
    return None


@attrs.frozen
class CaseRow:
    """The indexed columns of a stored case (the JSON document holds everything)."""

    case_id: str
    number: int
    version: int
    status: str
    kind: str
    owner_id: str
    network_id: str
    name_key: str
    patient_name: str
    created_at: str
    updated_at: str
    accepted_at: str | None
    patient_id: str
    case_name: str
    #: the lab staff member assigned, the practice shipped to (schema 6)
    assigned_to: str | None
    practice_id: str | None
    #: the owner and accepted collaborators (``Case.member_ids``)
    member_ids: tuple[str, ...]
    #: accepted collaborators (the owner is not repeated): the members table of the doctor scope
    collaborator_ids: tuple[str, ...]

    @property
    def count_key(self) -> tuple[str, str, str]:
        """The dashboard count this case adds to (network, owner, status)."""
        return count_of(self)

    def values(self, doc: str) -> tuple[Any, ...]:
        """The stored column values in ``CASE_COLUMNS`` order, the document last."""
        return (*column_values(self), doc)


#: The columns of the cases table both SQL adapters write, in ``CaseRow.values`` order.
CASE_COLUMNS = (
    "case_id", "number", "version", "status", "kind", "owner_id", "network_id", "name_key",
    "patient_name", "created_at", "updated_at", "accepted_at", "patient_id", "case_name",
    "assigned_to", "practice_id", "doc",
)  # fmt: skip
#: A row's column values but the document, as one tuple (C speed, for bulk imports).
column_values: Callable[[CaseRow], tuple[Any, ...]] = operator.attrgetter(*CASE_COLUMNS[:-1])
#: A row's dashboard count key (network, owner, status).
count_of: Callable[[CaseRow], tuple[str, str, str]] = operator.attrgetter(
    "network_id", "owner_id", "status"
)


#: The columns of a case list row, in ``load_summary`` order.
SUMMARY_COLUMNS = (
    "case_id, number, kind, status, patient_name, owner_id, network_id, "
    "created_at, updated_at, accepted_at, version, case_name, assigned_to, practice_id"
)


def load_summary(row: Sequence[Any]) -> CaseSummary:
    """A list row (``SUMMARY_COLUMNS``) as a ``CaseSummary``."""
    created, updated = as_time(row[7]), as_time(row[8])
    assert created is not None and updated is not None
    return CaseSummary(
        case_id=as_uuid(row[0]),
        number=row[1],
        kind=CaseKind(row[2]),
        status=CaseStatus(row[3]),
        patient_name=row[4],
        owner_id=as_uuid(row[5]),
        network_id=as_uuid(row[6]),
        created_at=created,
        updated_at=updated,
        accepted_at=as_time(row[9]),
        version=row[10],
        name=row[11],
        assigned_to=None if row[12] is None else as_uuid(row[12]),
        practice_id=None if row[13] is None else as_uuid(row[13]),
    )


def case_row(case: Case) -> CaseRow:
    """The column values of ``case``, as the SQL adapters store them."""
    return CaseRow(
        case_id=str(case.case_id),
        number=case.number,
        version=case.version,
        status=case.status.value,
        kind=case.kind.value,
        owner_id=str(case.owner_id),
        network_id=str(case.network_id),
        name_key=name_key(case.patient.full_name),
        patient_name=case.patient.full_name,
        created_at=encode_time(case.created_at),
        updated_at=encode_time(case.updated_at),
        accepted_at=encode_time(case.accepted_at) if case.accepted_at else None,
        patient_id=str(case.patient.patient_id),
        case_name=case.name,
        assigned_to=None if case.assigned_to is None else str(case.assigned_to),
        practice_id=None if case.practice is None else str(case.practice.practice_id),
        member_ids=tuple(sorted(str(m) for m in case.member_ids)),
        collaborator_ids=tuple(sorted(str(m) for m in case.member_ids - {case.owner_id})),
    )
