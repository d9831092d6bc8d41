"""Turnaround deadlines in business days (Monday-Friday, minus the lab's holidays)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta
from enum import StrEnum

from aligner_core.domain.prescriptions import Design
from aligner_core.errors import ValidationError

__all__ = [
    "TURNAROUND_DAYS",
    "Stage",
    "add_business_days",
    "business_days_between",
    "turnaround",
]


class Stage(StrEnum):
    """What the lab owes next: a first plan, a modified plan, a product, a review."""

    PLANNING = "planning"
    MODIFICATION = "modification"
    PRODUCTION = "production"
    REVIEW = "review"


TURNAROUND_DAYS: dict[tuple[Stage, Design], int] = {
    (Stage.PLANNING, Design.STANDARD): 5,
    (Stage.PLANNING, Design.EXPRESS): 2,
    (Stage.MODIFICATION, Design.STANDARD): 3,
    (Stage.MODIFICATION, Design.EXPRESS): 1,
    (Stage.PRODUCTION, Design.STANDARD): 7,
    (Stage.PRODUCTION, Design.EXPRESS): 4,
    (Stage.REVIEW, Design.STANDARD): 2,
    (Stage.REVIEW, Design.EXPRESS): 1,
}


def turnaround(
    stage: Stage, design: Design, table: dict[tuple[Stage, Design], int] | None = None
) -> int:
    return (table or TURNAROUND_DAYS)[(stage, design)]


def _is_business_day(day: date, holidays: Collection[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_business_days(start: date, days: int, holidays: Collection[date] = ()) -> date:
    """The date ``days`` business days after ``start`` (``start`` itself not counted)."""
    if days < 0:
        raise ValidationError.of("at_least", "$.days", min=0)
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if _is_business_day(current, holidays):
            remaining -= 1
    return current


def business_days_between(start: date, end: date, holidays: Collection[date] = ()) -> int:
    """Business days in ``(start, end]``: how far a paused deadline moves on release."""
    if end <= start:
        return 0
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if _is_business_day(current, holidays):
            count += 1
    return count
