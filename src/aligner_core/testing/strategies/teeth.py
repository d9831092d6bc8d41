"""Hypothesis strategies for teeth and tooth charts (part of ``testing.strategies``)."""

from __future__ import annotations

from hypothesis import strategies as st

from aligner_core.domain.teeth import (
    ALL_TEETH,
    PERMANENT_TEETH,
    PRIMARY_TEETH,
    Tooth,
    ToothChart,
    ToothState,
)

__all__ = ["teeth", "tooth_charts"]


def teeth(*, primary: bool | None = None) -> st.SearchStrategy[Tooth]:
    """Any of the 52 teeth; only primary ones if ``primary``, only permanent if ``False``."""
    if primary is None:
        return st.sampled_from(ALL_TEETH)
    return st.sampled_from(PRIMARY_TEETH if primary else PERMANENT_TEETH)


def tooth_charts(
    *, states: tuple[ToothState, ...] = tuple(ToothState), max_marks: int | None = None
) -> st.SearchStrategy[ToothChart]:
    """Charts marking any subset of the teeth, each with one of ``states``.

    ``none`` is among the default states on purpose: it exercises the dropping of ``none``
    marks, so a chart may hold fewer marks than were drawn.
    """
    return st.dictionaries(teeth(), st.sampled_from(states), max_size=max_marks).map(
        ToothChart.from_mapping
    )
