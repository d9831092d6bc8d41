"""Teeth and the per-tooth chart of a case.

A :class:`Tooth` stores only its FDI number (ISO 3950), the notation the library keeps
internally; the Universal (ADA) and Palmer notations are derived from it on the way in and out,
so two spellings of one tooth always give equal, equally hashed values.

FDI numbers are two digits, quadrant then position counted from the midline:

- permanent 11-18 (upper right), 21-28 (upper left), 31-38 (lower left), 41-48 (lower right);
- primary 51-55, 61-65, 71-75, 81-85 in the same quadrant order.

"Right" and "left" are always the patient's.

A :class:`ToothChart` records at most one :class:`ToothState` per tooth (missing, crown, do not
move, ...); a tooth without a mark is in state ``none``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, TypeVar, assert_never

import attrs

from aligner_core.errors import FieldError, ValidationError

__all__ = [
    "ALL_TEETH",
    "PERMANENT_TEETH",
    "PRIMARY_TEETH",
    "Arch",
    "Notation",
    "Side",
    "Tooth",
    "ToothChart",
    "ToothMark",
    "ToothState",
]

_PERMANENT_FDI = tuple(q * 10 + p for q in (1, 2, 3, 4) for p in range(1, 9))
_PRIMARY_FDI = tuple(q * 10 + p for q in (5, 6, 7, 8) for p in range(1, 6))
_VALID_FDI = frozenset(_PERMANENT_FDI + _PRIMARY_FDI)

# Palmer quadrant prefix by FDI quadrant (permanent 1-4, primary 5-8).
_PALMER_PREFIX = {1: "UR", 2: "UL", 3: "LL", 4: "LR", 5: "UR", 6: "UL", 7: "LL", 8: "LR"}
_PALMER_QUADRANT = {"UR": 1, "UL": 2, "LL": 3, "LR": 4}
_PRIMARY_LETTERS = "ABCDE"  # Palmer primary positions 1..5, A = central incisor
_UNIVERSAL_LETTERS = "ABCDEFGHIJKLMNOPQRST"  # Universal primary teeth A..T

_K = TypeVar("_K", bound="Tooth | int")  # a mapping's key type is invariant: dict[Tooth, ...] too

_FDI_TEXT = re.compile(r"[0-9]{2}")
_UNIVERSAL_TEXT = re.compile(r"(?P<number>[0-9]{1,2})|(?P<letter>[A-Za-z])")
_PALMER_TEXT = re.compile(r"(?P<quadrant>[UL][RL])(?P<position>[1-8A-E])")

_FDI_RANGES = "permanent 11-18, 21-28, 31-38, 41-48; primary 51-55, 61-65, 71-75, 81-85"
_UNIVERSAL_RANGES = "permanent 1-32, primary A-T"
_PALMER_FORMS = (
    "UR, UL, LR or LL then 1-8 for a permanent or A-E for a primary tooth, e.g. UR8, LLC"
)


class Notation(StrEnum):
    """How a tooth is written. There is no auto-detection: "11" is a tooth in FDI and Universal."""

    FDI = "fdi"
    UNIVERSAL = "universal"
    PALMER = "palmer"


class Arch(StrEnum):
    UPPER = "upper"
    LOWER = "lower"


class Side(StrEnum):
    """The patient's right or left."""

    RIGHT = "right"
    LEFT = "left"


def _show(value: object) -> str:
    """A short repr for error messages, so huge inputs do not flood them."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _bad(code: str, path: str = "$", **params: Any) -> ValidationError:
    return ValidationError.of(code, path, subject="tooth", **params)


def _check_fdi(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value not in _VALID_FDI:
        raise _bad("invalid_fdi", "$.fdi", value=_show(value), ranges=_FDI_RANGES)


def _as_notation(notation: Notation | str) -> Notation:
    try:
        return Notation(notation)
    except ValueError:
        choices = ", ".join(n.value for n in Notation)
        raise _bad("unknown_notation", value=_show(notation), choices=choices) from None


@attrs.frozen(order=True)
class Tooth:
    """One tooth, stored as its FDI number and ordered by it (11 < 12 < ... < 85).

    Build from other notations with :meth:`from_fdi`, :meth:`from_universal`,
    :meth:`from_palmer` or :meth:`parse`; every bad input raises
    :class:`~aligner_core.errors.ValidationError`.
    """

    fdi: int = attrs.field(validator=_check_fdi)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_fdi(cls, value: int | str) -> Tooth:
        """An FDI number as int (``18``) or two-digit text (``"18"``, whitespace tolerated)."""
        shown = _show(value)
        if isinstance(value, str):
            text = value.strip()
            if not _FDI_TEXT.fullmatch(text):
                raise _bad("invalid_fdi", value=shown, ranges=_FDI_RANGES)
            number = int(text)
        elif isinstance(value, bool):
            raise _bad("invalid_fdi", value=shown, ranges=_FDI_RANGES)
        else:
            try:
                number = operator.index(value)  # int and int-likes (numpy integers), not floats
            except TypeError:
                raise _bad(
                    "tooth_number_type", notation="FDI", type=type(value).__name__, value=shown
                ) from None
        if number not in _VALID_FDI:
            raise _bad("invalid_fdi", value=shown, ranges=_FDI_RANGES)
        return cls(number)

    @classmethod
    def from_universal(cls, value: int | str) -> Tooth:
        """A Universal (ADA) number: permanent 1-32 (int or text), primary letters A-T.

        Permanent 1 is the upper right third molar (FDI 18), running round the upper arch to
        16 (28), then 17 is the lower left third molar (38) running to 32 (48). Primary A is
        the upper right second molar (55) to J (65), then K (75) to T (85). Letters are
        case-insensitive; surrounding whitespace is tolerated.
        """
        shown = _show(value)
        if isinstance(value, str):
            match = _UNIVERSAL_TEXT.fullmatch(value.strip())
            if match is None:
                raise _bad("invalid_universal", value=shown, ranges=_UNIVERSAL_RANGES)
            if match["letter"] is not None:
                index = _UNIVERSAL_LETTERS.find(match["letter"].upper())
                if index < 0:
                    raise _bad("invalid_universal", value=shown, ranges=_UNIVERSAL_RANGES)
                return cls(_fdi_of_universal_letter(index))
            number = int(match["number"])
        elif isinstance(value, bool):
            raise _bad("invalid_universal", value=shown, ranges=_UNIVERSAL_RANGES)
        else:
            try:
                number = operator.index(value)
            except TypeError:
                raise _bad(
                    "tooth_number_type",
                    notation="Universal",
                    type=type(value).__name__,
                    value=shown,
                ) from None
        if not 1 <= number <= 32:
            raise _bad("invalid_universal", value=shown, ranges=_UNIVERSAL_RANGES)
        return cls(_fdi_of_universal_number(number))

    @classmethod
    def from_palmer(cls, value: str) -> Tooth:
        """A Palmer name: quadrant ``UR``, ``UL``, ``LR`` or ``LL`` then the position.

        Permanent teeth take 1 (central incisor) to 8 (third molar): ``UR8`` .. ``UR1``,
        ``UL1`` .. ``UL8``, ``LR8`` .. ``LR1``, ``LL1`` .. ``LL8``. Primary teeth take the
        letters A (central incisor) to E (second molar): ``URA`` .. ``URE``, ``ULA`` ..
        ``ULE``, ``LRA`` .. ``LRE``, ``LLA`` .. ``LLE``. Case-insensitive; surrounding
        whitespace is tolerated, whitespace inside (``"UR 8"``) is not, nor are the Palmer
        grid symbols, which plain text cannot carry.
        """
        if not isinstance(value, str):
            raise _bad(
                "tooth_text_type", notation="Palmer", type=type(value).__name__, value=_show(value)
            )
        match = _PALMER_TEXT.fullmatch(value.strip().upper())
        if match is None:
            raise _bad("invalid_palmer", value=_show(value), forms=_PALMER_FORMS)
        quadrant = _PALMER_QUADRANT[match["quadrant"]]
        position = match["position"]
        if position.isdigit():
            return cls(quadrant * 10 + int(position))
        return cls((quadrant + 4) * 10 + _PRIMARY_LETTERS.index(position) + 1)

    @classmethod
    def parse(cls, text: str, notation: Notation = Notation.FDI) -> Tooth:
        """A tooth written as text in ``notation`` (FDI unless told; never guessed)."""
        if not isinstance(text, str):
            raise _bad("tooth_type", type=type(text).__name__, value=_show(text))
        match _as_notation(notation):
            case Notation.FDI:
                return cls.from_fdi(text)
            case Notation.UNIVERSAL:
                return cls.from_universal(text)
            case Notation.PALMER:
                return cls.from_palmer(text)
            case unreachable:
                assert_never(unreachable)

    # -- derived views ------------------------------------------------------------------------

    @property
    def quadrant(self) -> int:
        """FDI quadrant: 1-4 permanent, 5-8 primary (upper right, upper left, lower left, ...)."""
        return self.fdi // 10

    @property
    def position(self) -> int:
        """Position from the midline: 1 central incisor .. 8 third molar (5 for primary)."""
        return self.fdi % 10

    @property
    def arch(self) -> Arch:
        return Arch.UPPER if self.quadrant in (1, 2, 5, 6) else Arch.LOWER

    @property
    def side(self) -> Side:
        """The patient's side."""
        return Side.RIGHT if self.quadrant in (1, 4, 5, 8) else Side.LEFT

    @property
    def is_primary(self) -> bool:
        """A deciduous (baby) tooth."""
        return self.quadrant >= 5

    @property
    def is_third_molar(self) -> bool:
        return not self.is_primary and self.position == 8

    @property
    def universal(self) -> str:
        """The Universal (ADA) name as text: ``"1"`` .. ``"32"``, or ``"A"`` .. ``"T"``."""
        q, p = self.quadrant, self.position
        if self.is_primary:
            index = {5: 5 - p, 6: 4 + p, 7: 15 - p, 8: 14 + p}[q]
            return _UNIVERSAL_LETTERS[index]
        return str({1: 9 - p, 2: 8 + p, 3: 25 - p, 4: 24 + p}[q])

    @property
    def palmer(self) -> str:
        """The Palmer name, e.g. ``"UR8"`` (permanent) or ``"LLC"`` (primary)."""
        mark = _PRIMARY_LETTERS[self.position - 1] if self.is_primary else str(self.position)
        return _PALMER_PREFIX[self.quadrant] + mark

    def format(self, notation: Notation = Notation.FDI) -> str:
        """The tooth written in ``notation``; :meth:`parse` reads it back."""
        match _as_notation(notation):
            case Notation.FDI:
                return str(self.fdi)
            case Notation.UNIVERSAL:
                return self.universal
            case Notation.PALMER:
                return self.palmer
            case unreachable:
                assert_never(unreachable)

    def __str__(self) -> str:
        return str(self.fdi)


def _fdi_of_universal_number(number: int) -> int:
    """Universal 1-32 to FDI: 1-8 -> 18..11, 9-16 -> 21..28, 17-24 -> 38..31, 25-32 -> 41..48."""
    if number <= 8:
        return 19 - number
    if number <= 16:
        return 12 + number
    if number <= 24:
        return 55 - number
    return 16 + number


def _fdi_of_universal_letter(index: int) -> int:
    """Universal A-T (index 0-19) to FDI: A-E -> 55..51, F-J -> 61..65, K-O -> 75..71, P-T."""
    if index < 5:
        return 55 - index
    if index < 10:
        return 56 + index
    if index < 15:
        return 85 - index
    return 66 + index


PERMANENT_TEETH: tuple[Tooth, ...] = tuple(Tooth(f) for f in _PERMANENT_FDI)
"""The 32 permanent teeth in FDI order."""
PRIMARY_TEETH: tuple[Tooth, ...] = tuple(Tooth(f) for f in _PRIMARY_FDI)
"""The 20 primary teeth in FDI order."""
ALL_TEETH: tuple[Tooth, ...] = PERMANENT_TEETH + PRIMARY_TEETH
"""All 52 teeth in FDI order (permanent first, which is also numeric order)."""


class ToothState(StrEnum):
    """What the chart says about one tooth; ``none`` means nothing to note."""

    NONE = "none"
    MISSING = "missing"
    PLANNED_EXTRACTION = "planned_extraction"
    INLAY_ONLAY_FILLING = "inlay_onlay_filling"
    CROWN = "crown"
    BRIDGE = "bridge"
    IMPLANT = "implant"
    RETAINED_DECIDUOUS = "retained_deciduous"
    DO_NOT_MOVE = "do_not_move"


def _as_tooth(value: Tooth | int) -> Tooth:
    """A tooth, or its FDI number."""
    return value if isinstance(value, Tooth) else Tooth.from_fdi(value)


def _as_state(value: ToothState | str) -> ToothState:
    try:
        return ToothState(value)
    except ValueError:
        choices = ", ".join(s.value for s in ToothState)
        raise _bad("unknown_tooth_state", "$.state", value=_show(value), choices=choices) from None


@attrs.frozen
class ToothMark:
    """One tooth's state in a chart; the tooth may be given as its FDI number."""

    tooth: Tooth = attrs.field(converter=_as_tooth)
    state: ToothState = attrs.field(converter=_as_state)


def _normalise_marks(value: Iterable[ToothMark]) -> tuple[ToothMark, ...]:
    """Sorted by tooth, ``none`` marks dropped; two marks for one tooth are refused."""

    def bad(code: str, path: str = "$.marks", **params: Any) -> ValidationError:
        return ValidationError.of(code, path, subject="tooth chart", **params)

    given: object = value  # checked as any object: callers outside mypy pass anything
    if isinstance(given, Mapping):
        raise bad("marks_mapping")
    if isinstance(given, str | bytes) or not isinstance(given, Iterable):
        raise bad("marks_type", type=type(given).__name__)
    seen: dict[Tooth, int] = {}
    kept: list[ToothMark] = []
    for i, mark in enumerate(value):
        if not isinstance(mark, ToothMark):
            raise bad("not_a_mark", f"$.marks[{i}]", value=_show(mark))
        if mark.tooth in seen:
            raise bad(
                "tooth_marked_again",
                f"$.marks[{i}]",
                tooth=str(mark.tooth),
                other=f"$.marks[{seen[mark.tooth]}]",
            )
        seen[mark.tooth] = i
        if mark.state is not ToothState.NONE:
            kept.append(mark)
    kept.sort(key=lambda m: m.tooth)
    return tuple(kept)


@attrs.frozen
class ToothChart:
    """At most one state per tooth, kept as marks sorted by tooth; hashable and comparable.

    Marks may be given in any order (tuple or list); ``none`` marks are dropped, so equal
    charts compare and hash equal however they were built.
    """

    marks: tuple[ToothMark, ...] = attrs.field(default=(), converter=_normalise_marks)

    @classmethod
    def from_mapping(cls, states: Mapping[_K, ToothState | str]) -> ToothChart:
        """A chart from ``{tooth or FDI number: state or its value}``."""
        if not isinstance(states, Mapping):
            raise ValidationError.of(
                "expected_object",
                subject="tooth chart",
                expected="tooth_mapping",
                type=type(states).__name__,
            )
        marks: list[ToothMark] = []
        for key, state in states.items():
            try:
                marks.append(ToothMark(key, state))
            except ValidationError as e:
                where = f"$[{_show(key)}]"
                raise ValidationError(
                    [
                        FieldError(err.message, where, code=err.code, params=err.params)
                        for err in e.errors
                    ],
                    subject="tooth chart",
                ) from e
        return cls(marks)

    def state_of(self, tooth: Tooth | int) -> ToothState:
        """The tooth's state; ``none`` when it has no mark."""
        wanted = _as_tooth(tooth)
        for mark in self.marks:
            if mark.tooth == wanted:
                return mark.state
        return ToothState.NONE

    def with_state(self, tooth: Tooth | int, state: ToothState | str) -> ToothChart:
        """A copy with the tooth's state replaced; ``none`` clears its mark."""
        new = ToothMark(tooth, state)
        return ToothChart((*(m for m in self.marks if m.tooth != new.tooth), new))

    def teeth_in(self, state: ToothState | str) -> tuple[Tooth, ...]:
        """Teeth in ``state``, in FDI order; for ``none``, every tooth of ALL_TEETH unmarked."""
        wanted = _as_state(state)
        if wanted is ToothState.NONE:
            marked = {m.tooth for m in self.marks}
            return tuple(t for t in ALL_TEETH if t not in marked)
        return tuple(m.tooth for m in self.marks if m.state is wanted)

    def __len__(self) -> int:
        """The number of marked teeth (state other than ``none``)."""
        return len(self.marks)
