"""Follow-up orders on an existing case: refinement, retainer, remake/replacement, revision."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import Any

import attrs

from aligner_core.domain.fields import Checked, field, integer, items, text
from aligner_core.domain.prescriptions import Arches
from aligner_core.errors import FieldError, ValidationError

__all__ = [
    "MAX_REPLACED_STEPS",
    "MAX_STEP",
    "MAX_STEP_RANGES",
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
    "StepSet",
    "from_legacy_replacement",
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


#: The most ranges (a single step counts as one) one arch of a replacement is given in.
MAX_STEP_RANGES = 20
#: The most aligner steps one arch of a replacement names.
MAX_REPLACED_STEPS = 100
#: The longest text of one arch's steps ("3, 5-7, 9").
MAX_STEPS_TEXT = 200

_STEP_PART = re.compile(r"\s*(\d{1,6})\s*(?:[-\u2013]\s*(\d{1,6})\s*)?")


@attrs.frozen
class StepSet:
    """Aligner steps of one arch as sorted, merged ranges, read from and printed as "3, 5-7".

    A single step, a sequence and ranges may be mixed; overlapping or adjacent ranges
    merge. :meth:`parse` names every bad part with a code (a reversed range, step 0 or
    one past :data:`MAX_STEP`, too many ranges or steps).
    """

    ranges: tuple[tuple[int, int], ...]

    @classmethod
    def parse(cls, text: str) -> StepSet:
        parts = [p for p in text.split(",") if p.strip()]
        if len(parts) > MAX_STEP_RANGES:
            raise ValidationError.of("too_many_step_ranges", max=MAX_STEP_RANGES)
        found: list[FieldError] = []
        ranges: list[tuple[int, int]] = []
        for position, part in enumerate(parts, 1):
            match = _STEP_PART.fullmatch(part)
            if match is None:
                found.append(FieldError.of("steps_unreadable", position=position))
                continue
            first = int(match.group(1))
            last = int(match.group(2) or first)
            bad = [s for s in (first, last) if not 1 <= s <= MAX_STEP]
            if bad:
                found.append(FieldError.of("step_not_in_range", step=bad[0], max=MAX_STEP))
            elif last < first:
                found.append(FieldError.of("step_range_reversed", first=first, last=last))
            else:
                ranges.append((first, last))
        if found:
            raise ValidationError(found)
        steps = cls(_merged(ranges))
        if len(steps) > MAX_REPLACED_STEPS:
            raise ValidationError.of("too_many_steps", max=MAX_REPLACED_STEPS)
        return steps

    def __str__(self) -> str:
        return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in self.ranges)

    def __len__(self) -> int:
        return sum(b - a + 1 for a, b in self.ranges)

    def __iter__(self) -> Iterator[int]:
        for a, b in self.ranges:
            yield from range(a, b + 1)

    @property
    def highest(self) -> int:
        return self.ranges[-1][1] if self.ranges else 0


def _merged(ranges: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return tuple(merged)


def _normal_steps(value: str | None) -> str | None:
    """The text of one arch's steps, sorted and merged ("" or blank: the arch is not replaced)."""
    if value is None or not value.strip():
        return None
    return str(StepSet.parse(value))


def _readable_steps(value: object) -> Iterable[FieldError]:
    if isinstance(value, str):
        try:
            StepSet.parse(value)
        except ValidationError as e:
            yield from e.errors


def _steps_field(arch: str) -> Any:
    return text(
        MAX_STEPS_TEXT,
        blank=True,
        default=None,
        converter=_normal_steps,
        rules=[_readable_steps],
        doc=f"The {arch} steps to replace: single steps and ranges, as 3, 5-7, 9 "
        f"(empty: the {arch} arch is not replaced).",
    )


def _replacement_steps(order: ReplacementOrder) -> Iterable[FieldError]:
    if order.upper is None and order.lower is None:
        yield FieldError.of("replacement_steps_needed", "$.upper")


def _replacement_reason(order: ReplacementOrder) -> Iterable[FieldError]:
    if order.reason is ReplacementReason.OTHER and not order.reason_detail.strip():
        yield FieldError.of("reason_detail_needed", "$.reason_detail")


@attrs.frozen
class ReplacementOrder(Checked):
    """A remake or replacement of aligner steps, named per arch ("3, 5-7" upper, none lower).

    The doctor acknowledges that a replacement is not a quality complaint; the
    submission guard refuses the order without that acknowledgement. Orders stored
    or sent with the former ``arches``, ``first_step`` and ``last_step`` still load
    (:func:`from_legacy_replacement`).
    """

    current_aligner: int = integer(1, MAX_STEP)
    reason: ReplacementReason = field()
    upper: str | None = _steps_field("upper")
    lower: str | None = _steps_field("lower")
    reason_detail: str = text(2000, blank=True, multiline=True, default="")
    not_quality_complaint: bool = field(default=False)

    __rules__ = (_replacement_steps, _replacement_reason)

    @property
    def upper_steps(self) -> StepSet:
        return StepSet.parse(self.upper) if self.upper else StepSet(())

    @property
    def lower_steps(self) -> StepSet:
        return StepSet.parse(self.lower) if self.lower else StepSet(())

    @property
    def arches(self) -> Arches:
        """The arches with steps to replace."""
        if self.upper and self.lower:
            return Arches.BOTH
        return Arches.UPPER if self.upper else Arches.LOWER


def from_legacy_replacement(data: dict[str, Any]) -> dict[str, Any]:
    """A replacement order in the former shape (``arches``, ``first_step..last_step``) as
    the current one; documents and commands of either shape load. Anything else is kept,
    for the converter to name."""
    if not {"arches", "first_step", "last_step"} <= data.keys() or {"upper", "lower"} & data.keys():
        return data
    arches = data["arches"]
    if arches not in {a.value for a in Arches}:
        return data
    rest = {k: v for k, v in data.items() if k not in ("arches", "first_step", "last_step")}
    steps = f"{data['first_step']}-{data['last_step']}"
    if arches != Arches.LOWER:
        rest["upper"] = steps
    if arches != Arches.UPPER:
        rest["lower"] = steps
    return rest


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
