"""Replacement steps per arch (#15 item 2, ClearCorrect): single steps, sequences and ranges,
upper and lower apart; read and printed as "3, 5-7", and the former shape still loads."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aligner_core import connect
from aligner_core.bootstrap import Core
from aligner_core.commands import OrderFollowUp
from aligner_core.domain.cases import Case, CaseKind
from aligner_core.domain.orders import (
    MAX_STEP,
    MAX_STEP_RANGES,
    ReplacementOrder,
    ReplacementReason,
    StepSet,
)
from aligner_core.domain.prescriptions import Arches
from aligner_core.errors import ValidationError
from aligner_core.serialization import make_converter
from aligner_core.testing import strategies as s
from aligner_core.testing.factories import Lab, plan_summary, set_up_lab

LEGACY_CASE = Path(__file__).parent / "data" / "replacement_case_v1.json"


def codes(text: str) -> list[tuple[str, dict[str, object]]]:
    with pytest.raises(ValidationError) as info:
        StepSet.parse(text)
    return [(e.code, dict(e.params)) for e in info.value.errors]


# -- the compact text ------------------------------------------------------------------------
@given(st.lists(st.tuples(st.integers(1, 60), st.integers(0, 12)), min_size=1, max_size=8))
def test_steps_are_sorted_and_merged_whatever_the_order(ranges: list[tuple[int, int]]) -> None:
    text = ", ".join(f"{a}-{a + n}" if n else str(a) for a, n in reversed(ranges))
    steps = StepSet.parse(text)
    named = {step for a, n in ranges for step in range(a, a + n + 1)}
    assert list(steps) == sorted(named)
    assert len(steps) == len(named)
    assert StepSet.parse(str(steps)) == steps  # the printed text reads back the same
    gaps = [b[0] - a[1] for a, b in zip(steps.ranges, steps.ranges[1:], strict=False)]
    assert all(gap > 1 for gap in gaps)  # merged: no two ranges touch


@given(s.step_sets())
def test_printed_steps_read_back(steps: StepSet) -> None:
    assert StepSet.parse(str(steps)) == steps


def test_singles_sequences_and_ranges() -> None:
    assert str(StepSet.parse("9, 3,5-7")) == "3, 5-7, 9"
    assert str(StepSet.parse("5-7, 6-9, 4, 10")) == "4-10"  # overlaps merge, no error
    assert str(StepSet.parse(" 12 \u2013 14 ,")) == "12-14"  # an en dash, a trailing comma
    assert StepSet.parse("3, 5-7").highest == 7


def test_bad_steps_are_named_by_code() -> None:
    assert codes("7-5") == [("step_range_reversed", {"first": 7, "last": 5})]
    assert codes("0, 3") == [("step_not_in_range", {"step": 0, "max": MAX_STEP})]
    assert codes(f"1-{MAX_STEP + 1}") == [
        ("step_not_in_range", {"step": MAX_STEP + 1, "max": MAX_STEP})
    ]
    assert codes("3, five, 8-") == [
        ("steps_unreadable", {"position": 2}),
        ("steps_unreadable", {"position": 3}),
    ]
    many = ", ".join(str(2 * n + 1) for n in range(MAX_STEP_RANGES + 1))
    assert [c for c, _ in codes(many)] == ["too_many_step_ranges"]
    assert [c for c, _ in codes("1-150")] == ["too_many_steps"]


def test_an_order_names_steps_of_one_arch_or_both() -> None:
    order = ReplacementOrder(4, ReplacementReason.LOST, upper="7, 3-5", lower="")
    assert (order.upper, order.lower, order.arches) == ("3-5, 7", None, Arches.UPPER)
    assert list(order.upper_steps) == [3, 4, 5, 7] and not order.lower_steps.ranges
    with pytest.raises(ValidationError) as empty:
        ReplacementOrder(4, ReplacementReason.LOST, upper=" ", lower=None)
    assert [(e.code, e.path) for e in empty.value.errors] == [
        ("replacement_steps_needed", "$.upper")
    ]
    with pytest.raises(ValidationError) as bad:
        ReplacementOrder(4, ReplacementReason.LOST, lower="9-2")
    assert [(e.code, e.path) for e in bad.value.errors] == [("step_range_reversed", "$.lower")]


def test_json_and_form_read_the_text_and_name_bad_parts() -> None:
    converter = make_converter()
    doc = {"order_type": "replacement", "current_aligner": 3, "reason": "broken"}
    command = converter.structure_checked(
        {
            "parent_case_id": "00000000-0000-4000-8000-000000000001",
            "order": {**doc, "lower": "5,2"},
        },
        OrderFollowUp,
    )
    assert isinstance(command.order, ReplacementOrder) and command.order.lower == "2, 5"
    form = {
        "parent_case_id": "00000000-0000-4000-8000-000000000001",
        "order.order_type": "replacement",
        "order.current_aligner": "3",
        "order.reason": "broken",
        "order.upper": "4-2",
        "order.lower": "",
    }
    with pytest.raises(ValidationError) as info:
        converter.load_form(form, OrderFollowUp)
    assert [(e.code, e.path) for e in info.value.errors] == [
        ("step_range_reversed", "$.order.upper")
    ]


# -- the former shape: arches, first_step, last_step ---------------------------------------------
def test_commands_in_the_former_shape_are_still_accepted() -> None:
    converter = make_converter()
    parent = "00000000-0000-4000-8000-000000000001"
    old = {"order_type": "replacement", "arches": "both", "first_step": 3, "last_step": 5}
    old |= {"current_aligner": 4, "reason": "lost"}
    command = converter.load(json.dumps({"parent_case_id": parent, "order": old}), OrderFollowUp)
    assert isinstance(command.order, ReplacementOrder)
    assert (command.order.upper, command.order.lower) == ("3-5", "3-5")
    form = {f"order.{k}": str(v) for k, v in old.items()} | {"parent_case_id": parent}
    form["order.arches"] = "lower"
    loaded = converter.load_form(form, OrderFollowUp)
    assert isinstance(loaded.order, ReplacementOrder)
    assert (loaded.order.upper, loaded.order.lower) == (None, "3-5")
    reversed_ = {**old, "first_step": 6}
    with pytest.raises(ValidationError) as info:
        converter.structure_checked({"parent_case_id": parent, "order": reversed_}, OrderFollowUp)
    assert {e.code for e in info.value.errors} == {"step_range_reversed"}


def test_a_case_document_the_former_code_wrote_loads() -> None:
    """``replacement_case_v1.json`` was written by the code before this change."""
    text = LEGACY_CASE.read_text()
    case = make_converter().document_loads(text, Case)
    assert isinstance(case.order, ReplacementOrder)
    assert (case.order.upper, case.order.lower, case.order.current_aligner) == ("3-5", "3-5", 4)
    saved = json.loads(make_converter().document_dumps(case))["order"]
    assert {"upper", "lower"} <= saved.keys() and "first_step" not in saved


@pytest.fixture
def lab_on_sqlite(tmp_path: Path) -> tuple[Core, Lab, Path]:
    path = tmp_path / "cases.db"
    core = connect(f"sqlite:///{path}")
    return core, set_up_lab(core), path


def test_a_stored_case_in_the_former_shape_loads_from_sqlite(
    lab_on_sqlite: tuple[Core, Lab, Path],
) -> None:
    core, lab, path = lab_on_sqlite
    parent = lab.ready_case()
    core.submit(lab.doctor, parent)
    core.upload_plan(lab.planner, parent, plan_summary())
    core.accept_plan(lab.doctor, parent, 1)
    draft = core.order_follow_up(
        lab.doctor, parent, ReplacementOrder(2, ReplacementReason.BROKEN, upper="2")
    )
    with sqlite3.connect(path) as db:  # the row as the former code wrote it
        (doc,) = db.execute(
            "SELECT doc FROM cases WHERE case_id = ?", (str(draft.case_id),)
        ).fetchone()
        data = json.loads(doc)
        data["order"] = json.loads(LEGACY_CASE.read_text())["order"] | {"arches": "upper"}
        db.execute(
            "UPDATE cases SET doc = ? WHERE case_id = ?", (json.dumps(data), str(draft.case_id))
        )
    core.storage.close()
    with connect(f"sqlite:///{path}") as again:
        case = again.get_case(lab.doctor, draft.case_id).case
        assert isinstance(case.order, ReplacementOrder)
        assert (case.order.upper, case.order.lower) == ("3-5", None)
        assert case.kind is CaseKind.REPLACEMENT
        edited = again.update_draft(
            lab.doctor, draft.case_id, order=ReplacementOrder(2, ReplacementReason.LOST, lower="1")
        )
        assert isinstance(edited.order, ReplacementOrder) and edited.order.lower == "1"
