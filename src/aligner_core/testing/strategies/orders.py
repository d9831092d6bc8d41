"""Strategies for follow-up orders."""

from __future__ import annotations

from typing import TypeVar

from hypothesis import strategies as st

from aligner_core.domain.cases import (
    CaseKind,
)
from aligner_core.domain.orders import (
    ClinicalFeature,
    LingualRange,
    OrderDetails,
    RefinementOrder,
    ReplacementOrder,
    ReplacementReason,
    RetainerOrder,
    RetainerType,
    RevisionOrder,
    StepSet,
)
from aligner_core.domain.prescriptions import (
    Arches,
)
from aligner_core.testing.strategies._common import optional, text

T = TypeVar("T")


def refinement_orders() -> st.SearchStrategy[RefinementOrder]:
    return st.builds(
        RefinementOrder,
        keep_attachments=st.booleans(),
        instructions=text(5000),
        best_fitting_aligner=optional(st.integers(1, 80)),
    )


@st.composite
def retainer_orders(draw: st.DrawFn) -> RetainerOrder:
    """Removable (maybe from a model step) or fixed lingual (with at least one range)."""
    kind = draw(st.sampled_from(RetainerType))
    if kind is RetainerType.FIXED_LINGUAL:
        upper, lower = draw(
            st.tuples(
                optional(st.sampled_from(LingualRange)), optional(st.sampled_from(LingualRange))
            ).filter(lambda r: r != (None, None))
        )
        model_step = None
    else:
        upper = lower = None
        model_step = draw(optional(st.integers(1, 80)))
    treated = {(True, False): Arches.UPPER, (False, True): Arches.LOWER}  # a range needs its arch
    arches = treated.get((upper is not None, lower is not None)) or draw(st.sampled_from(Arches))
    if upper is not None and lower is not None:
        arches = Arches.BOTH
    return RetainerOrder(
        type=kind,
        sets=draw(st.integers(1, 10)),
        upper_range=upper,
        lower_range=lower,
        model_step=model_step,
        arches=draw(st.sampled_from([arches, Arches.BOTH])),
        chief_complaint=draw(text(2000)),
    )


def step_sets() -> st.SearchStrategy[StepSet]:
    """Steps of one arch: single steps and ranges, sorted and merged."""
    ranges = st.tuples(st.integers(1, 60), st.integers(0, 12)).map(lambda r: (r[0], r[0] + r[1]))
    return st.lists(ranges, min_size=1, max_size=6).map(
        lambda rs: StepSet.parse(", ".join(f"{a}-{b}" for a, b in rs))
    )


@st.composite
def replacement_orders(draw: st.DrawFn) -> ReplacementOrder:
    """Steps of the upper arch, the lower one or both (as the compact text)."""
    reason = draw(st.sampled_from(ReplacementReason))
    upper, lower = draw(
        st.tuples(optional(step_sets().map(str)), optional(step_sets().map(str))).filter(
            lambda pair: pair != (None, None)
        )
    )
    return ReplacementOrder(
        upper=upper,
        lower=lower,
        current_aligner=draw(st.integers(1, 80)),
        reason=reason,
        reason_detail=draw(text(2000, blank=reason is not ReplacementReason.OTHER)),
        not_quality_complaint=draw(st.booleans()),
    )


def revision_orders() -> st.SearchStrategy[RevisionOrder]:
    return st.builds(
        RevisionOrder,
        instructions=text(5000, blank=False),
        features=st.lists(st.sampled_from(ClinicalFeature), unique=True).map(tuple),
    )


def order_details() -> st.SearchStrategy[OrderDetails]:
    """Any follow-up order (the tagged union)."""
    return st.one_of(
        refinement_orders(), retainer_orders(), replacement_orders(), revision_orders()
    )


_ORDERS_OF_KIND: dict[CaseKind, st.SearchStrategy[OrderDetails]] = {
    CaseKind.REFINEMENT: refinement_orders(),
    CaseKind.RETAINER: retainer_orders(),
    CaseKind.REPLACEMENT: replacement_orders(),
    CaseKind.REVISION: revision_orders(),
}
