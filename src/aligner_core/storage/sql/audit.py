"""The audit log in SQL: entries are written with the unit of work, listed newest first."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from aligner_core.domain.audit import AuditEntry, AuditFilter
from aligner_core.domain.queries import Page
from aligner_core.storage.sql.columns import encode_time
from aligner_core.storage.sql.dialect import Cursor

if TYPE_CHECKING:
    from aligner_core.storage.sql.unit_of_work import SqlUnitOfWork

__all__ = ["SqlAuditRepository"]

_INSERT = (
    "INSERT INTO audit (entry_id, network_id, at, actor_id, action, case_number, doc) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


class SqlAuditRepository:
    """Who read or erased what (see ``ports.AuditRepository``)."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.added: list[AuditEntry] = []

    def add(self, entry: AuditEntry) -> None:
        self.added.append(entry)

    def list(self, network_id: UUID, query: AuditFilter) -> Page[AuditEntry]:
        clauses: builtins.list[str] = ["network_id = ?"]
        params: builtins.list[Any] = [str(network_id)]
        for column, op, value in (
            ("case_number", "=", query.case_number),
            ("actor_id", "=", str(query.actor_id) if query.actor_id else None),
            ("action", "=", query.action.value if query.action else None),
            ("at", ">=", encode_time(query.since) if query.since else None),
            ("at", "<=", encode_time(query.until) if query.until else None),
        ):
            if value is not None:
                clauses.append(f"{column} {op} ?")
                params.append(value)
        where = " AND ".join(clauses)
        loads = self._uow.storage.converter.document_loads
        with self._uow.session.snapshot("reading the audit log") as cursor:
            total = int(cursor.execute(f"SELECT count(*) FROM audit WHERE {where}", params)
                        .fetchone()[0])  # fmt: skip
            rows = cursor.execute(
                f"SELECT doc FROM audit WHERE {where} ORDER BY at DESC, entry_id DESC "
                "LIMIT ? OFFSET ?",
                [*params, query.limit, query.offset],
            ).fetchall()
        items = tuple(loads(r[0], AuditEntry) for r in rows)
        return Page(items, total, query.offset, query.limit)

    def prepare(self) -> builtins.list[Sequence[Any]]:
        dumps = self._uow.storage.converter.document_dumps
        return [_row(e, dumps(e)) for e in self.added]

    def flush(self, cursor: Cursor, rows: builtins.list[Sequence[Any]]) -> None:
        if rows:
            cursor.executemany(_INSERT, rows)


def _row(entry: AuditEntry, doc: str) -> tuple[Any, ...]:
    actor = str(entry.actor_id) if entry.actor_id else None
    at = encode_time(entry.at)
    return (str(entry.entry_id), str(entry.network_id), at, actor, entry.action.value,
            entry.case_number, doc)  # fmt: skip
