"""Follow-up orders on an existing case: refinement, retainer, remake/replacement, revision."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

import attrs

from aligner_core.domain.fields import Checked, field, integer, items, text
from aligner_core.domain.prescriptions import Arches
from aligner_core.errors import FieldError

__all__ = [
    "MAX_STEP",
    "ORDER_TYPES",
    "ClinicalFeature",
    "LingualRange",
    "OrderDetails",
    "RefinementOrder",
    "ReplacementOrder",
    "ReplacementReason",
    "RetainerOrder",
    "RetainerType",
    "RevisionOrder",
]

#: The highest aligner step number an order may name.
MAX_STEP = 200


@attrs.frozen
class RefinementOrder(Checked):
    """Additional aligners (phase 2): goes through planning again with new scans."""

    keep_attachments: bool = field(default=True)
    instructions: str = text(5000, blank=True, multiline=True, default="")
    best_fitting_aligner: int | None = integer(1, MAX_STEP, default=None)


class RetainerType(StrEnum):
    REMOVABLE = "removable"
    FIXED_LINGUAL = "fixed_lingual"


class LingualRange(StrEnum):
    """Extent of a fixed lingual wire (MEMOTAIN): canine to canine is 3-3."""

    R2_2 = "2-2"
    R3_3 = "3-3"
    R4_4 = "4-4"


def _retainer_ranges(order: RetainerOrder) -> Iterable[FieldError]:
    if order.type is RetainerType.FIXED_LINGUAL:
        if order.upper_range is None and order.lower_range is None:
            yield FieldError.of("retainer_range_needed", "$.upper_range")
        if order.model_step is not None:
            yield FieldError.of("retainer_model_step", "$.model_step")
    elif order.upper_range is not None or order.lower_range is not None:
        yield FieldError.of("retainer_range_not_fixed", "$.upper_range")


def _ranges_for_treated_arches(order: RetainerOrder) -> Iterable[FieldError]:
    if order.upper_range is not None and order.arches is Arches.LOWER:
        yield FieldError.of("retainer_range_arch", "$.upper_range", arch="upper")
    if order.lower_range is not None and order.arches is Arches.UPPER:
        yield FieldError.of("retainer_range_arch", "$.lower_range", arch="lower")


@attrs.frozen
class RetainerOrder(Checked):
    """A retainer: removable plastic (may reuse a model step) or a fixed lingual wire."""

    type: RetainerType = field()
    sets: int = integer(1, 10, default=1)
    upper_range: LingualRange | None = field(default=None)
    lower_range: LingualRange | None = field(default=None)
    model_step: int | None = integer(1, MAX_STEP, default=None)
    arches: Arches = field(default=Arches.BOTH)
    chief_complaint: str = text(2000, blank=True, multiline=True, default="")

    __rules__ = (_retainer_ranges, _ranges_for_treated_arches)

    @property
    def needs_new_scans(self) -> bool:
        """Fixed retainers always; removable ones unless they reuse an existing model step."""
        return self.type is RetainerType.FIXED_LINGUAL or self.model_step is None


class ReplacementReason(StrEnum):
    BROKEN = "broken"
    LOST = "lost"
    LACK_OF_FIT = "lack_of_fit"
    SHARP_EDGES = "sharp_edges"
    OTHER = "other"


def _replacement_steps(order: ReplacementOrder) -> Iterable[FieldError]:
    if order.last_step < order.first_step:
        yield FieldError.of("last_step_before_first", "$.last_step")


def _replacement_reason(order: ReplacementOrder) -> Iterable[FieldError]:
    if order.reason is ReplacementReason.OTHER and not order.reason_detail.strip():
        yield FieldError.of("reason_detail_needed", "$.reason_detail")


@attrs.frozen
class ReplacementOrder(Checked):
    """A remake or replacement of aligner steps ``first_step..last_step`` of an arch.

    The doctor acknowledges that a replacement is not a quality complaint; the
    submission guard refuses the order without that acknowledgement.
    """

    arches: Arches = field()
    first_step: int = integer(1, MAX_STEP)
    last_step: int = integer(1, MAX_STEP)
    current_aligner: int = integer(1, MAX_STEP)
    reason: ReplacementReason = field()
    reason_detail: str = text(2000, blank=True, multiline=True, default="")
    not_quality_complaint: bool = field(default=False)

    __rules__ = (_replacement_steps, _replacement_reason)

    @property
    def steps(self) -> range:
        return range(self.first_step, self.last_step + 1)


class ClinicalFeature(StrEnum):
    ENGAGERS = "engagers"
    ELASTIC_CUTOUTS = "elastic_cutouts"
    BITE_RAMPS = "bite_ramps"


def _features(given: Iterable[object]) -> tuple[ClinicalFeature, ...]:
    return tuple(sorted({ClinicalFeature(v) for v in given}))  # type: ignore[arg-type]


@attrs.frozen
class RevisionOrder(Checked):
    """A revision of an ongoing treatment: new instructions and clinical features."""

    instructions: str = text(5000, multiline=True, doc="What to change (mandatory).")
    features: tuple[ClinicalFeature, ...] = items(
        len(ClinicalFeature), default=(), converter=_features
    )


OrderDetails = RefinementOrder | RetainerOrder | ReplacementOrder | RevisionOrder

#: The ``order_type`` tag that names each kind of order in JSON and forms.
ORDER_TYPES: dict[str, type[OrderDetails]] = {
    "refinement": RefinementOrder,
    "retainer": RetainerOrder,
    "replacement": ReplacementOrder,
    "revision": RevisionOrder,
}
