"""Untrusted JSON fed to the converter for a case fails only with the library's ValidationError.

Two sources: arbitrary JSON values (None, bools, huge ints, nan/inf floats, unicode text,
nested arrays and objects, objects keyed by the case's own field names), and valid case
documents with a few random mutations (a nested value replaced by arbitrary JSON, a key
or array item deleted, a key added). Each goes through ``structure_checked`` (as Python data)
and ``load`` / ``document_loads`` (as JSON text).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aligner_core.domain.accounts import CollaboratorGrant, CollaboratorPermission
from aligner_core.domain.cases import (
    Case,
    CaseKind,
    CaseStatus,
    Comment,
    Deadline,
    HistoryEntry,
    Hold,
    ShareLink,
    Shipment,
)
from aligner_core.domain.orders import (
    LingualRange,
    RefinementOrder,
    ReplacementOrder,
    ReplacementReason,
    RetainerOrder,
    RetainerType,
    RevisionOrder,
)
from aligner_core.domain.patients import Gender, Patient
from aligner_core.domain.plans import IprContact, PlanStep, PlanSummary, PlanVersion
from aligner_core.domain.prescriptions import Pontic, TreatmentRequest
from aligner_core.domain.records import (
    FileKind,
    FileRef,
    FileReport,
    ImpressionType,
    MediaType,
    Records,
)
from aligner_core.domain.teeth import Tooth, ToothChart, ToothState
from aligner_core.errors import ValidationError
from aligner_core.serialization import make_converter
from aligner_core.testing.strategies import cases

CONVERTER = make_converter()

FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# Field names of the case and its parts, so that arbitrary objects reach nested hooks.
_FIELD_NAMES = sorted(
    {
        "type",
        "_schema",
        *(a.name for a in attrs.fields(Case)),
        "last_name",
        "gender",
        "files",
        "kind",
        "report",
        "marks",
        "tooth",
        "state",
        "steps",
        "summary",
        "ipr",
        "first",
        "second",
        "amount_mm",
        "details",
        "permissions",
        "pontics",
        "teeth_to_extract",
    }
)
_KEYS = st.sampled_from(_FIELD_NAMES) | st.text(max_size=12)

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**60), max_value=10**60),
    st.sampled_from([2**63, -(2**63) - 1, 10**400, 0, -1, 11, 18, 85]),
    st.floats(),  # nan and +-inf included
    st.text(),
    st.sampled_from(
        [
            "",
            " ",
            "2024-05-01T08:30:15+00:00",
            "2024-05-01T08:30:15",
            "9999-12-31T23:59:59.999999-23:59",
            "0001-01-01",
            "12345678-1234-5678-1234-567812345678",
            "clear_aligners",
            "on_hold",
            "retainer",
            "refinement",
            "revision",
            "upper_scan",
            "crown",
        ]
    ),
)

json_values = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_KEYS, children, max_size=5),
    max_leaves=25,
)

case_shaped_objects = st.dictionaries(st.sampled_from(_FIELD_NAMES), json_values, max_size=12)


def _containers(value: Any) -> list[Any]:
    """Every dict and list inside ``value`` (itself included), depth first."""
    found = [value]
    children = value.values() if isinstance(value, dict) else value
    for child in children:
        if isinstance(child, dict | list):
            found.extend(_containers(child))
    return found


NOW = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)


def _base_cases() -> list[Case]:
    """Hand-made cases touching every nested model (generating one per example is slow)."""
    ids = iter(UUID(int=n) for n in range(1, 1000))
    steps = tuple(
        PlanStep(
            n,
            ipr=(IprContact(Tooth(11), Tooth(21), 0.2),) if n == 1 else (),
            attachments_placed=(Tooth(13), Tooth(23)) if n == 1 else (),
        )
        for n in range(1, 4)
    )
    plan = PlanVersion(
        1, NOW, next(ids), PlanSummary(3, 2, 0.2, 2), steps, "https://sim.example.org/1"
    )
    files = tuple(
        FileRef(
            next(ids),
            kind,
            f"{kind.value}.stl",
            FileReport(MediaType.STL, 100, "ab" * 32, ("binary",), None, None),
            NOW,
            next(ids),
        )
        for kind in (FileKind.UPPER_SCAN, FileKind.LOWER_SCAN)
    )
    treatment = Case(
        case_id=next(ids),
        number=17,
        kind=CaseKind.TREATMENT,
        network_id=next(ids),
        owner_id=next(ids),
        patient=Patient(next(ids), "O'Brien", Gender.FEMALE, "Zoë", date(1990, 2, 3), "IE"),
        created_at=NOW,
        updated_at=NOW,
        status=CaseStatus.ON_HOLD,
        request=TreatmentRequest(teeth_to_extract=(Tooth(18),), pontics=(Pontic(Tooth(12)),)),
        chart=ToothChart.from_mapping({11: ToothState.CROWN}),
        records=Records(ImpressionType.INTRAORAL_SCAN, files, True, True),
        plans=(plan,),
        comments=(Comment(next(ids), next(ids), NOW, "Bitte prüfen", from_lab=True),),
        shipments=(Shipment(next(ids), "DHL", "JD0123", 1, False, NOW),),
        collaborators=(
            CollaboratorGrant(next(ids), next(ids), NOW, (CollaboratorPermission.COMMENT,)),
        ),
        shares=(ShareLink(next(ids), 1, next(ids), NOW, NOW),),
        history=(HistoryEntry(NOW, next(ids), "submit", None, CaseStatus.LAB_REVIEW, {"a": "b"}),),
        hold=Hold("waiting for scans", CaseStatus.IN_PLANNING, NOW),
        deadline=Deadline("planning", date(2024, 5, 8), date(2024, 5, 2)),
        submitted_at=NOW,
    )
    follow_up = attrs.evolve(
        treatment, kind=CaseKind.REVISION, request=None, status=CaseStatus.DRAFT, hold=None
    )
    return [
        treatment,
        attrs.evolve(follow_up, order=RevisionOrder("close 11/21", ("engagers",))),  # type: ignore[arg-type]
        attrs.evolve(
            follow_up,
            kind=CaseKind.REPLACEMENT,
            plans=(),
            shares=(),
            order=ReplacementOrder(3, ReplacementReason.OTHER, upper="2-4", reason_detail="cat"),
        ),
        attrs.evolve(follow_up, kind=CaseKind.REFINEMENT, order=RefinementOrder(False, "", 9)),
        attrs.evolve(
            follow_up,
            kind=CaseKind.RETAINER,
            plans=(),
            shares=(),
            order=RetainerOrder(RetainerType.FIXED_LINGUAL, 2, LingualRange.R3_3),
        ),
    ]


BASE_DOCUMENTS = [json.loads(CONVERTER.document_dumps(c)) for c in _base_cases()]


@st.composite
def mutated_case_documents(draw: st.DrawFn) -> Any:
    """A valid case as stored JSON (mostly hand-made, one in ten generated), mutated 1-3 times."""
    if draw(st.integers(0, 9)) == 0:
        document: Any = json.loads(CONVERTER.document_dumps(draw(cases(max_items=1))))
    else:
        document = copy.deepcopy(draw(st.sampled_from(BASE_DOCUMENTS)))
    for _ in range(draw(st.integers(1, 3))):
        containers = [c for c in _containers(document) if c]
        operation = draw(st.sampled_from(["replace", "delete", "add", "replace-root"]))
        if operation == "replace-root" or not containers:
            if draw(st.integers(0, 9)) == 0:
                return draw(json_values)
            operation = "add"
        if operation == "add":
            target = draw(
                st.sampled_from([c for c in _containers(document) if isinstance(c, dict)])
            )
            target[draw(_KEYS)] = draw(json_values)
            continue
        target = draw(st.sampled_from(containers))
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        key = draw(st.sampled_from(keys))
        if operation == "replace":
            target[key] = draw(json_values)
        else:
            del target[key]
    return document


def _only_validation_errors(data: Any) -> None:
    """Structure ``data`` as a case three ways; anything but ValidationError escapes."""
    text = json.dumps(data)  # nan and inf become NaN / Infinity, which json.loads accepts
    for attempt in (
        lambda: CONVERTER.structure_checked(data, Case),
        lambda: CONVERTER.load(text, Case),
        lambda: CONVERTER.document_loads(text, Case),
    ):
        try:
            result = attempt()
        except ValidationError as e:
            assert e.errors
            assert all(err.path.startswith("$") for err in e.errors)
        else:
            assert isinstance(result, Case)


@FUZZ
@given(json_values)
def test_arbitrary_json_raises_only_validation_error(data: Any) -> None:
    _only_validation_errors(data)


@FUZZ
@given(case_shaped_objects)
def test_arbitrary_objects_with_case_fields_raise_only_validation_error(data: Any) -> None:
    _only_validation_errors(data)


@FUZZ
@given(mutated_case_documents())
def test_mutated_case_documents_raise_only_validation_error(data: Any) -> None:
    _only_validation_errors(data)


@FUZZ
@given(json_values)
def test_arbitrary_or_garbled_json_text_is_refused(data: Any) -> None:
    text = json.dumps(data)
    for garbled in (text, text[: len(text) // 2], text + "]", "\ufeff" + text, text.encode()):
        with pytest.raises(ValidationError):
            CONVERTER.load(garbled, Case)
