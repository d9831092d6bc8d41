"""Treatment plan versions: a summary, a per-step schedule, and how two versions differ."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from aligner_core.domain.fields import Checked, field, integer, items, number, text
from aligner_core.domain.prescriptions import WearSchedule
from aligner_core.domain.teeth import ALL_TEETH, Tooth
from aligner_core.errors import FieldError

__all__ = [
    "MAX_PLAN_STEPS",
    "IprContact",
    "PlanDifference",
    "PlanStep",
    "PlanSummary",
    "PlanVersion",
    "compare_plans",
    "https_rule",
    "summary_problems",
]

MAX_IPR_PER_CONTACT_MM = 0.5
#: The most aligner steps one plan may have per arch.
MAX_PLAN_STEPS = 200
#: Contacts between neighbouring teeth in both arches (the most IPR entries of one step).
MAX_CONTACTS = 64


def _same_arch(contact: IprContact) -> Iterable[FieldError]:
    if contact.first == contact.second or contact.first.arch is not contact.second.arch:
        yield FieldError.of("contact_teeth", "$.second")


@attrs.frozen
class IprContact(Checked):
    """Interproximal reduction at the contact of two neighbouring teeth of one arch, in mm."""

    first: Tooth = field()
    second: Tooth = field()
    amount_mm: float = number(0, MAX_IPR_PER_CONTACT_MM, exclusive_minimum=True)

    __rules__ = (_same_arch,)


def _sorted_teeth(given: Iterable[Tooth | int]) -> tuple[Tooth, ...]:
    if given == ():
        return ()
    teeth = {t if isinstance(t, Tooth) else Tooth.from_fdi(t) for t in given}
    return tuple(sorted(teeth, key=lambda t: t.fdi))


@attrs.frozen
class PlanStep(Checked):
    """One aligner step: IPR done before it, attachments placed or removed, a checkpoint."""

    number: int = integer(1, MAX_PLAN_STEPS)
    ipr: tuple[IprContact, ...] = items(MAX_CONTACTS, default=())
    attachments_placed: tuple[Tooth, ...] = items(
        len(ALL_TEETH), default=(), converter=_sorted_teeth
    )
    attachments_removed: tuple[Tooth, ...] = items(
        len(ALL_TEETH), default=(), converter=_sorted_teeth
    )
    checkpoint: bool = field(default=False)
    note: str = text(1000, blank=True, multiline=True, default="")

    @property
    def ipr_mm(self) -> float:
        return sum(c.amount_mm for c in self.ipr)


def _some_steps(summary: PlanSummary) -> Iterable[FieldError]:
    if summary.upper_steps == 0 and summary.lower_steps == 0:
        yield FieldError.of("plan_without_steps", "$.upper_steps")


@attrs.frozen
class PlanSummary(Checked):
    """The figures a doctor compares: steps per arch, IPR, attachments, wear, duration."""

    upper_steps: int = integer(0, MAX_PLAN_STEPS)
    lower_steps: int = integer(0, MAX_PLAN_STEPS)
    total_ipr_mm: float = number(0, 100, default=0.0)
    attachment_count: int = integer(0, 1000, default=0)
    wear_schedule: WearSchedule = field(default=WearSchedule.DAYS_14)

    __rules__ = (_some_steps,)

    @property
    def steps(self) -> int:
        return max(self.upper_steps, self.lower_steps)

    @property
    def estimated_duration_days(self) -> int:
        return self.steps * int(self.wear_schedule)

    @property
    def estimated_duration_weeks(self) -> float:
        return self.estimated_duration_days / 7


def https_rule(url: Any) -> Iterable[FieldError]:
    """Links a doctor opens from the portal are https."""
    if isinstance(url, str) and not url.startswith("https://"):
        yield FieldError.of("invalid_url")


def _simulation_url(**kw: Any) -> Any:
    return text(2000, default=None, rules=[https_rule], format="uri", doc="https link", **kw)


def _steps_agree(plan: Any) -> Iterable[FieldError]:
    return summary_problems(plan.summary, plan.steps)


@attrs.frozen
class PlanVersion(Checked):
    """Version ``number`` of a case's plan, as uploaded by a planner.

    The per-step schedule is optional; when given it must agree with the summary
    (step count, total IPR within 0.01 mm, attachments placed).
    """

    number: int = integer(1)
    uploaded_at: datetime = field()
    uploaded_by: UUID = field()
    summary: PlanSummary = field()
    steps: tuple[PlanStep, ...] = items(MAX_PLAN_STEPS, default=())
    simulation_url: str | None = _simulation_url()
    notes: str = text(5000, blank=True, multiline=True, default="")

    __rules__ = (_steps_agree,)


def summary_problems(summary: PlanSummary, steps: tuple[PlanStep, ...]) -> list[FieldError]:
    """Where a per-step schedule contradicts its summary (empty when none is given)."""
    if not steps:
        return []
    problems: list[FieldError] = []
    numbers = [s.number for s in steps]
    if numbers != list(range(1, len(steps) + 1)):
        problems.append(FieldError.of("steps_numbering", "$.steps"))
    if len(steps) != summary.steps:
        problems.append(
            FieldError.of("steps_count", "$.steps", count=len(steps), expected=summary.steps)
        )
    ipr = sum(s.ipr_mm for s in steps)
    if abs(ipr - summary.total_ipr_mm) > 0.01:
        problems.append(
            FieldError.of(
                "steps_ipr_total",
                "$.summary.total_ipr_mm",
                total=f"{ipr:.2f}",
                expected=f"{summary.total_ipr_mm:.2f}",
            )
        )
    placed = sum(len(s.attachments_placed) for s in steps)
    if placed != summary.attachment_count:
        problems.append(
            FieldError.of(
                "steps_attachments",
                "$.summary.attachment_count",
                count=placed,
                expected=summary.attachment_count,
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
