"""Strategies for products and a network's catalogue."""

from __future__ import annotations

from hypothesis import strategies as st

from aligner_core.domain.deadlines import Stage
from aligner_core.domain.kinds import CaseKind
from aligner_core.domain.products import (
    DEFAULT_PRODUCTS,
    MAX_TURNAROUND_DAYS,
    Catalogue,
    Product,
    Requirement,
    Turnaround,
)
from aligner_core.testing.strategies._common import text

__all__ = ["catalogues", "products", "turnarounds"]

_DAYS = st.integers(1, MAX_TURNAROUND_DAYS)


def turnarounds() -> st.SearchStrategy[tuple[Turnaround, ...]]:
    """At most one turnaround per stage."""
    stages = st.lists(st.sampled_from(Stage), unique=True, max_size=len(Stage))
    return stages.flatmap(
        lambda chosen: st.tuples(*(st.builds(Turnaround, st.just(s), _DAYS, _DAYS) for s in chosen))
    )


def products(code: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Product]:
    return st.builds(
        Product,
        code=code or st.from_regex(r"[a-z0-9][a-z0-9_-]{0,39}", fullmatch=True),
        name=text(80, blank=False),
        kind=st.sampled_from(CaseKind),
        requires=st.lists(st.sampled_from(Requirement), max_size=3).map(tuple),
        turnaround=turnarounds(),
    )


def catalogues() -> st.SearchStrategy[Catalogue]:
    """The default catalogue, or a few products with distinct codes."""
    own = st.lists(products(), min_size=1, max_size=4, unique_by=lambda p: p.code)
    return st.just(Catalogue(DEFAULT_PRODUCTS)) | own.map(lambda found: Catalogue(tuple(found)))
