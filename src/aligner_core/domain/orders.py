"""Follow-up orders on an existing case: refinement, retainer, remake/replacement, revision."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import attrs

from aligner_core.domain._checks import positive, text_limit
from aligner_core.domain.prescriptions import Arches
from aligner_core.errors import FieldError, ValidationError

__all__ = [
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


@attrs.frozen
class RefinementOrder:
    """Additional aligners (phase 2): goes through planning again with new scans."""

    keep_attachments: bool = True
    instructions: str = attrs.field(default="", validator=text_limit(5000))
    best_fitting_aligner: int | None = attrs.field(default=None, validator=positive)


class RetainerType(StrEnum):
    REMOVABLE = "removable"
    FIXED_LINGUAL = "fixed_lingual"


class LingualRange(StrEnum):
    """Extent of a fixed lingual wire (MEMOTAIN): canine to canine is 3-3."""

    R2_2 = "2-2"
    R3_3 = "3-3"
    R4_4 = "4-4"


@attrs.frozen
class RetainerOrder:
    """A retainer: removable plastic (may reuse a model step) or a fixed lingual wire."""

    type: RetainerType
    sets: int = attrs.field(default=1, validator=positive)
    upper_range: LingualRange | None = None
    lower_range: LingualRange | None = None
    model_step: int | None = attrs.field(default=None, validator=positive)
    arches: Arches = Arches.BOTH
    chief_complaint: str = attrs.field(default="", validator=text_limit(2000))

    def __attrs_post_init__(self) -> None:
        problems: list[FieldError] = []
        if self.sets > 10:
            problems.append(FieldError("at most 10 sets", "$.sets"))
        if self.type is RetainerType.FIXED_LINGUAL:
            if self.upper_range is None and self.lower_range is None:
                problems.append(
                    FieldError("a fixed retainer needs an upper or lower range", "$.upper_range")
                )
            if self.model_step is not None:
                problems.append(
                    FieldError("a fixed retainer needs new scans, not a model step", "$.model_step")
                )
        elif self.upper_range is not None or self.lower_range is not None:
            problems.append(
                FieldError("ranges apply to fixed lingual retainers only", "$.upper_range")
            )
        if problems:
            raise ValidationError(problems, subject="RetainerOrder")

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


@attrs.frozen
class ReplacementOrder:
    """A remake or replacement of aligner steps ``first_step..last_step`` of an arch.

    The doctor acknowledges that a replacement is not a quality complaint; the
    submission guard refuses the order without that acknowledgement.
    """

    arches: Arches
    first_step: int = attrs.field(validator=positive)
    last_step: int = attrs.field(validator=positive)
    current_aligner: int = attrs.field(validator=positive)
    reason: ReplacementReason
    reason_detail: str = attrs.field(default="", validator=text_limit(2000))
    not_quality_complaint: bool = False

    def __attrs_post_init__(self) -> None:
        problems: list[FieldError] = []
        if self.last_step < self.first_step:
            problems.append(FieldError("last step before first step", "$.last_step"))
        if self.reason is ReplacementReason.OTHER and not self.reason_detail.strip():
            problems.append(FieldError("say why when the reason is 'other'", "$.reason_detail"))
        if problems:
            raise ValidationError(problems, subject="ReplacementOrder")

    @property
    def steps(self) -> range:
        return range(self.first_step, self.last_step + 1)


class ClinicalFeature(StrEnum):
    ENGAGERS = "engagers"
    ELASTIC_CUTOUTS = "elastic_cutouts"
    BITE_RAMPS = "bite_ramps"


def _features(value: object) -> tuple[ClinicalFeature, ...]:
    return tuple(sorted({ClinicalFeature(v) for v in value}))  # type: ignore[attr-defined]


@attrs.frozen
class RevisionOrder:
    """A revision of an ongoing treatment: new instructions and clinical features."""

    instructions: str = attrs.field(validator=text_limit(5000))
    features: tuple[ClinicalFeature, ...] = attrs.field(default=(), converter=_features)

    @instructions.validator
    def _said(self, attribute: attrs.Attribute[Any], value: str) -> None:
        if not value.strip():
            raise ValidationError.single("a revision says what to change", "$.instructions")


OrderDetails = RefinementOrder | RetainerOrder | ReplacementOrder | RevisionOrder
