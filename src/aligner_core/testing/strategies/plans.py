"""Strategies for IPR contacts, plan steps, summaries and plan versions."""

from __future__ import annotations

from typing import TypeVar

from hypothesis import strategies as st

from aligner_core.domain.plans import (
    MAX_IPR_PER_CONTACT_MM,
    IprContact,
    PlanStep,
    PlanSummary,
    PlanVersion,
)
from aligner_core.domain.prescriptions import (
    WearSchedule,
)
from aligner_core.domain.teeth import ALL_TEETH, Arch, Tooth
from aligner_core.testing.strategies._common import aware_datetimes, optional, small_tuples, text
from aligner_core.testing.strategies.teeth import teeth

T = TypeVar("T")


_UPPER = tuple(t for t in ALL_TEETH if t.arch is Arch.UPPER)
_LOWER = tuple(t for t in ALL_TEETH if t.arch is Arch.LOWER)
_IPR_AMOUNTS = st.sampled_from([0.1, 0.2, 0.25, 0.3, 0.4, 0.5]) | st.floats(
    min_value=0.0, max_value=MAX_IPR_PER_CONTACT_MM, exclude_min=True
)


@st.composite
def ipr_contacts(draw: st.DrawFn) -> IprContact:
    """IPR between two different teeth of one arch, amount in (0, 0.5] mm."""
    arch = draw(st.sampled_from([_UPPER, _LOWER]))
    first, second = draw(st.lists(st.sampled_from(arch), min_size=2, max_size=2, unique=True))
    return IprContact(first=first, second=second, amount_mm=draw(_IPR_AMOUNTS))


def _teeth_tuples(max_size: int) -> st.SearchStrategy[tuple[Tooth, ...]]:
    return st.frozensets(teeth(), max_size=max_size).map(tuple)


def plan_steps(number: int | None = None) -> st.SearchStrategy[PlanStep]:
    return st.builds(
        PlanStep,
        number=st.just(number) if number is not None else st.integers(1, 80),
        ipr=small_tuples(ipr_contacts(), 2),
        attachments_placed=_teeth_tuples(3),
        attachments_removed=_teeth_tuples(2),
        checkpoint=st.booleans(),
        note=text(1000),
    )


@st.composite
def plan_summaries(draw: st.DrawFn) -> PlanSummary:
    upper, lower = draw(st.tuples(st.integers(0, 80), st.integers(0, 80)).filter(any))
    return PlanSummary(
        upper_steps=upper,
        lower_steps=lower,
        total_ipr_mm=draw(st.floats(min_value=0, max_value=20, allow_nan=False)),
        attachment_count=draw(st.integers(0, 40)),
        wear_schedule=draw(st.sampled_from(WearSchedule)),
    )


@st.composite
def plan_versions(draw: st.DrawFn, number: int | None = None, *, max_steps: int = 8) -> PlanVersion:
    """A plan version whose schedule (when it has one) agrees with its summary.

    Steps are drawn first and the summary derived from them: step count on the longer arch,
    the exact IPR total and the attachments placed.
    """
    count = draw(st.integers(0, max_steps))
    steps = tuple(draw(plan_steps(i)) for i in range(1, count + 1))
    if steps:
        longer, shorter = count, draw(st.integers(0, count))
        upper, lower = draw(st.sampled_from([(longer, shorter), (shorter, longer)]))
        summary = PlanSummary(
            upper_steps=upper,
            lower_steps=lower,
            total_ipr_mm=sum(s.ipr_mm for s in steps),
            attachment_count=sum(len(s.attachments_placed) for s in steps),
            wear_schedule=draw(st.sampled_from(WearSchedule)),
        )
    else:
        summary = draw(plan_summaries())
    return PlanVersion(
        number=number if number is not None else draw(st.integers(1, 20)),
        uploaded_at=draw(aware_datetimes()),
        uploaded_by=draw(st.uuids()),
        summary=summary,
        steps=steps,
        simulation_url=draw(
            optional(st.builds(lambda s: f"https://sim.example.org/{s}", st.uuids()))
        ),
        notes=draw(text(5000)),
    )
