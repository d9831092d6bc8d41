"""The case list and the dashboard in SQL, with the semantics of ``domain.queries``.

A scope is split into disjoint *arms* that an index each serves: the cases of
a network, the cases someone owns outside it, the cases shared with them
outside it. A page takes the first rows of every arm in index order (after
the cursor) and merges them, so page 5,000 by cursor costs what page 1 does.
Totals and dashboard counts come from the kept counts where no filter but the
statuses applies; otherwise from ``count(*)`` over the same arms.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import attrs

from aligner_core.domain.cases import CaseStatus
from aligner_core.domain.queries import MAX_NUMBER, CaseFilter, NameMatch, Scope, SortKey
from aligner_core.storage.sql.columns import (
    SORT_COLUMNS,
    SUMMARY_COLUMNS,
    encode_time,
    prefix_upper_bound,
)

__all__ = [
    "COUNTS_UPSERT",
    "Arm",
    "Statement",
    "counts_statement",
    "page_statement",
    "total_statement",
]

#: SQL and its parameters.
Statement = tuple[str, list[Any]]

_LIKE_SPECIAL = re.compile(r"[\\%_]")

_SHARED = "number IN (SELECT number FROM case_members WHERE account_id = ?)"

#: Adds (network, owner, status, change) to the kept counts (the same upsert in both dialects).
COUNTS_UPSERT = (
    "INSERT INTO case_counts (network_id, owner_id, status, n) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (network_id, owner_id, status) DO UPDATE SET n = case_counts.n + excluded.n"
)


@attrs.frozen
class Arm:
    """One disjoint part of a scope: ``WHERE`` clauses on the cases table."""

    clauses: tuple[str, ...]
    params: tuple[Any, ...]
    #: "network", "owner", "shared" or "everything": how the kept counts serve it
    part: str


def arms(scope: Scope) -> list[Arm]:
    """The scope as disjoint arms (their union is ``domain.queries.visible``)."""
    if scope.everything:
        return [Arm((), (), "everything")]
    found: list[Arm] = []
    outside: tuple[tuple[str, ...], tuple[Any, ...]] = ((), ())
    if scope.network_id is not None:
        net = str(scope.network_id)
        found.append(Arm(("network_id = ?",), (net,), "network"))
        outside = (("network_id <> ?",), (net,))
    if scope.member_id is not None:
        member = str(scope.member_id)
        found.append(Arm(("owner_id = ?", *outside[0]), (member, *outside[1]), "owner"))
        found.append(Arm((_SHARED, *outside[0]), (member, *outside[1]), "shared"))
    return found


def filters(query: CaseFilter, substring: Statement | None) -> tuple[list[str], list[Any]]:
    """``WHERE`` clauses for ``matches`` (deleted drafts excluded); ``substring`` by the dialect."""
    clauses = ["status <> ?"]
    params: list[Any] = [CaseStatus.DELETED.value]
    key = query.name_key
    if key and query.name_match is NameMatch.PREFIX:
        clauses.append("name_key >= ?")
        params.append(key)
        bound = prefix_upper_bound(key)
        if bound is not None:
            clauses.append("name_key < ?")
            params.append(bound)
    if key and query.name_match is NameMatch.SUBSTRING and substring is not None:
        clauses.append(substring[0])
        params.extend(substring[1])
    for term in query.search_terms:
        either = ["(' ' || name_key) LIKE ? ESCAPE '\\'"]
        params.append("% " + _LIKE_SPECIAL.sub(r"\\\g<0>", term.text) + "%")
        if term.number is not None and term.number <= MAX_NUMBER:
            either.append("number = ?")
            params.append(term.number)
        if term.kinds:
            either.append(f"kind IN ({', '.join('?' * len(term.kinds))})")
            params.extend(k.value for k in term.kinds)
        clauses.append(f"({' OR '.join(either)})")
    for column, values in (("kind", query.kinds), ("status", query.statuses)):
        if values:
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(v.value for v in values)
    for column, op, value in (
        ("created_at", ">=", query.created_from),
        ("created_at", "<=", query.created_to),
        ("updated_at", ">=", query.updated_from),
        ("updated_at", "<=", query.updated_to),
    ):
        if value is not None:
            clauses.append(f"{column} {op} ?")
            params.append(encode_time(value))
    if query.number is not None:
        clauses.append("number = ?")
        params.append(query.number)
    for column, account in (
        ("owner_id", query.owner_id),
        ("assigned_to", query.assigned_to),
        ("practice_id", query.practice_id),
    ):
        if account is not None:
            clauses.append(f"{column} = ?")
            params.append(str(account))
    return clauses, params


def order_by(query: CaseFilter) -> str:
    """``ORDER BY`` matching ``paginate``: the sort column, then the case number."""
    direction = "DESC" if query.descending else "ASC"
    column = SORT_COLUMNS[query.sort]
    if column == "number":
        return f"number {direction}"
    return f"{column} {direction}, number {direction}"


def keyset(query: CaseFilter) -> tuple[list[str], list[Any]]:
    """The clause that starts a page after ``query.after`` (none without a cursor)."""
    position = query.position
    if position is None:
        return [], []
    op = "<" if query.descending else ">"
    value, number = position
    if query.sort is SortKey.NUMBER:
        return [f"number {op} ?"], [number]
    if query.sort in (SortKey.CREATED, SortKey.UPDATED):
        value = encode_time(value)
    return [f"({SORT_COLUMNS[query.sort]}, number) {op} (?, ?)"], [value, number]


def _where(clauses: Sequence[str]) -> str:
    return " AND ".join(clauses) if clauses else "1 = 1"


def page_statement(scope: Scope, query: CaseFilter, substring: Statement | None) -> Statement:
    """One page and one row more, to know whether another follows (summary columns, name key)."""
    common, common_params = filters(query, substring)
    after, after_params = keyset(query)
    order = order_by(query)
    parts: list[str] = []
    params: list[Any] = []
    for arm in arms(scope):
        where = _where([*arm.clauses, *common, *after])
        parts.append(
            f"SELECT {SUMMARY_COLUMNS}, name_key FROM cases WHERE {where} ORDER BY {order}"
        )
        params.extend([*arm.params, *common_params, *after_params])
    if len(parts) == 1:
        return f"{parts[0]} LIMIT ? OFFSET ?", [*params, query.limit + 1, query.offset]
    reach = query.offset + query.limit + 1
    merged = " UNION ALL ".join(f"SELECT * FROM ({p} LIMIT {reach}) AS arm{i}" for i, p in
                                enumerate(parts))  # fmt: skip
    return f"SELECT * FROM ({merged}) AS page ORDER BY {order} LIMIT ? OFFSET ?", [
        *params,
        query.limit + 1,
        query.offset,
    ]


def countable(query: CaseFilter) -> bool:
    """Whether the kept counts answer the total (no filter but the statuses)."""
    return not (
        query.search
        or query.name_key
        or query.kinds
        or query.number is not None
        or query.owner_id is not None
        or query.assigned_to is not None
        or query.practice_id is not None
        or any(
            t is not None
            for t in (query.created_from, query.created_to, query.updated_from, query.updated_to)
        )
    )


def total_statement(scope: Scope, query: CaseFilter, substring: Statement | None) -> Statement:
    """How many visible cases match ``query`` (cursor and page aside): one row, one number."""
    common, common_params = filters(query, substring)
    parts: list[str] = []
    params: list[Any] = []
    for arm in arms(scope):
        parts.append(f"(SELECT count(*) FROM cases WHERE {_where([*arm.clauses, *common])})")
        params.extend([*arm.params, *common_params])
    return "SELECT " + " + ".join(parts), params


def counts_statement(
    scope: Scope, query: CaseFilter | None = None, substring: Statement | None = None
) -> Statement:
    """(status, number) rows whose sums per status are the dashboard of ``scope``.

    Networks and owners come from the kept counts; shared cases from the members table;
    a ``query`` that filters by more than statuses counts its matching rows.
    """
    parts: list[str] = []
    params: list[Any] = []
    if query is not None and not countable(query):
        clauses, values = filters(query, substring)
        for arm in arms(scope):
            where = _where([*arm.clauses, *clauses])
            parts.append(f"SELECT status, count(*) AS n FROM cases WHERE {where} GROUP BY status")
            params.extend([*arm.params, *values])
        return " UNION ALL ".join(parts), params
    statuses = [s.value for s in query.statuses] if query is not None else []
    only = [f"status IN ({', '.join('?' * len(statuses))})"] if statuses else []
    for arm in arms(scope):
        where = _where([*arm.clauses, *only])
        if arm.part == "shared":
            parts.append(f"SELECT status, count(*) AS n FROM cases WHERE {where} GROUP BY status")
        else:
            parts.append(
                f"SELECT status, sum(n) AS n FROM case_counts WHERE {where} GROUP BY status"
            )
        params.extend([*arm.params, *statuses])
    return " UNION ALL ".join(parts), params
