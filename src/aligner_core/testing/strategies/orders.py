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


@st.composite
def replacement_orders(draw: st.DrawFn) -> ReplacementOrder:
    first = draw(st.integers(1, 60))
    reason = draw(st.sampled_from(ReplacementReason))
    return ReplacementOrder(
        arches=draw(st.sampled_from(Arches)),
        first_step=first,
        last_step=draw(st.integers(first, first + 20)),
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
