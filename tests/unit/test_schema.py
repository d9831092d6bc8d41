"""JSON Schemas of the commands, values and read models: valid 2020-12, bounded as the Spec says."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
import regress
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from aligner_core import schema as schema_module
from aligner_core.commands import COMMANDS, AttachFile, CreateCase, Ship, UploadPlan
from aligner_core.domain.accounts import Address, ProfileChanges, Registration
from aligner_core.domain.cases import Case, Comment, HistoryEntry, Hold
from aligner_core.domain.fields import MAX_INT, spec_of
from aligner_core.domain.orders import (
    ORDER_TYPES,
    OrderDetails,
    RefinementOrder,
    ReplacementOrder,
    RetainerOrder,
    RevisionOrder,
)
from aligner_core.domain.patients import PatientDetails
from aligner_core.domain.plans import IprContact, PlanStep, PlanSummary, PlanVersion
from aligner_core.domain.prescriptions import Pontic, TreatmentRequest
from aligner_core.domain.queries import CaseFilter, CaseSummary, Page
from aligner_core.domain.teeth import ALL_TEETH, ToothChart
from aligner_core.schema import DIALECT, json_schema, openapi_components, schema_name
from aligner_core.service.views import (
    ActionOption,
    Blockers,
    CaseDetail,
    Dashboard,
    DirectoryEntry,
    FileRecord,
    SharedPlan,
)

INPUTS: list[Any] = [
    PatientDetails,
    Registration,
    ProfileChanges,
    Address,
    TreatmentRequest,
    Pontic,
    RefinementOrder,
    RetainerOrder,
    ReplacementOrder,
    RevisionOrder,
    OrderDetails,
    PlanSummary,
    PlanStep,
    IprContact,
    ToothChart,
    CaseFilter,
]
READ_MODELS: list[Any] = [
    Case,
    CaseSummary,
    Page[CaseSummary],
    Dashboard,
    PlanVersion,
    HistoryEntry,
    SharedPlan,
    CaseDetail,
    ActionOption,
    Blockers,
    DirectoryEntry,
    FileRecord,
]
SUBJECTS: list[Any] = [*COMMANDS.values(), *INPUTS, *READ_MODELS]
SPACE_CLASS = schema_module._SPACE


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every schema object inside ``node`` (a schema or a list of them), ``node`` first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = document["$defs"][node["$ref"].removeprefix("#/$defs/")]
    return node


def value_schema(document: dict[str, Any], prop: dict[str, Any]) -> dict[str, Any]:
    """A property's schema without ``null`` (the ``anyOf`` arm of an optional field)."""
    arms = [a for a in prop.get("anyOf", [prop]) if a.get("type") != "null"]
    assert len(arms) == 1
    return resolve(document, arms[0])


@pytest.mark.parametrize("subject", SUBJECTS, ids=schema_name)
def test_every_schema_is_valid_2020_12(subject: Any) -> None:
    document = json_schema(subject)
    assert document["$schema"] == DIALECT
    Draft202012Validator.check_schema(document)
    for node in walk(document):  # every reference lands in $defs
        if "$ref" in node:
            assert node["$ref"].removeprefix("#/$defs/") in document.get("$defs", {})


def test_objects_refuse_unknown_keys_and_require_fields_without_defaults() -> None:
    for subject in [s for s in SUBJECTS if attrs.has(s)]:
        document = json_schema(subject)
        fields = attrs.fields(subject)
        assert document["additionalProperties"] is False
        assert list(document["properties"]) == [a.name for a in fields]
        required = [a.name for a in fields if a.default is attrs.NOTHING]
        assert document.get("required", []) == required


def test_every_command_has_a_schema_with_the_bounds_of_its_spec() -> None:
    checked = 0
    for name, command in COMMANDS.items():
        document = json_schema(command)
        assert document["title"] == name == schema_name(command)
        for a in attrs.fields(command):
            spec = spec_of(a)
            prop = document["properties"][a.name]
            assert prop.get("description", "") == spec.doc
            schema = value_schema(document, prop)
            kind = schema.get("type")
            if kind == "string" and "pattern" in schema and "enum" not in schema:
                assert schema.get("maxLength") == spec.max_length
                assert schema.get("minLength", 0) == (0 if spec.blank else 1)
                assert schema.get("format") == spec.format
                checked += 1
            elif kind in ("integer", "number") and "enum" not in schema:
                low = "exclusiveMinimum" if spec.exclusive_minimum else "minimum"
                assert (schema.get(low), schema.get("maximum")) == (spec.minimum, spec.maximum)
                checked += 1
            elif kind == "array":
                assert schema["maxItems"] == spec.max_items
                assert schema.get("minItems", 0) == spec.min_items
                checked += 1
    assert checked > 40


def test_text_fields_refuse_control_characters_and_blank_text() -> None:
    props = json_schema(Ship)["properties"]
    carrier = props["carrier"]
    assert carrier["maxLength"] == 80 and "minLength" not in carrier
    line = re.compile(carrier["pattern"])
    assert line.search("DHL Express") and line.search("")
    for bad in ["a\nb", "a\x00", "\x7f", "a\x85", "tab\t", "DHL\n"]:
        assert not line.search(bad), bad

    notes = json_schema(UploadPlan)["properties"]["notes"]
    multiline = re.compile(notes["pattern"])
    assert multiline.search("line one\nline two\r\n\ttabbed")
    assert not multiline.search("bell\x07") and not multiline.search("\x0b")

    comment = json_schema(COMMANDS["Comment"])["properties"]["text"]
    assert comment["minLength"] == 1
    required = re.compile(comment["pattern"])
    assert required.search(" a ") and required.search("\n\tx\n")
    for blank in ["", " ", "\n\t\r", "\u00a0\u3000\u2028", " " * 500]:
        assert not required.search(blank), repr(blank)


def test_the_white_space_class_is_what_strip_removes() -> None:
    """``blank=False`` is ``value.strip() != ""``: the pattern names exactly those characters."""
    space = re.compile(f"[{SPACE_CLASS}]")
    every = (chr(i) for i in range(sys.maxunicode + 1) if not 0xD800 <= i <= 0xDFFF)
    assert {c for c in every if space.fullmatch(c)} == {
        chr(i) for i in range(sys.maxunicode + 1) if chr(i).isspace()
    }


def patterns() -> list[str]:
    found = {
        node["pattern"]
        for subject in SUBJECTS
        for node in walk(json_schema(subject))
        if isinstance(node.get("pattern"), str)
    }
    return sorted(found)


@pytest.mark.parametrize("pattern", patterns())
def test_patterns_are_ecma_262_and_mean_the_same_there(pattern: str) -> None:
    """Each pattern compiles as ECMA-262 (the ``regress`` engine, with and without ``u``)."""
    for flags in ("", "u"):
        regress.Regex(pattern, flags)
    python = re.compile(pattern)
    samples = ["", "a", "a\n", "\n", " ", "x" * 3, "P14D", "PT12H", "P1DT", "\u3000", "🦷 x"]
    for sample in samples:
        ecma = regress.Regex(pattern, "u").find(sample) is not None
        assert ecma == bool(python.search(sample)), (pattern, sample)


@settings(max_examples=150, derandomize=True)
@given(sample=st.text(st.characters(codec="utf-8"), max_size=12))
def test_patterns_agree_with_ecma_on_any_text(sample: str) -> None:
    for pattern, compiled in PATTERNS.items():
        ecma = compiled.find(sample) is not None
        assert ecma == bool(re.search(pattern, sample)), (pattern, sample)


PATTERNS = {p: regress.Regex(p, "u") for p in patterns()}


def test_teeth_are_fdi_numbers_and_enums_their_values() -> None:
    document = json_schema(CreateCase)
    defs = document["$defs"]
    assert defs["Tooth"]["type"] == "integer"
    assert defs["Tooth"]["enum"] == [t.fdi for t in ALL_TEETH]
    assert defs["WearSchedule"] == {
        "title": "WearSchedule",
        "description": "Days each aligner step is worn.",
        "type": "integer",
        "enum": [7, 10, 14, 21],
    }
    assert defs["CaseKind"]["enum"][0] == "clear_aligners"
    assert document["properties"]["teeth"]["default"] == {"marks": []}


def test_the_order_union_is_tagged_with_order_type() -> None:
    union = json_schema(OrderDetails)
    consts = [branch["properties"]["order_type"]["const"] for branch in union["oneOf"]]
    assert consts == list(ORDER_TYPES)
    for branch, cls in zip(union["oneOf"], ORDER_TYPES.values(), strict=True):
        assert branch["required"][0] == "order_type"
        assert branch["additionalProperties"] is False
        assert list(branch["properties"])[1:] == [a.name for a in attrs.fields(cls)]
    # Alone, an order has no tag (the converter refuses one).
    assert "order_type" not in json_schema(ORDER_TYPES["retainer"])["properties"]


def test_durations_are_seconds_or_iso_8601() -> None:
    ttl = json_schema(COMMANDS["SharePlan"])["properties"]["ttl"]
    assert ttl["default"] == 14 * 24 * 3600
    seconds, text = ttl["oneOf"]
    assert seconds["type"] == "number"
    duration = re.compile(text["pattern"])
    for good in ["P14D", "PT12H", "P1DT2H3M4S", "PT90M", "PT1H30S"]:
        assert duration.search(good), good
    for bad in ["P", "PT", "P1DT", "P1W", "P1Y", "14D", "P14D\n", "P٣D"]:
        assert not duration.search(bad), bad


def test_read_models() -> None:
    detail = json_schema(CaseDetail)
    actions = detail["properties"]["allowed_actions"]
    assert actions["uniqueItems"] is True and actions["items"] == {"$ref": "#/$defs/Action"}
    command = json_schema(ActionOption)
    assert command["properties"]["command"] == {"$ref": "#/$defs/CommandName"}
    assert command["$defs"]["CommandName"]["enum"] == list(COMMANDS)
    counts = json_schema(Dashboard)["properties"]["counts"]
    assert counts["propertyNames"] == {"$ref": "#/$defs/CaseStatus"}
    assert counts["additionalProperties"] == {"type": "integer"}
    page = json_schema(Page[CaseSummary])
    assert page["title"] == "Page[CaseSummary]" and schema_name(Page[CaseSummary]) == (
        "Page_CaseSummary"
    )
    assert page["properties"]["items"]["items"] == {"$ref": "#/$defs/CaseSummary"}
    history = json_schema(Case)["$defs"]["HistoryEntry"]["properties"]["details"]
    assert history["items"]["prefixItems"] == [{"type": "string"}, {"type": "string"}]


def test_attach_file_content_is_a_binary_part() -> None:
    content = json_schema(AttachFile)["properties"]["content"]
    assert content == {
        "type": "string",
        "format": "binary",
        "contentMediaType": "application/octet-stream",
        "description": "The file's bytes.",
    }


def test_classes_named_like_a_command_get_their_module_in_front() -> None:
    assert schema_name(COMMANDS["Comment"]) == "Comment"
    assert schema_name(Comment) == "cases.Comment"
    assert schema_name(Hold) == "cases.Hold"
    assert "cases.Comment" in json_schema(Case)["$defs"]


def test_openapi_components_hold_every_class_once_with_component_refs() -> None:
    components = openapi_components(SUBJECTS)
    schemas = components["schemas"]
    assert set(components) == {"schemas"}
    for subject in SUBJECTS:
        assert schema_name(subject) in schemas
    for name, schema in schemas.items():
        Draft202012Validator.check_schema(schema)
        for node in walk(schema):
            ref = node.get("$ref")
            if ref is not None:
                assert ref.startswith("#/components/schemas/"), name
                assert ref.removeprefix("#/components/schemas/") in schemas, ref
        assert "$defs" not in schema and "$schema" not in schema
    # A document whose schema is a component validates through it.
    body = {"$ref": "#/components/schemas/Ship", "components": components}
    validator = Draft202012Validator(body)
    case_id = "6bb6ece2-4cbf-c239-b5e4-bd7535558ee3"
    assert validator.is_valid({"case_id": case_id, "carrier": "DHL", "tracking_number": "1"})
    assert not validator.is_valid({"case_id": case_id, "carrier": "x" * 81, "tracking_number": ""})


def test_schemas_are_built_once_and_handed_out_as_copies() -> None:
    first = json_schema(CreateCase)
    first["properties"].clear()
    second = json_schema(CreateCase)
    assert second["properties"] and second == json_schema(CreateCase)
    assert schema_module._definition(CreateCase) is schema_module._definition(CreateCase)


def test_unknown_types_are_refused() -> None:
    with pytest.raises(TypeError, match="no JSON Schema"):
        json_schema(complex)


def test_integers_without_a_spec_are_unbounded_and_with_one_bounded() -> None:
    version = json_schema(Ship)["properties"]["expected_version"]["anyOf"][0]
    assert version == {"type": "integer", "minimum": 1, "maximum": MAX_INT}
    assert json_schema(CaseSummary)["properties"]["number"] == {"type": "integer"}
