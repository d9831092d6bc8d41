"""aligner_core.pictures: the tooth chart, the plan schedule and the lifecycle as SVG.

Every SVG is parsed with xml.etree (a picture that does not parse fails here, not in a
browser), then read back by id and data attribute the way a shell would.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aligner_core.domain.cases import CaseStatus
from aligner_core.domain.lifecycle import TABLE
from aligner_core.domain.plans import IprContact, PlanStep, PlanSummary, PlanVersion
from aligner_core.domain.prescriptions import WearSchedule
from aligner_core.domain.teeth import (
    PERMANENT_TEETH,
    PRIMARY_TEETH,
    Notation,
    Tooth,
    ToothChart,
    ToothState,
)
from aligner_core.errors import AlignerError, ValidationError
from aligner_core.pictures import (
    lifecycle_mermaid,
    lifecycle_svg,
    plan_schedule_svg,
    tooth_chart_svg,
)
from aligner_core.pictures._teeth_art import STATE_NAMES
from aligner_core.pictures.lifecycle import PLACES, lifecycle_edges, lifecycle_markdown
from aligner_core.pictures.plan_schedule import schedule_rows
from aligner_core.testing.strategies import plan_versions, tooth_charts

SVG = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parents[2]
PICTURES = ROOT / "src" / "aligner_core" / "pictures"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises ParseError on anything that is not well-formed XML
    assert root.tag == f"{SVG}svg"
    return root


def by_id(root: ET.Element, pattern: str) -> dict[str, ET.Element]:
    """Elements whose id matches ``pattern`` in full, by id; ids must be unique."""
    found: dict[str, ET.Element] = {}
    for element in root.iter():
        ident = element.get("id")
        if ident is not None and re.fullmatch(pattern, ident):
            assert ident not in found, f"duplicate id {ident}"
            found[ident] = element
    return found


def text_of(element: ET.Element) -> list[str]:
    return [t.text or "" for t in element.iter(f"{SVG}text")]


def all_ids_unique(root: ET.Element) -> None:
    ids = [e.get("id") for e in root.iter() if e.get("id") is not None]
    assert len(ids) == len(set(ids))


# -- the package: lazy, and below the service ---------------------------------------------------


def test_importing_pictures_loads_no_numpy_pillow_service_or_storage() -> None:
    code = (
        "import sys\n"
        "import aligner_core.pictures as p\n"
        "p.tooth_chart_svg, p.plan_schedule_svg, p.lifecycle_svg, p.scan_preview_png\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('numpy', 'PIL', 'stl')\n"
        "       or m.startswith(('aligner_core.service', 'aligner_core.storage'))]\n"
        "print(bad)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_pictures_modules_import_nothing_from_service_storage_or_shells() -> None:
    forbidden = ("aligner_core.service", "aligner_core.storage", "aligner_core.bootstrap")
    forbidden += ("aligner_core.cli", "aligner_core.notifications")
    for path in sorted(PICTURES.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"


def test_public_names() -> None:
    import aligner_core.pictures as pictures

    assert set(pictures.__all__) == {
        "MissingExtraError",
        "lifecycle_mermaid",
        "lifecycle_svg",
        "plan_schedule_svg",
        "scan_preview_png",
        "tooth_chart_svg",
    }
    assert issubclass(pictures.MissingExtraError, AlignerError)
    with pytest.raises(AttributeError):
        _ = pictures.no_such_picture  # type: ignore[attr-defined]


# -- tooth chart ----------------------------------------------------------------------------------

MARKED = ToothChart.from_mapping(
    {
        18: ToothState.MISSING,
        12: ToothState.PLANNED_EXTRACTION,
        16: ToothState.BRIDGE,
        15: ToothState.BRIDGE,
        21: ToothState.INLAY_ONLAY_FILLING,
        26: ToothState.CROWN,
        36: ToothState.IMPLANT,
        31: ToothState.DO_NOT_MOVE,
        41: ToothState.DO_NOT_MOVE,
        45: ToothState.RETAINED_DECIDUOUS,
    }
)


def teeth_of(root: ET.Element) -> dict[int, ET.Element]:
    return {int(k.removeprefix("tooth-")): v for k, v in by_id(root, r"tooth-\d\d").items()}


def label_of(tooth: ET.Element) -> str:
    (label,) = [t for t in tooth.iter(f"{SVG}text") if t.get("class") == "label"]
    return label.text or ""


def test_chart_has_one_element_per_permanent_tooth_with_state_and_title() -> None:
    root = parse(tooth_chart_svg(MARKED))
    teeth = teeth_of(root)
    assert sorted(teeth) == sorted(t.fdi for t in PERMANENT_TEETH)
    for fdi, element in teeth.items():
        state = MARKED.state_of(fdi)
        assert element.get("data-fdi") == str(fdi)
        assert element.get("data-state") == state.value
        title = element.find(f"{SVG}title")
        assert title is not None and title.text is not None
        assert STATE_NAMES[state] in title.text
    assert root.get("role") == "img"
    aria = root.get("aria-label") or ""
    assert "Tooth chart" in aria and "18 missing" in aria


def test_mixed_dentition_adds_the_primary_teeth() -> None:
    root = parse(tooth_chart_svg(ToothChart(), dentition="mixed"))
    assert sorted(teeth_of(root)) == sorted(t.fdi for t in PERMANENT_TEETH + PRIMARY_TEETH)


def test_a_marked_primary_tooth_is_never_hidden() -> None:
    chart = ToothChart.from_mapping({75: ToothState.RETAINED_DECIDUOUS})
    teeth = teeth_of(parse(tooth_chart_svg(chart, dentition="permanent")))
    assert len(teeth) == 52
    assert teeth[75].get("data-state") == "retained_deciduous"


@pytest.mark.parametrize(
    ("fdi", "fdi_label", "universal", "palmer"),
    [
        (18, "18", "1", "UR8"),
        (11, "11", "8", "UR1"),
        (21, "21", "9", "UL1"),
        (28, "28", "16", "UL8"),
        (38, "38", "17", "LL8"),
        (31, "31", "24", "LL1"),
        (41, "41", "25", "LR1"),
        (48, "48", "32", "LR8"),
        (55, "55", "A", "URE"),
        (65, "65", "J", "ULE"),
        (75, "75", "K", "LLE"),
        (85, "85", "T", "LRE"),
    ],
)
def test_labels_in_each_notation(fdi: int, fdi_label: str, universal: str, palmer: str) -> None:
    for notation, expected in (
        (Notation.FDI, fdi_label),
        (Notation.UNIVERSAL, universal),
        (Notation.PALMER, palmer),
    ):
        root = parse(tooth_chart_svg(ToothChart(), notation=notation, dentition="mixed"))
        tooth = teeth_of(root)[fdi]
        assert label_of(tooth) == expected
        assert tooth.get("data-label") == expected
        assert tooth.get("id") == f"tooth-{fdi}"  # ids stay FDI whatever the labels


def _x(tooth: ET.Element) -> float:
    (label,) = [t for t in tooth.iter(f"{SVG}text") if t.get("class") == "label"]
    return float(label.get("x", "nan"))


def _y(tooth: ET.Element) -> float:
    (label,) = [t for t in tooth.iter(f"{SVG}text") if t.get("class") == "label"]
    return float(label.get("y", "nan"))


def test_layout_is_as_a_dentist_facing_the_patient_sees_it() -> None:
    teeth = teeth_of(parse(tooth_chart_svg(ToothChart(), dentition="mixed")))
    upper = [18, 17, 16, 15, 14, 13, 12, 11, 21, 22, 23, 24, 25, 26, 27, 28]
    lower = [48, 47, 46, 45, 44, 43, 42, 41, 31, 32, 33, 34, 35, 36, 37, 38]
    for row in (upper, lower, [55, 54, 53, 52, 51, 61, 62, 63, 64, 65]):
        xs = [_x(teeth[f]) for f in row]
        assert xs == sorted(xs) and len(set(xs)) == len(xs)  # the patient's right on the left
        assert len({_y(teeth[f]) for f in row}) == 1
    assert _y(teeth[11]) < _y(teeth[51]) < _y(teeth[81]) < _y(teeth[41])
    for permanent, primary in ((15, 55), (11, 51), (21, 61), (45, 85), (35, 75)):
        assert _x(teeth[permanent]) == _x(teeth[primary])


def test_legend_names_every_state_by_default_and_only_used_ones_when_asked() -> None:
    root = parse(tooth_chart_svg(ToothChart()))
    items = by_id(root, r"legend-.+")
    assert {i.get("data-state") for i in items.values()} == {s.value for s in ToothState}
    for item in items.values():
        assert text_of(item) == [STATE_NAMES[ToothState(item.get("data-state"))]]
    used = by_id(parse(tooth_chart_svg(MARKED, legend="used")), r"legend-.+")
    assert {i.get("data-state") for i in used.values()} == {m.state.value for m in MARKED.marks}
    assert by_id(parse(tooth_chart_svg(MARKED, legend="none")), r"legend-.+") == {}


def test_each_state_has_its_own_symbol_so_the_chart_reads_in_black_and_white() -> None:
    chart = ToothChart.from_mapping(
        {t: s for t, s in zip((11, 12, 13, 14, 15, 16, 17, 18), list(ToothState)[1:], strict=True)}
    )
    teeth = teeth_of(parse(tooth_chart_svg(chart)))
    shapes = set()
    for fdi in (11, 12, 13, 14, 15, 16, 17, 18):
        symbol = [e for e in teeth[fdi].iter() if e.get("class") == "symbol"]
        assert len(symbol) == 1, fdi
        shapes.add(tuple(e.tag for e in symbol[0].iter()))
    assert len(shapes) == 8  # eight states, eight different drawings
    assert not [e for e in teeth[21].iter() if e.get("class") == "symbol"]


def test_text_is_escaped_and_cleaned() -> None:
    title = 'Case <script>alert("x")</script> & \x00\x1b\ufffe more'
    root = parse(tooth_chart_svg(ToothChart(), title=title))
    texts = text_of(root)
    assert 'Case <script>alert("x")</script> & more' in texts
    assert "<script>" not in tooth_chart_svg(ToothChart(), title=title)


def test_chart_is_deterministic_and_prefixes_ids() -> None:
    assert tooth_chart_svg(MARKED) == tooth_chart_svg(MARKED)
    root = parse(tooth_chart_svg(MARKED, id_prefix="upper-"))
    assert len(by_id(root, r"upper-tooth-\d\d")) == 32
    assert by_id(root, r"tooth-\d\d") == {}


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"notation": "roman"}, "$.notation"),
        ({"dentition": "adult"}, "$.dentition"),
        ({"legend": "some"}, "$.legend"),
        ({"id_prefix": "9lives"}, "$.id_prefix"),
        ({"id_prefix": 'x" onload="'}, "$.id_prefix"),
    ],
)
def test_bad_chart_options_are_validation_errors(kwargs: dict[str, str], path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        tooth_chart_svg(ToothChart(), **kwargs)  # type: ignore[arg-type]
    assert path in caught.value.paths


def test_not_a_chart_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        tooth_chart_svg({18: "missing"})  # type: ignore[arg-type]


@settings(max_examples=60)
@given(
    chart=tooth_charts(),
    notation=st.sampled_from(Notation),
    dentition=st.sampled_from(["permanent", "mixed"]),
    title=st.none() | st.text(max_size=60),
)
def test_any_chart_renders_valid_svg_with_one_element_per_tooth(
    chart: ToothChart, notation: Notation, dentition: str, title: str | None
) -> None:
    root = parse(
        tooth_chart_svg(chart, notation=notation, dentition=dentition, title=title)  # type: ignore[arg-type]
    )
    all_ids_unique(root)
    teeth = teeth_of(root)
    primary = dentition == "mixed" or any(m.tooth.is_primary for m in chart.marks)
    expected = PERMANENT_TEETH + (PRIMARY_TEETH if primary else ())
    assert sorted(teeth) == sorted(t.fdi for t in expected)
    for fdi, element in teeth.items():
        assert element.get("data-state") == chart.state_of(fdi).value
        assert label_of(element) == Tooth(fdi).format(notation)


# -- plan schedule --------------------------------------------------------------------------------

T = Tooth
AT = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def _plan(steps: tuple[PlanStep, ...], upper: int = 0, lower: int = 0) -> PlanVersion:
    return PlanVersion(
        number=3,
        uploaded_at=AT,
        uploaded_by=UUID(int=7),
        summary=PlanSummary(
            upper_steps=upper or len(steps),
            lower_steps=lower or len(steps),
            total_ipr_mm=sum(s.ipr_mm for s in steps),
            attachment_count=sum(len(s.attachments_placed) for s in steps),
            wear_schedule=WearSchedule.DAYS_10,
        ),
        steps=steps,
    )


PLAN = _plan(
    (
        PlanStep(1, attachments_placed=(T(13), T(23), T(33))),
        PlanStep(2),
        PlanStep(
            3,
            ipr=(IprContact(T(11), T(12), 0.2), IprContact(T(21), T(22), 0.25)),
            checkpoint=True,
        ),
        PlanStep(4, ipr=(IprContact(T(42), T(41), 0.1),)),
        PlanStep(5, attachments_removed=(T(13),), note="remove <13> & check"),
        PlanStep(6, checkpoint=True),
    ),
    lower=4,
)


def test_schedule_has_one_column_per_step_and_one_row_per_tooth() -> None:
    root = parse(plan_schedule_svg(PLAN))
    all_ids_unique(root)
    steps = by_id(root, r"step-\d+")
    assert sorted(steps, key=lambda k: int(k[5:])) == [f"step-{n}" for n in range(1, 7)]
    rows = by_id(root, r"tooth-\d\d")
    expected = schedule_rows(PLAN)
    assert [int(k[6:]) for k in rows] == [t.fdi for arch in expected.values() for t in arch]
    # the span between the outermost touched teeth, in chart order, untouched ones included
    assert [t.fdi for t in expected[T(11).arch]] == [13, 12, 11, 21, 22, 23]
    assert [t.fdi for t in expected[T(41).arch]] == [42, 41, 31, 32, 33]


def test_schedule_cells_show_ipr_attachments_and_checkpoints() -> None:
    root = parse(plan_schedule_svg(PLAN))
    steps = by_id(root, r"step-\d+")
    ipr = [e for e in steps["step-3"].iter() if e.get("class") == "ipr"]
    assert {(e.get("data-contact"), e.get("data-mm")) for e in ipr} == {
        ("12-11", "0.2"),
        ("21-22", "0.25"),
    }
    lower = [e for e in steps["step-4"].iter() if e.get("class") == "ipr"]
    assert [(e.get("data-contact"), e.get("data-mm")) for e in lower] == [("42-41", "0.1")]
    placed = [e for e in steps["step-1"].iter() if e.get("class") == "attachment-placed"]
    assert len(placed) == 3
    removed = [e for e in steps["step-5"].iter() if e.get("class") == "attachment-removed"]
    assert len(removed) == 1
    checkpoints = {k for k, v in steps.items() if v.get("data-checkpoint") == "true"}
    assert checkpoints == {"step-3", "step-6"}
    # the lower arch has 4 steps: steps 5 and 6 are hatched there, steps 1-4 are not
    hatched = {k for k, v in steps.items() if any(e.get("class") == "no-aligner" for e in v)}
    assert hatched == {"step-5", "step-6"}
    title = steps["step-5"].find(f"{SVG}title")
    assert title is not None and title.text == (
        "Step 5; attachments removed from 13; note: remove <13> & check"
    )


def test_ipr_sits_on_the_line_between_the_two_rows() -> None:
    root = parse(plan_schedule_svg(PLAN))
    rows = by_id(root, r"tooth-\d\d")

    def row_bottom(fdi: int) -> float:
        rect = rows[f"tooth-{fdi}"].find(f"{SVG}rect")
        assert rect is not None
        return float(rect.get("y", "0")) + float(rect.get("height", "0"))

    step = by_id(root, r"step-3")["step-3"]
    (pill,) = [e for e in step.iter() if e.get("data-contact") == "12-11"]
    rect = pill.find(f"{SVG}rect")
    assert rect is not None
    centre = float(rect.get("y", "0")) + float(rect.get("height", "0")) / 2
    assert centre == pytest.approx(row_bottom(12))


def test_schedule_header_gives_the_summary() -> None:
    texts = text_of(parse(plan_schedule_svg(PLAN)))
    for expected in (
        "Treatment plan \u00b7 version 3",
        "uploaded 2024-05-01",
        "6 steps",
        "4 steps",
        "0.55 mm",
        "3",
        "10 days",
        "\u2248 8.6 weeks",
        "60 days",
    ):
        assert expected in texts, expected


def test_summary_only_plan_renders_gracefully() -> None:
    plan = PlanVersion(
        number=1,
        uploaded_at=AT,
        uploaded_by=UUID(int=1),
        summary=PlanSummary(upper_steps=14, lower_steps=0, total_ipr_mm=0.4, attachment_count=6),
    )
    root = parse(plan_schedule_svg(plan))
    assert by_id(root, r"step-\d+") == {} and by_id(root, r"tooth-\d\d") == {}
    texts = text_of(root)
    assert any("no per-step schedule" in t for t in texts)
    assert "14 steps" in texts and "none" in texts and "0.4 mm" in texts


def test_an_arch_without_events_says_so() -> None:
    plan = _plan((PlanStep(1, attachments_placed=(T(11),)), PlanStep(2)), lower=2)
    texts = text_of(parse(plan_schedule_svg(plan)))
    assert "No IPR or attachments on this arch" in texts


def test_schedule_labels_rows_in_the_notation_asked() -> None:
    rows = by_id(parse(plan_schedule_svg(PLAN, notation="palmer")), r"tooth-\d\d")
    assert text_of(rows["tooth-13"]) == ["UR3"]
    assert text_of(rows["tooth-42"]) == ["LR2"]


def test_schedule_is_deterministic_and_refuses_bad_input() -> None:
    assert plan_schedule_svg(PLAN) == plan_schedule_svg(PLAN)
    with pytest.raises(ValidationError):
        plan_schedule_svg(PLAN, notation="roman")
    with pytest.raises(ValidationError):
        plan_schedule_svg(PLAN.summary)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        plan_schedule_svg(PLAN, id_prefix="<")


@settings(max_examples=60)
@given(plan=plan_versions(max_steps=12), notation=st.sampled_from(Notation))
def test_any_plan_renders_valid_svg_with_one_element_per_step_and_row(
    plan: PlanVersion, notation: Notation
) -> None:
    root = parse(plan_schedule_svg(plan, notation=notation))
    all_ids_unique(root)
    assert len(by_id(root, r"step-\d+")) == len(plan.steps)
    rows = schedule_rows(plan)
    assert sorted(int(k[6:]) for k in by_id(root, r"tooth-\d\d")) == sorted(
        t.fdi for arch in rows.values() for t in arch
    )
    touched = {t for s in plan.steps for t in (*s.attachments_placed, *s.attachments_removed)}
    touched |= {t for s in plan.steps for c in s.ipr for t in (c.first, c.second)}
    assert touched <= {t for arch in rows.values() for t in arch}


# -- lifecycle ------------------------------------------------------------------------------------


def _status_changes() -> set[tuple[str, str]]:
    return {
        (s.value, row.dest.value)
        for row in TABLE
        if row.dest is not None
        for s in row.sources
        if s is not row.dest
    }


def test_mermaid_has_every_status_change_of_the_table() -> None:
    text = lifecycle_mermaid()
    assert text.startswith("stateDiagram-v2\n")
    arrows = set(re.findall(r"^    (\w+) --> (\w+):", text, flags=re.MULTILINE))
    assert arrows == _status_changes()
    assert "    [*] --> draft" in text
    assert "submit (clear aligners, refinement, revision)" in text
    assert "release" in text and "(left_" not in text


def test_svg_draws_every_status_and_every_status_change() -> None:
    root = parse(lifecycle_svg())
    states = by_id(root, r"state-\w+")
    used = {s for pair in _status_changes() for s in pair}
    assert {k.removeprefix("state-") for k in states} == used
    edges = by_id(root, r"edge-.+")
    for source, dest in _status_changes():
        assert f"edge-{source}-{dest}" in edges or f"edge-{dest}-{source}" in edges
    assert lifecycle_svg() == lifecycle_svg()


def test_every_status_has_a_place_in_the_drawing() -> None:
    """A new status lands in an extra layer at the bottom; give it a place in PLACES."""
    used = {e.source for e in lifecycle_edges()} | {e.dest for e in lifecycle_edges()}
    assert used <= set(PLACES)
    assert all(isinstance(s, CaseStatus) for s in PLACES)


def test_committed_lifecycle_docs_are_what_the_table_gives_now() -> None:
    how = "regenerate with: python -m aligner_core.pictures.lifecycle docs"
    md = (ROOT / "docs" / "lifecycle.md").read_text(encoding="utf-8")
    svg = (ROOT / "docs" / "lifecycle.svg").read_text(encoding="utf-8")
    assert md == lifecycle_markdown(), how
    assert svg == lifecycle_svg(), how
    assert "```mermaid\n" + lifecycle_mermaid() + "```" in md
    assert "(lifecycle.svg)" in md
