"""What queries return: read models for a shell's screens."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import IO, Any
from uuid import UUID

import attrs

from aligner_core.domain.accounts import Role
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import Case, CaseKind, CaseStatus, HistoryEntry
from aligner_core.domain.plans import PlanVersion
from aligner_core.domain.prescription_checks import plan_warnings
from aligner_core.domain.quotes import Quote
from aligner_core.domain.records import FileKind, MediaType
from aligner_core.errors import Reason

__all__ = [
    "ActionOption",
    "Blockers",
    "CaseDetail",
    "Dashboard",
    "DirectoryEntry",
    "FileRecord",
    "OpenedFile",
    "SharedPlan",
]


@attrs.frozen
class CaseDetail:
    """A case as one viewer may see it, with its timeline and the buttons to draw."""

    case: Case
    allowed_actions: frozenset[Action]
    may_view_plans: bool

    @property
    def timeline(self) -> tuple[HistoryEntry, ...]:
        return self.case.history

    @property
    def plan_warnings(self) -> tuple[Reason, ...]:
        """How the latest plan departs from the request (shown before approval)."""
        plan = self.case.latest_plan
        if plan is None or not self.may_view_plans:
            return ()
        return plan_warnings(self.case.request, plan)

    @property
    def quote(self) -> Quote | None:
        """What the latest plan costs (its package, lines and total), shown before approval."""
        plan = self.case.latest_plan
        if plan is None or not self.may_view_plans:
            return None
        return self.case.quote_of(plan.number)


@attrs.frozen
class Dashboard:
    """Counts per status for what the viewer may see."""

    counts: Mapping[CaseStatus, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __getitem__(self, status: CaseStatus) -> int:
        return self.counts.get(status, 0)


@attrs.frozen
class SharedPlan:
    """What a share link shows: the case number and the plan, never the patient."""

    case_number: int
    kind: CaseKind
    plan: PlanVersion
    expires_at: datetime


@attrs.frozen
class ActionOption:
    """One button a shell may draw for a case: the action, its command, and what it needs.

    ``inputs`` are the command's fields the user fills in (the case is given);
    ``defaults`` are values taken from the case (the plan version to approve);
    ``choices`` the options of a field, as (value, label) pairs (the packages a plan fits
    or a case may upgrade to); ``blockers`` is empty when the action is available now;
    ``warnings`` are what the user should see before taking it (how the plan to approve
    departs from the request), never a refusal.
    """

    action: Action
    command: type
    destructive: bool
    inputs: tuple[str, ...]
    defaults: Mapping[str, Any] = attrs.field(factory=dict)
    blockers: tuple[Reason, ...] = ()
    warnings: tuple[Reason, ...] = ()
    choices: Mapping[str, tuple[tuple[str, str], ...]] = attrs.field(factory=dict)

    @property
    def available(self) -> bool:
        return not self.blockers


@attrs.frozen(eq=False)
class Blockers:
    """Why an action would be refused now, by where the reason lies.

    ``permission``: the user may not take it; ``state``: the case is not ready
    (its status, records, confirmations); ``inputs``: what was given does not fit
    the case (only when a command is given). Iterating yields every reason.
    """

    permission: tuple[Reason, ...] = ()
    state: tuple[Reason, ...] = ()
    inputs: tuple[Reason, ...] = ()

    @property
    def all(self) -> tuple[Reason, ...]:
        return (*self.permission, *self.state, *self.inputs)

    def __iter__(self) -> Iterator[Reason]:
        return iter(self.all)

    def __len__(self) -> int:
        return len(self.all)

    def __bool__(self) -> bool:
        return bool(self.all)

    def __getitem__(self, index: int) -> Reason:
        return self.all[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, list | tuple):
            return list(self.all) == list(other)
        if isinstance(other, Blockers):
            return (self.permission, self.state, self.inputs) == (
                other.permission,
                other.state,
                other.inputs,
            )
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


@attrs.frozen
class DirectoryEntry:
    """Who someone is, as a shell shows them next to what they did: no contact data."""

    account_id: UUID
    display_name: str
    role: Role
    clinic_name: str
    active: bool


@attrs.frozen
class FileRecord:
    """A stored file as a shell lists it (and sets download headers from)."""

    file_id: UUID
    kind: FileKind
    name: str
    media_type: MediaType
    size: int
    sha256: str
    uploaded_at: datetime


class OpenedFile:
    """A file's record and its content stream; close it (or use ``with``) when done."""

    def __init__(self, record: FileRecord, stream: IO[bytes]) -> None:
        self.record = record
        self.stream = stream

    def read(self, size: int = -1) -> bytes:
        return self.stream.read(size)

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.stream.read(1024 * 1024):
            yield chunk

    def close(self) -> None:
        self.stream.close()

    def __enter__(self) -> OpenedFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
