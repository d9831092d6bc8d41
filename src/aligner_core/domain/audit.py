"""The audit log: who read or erased what, and when (HIPAA 164.312(b), GDPR art. 30).

An entry names an account (or nobody, for a share link opened without one), an
action, the case by its number, and what was read (a file's id, the fields a
list was filtered by) — never a patient's name or any text they typed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import attrs

from aligner_core.domain.fields import MAX_INT, Checked, field, integer
from aligner_core.domain.queries import Page

__all__ = ["AuditAction", "AuditEntry", "AuditFilter", "audit_matches", "audit_page"]


class AuditAction(StrEnum):
    VIEW_CASE = "view_case"
    LIST_CASES = "list_cases"
    OPEN_FILE = "open_file"
    OPEN_SHARE_LINK = "open_share_link"
    EXPORT_PATIENT = "export_patient"
    ERASE_PATIENT = "erase_patient"


@attrs.frozen
class AuditEntry:
    """One read (or erasure) of patient data."""

    entry_id: UUID
    at: datetime
    network_id: UUID
    actor_id: UUID | None
    action: AuditAction
    case_number: int | None = None
    subject: str = ""
    """What in the case: a file id, a share link id, the filters of a list (never a value)."""


@attrs.frozen
class AuditFilter(Checked):
    """Which audit entries an admin asks for (newest first)."""

    case_number: int | None = integer(1, MAX_INT, default=None)
    actor_id: UUID | None = field(default=None)
    action: AuditAction | None = field(default=None)
    since: datetime | None = field(default=None)
    until: datetime | None = field(default=None)
    offset: int = integer(0, 100_000, default=0)
    limit: int = integer(1, 500, default=100)


def audit_matches(entry: AuditEntry, network_id: UUID, query: AuditFilter) -> bool:
    """Whether ``entry`` of the audit log answers ``query`` for the admins of ``network_id``."""
    return (
        entry.network_id == network_id
        and (query.case_number is None or entry.case_number == query.case_number)
        and (query.actor_id is None or entry.actor_id == query.actor_id)
        and (query.action is None or entry.action is query.action)
        and (query.since is None or entry.at >= query.since)
        and (query.until is None or entry.at <= query.until)
    )


def audit_page(entries: Iterable[AuditEntry], query: AuditFilter) -> Page[AuditEntry]:
    """Newest first (then by id, so pages are stable): the reference the stores match."""
    ordered = sorted(entries, key=lambda e: (e.at, str(e.entry_id)), reverse=True)
    window = tuple(ordered[query.offset : query.offset + query.limit])
    return Page(window, len(ordered), query.offset, query.limit)
