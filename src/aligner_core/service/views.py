"""What queries return: read models for a shell's screens."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs

from aligner_core.domain.actions import Action
from aligner_core.domain.cases import Case, CaseKind, CaseStatus, HistoryEntry
from aligner_core.domain.plans import PlanVersion

__all__ = ["CaseDetail", "Dashboard", "SharedPlan"]


@attrs.frozen
class CaseDetail:
    """A case as one viewer may see it, with its timeline and the buttons to draw."""

    case: Case
    allowed_actions: frozenset[Action]
    may_view_plans: bool

    @property
    def timeline(self) -> tuple[HistoryEntry, ...]:
        return self.case.history


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
