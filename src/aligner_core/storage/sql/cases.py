"""Cases in SQL: reads through the document memo, versioned writes of what changed."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import attrs

from aligner_core.domain.cases import Case, CaseStatus
from aligner_core.domain.metrics import CaseMoments
from aligner_core.domain.queries import (
    CaseFilter,
    CaseSummary,
    NameMatch,
    Page,
    Scope,
    cursor_after,
    storable_text,
)
from aligner_core.errors import ConcurrencyConflictError, NotFoundError, ValidationError
from aligner_core.storage._counts import CountKey, count_changes, tally
from aligner_core.storage._pending import PendingCases, fits
from aligner_core.storage.sql import listing
from aligner_core.storage.sql.columns import (
    CASE_COLUMNS,
    CaseRow,
    as_time,
    as_uuid,
    case_row,
    check_document,
    decode_time,
    encode_time,
    load_summary,
)
from aligner_core.storage.sql.dialect import Cursor

if TYPE_CHECKING:
    from aligner_core.storage.sql.unit_of_work import SqlUnitOfWork

__all__ = ["SqlCaseRepository"]

_INSERT = (
    f"INSERT INTO cases ({', '.join(CASE_COLUMNS)}) VALUES ({', '.join('?' * len(CASE_COLUMNS))})"
)
_MEMBERS_ADD = "INSERT INTO case_members (number, account_id) VALUES (?, ?)"
_MEMBERS_DROP = "DELETE FROM case_members WHERE number = ? AND account_id = ?"
#: Columns an update may change (case_id and number never do), in ``CaseRow`` names.
_CHANGING = (
    "status", "kind", "owner_id", "network_id", "name_key", "patient_name",
    "created_at", "updated_at", "accepted_at", "case_name", "assigned_to", "practice_id",
)  # fmt: skip


@attrs.frozen
class _Write:
    """A queued case ready to store: its columns, its document, and what it was."""

    case: Case
    row: CaseRow
    doc: str
    new: bool
    #: the row as this unit of work loaded it, when it is the version being replaced
    base: CaseRow | None = None


_Writes = list[_Write]


class SqlCaseRepository:
    """Cases of one unit of work: reads see committed state plus this unit's own writes."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._memo = uow.storage.case_memo
        self.pending = PendingCases()
        self.added, self.updated = self.pending.added, self.pending.updated
        self._loaded: dict[UUID, Case] = {}

    # ------------------------------------------------------------------ reads
    def _remember(self, case: Case) -> Case:
        """Note the version read: an update of it needs no read of the old row at commit."""
        self._loaded[case.case_id] = case
        return case

    def get(self, case_id: UUID) -> Case:
        """The case (deleted drafts included); ``NotFoundError`` if there is none."""
        if (pending := self.pending.find(case_id)) is not None:
            return pending
        found = self._memo.fetch(self._uow.session, "cases", "case_id", case_id)
        if found is None:
            raise NotFoundError("case", case_id)
        return self._remember(found)

    def get_by_number(self, number: int) -> Case:
        """The case with that number unless it is a deleted draft."""
        if (pending := self.pending.find_number(number)) is not None:
            return pending
        rows = []
        if fits(number):
            rows = self._uow.session.fetch(
                "SELECT case_id, version, doc FROM cases WHERE number = ? AND status <> ?",
                (number, CaseStatus.DELETED.value),
            )
        if not rows:
            raise NotFoundError("case number", number)
        case_id, version, doc = rows[0]
        return self._remember(self._memo.load(as_uuid(case_id), version, doc))

    def _substring(self, query: CaseFilter) -> listing.Statement | None:
        key = query.name_key
        if key and query.name_match is NameMatch.SUBSTRING:
            clauses, params = self._uow.storage.dialect.substring(key)
            return (" AND ".join(clauses), params)
        return None

    def list(self, scope: Scope, query: CaseFilter) -> Page[CaseSummary]:
        """One page of visible cases matching ``query``, sorted like ``queries.paginate``."""
        for text in (query.name_key, query.search):
            if text and not storable_text(text):
                return Page((), 0, query.offset, query.limit)  # no stored name holds such text
        substring = self._substring(query)
        sql, params = listing.page_statement(scope, query, substring)
        with self._uow.session.snapshot("listing cases") as cursor:
            rows = cursor.execute(sql, params).fetchall()
            if listing.countable(query):
                statuses = set(query.statuses) or set(CaseStatus)
                counts = tally(cursor.execute(*listing.counts_statement(scope)).fetchall())
                total = sum(n for status, n in counts.items() if status in statuses)
            else:
                counted = cursor.execute(*listing.total_statement(scope, query, substring))
                total = int(counted.fetchone()[0])
        items = tuple(load_summary(r) for r in rows[: query.limit])
        following = cursor_after(items[-1], query) if len(rows) > query.limit else None
        return Page(items, total, query.offset, query.limit, following)

    def count_by_status(
        self, scope: Scope, query: CaseFilter | None = None
    ) -> Mapping[CaseStatus, int]:
        """How many visible cases (matching ``query``) are in each status (none: absent)."""
        if query is not None:
            for text in (query.name_key, query.search):
                if text and not storable_text(text):
                    return {}
        sql, params = listing.counts_statement(
            scope, query, self._substring(query) if query is not None else None
        )
        return tally(self._uow.session.fetch(sql, params, "counting cases"))

    def of_patient(self, patient_id: UUID) -> Sequence[Case]:
        """Every case of one patient, deleted drafts included, by number."""
        rows = self._uow.session.fetch(
            "SELECT case_id, version, doc FROM cases WHERE patient_id = ? ORDER BY number",
            (str(patient_id),),
        )
        found = {c.case_id: c for c in (self._memo.load(as_uuid(r[0]), r[1], r[2]) for r in rows)}
        for case in (*self.added.values(), *self.updated.values()):
            if case.patient.patient_id == patient_id:
                found[case.case_id] = case
        return sorted((self._remember(c) for c in found.values()), key=lambda c: c.number)

    def file_digests(self) -> set[str]:
        """The sha256 of every file any case refers to."""
        rows = self._uow.session.fetch(self._uow.storage.dialect.file_digests, ())
        return {r[0] for r in rows if r[0]}

    def moments(
        self, network_id: UUID, since: datetime, *, owner_id: UUID | None = None
    ) -> Sequence[CaseMoments]:
        """The moments of a network's (an owner's) cases updated since ``since``, by number.

        The ``(network_id, updated_at)`` or ``(owner_id, updated_at)`` index finds the
        rows; the dialect reads the few fields out of each document in the database.
        """
        if since.utcoffset() is None:
            raise ValidationError.of("naive_datetime", "$.since")
        clauses = ["network_id = ?", "updated_at >= ?", "status <> ?"]
        params: list[Any] = [str(network_id), encode_time(since), CaseStatus.DELETED.value]
        if owner_id is not None:
            clauses.append("owner_id = ?")
            params.append(str(owner_id))
        sql = (
            f"SELECT {self._uow.storage.dialect.case_moments} FROM cases "
            f"WHERE {' AND '.join(clauses)} ORDER BY number"
        )
        rows = self._uow.session.fetch(sql, params, "reading case moments")
        return [_moments(row) for row in rows]

    # ------------------------------------------------------------------ writes
    def add(self, case: Case) -> None:
        """Queue a new case (version 1); a taken id or number fails at commit."""
        self.pending.add(case)

    def update(self, case: Case) -> None:
        """Queue a change; its version must be one more than the stored one (checked at commit)."""
        self.pending.update(case)

    def next_number(self) -> int:
        """A new case number, taken at once (never reused, even if this unit rolls back)."""
        return self._uow.storage.dialect.next_number(self._uow.session)

    def prepare(self) -> _Writes:
        """The queued cases as rows and documents (done before the transaction begins)."""
        dumps = self._uow.storage.converter.document_dumps
        writes: _Writes = []
        for case in self.added.values():
            writes.append(_Write(case, case_row(case), check_document(dumps(case)), new=True))
        for case in self.updated.values():
            base = None
            loaded = self._loaded.get(case.case_id)
            if loaded is not None and loaded.version == case.version - 1:
                base = self._memo.remembered(case.case_id, loaded) or case_row(loaded)
            row, doc = case_row(case), check_document(dumps(case))
            writes.append(_Write(case, row, doc, new=False, base=base))
        return writes

    def flush(self, cursor: Cursor, writes: _Writes) -> None:
        """Store prepared writes with their members and counts (in the commit's transaction)."""
        changes: list[tuple[CountKey | None, CountKey]] = []
        members: list[tuple[int, str, bool]] = []  # (number, account, add or drop)
        for w in writes:
            if w.new:
                cursor.execute(_INSERT, w.row.values(w.doc))
                members.extend((w.row.number, m, True) for m in w.row.collaborator_ids)
                changes.append((None, w.row.count_key))
                continue
            before, old_members = self._replace(cursor, w)
            new_members = set(w.row.collaborator_ids)
            members.extend((w.row.number, m, True) for m in new_members - old_members)
            members.extend((w.row.number, m, False) for m in old_members - new_members)
            changes.append((before, w.row.count_key))
        for sql, wanted in ((_MEMBERS_ADD, True), (_MEMBERS_DROP, False)):
            rows = [(n, m) for n, m, add in members if add is wanted]
            if rows:
                cursor.executemany(sql, rows)
        deltas = count_changes(changes)
        if deltas:
            cursor.executemany(listing.COUNTS_UPSERT, [(*key, n) for key, n in deltas.items()])

    def _replace(self, cursor: Cursor, w: _Write) -> tuple[CountKey, set[str]]:
        """Update one case from the version it replaces; its old count key and members."""
        expected = w.case.version - 1
        base = w.base
        if base is None:
            found = cursor.execute(
                "SELECT version, network_id, owner_id, status FROM cases WHERE case_id = ?",
                (w.row.case_id,),
            ).fetchone()
            if found is None:
                raise NotFoundError("case", w.case.case_id)
            if found[0] != expected:
                raise ConcurrencyConflictError("case", w.case.case_id, expected, found[0])
            key: CountKey = (str(found[1]), str(found[2]), found[3])
            shared = cursor.execute(
                "SELECT account_id FROM case_members WHERE number = ?", (w.row.number,)
            ).fetchall()
            old_members = {str(r[0]) for r in shared}
        else:
            key, old_members = base.count_key, set(base.collaborator_ids)
        changed = [c for c in _CHANGING if base is None or getattr(w.row, c) != getattr(base, c)]
        assignments = ", ".join(f"{c} = ?" for c in ("version", "doc", *changed))
        params: list[Any] = [w.row.version, w.doc, *(getattr(w.row, c) for c in changed)]
        done = cursor.execute(
            f"UPDATE cases SET {assignments} WHERE case_id = ? AND version = ?",
            (*params, w.row.case_id, expected),
        ).rowcount
        if done != 1:
            found = cursor.execute(
                "SELECT version FROM cases WHERE case_id = ?", (w.row.case_id,)
            ).fetchone()
            if found is None:
                raise NotFoundError("case", w.case.case_id)
            raise ConcurrencyConflictError("case", w.case.case_id, expected, found[0])
        return key, old_members

    def stored(self, writes: _Writes) -> None:
        """After commit: remember the stored versions (the next read needs no document)."""
        for w in writes:
            self._memo.put(w.case.case_id, w.case, w.row)


def _moments(row: Sequence[Any]) -> CaseMoments:
    """A row of ``Dialect.case_moments`` as ``CaseMoments`` (first shipped: the earliest)."""
    shipped = (datetime.fromisoformat(t) for t in json.loads(row[4] or "[]") if t)
    return CaseMoments(
        row[0], as_uuid(row[1]), decode_time(row[2]), as_time(row[3]), min(shipped, default=None)
    )
