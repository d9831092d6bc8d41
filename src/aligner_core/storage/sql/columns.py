"""Pure helpers shared by the SQL storage adapters (SQLite, PostgreSQL).

They turn the reference semantics of :mod:`aligner_core.domain.queries` into
column values and ``WHERE``/``ORDER BY`` fragments, so that every SQL adapter
filters, sorts and pages exactly like ``matches`` + ``paginate``. Nothing here
touches a driver; the placeholder style (``?`` or ``%s``) is a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from aligner_core.domain.cases import Case, CaseStatus
from aligner_core.domain.queries import CaseFilter, NameMatch, Scope, SortKey, name_key
from aligner_core.errors import ValidationError

__all__ = [
    "SORT_COLUMNS",
    "CaseRow",
    "case_row",
    "decode_time",
    "encode_time",
    "filter_clauses",
    "order_by",
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

    Raises ``ValidationError`` for a naive datetime (it names no instant).
    """
    if value.utcoffset() is None:
        raise ValidationError.single("a datetime needs a time zone", "$")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def decode_time(text: str | None) -> datetime | None:
    """The inverse of :func:`encode_time` (``None`` stays ``None``)."""
    return None if text is None else datetime.fromisoformat(text)


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
    #: the owner and accepted collaborators (``Case.member_ids``)
    member_ids: tuple[str, ...]
    #: accepted collaborators (the owner is not repeated): the members table of the doctor scope
    collaborator_ids: tuple[str, ...]

    def values(self, doc: str) -> tuple[Any, ...]:
        """The stored column values in ``CASE_COLUMNS`` order, the document last."""
        return (
            self.case_id, self.number, self.version, self.status, self.kind, self.owner_id,
            self.network_id, self.name_key, self.patient_name, self.created_at, self.updated_at,
            self.accepted_at, doc,
        )  # fmt: skip


#: The columns of the cases table both SQL adapters write, in ``CaseRow.values`` order.
CASE_COLUMNS = (
    "case_id", "number", "version", "status", "kind", "owner_id", "network_id", "name_key",
    "patient_name", "created_at", "updated_at", "accepted_at", "doc",
)  # fmt: skip


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
        member_ids=tuple(sorted(str(m) for m in case.member_ids)),
        collaborator_ids=tuple(sorted(str(m) for m in case.member_ids - {case.owner_id})),
    )


def _in(column: str, values: Sequence[str], ph: str) -> str:
    return f"{column} IN ({', '.join([ph] * len(values))})"


def filter_clauses(
    scope: Scope, query: CaseFilter | None, *, ph: str = "?", members: str = "case_members"
) -> tuple[list[str], list[Any]]:
    """``WHERE`` clauses (joined with AND) and their parameters for ``visible`` + ``matches``.

    The substring name match is left to the adapter (its index differs); the
    prefix match is a range on ``name_key``, which an ordinary index serves.
    Columns are unqualified; ``members`` is the (case number, account id) table. Owners
    are matched on ``owner_id`` too, so the table may hold only accepted collaborators
    (``CaseRow.collaborator_ids``, what SQLite stores) or every member (``member_ids``).
    """
    clauses = [f"status <> {ph}"]
    params: list[Any] = [CaseStatus.DELETED.value]
    if not scope.everything:
        either: list[str] = []
        if scope.member_id is not None:
            either.append(
                f"owner_id = {ph} OR number IN "
                f"(SELECT number FROM {members} WHERE account_id = {ph})"
            )
            params.extend([str(scope.member_id)] * 2)
        if scope.network_id is not None:
            either.append(f"network_id = {ph}")
            params.append(str(scope.network_id))
        clauses.append("(" + " OR ".join(either) + ")")
    if query is None:
        return clauses, params
    key = query.name_key
    if key and query.name_match is NameMatch.PREFIX:
        clauses.append(f"name_key >= {ph}")
        params.append(key)
        bound = prefix_upper_bound(key)
        if bound is not None:
            clauses.append(f"name_key < {ph}")
            params.append(bound)
    if query.kinds:
        clauses.append(_in("kind", query.kinds, ph))
        params.extend(k.value for k in query.kinds)
    if query.statuses:
        clauses.append(_in("status", query.statuses, ph))
        params.extend(s.value for s in query.statuses)
    for column, op, value in (
        ("created_at", ">=", query.created_from),
        ("created_at", "<=", query.created_to),
        ("updated_at", ">=", query.updated_from),
        ("updated_at", "<=", query.updated_to),
    ):
        if value is not None:
            clauses.append(f"{column} {op} {ph}")
            params.append(encode_time(value))
    if query.number is not None:
        clauses.append(f"number = {ph}")
        params.append(query.number)
    if query.owner_id is not None:
        clauses.append(f"owner_id = {ph}")
        params.append(str(query.owner_id))
    return clauses, params


def order_by(query: CaseFilter) -> str:
    """``ORDER BY`` matching ``paginate``: the sort column, then the case number."""
    direction = "DESC" if query.descending else "ASC"
    column = SORT_COLUMNS[query.sort]
    if column == "number":
        return f"number {direction}"
    return f"{column} {direction}, number {direction}"
