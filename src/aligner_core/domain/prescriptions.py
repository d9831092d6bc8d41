"""The treatment request (prescription): the Aligner Portal form plus ClearCorrect's options."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum, StrEnum

import attrs

from aligner_core.domain._checks import positive, text_limit
from aligner_core.domain.teeth import Tooth
from aligner_core.errors import FieldError, ValidationError

__all__ = [
    "Adjustment",
    "Approach",
    "Arches",
    "Choice",
    "Dentition",
    "Design",
    "Pontic",
    "Shade",
    "TreatmentRequest",
    "TreatmentScope",
    "WearSchedule",
]


class Arches(StrEnum):
    BOTH = "both"
    UPPER = "upper"
    LOWER = "lower"


class TreatmentScope(StrEnum):
    SOCIAL_SMILE_3_3 = "3-3"
    PREMOLAR_5_5 = "5-5"
    FULL_7_7 = "7-7"
    AS_RECOMMENDED = "as_recommended"


class Adjustment(StrEnum):
    """Overjet, overbite and midline: keep as they are or improve."""

    MAINTAIN = "maintain"
    IMPROVE = "improve"


class Choice(StrEnum):
    YES = "yes"
    NO = "no"
    AS_RECOMMENDED = "as_recommended"


class Design(StrEnum):
    """Standard or express turnaround (express has shorter deadlines)."""

    STANDARD = "standard"
    EXPRESS = "express"


class Shade(StrEnum):
    A1 = "A1"
    A2 = "A2"
    A3 = "A3"


class Dentition(StrEnum):
    PERMANENT = "permanent"
    MIXED = "mixed"


class Approach(StrEnum):
    AESTHETIC = "aesthetic"
    FULL_ARCH = "full_arch_correction"


class WearSchedule(IntEnum):
    """Days each aligner step is worn."""

    DAYS_7 = 7
    DAYS_10 = 10
    DAYS_14 = 14
    DAYS_21 = 21


@attrs.frozen
class Pontic:
    """A tooth-coloured filler in the aligner for a gap, with its shade."""

    tooth: Tooth
    shade: Shade = Shade.A2


def _teeth(value: Iterable[Tooth]) -> tuple[Tooth, ...]:
    return tuple(sorted(set(value), key=lambda t: t.fdi))


@attrs.frozen
class TreatmentRequest:
    """What the doctor asks for. Every option defaults to the lab's recommendation."""

    arches: Arches = Arches.BOTH
    scope: TreatmentScope = TreatmentScope.AS_RECOMMENDED
    overjet: Adjustment = Adjustment.MAINTAIN
    overbite: Adjustment = Adjustment.MAINTAIN
    midline: Adjustment = Adjustment.MAINTAIN
    ipr: Choice = Choice.AS_RECOMMENDED
    attachments: Choice = Choice.AS_RECOMMENDED
    design: Design = Design.STANDARD
    instructions: str = attrs.field(default="", validator=text_limit(5000))
    pontics: tuple[Pontic, ...] = ()
    dentition: Dentition = Dentition.PERMANENT
    approach: Approach = Approach.FULL_ARCH
    wear_schedule: WearSchedule = WearSchedule.DAYS_14
    step_limit: int | None = attrs.field(default=None, validator=positive)
    teeth_not_to_move: tuple[Tooth, ...] = attrs.field(default=(), converter=_teeth)
    teeth_to_extract: tuple[Tooth, ...] = attrs.field(default=(), converter=_teeth)
    teeth_without_attachments: tuple[Tooth, ...] = attrs.field(default=(), converter=_teeth)
    chief_complaint: str = attrs.field(default="", validator=text_limit(2000))

    def __attrs_post_init__(self) -> None:
        problems: list[FieldError] = []
        both = set(self.teeth_not_to_move) & set(self.teeth_to_extract)
        for tooth in sorted(both, key=lambda t: t.fdi):
            problems.append(
                FieldError(
                    f"tooth {tooth} cannot be both extracted and not moved", "$.teeth_to_extract"
                )
            )
        seen: set[int] = set()
        for i, pontic in enumerate(self.pontics):
            if pontic.tooth.fdi in seen:
                problems.append(
                    FieldError(f"second pontic for tooth {pontic.tooth}", f"$.pontics[{i}]")
                )
            seen.add(pontic.tooth.fdi)
        if self.dentition is Dentition.PERMANENT:
            for name in ("teeth_not_to_move", "teeth_to_extract", "teeth_without_attachments"):
                for tooth in getattr(self, name):
                    if tooth.is_primary:
                        problems.append(
                            FieldError(f"primary tooth {tooth} in permanent dentition", f"$.{name}")
                        )
        if problems:
            raise ValidationError(problems, subject="TreatmentRequest")

    @property
    def duration_as_recommended(self) -> bool:
        return self.step_limit is None
