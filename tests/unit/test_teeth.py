"""Teeth in FDI, Universal and Palmer notation, and the per-tooth chart."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aligner_core.domain.teeth import (
    ALL_TEETH,
    PERMANENT_TEETH,
    PRIMARY_TEETH,
    Arch,
    Notation,
    Side,
    Tooth,
    ToothChart,
    ToothMark,
    ToothState,
)
from aligner_core.errors import ValidationError
from aligner_core.testing.strategies import teeth, tooth_charts

# The FDI / Universal / Palmer crosswalk as the ADA and the HL7 Dental Data Exchange give it,
# written out by hand (not computed) so that it checks the implementation's arithmetic.
# (FDI, Universal, Palmer)
CROSSWALK: list[tuple[int, str, str]] = [
    # permanent, upper arch: Universal 1..16 from the patient's upper right to upper left
    (18, "1", "UR8"),
    (17, "2", "UR7"),
    (16, "3", "UR6"),
    (15, "4", "UR5"),
    (14, "5", "UR4"),
    (13, "6", "UR3"),
    (12, "7", "UR2"),
    (11, "8", "UR1"),
    (21, "9", "UL1"),
    (22, "10", "UL2"),
    (23, "11", "UL3"),
    (24, "12", "UL4"),
    (25, "13", "UL5"),
    (26, "14", "UL6"),
    (27, "15", "UL7"),
    (28, "16", "UL8"),
    # permanent, lower arch: Universal 17..32 from the lower left to lower right
    (38, "17", "LL8"),
    (37, "18", "LL7"),
    (36, "19", "LL6"),
    (35, "20", "LL5"),
    (34, "21", "LL4"),
    (33, "22", "LL3"),
    (32, "23", "LL2"),
    (31, "24", "LL1"),
    (41, "25", "LR1"),
    (42, "26", "LR2"),
    (43, "27", "LR3"),
    (44, "28", "LR4"),
    (45, "29", "LR5"),
    (46, "30", "LR6"),
    (47, "31", "LR7"),
    (48, "32", "LR8"),
    # primary, upper arch: A..J
    (55, "A", "URE"),
    (54, "B", "URD"),
    (53, "C", "URC"),
    (52, "D", "URB"),
    (51, "E", "URA"),
    (61, "F", "ULA"),
    (62, "G", "ULB"),
    (63, "H", "ULC"),
    (64, "I", "ULD"),
    (65, "J", "ULE"),
    # primary, lower arch: K..T
    (75, "K", "LLE"),
    (74, "L", "LLD"),
    (73, "M", "LLC"),
    (72, "N", "LLB"),
    (71, "O", "LLA"),
    (81, "P", "LRA"),
    (82, "Q", "LRB"),
    (83, "R", "LRC"),
    (84, "S", "LRD"),
    (85, "T", "LRE"),
]

ROW_IDS = [f"fdi{fdi}" for fdi, _, _ in CROSSWALK]


def test_crosswalk_table_is_complete_and_consistent() -> None:
    assert len(CROSSWALK) == 52
    assert len({r[0] for r in CROSSWALK}) == 52
    assert len({r[1] for r in CROSSWALK}) == 52
    assert len({r[2] for r in CROSSWALK}) == 52


def test_module_tuples() -> None:
    assert len(PERMANENT_TEETH) == 32
    assert len(PRIMARY_TEETH) == 20
    assert ALL_TEETH == PERMANENT_TEETH + PRIMARY_TEETH
    assert {t.fdi for t in ALL_TEETH} == {r[0] for r in CROSSWALK}
    assert all(not t.is_primary for t in PERMANENT_TEETH)
    assert all(t.is_primary for t in PRIMARY_TEETH)
    assert list(ALL_TEETH) == sorted(ALL_TEETH)


# -- the crosswalk, every direction -------------------------------------------------------------


@pytest.mark.parametrize(("fdi", "universal", "palmer"), CROSSWALK, ids=ROW_IDS)
def test_from_fdi(fdi: int, universal: str, palmer: str) -> None:
    for given_ in (fdi, str(fdi), f" {fdi}\n"):
        tooth = Tooth.from_fdi(given_)
        assert tooth == Tooth(fdi)
        assert tooth.fdi == fdi
        assert tooth.universal == universal
        assert tooth.palmer == palmer
        assert str(tooth) == str(fdi)


@pytest.mark.parametrize(("fdi", "universal", "palmer"), CROSSWALK, ids=ROW_IDS)
def test_from_universal(fdi: int, universal: str, palmer: str) -> None:
    spellings: list[int | str] = [universal, universal.lower(), f"  {universal} "]
    if universal.isdigit():
        spellings.append(int(universal))
    for given_ in spellings:
        tooth = Tooth.from_universal(given_)
        assert tooth.fdi == fdi
        assert tooth.universal == universal
        assert tooth.palmer == palmer


@pytest.mark.parametrize(("fdi", "universal", "palmer"), CROSSWALK, ids=ROW_IDS)
def test_from_palmer(fdi: int, universal: str, palmer: str) -> None:
    for given_ in (palmer, palmer.lower(), palmer.capitalize(), f"\t{palmer} "):
        tooth = Tooth.from_palmer(given_)
        assert tooth.fdi == fdi
        assert tooth.universal == universal
        assert tooth.palmer == palmer


@pytest.mark.parametrize(("fdi", "universal", "palmer"), CROSSWALK, ids=ROW_IDS)
def test_parse_and_format(fdi: int, universal: str, palmer: str) -> None:
    tooth = Tooth(fdi)
    written = {Notation.FDI: str(fdi), Notation.UNIVERSAL: universal, Notation.PALMER: palmer}
    for notation, text in written.items():
        assert Tooth.parse(text, notation) == tooth
        assert Tooth.parse(text, notation=notation) == tooth
        assert tooth.format(notation) == text
    assert Tooth.parse(str(fdi)) == tooth  # FDI is the default
    assert tooth.format() == str(fdi)


@pytest.mark.parametrize(("fdi", "universal", "palmer"), CROSSWALK, ids=ROW_IDS)
def test_anatomy_agrees_with_palmer(fdi: int, universal: str, palmer: str) -> None:
    """Arch and side read from the literal Palmer prefix; position from its last character."""
    tooth = Tooth(fdi)
    assert tooth.arch is (Arch.UPPER if palmer[0] == "U" else Arch.LOWER)
    assert tooth.side is (Side.RIGHT if palmer[1] == "R" else Side.LEFT)
    assert tooth.is_primary is palmer[2].isalpha()
    assert tooth.is_primary is universal.isalpha()
    position = int(palmer[2]) if palmer[2].isdigit() else "ABCDE".index(palmer[2]) + 1
    assert tooth.position == position
    assert tooth.quadrant == fdi // 10
    assert tooth.is_third_molar is (palmer[2] == "8")


def test_properties_examples() -> None:
    upper_right_first_molar = Tooth.from_universal(3)
    assert upper_right_first_molar.fdi == 16
    assert (upper_right_first_molar.quadrant, upper_right_first_molar.position) == (1, 6)
    assert upper_right_first_molar.arch is Arch.UPPER
    assert str(upper_right_first_molar.arch) == "upper"
    assert upper_right_first_molar.side is Side.RIGHT
    assert not upper_right_first_molar.is_primary
    assert not upper_right_first_molar.is_third_molar
    assert Tooth(38).is_third_molar
    assert not Tooth(55).is_third_molar  # a primary second molar
    lower_left_primary_canine = Tooth.from_palmer("llc")
    assert lower_left_primary_canine.fdi == 73
    assert lower_left_primary_canine.universal == "M"
    assert lower_left_primary_canine.quadrant == 7
    assert lower_left_primary_canine.arch is Arch.LOWER
    assert lower_left_primary_canine.side is Side.LEFT
    assert lower_left_primary_canine.is_primary


def test_value_semantics() -> None:
    assert Tooth(11) == Tooth.from_palmer("UR1") == Tooth.from_universal("8")
    assert hash(Tooth(11)) == hash(Tooth.from_universal(8))
    assert len({Tooth(11), Tooth.from_fdi("11"), Tooth(12)}) == 2
    assert Tooth(11) < Tooth(12) < Tooth(21) < Tooth(51)
    assert sorted([Tooth(85), Tooth(11), Tooth(48)]) == [Tooth(11), Tooth(48), Tooth(85)]
    assert repr(Tooth(11)) == "Tooth(fdi=11)"
    assert attrs.fields(Tooth).fdi.name == "fdi"
    assert [a.name for a in attrs.fields(Tooth)] == ["fdi"]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        Tooth(11).fdi = 12  # type: ignore[misc]


def test_notation_values() -> None:
    assert [n.value for n in Notation] == ["fdi", "universal", "palmer"]
    assert Tooth.parse("UR1", "palmer") == Tooth(11)  # type: ignore[arg-type]


# -- bad input ----------------------------------------------------------------------------------

BAD_FDI: list[Any] = [
    19, 0, 10, 20, 29, 30, 39, 40, 49, 50, 56, 59, 60, 66, 76, 86, 89, 90, 99, 100, 111, -11,
    "19", "0", "", " ", "1 8", "18.0", "+18", "018", "1_8", "0x12", "\u0661\u0668", "UR1",
    None, 18.0, 11.5, True, False, [18], (18,), b"18", object(),
]  # fmt: skip

BAD_UNIVERSAL: list[Any] = [
    0, 33, -1, 100, "0", "33", "-1", "U", "Z", "u", "", " ", "AA", "1A", "A1", "#1", "1.0",
    "\u00c9", "\u0661", None, 1.0, True, False, [1], b"1",
]  # fmt: skip

BAD_PALMER: list[Any] = [
    "UR9", "UR0", "URF", "ULZ", "UX1", "XR1", "U1", "R1", "UR", "", " ", "18", "1", "A",
    "UR 1", "U R1", "UR11", "URAA", "UR-1", "\u00dcR1", None, 18, True, b"UR1", ["UR1"],
]  # fmt: skip


@pytest.mark.parametrize("value", BAD_FDI, ids=repr)
def test_bad_fdi(value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        Tooth.from_fdi(value)
    assert info.value.subject == "tooth"


@pytest.mark.parametrize(
    "value", [v for v in BAD_FDI if not isinstance(v, str) or v == "19"], ids=repr
)
def test_bad_constructor_argument(value: Any) -> None:
    """The constructor takes an int only (no text, no float, no bool) and checks its range."""
    with pytest.raises(ValidationError) as info:
        Tooth(value)
    assert info.value.paths == ["$.fdi"]


@pytest.mark.parametrize("value", BAD_UNIVERSAL, ids=repr)
def test_bad_universal(value: Any) -> None:
    with pytest.raises(ValidationError):
        Tooth.from_universal(value)


@pytest.mark.parametrize("value", BAD_PALMER, ids=repr)
def test_bad_palmer(value: Any) -> None:
    with pytest.raises(ValidationError):
        Tooth.from_palmer(value)


@pytest.mark.parametrize(
    ("text", "notation"),
    [
        ("19", Notation.FDI),
        ("UR1", Notation.FDI),
        ("8", Notation.FDI),  # Universal 8 is not an FDI number
        ("33", Notation.UNIVERSAL),
        ("UR1", Notation.UNIVERSAL),
        ("11", Notation.PALMER),
        ("", Notation.PALMER),
        ("11", "auto"),
        ("11", "FDI"),
        ("11", None),
        (11, Notation.FDI),  # parse reads text only
        (None, Notation.FDI),
    ],
)
def test_bad_parse(text: Any, notation: Any) -> None:
    with pytest.raises(ValidationError):
        Tooth.parse(text, notation)


def test_bad_format_notation() -> None:
    with pytest.raises(ValidationError):
        Tooth(11).format("auto")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "shown"),
    [
        (lambda: Tooth.from_fdi(19), "19"),
        (lambda: Tooth.from_fdi("99"), "'99'"),
        (lambda: Tooth(0), "0"),
        (lambda: Tooth.from_universal(33), "33"),
        (lambda: Tooth.from_universal("U"), "'U'"),
        (lambda: Tooth.from_palmer("UR9"), "'UR9'"),
        (lambda: Tooth.from_fdi(1.5), "1.5"),  # type: ignore[arg-type]
        (lambda: Tooth.from_fdi(None), "None"),  # type: ignore[arg-type]
    ],
)
def test_errors_name_the_bad_value(call: Any, shown: str) -> None:
    with pytest.raises(ValidationError) as info:
        call()
    assert shown in str(info.value)


def test_error_on_long_input_is_short() -> None:
    with pytest.raises(ValidationError) as info:
        Tooth.from_palmer("X" * 10_000)
    assert len(str(info.value)) < 300


def test_ambiguous_numbers_need_a_notation() -> None:
    """ "11" is a different tooth in FDI and Universal: nothing is guessed."""
    assert Tooth.parse("11") == Tooth(11)
    assert Tooth.parse("11", Notation.UNIVERSAL) == Tooth(23)


# -- properties over all teeth ------------------------------------------------------------------


@given(teeth())
def test_round_trip_every_notation(tooth: Tooth) -> None:
    assert Tooth.from_fdi(tooth.fdi) == tooth
    assert Tooth.from_fdi(str(tooth)) == tooth
    assert Tooth.from_universal(tooth.universal) == tooth
    assert Tooth.from_palmer(tooth.palmer) == tooth
    for notation in Notation:
        assert Tooth.parse(tooth.format(notation), notation) == tooth
        assert Tooth.parse(tooth.format(notation).lower(), notation) == tooth


@given(teeth(), teeth())
def test_order_follows_fdi(a: Tooth, b: Tooth) -> None:
    assert (a < b) is (a.fdi < b.fdi)
    assert (a == b) is (a.fdi == b.fdi)


@given(teeth(primary=True))
def test_primary_strategy(tooth: Tooth) -> None:
    assert tooth.is_primary
    assert tooth.universal.isalpha()


@given(teeth(primary=False))
def test_permanent_strategy(tooth: Tooth) -> None:
    assert not tooth.is_primary
    assert tooth.universal.isdigit()


# -- tooth states and charts --------------------------------------------------------------------


def test_tooth_states() -> None:
    assert [s.value for s in ToothState] == [
        "none",
        "missing",
        "planned_extraction",
        "inlay_onlay_filling",
        "crown",
        "bridge",
        "implant",
        "retained_deciduous",
        "do_not_move",
    ]


def test_tooth_mark_converts_and_checks() -> None:
    assert ToothMark(18, "crown") == ToothMark(Tooth(18), ToothState.CROWN)
    with pytest.raises(ValidationError):
        ToothMark(19, ToothState.CROWN)
    with pytest.raises(ValidationError):
        ToothMark(18, "bogus")
    with pytest.raises(ValidationError):
        ToothMark(None, "crown")  # type: ignore[arg-type]


def test_empty_chart() -> None:
    chart = ToothChart()
    assert len(chart) == 0
    assert chart.marks == ()
    assert chart == ToothChart(()) == ToothChart([]) == ToothChart.from_mapping({})
    assert chart.state_of(Tooth(11)) is ToothState.NONE
    assert chart.teeth_in(ToothState.CROWN) == ()
    assert chart.teeth_in(ToothState.NONE) == ALL_TEETH


def test_chart_normalises() -> None:
    chart = ToothChart(
        [
            ToothMark(Tooth(46), ToothState.CROWN),
            ToothMark(Tooth(11), ToothState.DO_NOT_MOVE),
            ToothMark(Tooth(53), ToothState.NONE),
            ToothMark(Tooth(18), ToothState.MISSING),
        ]
    )
    assert isinstance(chart.marks, tuple)
    assert [m.tooth.fdi for m in chart.marks] == [11, 18, 46]
    assert len(chart) == 3
    assert chart.state_of(Tooth(46)) is ToothState.CROWN
    assert chart.state_of(46) is ToothState.CROWN
    assert chart.state_of(Tooth(53)) is ToothState.NONE
    assert chart.teeth_in(ToothState.CROWN) == (Tooth(46),)
    assert chart.teeth_in("missing") == (Tooth(18),)
    assert Tooth(11) not in chart.teeth_in(ToothState.NONE)
    assert Tooth(53) in chart.teeth_in(ToothState.NONE)
    assert hash(chart) == hash(ToothChart(tuple(reversed(chart.marks))))


def test_from_mapping() -> None:
    by_tooth: dict[Tooth, ToothState] = {Tooth(11): ToothState.IMPLANT}
    by_number: dict[int, str] = {36: "bridge", 37: "bridge", 55: "retained_deciduous"}
    mixed: dict[Tooth | int, ToothState | str] = {Tooth(11): "implant", 21: ToothState.NONE}
    assert ToothChart.from_mapping(by_tooth) == ToothChart.from_mapping(mixed)
    chart = ToothChart.from_mapping(by_number)
    assert chart.teeth_in(ToothState.BRIDGE) == (Tooth(36), Tooth(37))
    assert chart.state_of(55) is ToothState.RETAINED_DECIDUOUS


@pytest.mark.parametrize(
    "mapping",
    [
        {19: "crown"},
        {18: "bogus"},
        {18: None},
        {None: "crown"},
        {"UR8": "crown"},
        {18: "crown", Tooth(18): "missing"},  # the same tooth twice
        {18: "none", Tooth(18): "crown"},
    ],
    ids=repr,
)
def test_from_mapping_refuses(mapping: Any) -> None:
    with pytest.raises(ValidationError) as info:
        ToothChart.from_mapping(mapping)
    assert info.value.subject == "tooth chart"


def test_duplicate_marks_are_refused_naming_the_tooth() -> None:
    with pytest.raises(ValidationError) as info:
        ToothChart(
            (
                ToothMark(Tooth(21), ToothState.CROWN),
                ToothMark(Tooth(11), ToothState.CROWN),
                ToothMark(Tooth(21), ToothState.IMPLANT),
            )
        )
    assert "tooth 21" in str(info.value)
    assert info.value.paths == ["$.marks[2]"]


@pytest.mark.parametrize(
    "marks",
    [
        {18: "crown"},
        "crown",
        18,
        None,
        [Tooth(18)],
        [(18, "crown")],
        [ToothMark(18, "crown"), None],
    ],
    ids=repr,
)
def test_chart_refuses_non_marks(marks: Any) -> None:
    with pytest.raises(ValidationError):
        ToothChart(marks)


def test_with_state() -> None:
    chart = ToothChart().with_state(Tooth(11), ToothState.CROWN).with_state(21, "bridge")
    assert chart.state_of(11) is ToothState.CROWN
    replaced = chart.with_state(11, ToothState.IMPLANT)
    assert replaced.state_of(11) is ToothState.IMPLANT
    assert len(replaced) == 2
    cleared = replaced.with_state(Tooth(11), ToothState.NONE)
    assert cleared.state_of(11) is ToothState.NONE
    assert cleared == ToothChart.from_mapping({21: "bridge"})
    assert chart.state_of(11) is ToothState.CROWN  # the original is unchanged
    with pytest.raises(ValidationError):
        chart.with_state(19, ToothState.CROWN)
    with pytest.raises(ValidationError):
        chart.with_state(11, "cracked")


def test_chart_is_frozen() -> None:
    chart = ToothChart.from_mapping({11: "crown"})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        chart.marks = ()  # type: ignore[misc]


@given(tooth_charts())
def test_chart_at_most_one_state_per_tooth(chart: ToothChart) -> None:
    marked = [m.tooth for m in chart.marks]
    assert len(marked) == len(set(marked)) == len(chart)
    assert marked == sorted(marked)
    assert all(m.state is not ToothState.NONE for m in chart.marks)
    for state in ToothState:
        for tooth in chart.teeth_in(state):
            assert chart.state_of(tooth) is state
    assert sum(len(chart.teeth_in(s)) for s in ToothState) == len(ALL_TEETH)


@given(tooth_charts(), teeth(), st.sampled_from(ToothState))
def test_with_state_then_state_of(chart: ToothChart, tooth: Tooth, state: ToothState) -> None:
    changed = chart.with_state(tooth, state)
    assert changed.state_of(tooth) is state
    for other in ALL_TEETH:
        if other != tooth:
            assert changed.state_of(other) is chart.state_of(other)
    assert changed.with_state(tooth, chart.state_of(tooth)) == chart


@given(tooth_charts(), st.data())
def test_chart_construction_is_order_insensitive(chart: ToothChart, data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(chart.marks))
    rebuilt = ToothChart(shuffled)
    assert rebuilt == chart
    assert hash(rebuilt) == hash(chart)
    assert ToothChart(tuple(shuffled)) == chart
    as_mapping = {m.tooth: m.state for m in shuffled}
    assert ToothChart.from_mapping(as_mapping) == chart


@given(tooth_charts(), st.lists(teeth(), unique=True))
def test_none_marks_are_dropped(chart: ToothChart, extra: list[Tooth]) -> None:
    marked = {m.tooth for m in chart.marks}
    nones = [ToothMark(t, ToothState.NONE) for t in extra if t not in marked]
    assert ToothChart((*nones, *chart.marks)) == chart
