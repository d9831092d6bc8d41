"""The treatment request (prescription): the Aligner Portal form plus ClearCorrect's options."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum, StrEnum
from typing import Any

import attrs

from aligner_core.domain.fields import Checked, field, integer, items, text, tolerant
from aligner_core.domain.teeth import ALL_TEETH, Tooth
from aligner_core.errors import FieldError

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


#: The most aligner steps a request may limit a treatment to.
MAX_STEP_LIMIT = 200


@attrs.frozen
class Pontic(Checked):
    """A tooth-coloured filler in the aligner for a gap, with its shade."""

    tooth: Tooth = field()
    shade: Shade = field(default=Shade.A2)


def _teeth(given: Iterable[Tooth | int]) -> tuple[Tooth, ...]:
    """Teeth (or FDI numbers) as a sorted tuple without repeats."""
    teeth = {t if isinstance(t, Tooth) else Tooth.from_fdi(t) for t in given}
    return tuple(sorted(teeth, key=lambda t: t.fdi))


def _teeth_field(doc: str) -> Any:
    return items(len(ALL_TEETH), default=(), converter=_teeth, doc=doc)


@tolerant
def _extract_and_keep(request: TreatmentRequest) -> Iterable[FieldError]:
    both = set(request.teeth_not_to_move) & set(request.teeth_to_extract)
    for tooth in sorted(both, key=lambda t: t.fdi):
        yield FieldError.of("teeth_extract_and_keep", "$.teeth_to_extract", tooth=tooth.fdi)


@tolerant
def _one_pontic_per_tooth(request: TreatmentRequest) -> Iterable[FieldError]:
    seen: set[int] = set()
    for i, pontic in enumerate(request.pontics):
        if pontic.tooth.fdi in seen:
            yield FieldError.of("second_pontic", f"$.pontics[{i}]", tooth=pontic.tooth.fdi)
        seen.add(pontic.tooth.fdi)


@tolerant
def _permanent_teeth(request: TreatmentRequest) -> Iterable[FieldError]:
    if request.dentition is not Dentition.PERMANENT:
        return
    for name in ("teeth_not_to_move", "teeth_to_extract", "teeth_without_attachments"):
        for tooth in getattr(request, name):
            if tooth.is_primary:
                yield FieldError.of("primary_tooth_in_permanent", f"$.{name}", tooth=tooth.fdi)


@attrs.frozen
class TreatmentRequest(Checked):
    """What the doctor asks for. Every option defaults to the lab's recommendation."""

    arches: Arches = field(default=Arches.BOTH)
    scope: TreatmentScope = field(default=TreatmentScope.AS_RECOMMENDED)
    overjet: Adjustment = field(default=Adjustment.MAINTAIN)
    overbite: Adjustment = field(default=Adjustment.MAINTAIN)
    midline: Adjustment = field(default=Adjustment.MAINTAIN)
    ipr: Choice = field(default=Choice.AS_RECOMMENDED)
    attachments: Choice = field(default=Choice.AS_RECOMMENDED)
    design: Design = field(default=Design.STANDARD)
    instructions: str = text(5000, blank=True, multiline=True, default="")
    pontics: tuple[Pontic, ...] = items(32, default=())
    dentition: Dentition = field(default=Dentition.PERMANENT)
    approach: Approach = field(default=Approach.FULL_ARCH)
    wear_schedule: WearSchedule = field(default=WearSchedule.DAYS_14)
    step_limit: int | None = integer(1, MAX_STEP_LIMIT, default=None)
    teeth_not_to_move: tuple[Tooth, ...] = _teeth_field("Teeth the plan must not move.")
    teeth_to_extract: tuple[Tooth, ...] = _teeth_field("Teeth to be extracted.")
    teeth_without_attachments: tuple[Tooth, ...] = _teeth_field("Teeth without attachments.")
    chief_complaint: str = text(2000, blank=True, multiline=True, default="")

    __rules__ = (_extract_and_keep, _one_pontic_per_tooth, _permanent_teeth)

    @property
    def duration_as_recommended(self) -> bool:
        return self.step_limit is None
