"""The kinds of case (the product ordered), apart from the case so products can name them."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CaseKind"]


class CaseKind(StrEnum):
    """The product ordered."""

    TREATMENT = "clear_aligners"
    DIRECT_MANUFACTURING = "direct_manufacturing"
    REFINEMENT = "refinement"
    RETAINER = "retainer"
    REPLACEMENT = "replacement"
    REVISION = "revision"

    @property
    def is_follow_up(self) -> bool:
        return self in (CaseKind.REFINEMENT, CaseKind.REPLACEMENT, CaseKind.REVISION)

    @property
    def is_planned(self) -> bool:
        """Goes through treatment planning (plan versions and approval)."""
        return self in (CaseKind.TREATMENT, CaseKind.REFINEMENT, CaseKind.REVISION)
