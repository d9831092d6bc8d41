"""Treatment plan versions: a summary, a per-step schedule, and how two versions differ."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from aligner_core.domain._checks import aware, non_negative_int, positive, text_limit
from aligner_core.domain.prescriptions import WearSchedule
from aligner_core.domain.teeth import Tooth
from aligner_core.errors import FieldError, ValidationError

__all__ = [
    "IprContact",
    "PlanDifference",
    "PlanStep",
    "PlanSummary",
    "PlanVersion",
    "compare_plans",
]

MAX_IPR_PER_CONTACT_MM = 0.5


@attrs.frozen
class IprContact:
    """Interproximal reduction at the contact of two neighbouring teeth of one arch, in mm."""

    first: Tooth
    second: Tooth
    amount_mm: float

    def __attrs_post_init__(self) -> None:
        problems = []
        if self.first == self.second or self.first.arch is not self.second.arch:
            problems.append(FieldError("a contact joins two teeth of the same arch", "$.second"))
        if (
            isinstance(self.amount_mm, bool)
            or not isinstance(self.amount_mm, int | float)
            or not math.isfinite(self.amount_mm)
            or not 0 < self.amount_mm <= MAX_IPR_PER_CONTACT_MM
        ):
            problems.append(
                FieldError(f"IPR must be in (0, {MAX_IPR_PER_CONTACT_MM}] mm", "$.amount_mm")
            )
        if problems:
            raise ValidationError(problems, subject="IprContact")


def _sorted_teeth(value: object) -> tuple[Tooth, ...]:
    return tuple(sorted(set(value), key=lambda t: t.fdi))  # type: ignore[call-overload]


@attrs.frozen
class PlanStep:
    """One aligner step: IPR done before it, attachments placed or removed, a checkpoint."""

    number: int = attrs.field(validator=positive)
    ipr: tuple[IprContact, ...] = ()
    attachments_placed: tuple[Tooth, ...] = attrs.field(default=(), converter=_sorted_teeth)
    attachments_removed: tuple[Tooth, ...] = attrs.field(default=(), converter=_sorted_teeth)
    checkpoint: bool = False
    note: str = attrs.field(default="", validator=text_limit(1000))

    @property
    def ipr_mm(self) -> float:
        return sum(c.amount_mm for c in self.ipr)


@attrs.frozen
class PlanSummary:
    """The figures a doctor compares: steps per arch, IPR, attachments, wear, duration."""

    upper_steps: int = attrs.field(validator=non_negative_int)
    lower_steps: int = attrs.field(validator=non_negative_int)
    total_ipr_mm: float = 0.0
    attachment_count: int = attrs.field(default=0, validator=non_negative_int)
    wear_schedule: WearSchedule = WearSchedule.DAYS_14

    def __attrs_post_init__(self) -> None:
        if self.upper_steps == 0 and self.lower_steps == 0:
            raise ValidationError.single("a plan has steps on at least one arch", "$.upper_steps")
        if (
            isinstance(self.total_ipr_mm, bool)
            or not isinstance(self.total_ipr_mm, int | float)
            or not math.isfinite(self.total_ipr_mm)
            or self.total_ipr_mm < 0
        ):
            raise ValidationError.single("must be a finite number >= 0", "$.total_ipr_mm")

    @property
    def steps(self) -> int:
        return max(self.upper_steps, self.lower_steps)

    @property
    def estimated_duration_days(self) -> int:
        return self.steps * int(self.wear_schedule)

    @property
    def estimated_duration_weeks(self) -> float:
        return self.estimated_duration_days / 7


def _https(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (
        not isinstance(value, str) or not value.startswith("https://") or len(value) > 2000
    ):
        raise ValidationError.single("the simulation link must be an https URL", "$.simulation_url")


@attrs.frozen
class PlanVersion:
    """Version ``number`` of a case's plan, as uploaded by a planner.

    The per-step schedule is optional; when given it must agree with the summary
    (step count, total IPR within 0.01 mm, attachments placed).
    """

    number: int = attrs.field(validator=positive)
    uploaded_at: datetime = attrs.field(validator=aware)
    uploaded_by: UUID
    summary: PlanSummary
    steps: tuple[PlanStep, ...] = ()
    simulation_url: str | None = attrs.field(default=None, validator=_https)
    notes: str = attrs.field(default="", validator=text_limit(5000))

    def __attrs_post_init__(self) -> None:
        problems = summary_problems(self.summary, self.steps)
        if problems:
            raise ValidationError(problems, subject="PlanVersion")


def summary_problems(summary: PlanSummary, steps: tuple[PlanStep, ...]) -> list[FieldError]:
    """Where a per-step schedule contradicts its summary (empty when none is given)."""
    if not steps:
        return []
    problems: list[FieldError] = []
    numbers = [s.number for s in steps]
    if numbers != list(range(1, len(steps) + 1)):
        problems.append(FieldError("steps are numbered 1..N without gaps", "$.steps"))
    if len(steps) != summary.steps:
        problems.append(
            FieldError(f"{len(steps)} steps but the summary says {summary.steps}", "$.steps")
        )
    ipr = sum(s.ipr_mm for s in steps)
    if abs(ipr - summary.total_ipr_mm) > 0.01:
        problems.append(
            FieldError(
                f"steps add up to {ipr:.2f} mm IPR but the summary says {summary.total_ipr_mm:.2f}",
                "$.summary.total_ipr_mm",
            )
        )
    placed = sum(len(s.attachments_placed) for s in steps)
    if placed != summary.attachment_count:
        problems.append(
            FieldError(
                f"steps place {placed} attachments but the summary says {summary.attachment_count}",
                "$.summary.attachment_count",
            )
        )
    return problems


@attrs.frozen
class PlanDifference:
    """What changed from one plan version to another."""

    older: int
    newer: int
    summary_changes: tuple[tuple[str, str, str], ...]
    steps_changed: tuple[int, ...]


def compare_plans(older: PlanVersion, newer: PlanVersion) -> PlanDifference:
    """Field-by-field summary changes ``(field, old, new)`` and the step numbers that differ."""
    changes: list[tuple[str, str, str]] = []
    for name in ("upper_steps", "lower_steps", "total_ipr_mm", "attachment_count", "wear_schedule"):
        a, b = getattr(older.summary, name), getattr(newer.summary, name)
        if a != b:
            changes.append((name, str(a), str(b)))
    a_days, b_days = older.summary.estimated_duration_days, newer.summary.estimated_duration_days
    if a_days != b_days:
        changes.append(("estimated_duration_days", str(a_days), str(b_days)))
    by_number = {s.number: s for s in older.steps}
    new_numbers = {s.number: s for s in newer.steps}
    differing = sorted(
        n for n in set(by_number) | set(new_numbers) if by_number.get(n) != new_numbers.get(n)
    )
    return PlanDifference(older.number, newer.number, tuple(changes), tuple(differing))
