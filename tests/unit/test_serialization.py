"""The converter: every model round-trips, the wire shapes are plain JSON, bad input names paths.

Round trips run for every model strategy of :mod:`aligner_core.testing.strategies`, three ways:
``structure(unstructure(x))``, through JSON text (``load(dumps(x))``) and through stored
documents (``from_document(to_document(x))``).
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

from aligner_core.domain.accounts import (
    Account,
    Address,
    CollaboratorGrant,
    CollaboratorPermission,
    Network,
    ProfileChanges,
    Registration,
    Role,
)
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
from aligner_core.domain.events import DomainEvent
from aligner_core.domain.orders import (
    LingualRange,
    OrderDetails,
    RefinementOrder,
    ReplacementOrder,
    ReplacementReason,
    RetainerOrder,
    RetainerType,
    RevisionOrder,
)
from aligner_core.domain.patients import Gender, Patient, PatientDetails
from aligner_core.domain.plans import IprContact, PlanStep, PlanSummary, PlanVersion
from aligner_core.domain.prescriptions import Pontic, TreatmentRequest, WearSchedule
from aligner_core.domain.queries import CaseFilter, CaseSummary
from aligner_core.domain.records import (
    FileKind,
    FileRef,
    FileReport,
    MediaType,
    MeshReport,
    Records,
)
from aligner_core.domain.teeth import Tooth, ToothChart, ToothState
from aligner_core.errors import ValidationError
from aligner_core.notifications.outbox import OutboxEntry
from aligner_core.serialization import DOCUMENT_VERSION as SCHEMA_VERSION
from aligner_core.serialization import Converter, make_converter
from aligner_core.testing import strategies as s

CONVERTER = make_converter()

# (strategy, class) for every model; OrderDetails is the tagged union.
MODELS: list[tuple[st.SearchStrategy[Any], Any]] = [
    (s.addresses(), Address),
    (s.networks(), Network),
    (s.accounts(), Account),
    (s.collaborator_grants(), CollaboratorGrant),
    (s.patients(), Patient),
    (s.teeth(), Tooth),
    (s.tooth_charts(), ToothChart),
    (s.pontics(), Pontic),
    (s.treatment_requests(), TreatmentRequest),
    (s.mesh_reports(), MeshReport),
    (s.file_reports(), FileReport),
    (s.file_refs(), FileRef),
    (s.records(), Records),
    (s.ipr_contacts(), IprContact),
    (s.plan_steps(), PlanStep),
    (s.plan_summaries(), PlanSummary),
    (s.plan_versions(), PlanVersion),
    (s.refinement_orders(), RefinementOrder),
    (s.retainer_orders(), RetainerOrder),
    (s.replacement_orders(), ReplacementOrder),
    (s.revision_orders(), RevisionOrder),
    (
        st.one_of(s.refinement_orders(), s.replacement_orders(), s.revision_orders()),
        OrderDetails,
    ),
    (s.comments(), Comment),
    (s.shipments(), Shipment),
    (s.share_links(), ShareLink),
    (s.history_entries(), HistoryEntry),
    (s.holds(), Hold),
    (s.deadlines(), Deadline),
    (s.domain_events(), DomainEvent),
    (s.outbox_entries(), OutboxEntry),
    (s.cases(kinds=[k for k in CaseKind if k is not CaseKind.RETAINER]), Case),
    (s.case_filters(), CaseFilter),
    (s.case_summaries(), CaseSummary),
    (s.registrations(), Registration),
    (s.patient_details(), PatientDetails),
    (s.profile_changes(), ProfileChanges),
]
# Documents are JSON objects: every attrs model but Tooth (an FDI number on the wire).
DOCUMENT_MODELS = [(strat, cls) for strat, cls in MODELS if attrs.has(cls) and cls is not Tooth]

# Retainer orders only fail through the union (the tag overwrites their 'type' field).
RETAINER_CASES = s.cases(kinds=[CaseKind.RETAINER]).filter(lambda c: c.order is not None)

ROUND_TRIP = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _id(value: Any) -> str:
    return getattr(value, "__name__", "OrderDetails")


def _ids(models: list[tuple[Any, Any]]) -> list[str]:
    return [_id(cls) for _, cls in models]


def _unstructure(value: Any, cls: Any) -> Any:
    return CONVERTER.unstructure(value, unstructure_as=cls)


# -- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize(("strategy", "cls"), MODELS, ids=_ids(MODELS))
def test_structure_of_unstructure_is_identity(strategy: st.SearchStrategy[Any], cls: Any) -> None:
    @ROUND_TRIP
    @given(strategy)
    def check(value: Any) -> None:
        assert CONVERTER.structure(_unstructure(value, cls), cls) == value

    check()


@pytest.mark.parametrize(("strategy", "cls"), MODELS, ids=_ids(MODELS))
def test_round_trip_through_json_text(strategy: st.SearchStrategy[Any], cls: Any) -> None:
    @ROUND_TRIP
    @given(strategy)
    def check(value: Any) -> None:
        text = json.dumps(_unstructure(value, cls), ensure_ascii=False)
        assert CONVERTER.structure(json.loads(text), cls) == value
        if attrs.has(cls):
            assert CONVERTER.load(CONVERTER.dumps(value), cls) == value

    check()


@pytest.mark.parametrize(("strategy", "cls"), DOCUMENT_MODELS, ids=_ids(DOCUMENT_MODELS))
def test_round_trip_through_documents(strategy: st.SearchStrategy[Any], cls: type) -> None:
    @ROUND_TRIP
    @given(strategy)
    def check(value: Any) -> None:
        document = CONVERTER.to_document(value)
        assert document["_schema"] == SCHEMA_VERSION
        assert CONVERTER.from_document(document, cls) == value
        assert CONVERTER.document_loads(CONVERTER.document_dumps(value), cls) == value
        # the writer's remembered records give the very text of a plain unstructure
        plain = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
        assert CONVERTER.document_dumps(value) == plain

    check()


def test_documents_remember_records_without_sharing_what_unstructure_hands_out() -> None:
    """A case written again reuses its unchanged records' form; a caller's change to an
    unstructured record never reaches a later document."""
    converter = make_converter()
    comment = Comment(ID, ID, NOW, "first")
    case = _case(comments=(comment,))
    before = converter.document_dumps(case)
    handed_out = converter.unstructure(case)
    handed_out["comments"][0]["text"] = "changed by a caller"
    assert converter.document_dumps(case) == before
    later = attrs.evolve(case, comments=(comment, Comment(UUID(int=7), ID, NOW, "second")))
    assert json.loads(converter.document_dumps(later))["comments"][0]["text"] == "first"
    assert json.loads(converter.document_dumps(later))["comments"][1]["text"] == "second"


@ROUND_TRIP
@given(s.retainer_orders())
def test_retainer_order_round_trips_through_the_union(order: RetainerOrder) -> None:
    assert CONVERTER.structure(_unstructure(order, OrderDetails), OrderDetails) == order


@ROUND_TRIP
@given(RETAINER_CASES)
def test_retainer_case_round_trips(case: Case) -> None:
    assert CONVERTER.load(CONVERTER.dumps(case), Case) == case


def test_make_converter_builds_private_converters() -> None:
    first, second = make_converter(), make_converter()
    assert isinstance(first, Converter)
    assert first is not second
    first.register_unstructure_hook(Address, lambda _: "changed")
    assert isinstance(second.unstructure(Address("DE", "Berlin", "10115", "Str. 1")), dict)


# -- wire shapes -------------------------------------------------------------------------------

NOW = datetime(2024, 5, 1, 8, 30, 15, 123456, tzinfo=UTC)
ID = UUID("12345678-1234-5678-1234-567812345678")


def _file(kind: FileKind = FileKind.UPPER_SCAN, n: int = 1) -> FileRef:
    return FileRef(
        file_id=UUID(int=n),
        kind=kind,
        name=f"scan {n}.stl",
        report=FileReport(MediaType.STL, 1234, "ab" * 32),
        uploaded_at=NOW,
        uploaded_by=ID,
    )


def _case(**changes: Any) -> Case:
    base = Case(
        case_id=ID,
        number=42,
        kind=CaseKind.TREATMENT,
        network_id=ID,
        owner_id=ID,
        patient=Patient(
            ID, "O'Brien", Gender.FEMALE, first_name="Zoë", date_of_birth=date(1990, 2, 3)
        ),
        created_at=NOW,
        updated_at=NOW,
        status=CaseStatus.LAB_REVIEW,
        request=TreatmentRequest(teeth_to_extract=(Tooth(18), Tooth(28))),
        chart=ToothChart.from_mapping({11: ToothState.CROWN, 36: ToothState.IMPLANT}),
        records=Records(files=(_file(),)),
    )
    return attrs.evolve(base, **changes)


def _plain_json_leaves(value: Any, path: str = "$") -> list[str]:
    """Paths whose value is not exactly a JSON type (enum members, UUIDs, datetimes...)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _plain_json_leaves(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _plain_json_leaves(v, f"{path}[{i}]")]
    return [] if type(value) in (str, int, float, bool, type(None)) else [path]


def test_datetimes_unstructure_as_iso_8601_text() -> None:
    data = CONVERTER.unstructure(_case())
    assert data["created_at"] == "2024-05-01T08:30:15.123456+00:00"
    assert data["records"]["files"][0]["uploaded_at"] == "2024-05-01T08:30:15.123456+00:00"
    assert data["patient"]["date_of_birth"] == "1990-02-03"


def test_uuids_unstructure_as_text() -> None:
    data = CONVERTER.unstructure(_case())
    assert data["case_id"] == "12345678-1234-5678-1234-567812345678"
    assert data["records"]["files"][0]["file_id"] == "00000000-0000-0000-0000-000000000001"


def test_enums_are_written_as_their_values() -> None:
    case = _case(request=TreatmentRequest(wear_schedule=WearSchedule.DAYS_10))
    data = json.loads(CONVERTER.dumps(case))
    assert data["kind"] == "clear_aligners"
    assert data["status"] == "lab_review"
    assert data["patient"]["gender"] == "female"
    assert data["request"]["wear_schedule"] == 10
    assert data["records"]["files"][0]["report"]["media_type"] == "model/stl"


def test_int_enums_unstructure_as_plain_ints() -> None:
    value = CONVERTER.unstructure(TreatmentRequest(wear_schedule=WearSchedule.DAYS_21))
    assert type(value["wear_schedule"]) is int
    assert value["wear_schedule"] == 21


def test_unstructured_case_holds_only_plain_json_values() -> None:
    assert _plain_json_leaves(CONVERTER.unstructure(_case())) == []


def test_teeth_unstructure_as_fdi_numbers() -> None:
    data = CONVERTER.unstructure(_case())
    assert data["request"]["teeth_to_extract"] == [18, 28]
    assert [m["tooth"] for m in data["chart"]["marks"]] == [11, 36]
    assert CONVERTER.unstructure(Tooth.from_universal("A")) == 55


@pytest.mark.parametrize(
    ("order", "kind", "tag"),
    [
        (RefinementOrder(best_fitting_aligner=12), CaseKind.REFINEMENT, "refinement"),
        (RetainerOrder(RetainerType.REMOVABLE), CaseKind.RETAINER, "retainer"),
        (
            ReplacementOrder(4, ReplacementReason.LOST, upper="3-5"),
            CaseKind.REPLACEMENT,
            "replacement",
        ),
        (RevisionOrder("close the gap at 11/21"), CaseKind.REVISION, "revision"),
    ],
    ids=["refinement", "retainer", "replacement", "revision"],
)
def test_order_union_is_tagged_with_type(order: Any, kind: CaseKind, tag: str) -> None:
    case = _case(kind=kind, request=None, order=order, parent_id=ID)
    assert CONVERTER.unstructure(case)["order"]["order_type"] == tag
    assert CONVERTER.unstructure(order, unstructure_as=OrderDetails)["order_type"] == tag


def test_retainer_order_keeps_its_retainer_type() -> None:
    order = RetainerOrder(RetainerType.FIXED_LINGUAL, lower_range=LingualRange.R3_3)
    data = CONVERTER.unstructure(order, unstructure_as=OrderDetails)
    assert "fixed_lingual" in data.values()


def test_order_union_refuses_an_unknown_tag() -> None:
    data = CONVERTER.unstructure(
        _case(kind=CaseKind.REVISION, request=None, order=RevisionOrder("x"))
    )
    data["order"]["order_type"] = "teleport"
    with pytest.raises(ValidationError) as info:
        CONVERTER.structure_checked(data, Case)
    assert info.value.paths == ["$.order"]


def test_structure_checked_of_the_union_raises_validation_error() -> None:
    with pytest.raises(ValidationError):
        CONVERTER.structure_checked({"order_type": "revision"}, OrderDetails)  # type: ignore[arg-type]


# -- documents -------------------------------------------------------------------------------


def test_document_carries_the_schema_version() -> None:
    document = CONVERTER.to_document(_case())
    assert document["_schema"] == SCHEMA_VERSION
    assert json.loads(CONVERTER.document_dumps(_case()))["_schema"] == SCHEMA_VERSION


@pytest.mark.parametrize("version", [SCHEMA_VERSION + 1, 10**6, "1", None, 1.0, [1]])
def test_document_of_newer_or_unknown_schema_is_refused(version: Any) -> None:
    document = CONVERTER.to_document(_case())
    document["_schema"] = version
    with pytest.raises(ValidationError) as info:
        CONVERTER.from_document(document, Case)
    assert info.value.paths == ["$._schema"]
    with pytest.raises(ValidationError):
        CONVERTER.document_loads(json.dumps(document), Case)


def test_from_document_leaves_its_input_alone() -> None:
    document = CONVERTER.to_document(_case())
    kept = copy.deepcopy(document)
    CONVERTER.from_document(document, Case)
    assert document == kept


@pytest.mark.parametrize("document", [[], "case", None, 42])
def test_document_must_be_an_object(document: Any) -> None:
    with pytest.raises(ValidationError):
        CONVERTER.from_document(document, Case)


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "{", '{"case_id": }', "[1,", b"\xff\xfe", "{'a': 1}", "[" * 100_000, "1" * 5000, "nul"],
    ids=[
        "empty",
        "open",
        "no-value",
        "open-array",
        "bad-utf8",
        "single-quotes",
        "deep",
        "huge-int",
        "nul",
    ],
)
def test_malformed_json_is_a_validation_error(text: str | bytes) -> None:
    with pytest.raises(ValidationError) as info:
        CONVERTER.load(text, Case)
    assert info.value.errors[0].code in ("malformed_json", "document_too_deep")
    with pytest.raises(ValidationError):
        CONVERTER.document_loads(text, Case)


@pytest.mark.parametrize("data", [None, [], "case", 42, 1.5, True, {}])
def test_non_object_or_empty_case_is_a_validation_error(data: Any) -> None:
    with pytest.raises(ValidationError):
        CONVERTER.structure_checked(data, Case)


def _good() -> dict[str, Any]:
    return json.loads(CONVERTER.dumps(_case()))


def test_every_bad_field_is_named_in_one_error() -> None:
    data = _good()
    data["patient"]["gender"] = "robot"
    data["created_at"] = "yesterday"
    data["records"]["files"][0]["kind"] = "selfie"
    data["chart"]["marks"][1]["tooth"] = 19
    data["request"]["teeth_to_extract"] = [18, "eighteen"]
    del data["updated_at"]
    with pytest.raises(ValidationError) as info:
        CONVERTER.structure_checked(data, Case)
    error = info.value
    assert sorted(error.paths) == sorted(
        [
            "$.patient.gender",
            "$.created_at",
            "$.updated_at",
            "$.records.files[0].kind",
            "$.chart.marks[1].tooth",
            "$.request.teeth_to_extract[1]",
        ]
    )
    assert error.subject == "Case"
    assert "required field missing @ $.updated_at" in error.messages
    assert "must be one of: male, female, prefer_not_to_say @ $.patient.gender" in error.messages
    assert "robot" not in str(error)  # the message names the rule, never the value
    assert all(f"@ {p}" in str(error) for p in error.paths)


def test_every_bad_field_is_named_including_wrongly_typed_primitives() -> None:
    data = _good()
    data["patient"]["gender"] = "robot"
    data["number"] = "42"
    data["records"]["files"][0]["kind"] = "selfie"
    data["records"]["confirmed_complete"] = "false"
    data["patient"]["last_name"] = 7
    with pytest.raises(ValidationError) as info:
        CONVERTER.structure_checked(data, Case)
    assert sorted(info.value.paths) == sorted(
        [
            "$.patient.gender",
            "$.patient.last_name",
            "$.number",
            "$.records.files[0].kind",
            "$.records.confirmed_complete",
        ]
    )


@pytest.mark.parametrize(
    ("value", "cls"),
    [("7", int), (True, int), (1.5, int), (5, str), ("false", bool), (0, bool), ("1.5", float)],
)
def test_primitives_are_not_coerced(value: Any, cls: type) -> None:
    with pytest.raises(ValidationError):
        CONVERTER.structure_checked(value, cls)


def test_attrs_validator_failures_name_the_field() -> None:
    data = _good()
    data["records"]["files"][0]["report"]["sha256"] = "not hex"
    with pytest.raises(ValidationError) as info:
        CONVERTER.structure_checked(data, Case)
    assert info.value.paths == ["$.records.files[0].report.sha256"]


def test_int_is_accepted_where_a_float_is_expected() -> None:
    data = CONVERTER.unstructure(PlanSummary(upper_steps=3, lower_steps=2, total_ipr_mm=1.0))
    data["total_ipr_mm"] = 2
    assert CONVERTER.structure_checked(data, PlanSummary).total_ipr_mm == 2.0


def test_model_rules_are_reported_with_their_path() -> None:
    data = _good()
    data["number"] = 0
    with pytest.raises(ValidationError) as info:
        CONVERTER.structure_checked(data, Case)
    assert info.value.messages == ["must be a positive integer @ $.number"]

    data = _good()
    data["status"] = "on_hold"
    with pytest.raises(ValidationError) as info:
        CONVERTER.structure_checked(data, Case)
    assert info.value.paths == ["$.hold"]


def test_naive_datetimes_are_refused() -> None:
    data = _good()
    data["updated_at"] = "2024-05-01T08:30:15"
    with pytest.raises(ValidationError) as info:
        CONVERTER.structure_checked(data, Case)
    assert info.value.messages == ["must be a datetime with a time zone @ $.updated_at"]


def test_extra_keys_are_refused_with_their_path() -> None:
    data = _good()
    data["colour"] = "blue"
    data["patient"]["nickname"] = "Jo"
    data["records"]["files"][0]["report"]["virus"] = False
    with pytest.raises(ValidationError) as info:
        CONVERTER.structure_checked(data, Case)
    assert sorted(info.value.messages) == sorted(
        [
            "unexpected field 'colour' @ $",
            "unexpected field 'nickname' @ $.patient",
            "unexpected field 'virus' @ $.records.files[0].report",
        ]
    )


def test_extra_keys_are_listed_with_other_bad_fields() -> None:
    data = _good()
    data["colour"] = "blue"
    data["patient"]["gender"] = "robot"
    with pytest.raises(ValidationError) as info:
        CONVERTER.structure_checked(data, Case)
    assert sorted(info.value.paths) == ["$", "$.patient.gender"]


def test_text_is_not_accepted_as_an_array() -> None:
    data = CONVERTER.unstructure(CollaboratorGrant(ID, ID, NOW, (CollaboratorPermission.COMMENT,)))
    account = CONVERTER.unstructure(
        Account(
            ID,
            ID,
            Role.DOCTOR,
            "jo",
            "jo@example.org",
            "Jo",
            "Doe",
            "Clinic",
            Address("DE", "Berlin", "10115", "Str. 1"),
            NOW,
        )
    )
    account["muted_notifications"] = "comment_added"
    with pytest.raises(ValidationError):
        CONVERTER.structure_checked(account, Account)
    data["permissions"] = "comment"
    with pytest.raises(ValidationError):
        CONVERTER.structure_checked(data, CollaboratorGrant)


def test_structure_checked_leaves_its_input_alone() -> None:
    data = CONVERTER.unstructure(
        _case(kind=CaseKind.REVISION, request=None, order=RevisionOrder("x"))
    )
    kept = copy.deepcopy(data)
    CONVERTER.structure_checked(data, Case)
    assert data == kept


def test_remembered_datetime_text_keeps_each_offset() -> None:
    """Equal instants in two zones keep their own text (the memo is keyed by the offset)."""
    from datetime import timedelta, timezone

    converter = make_converter()
    utc = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    cet = utc.astimezone(timezone(timedelta(hours=1)))
    assert utc == cet
    assert converter.unstructure(utc) == "2026-01-05T09:00:00+00:00"
    assert converter.unstructure(cet) == "2026-01-05T10:00:00+01:00"
    assert converter.unstructure(utc) == "2026-01-05T09:00:00+00:00"
