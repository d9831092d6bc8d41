"""The JSON Schemas and the converter accept the same documents, checked both ways.

(a) Documents the converter writes for valid objects (from ``aligner_core.testing
strategies``) validate against the schema. (b) Documents generated from the schema
(``hypothesis-jsonschema``) are read by the converter, or refused only for a rule a
JSON Schema cannot state (:data:`BEYOND_SCHEMA`). (c) A valid document with one
mistake (a wrong type, an over-long text, an out-of-range number, an unknown or a
missing key, a control character) is refused by both.

Example counts are small and the runs derandomized: the machine is small and a
failure here must mean a disagreement, never a flake.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any, get_args, get_origin
from uuid import UUID

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from aligner_core.codes import CODES
from aligner_core.commands import (
    COMMANDS,
    AttachFile,
    Command,
    CreateCase,
    InviteCollaborator,
    Register,
    UploadPlan,
)
from aligner_core.domain.accounts import (
    Address,
    CollaboratorPermission,
    ProfileChanges,
    Registration,
    Role,
)
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import Case, CaseKind, CaseStatus, HistoryEntry
from aligner_core.domain.fields import Spec, spec_of
from aligner_core.domain.money import Currency
from aligner_core.domain.orders import (
    OrderDetails,
    RefinementOrder,
    ReplacementOrder,
    RetainerOrder,
    RevisionOrder,
)
from aligner_core.domain.packages import Package
from aligner_core.domain.patients import Gender, Patient, PatientDetails
from aligner_core.domain.payments import PaymentMethod
from aligner_core.domain.plans import IprContact, PlanStep, PlanSummary, PlanVersion
from aligner_core.domain.prescriptions import Pontic, TreatmentRequest
from aligner_core.domain.prices import ITEM_CODE, PracticePrices, PriceEntry
from aligner_core.domain.products import Catalogue, Product
from aligner_core.domain.queries import CaseFilter, CaseSummary, Page
from aligner_core.domain.records import FileKind, ImpressionType, MediaType
from aligner_core.domain.teeth import ToothChart
from aligner_core.errors import FieldError, Reason, ValidationError
from aligner_core.schema import json_schema
from aligner_core.serialization import MAX_ARRAY, make_converter
from aligner_core.service.views import (
    ActionOption,
    Blockers,
    CaseDetail,
    Dashboard,
    DirectoryEntry,
    FileRecord,
    SharedPlan,
)
from aligner_core.testing import strategies as s

CONVERTER = make_converter()
SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


@functools.cache
def validator(subject: Any) -> Draft202012Validator:
    return Draft202012Validator(
        json_schema(subject), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def schema_errors(subject: Any, document: Any) -> list[str]:
    return [f"{e.message} @ {e.json_path}" for e in validator(subject).iter_errors(document)]


def converter_errors(subject: Any, document: Any) -> list[FieldError]:
    """What the converter refuses in ``document`` (read from its JSON text, as a shell does)."""
    try:
        CONVERTER.load(json.dumps(document, ensure_ascii=False), subject)
    except ValidationError as e:
        return list(e.errors)
    return []


# -- valid objects ----------------------------------------------------------------------------
def _texts(spec: Spec) -> st.SearchStrategy[str]:
    assert spec.max_length is not None
    found = s.text(spec.max_length, blank=spec.blank)
    if spec.multiline:
        lines = st.text(st.sampled_from("ab é漢\n\r\t"), max_size=min(spec.max_length, 40))
        found |= lines.filter(lambda t: spec.blank or bool(t.strip()))
    return found


_NESTED: dict[Any, st.SearchStrategy[Any]] = {
    PatientDetails: s.patient_details(),
    TreatmentRequest: s.treatment_requests(),
    ToothChart: s.tooth_charts(max_marks=6),
    Registration: s.registrations(),
    ProfileChanges: s.profile_changes(),
    PlanSummary: s.plan_summaries(),
    Address: s.addresses(),
    Catalogue: s.catalogues(),
    PaymentMethod: s.payment_methods(),
    Currency: s.currencies(),
    tuple[PriceEntry, ...]: s.price_books().map(lambda book: book.entries),
    tuple[PracticePrices, ...]: s.price_books().map(lambda book: book.overrides),
    tuple[Package, ...]: st.lists(s.packages(), max_size=4, unique_by=lambda p: p.id).map(tuple),
    tuple[str, ...]: st.lists(  # add-on codes
        st.from_regex(ITEM_CODE, fullmatch=True), unique=True, max_size=3
    ).map(tuple),
}


def _field_values(hint: Any, spec: Spec) -> st.SearchStrategy[Any]:
    """Valid values of a command's field, from its type and Spec."""
    args = get_args(hint)
    if type(None) in args:
        rest = tuple(a for a in args if a is not type(None))
        return st.none() | _field_values(rest[0] if len(rest) == 1 else OrderDetails, spec)
    if set(args) == set(get_args(OrderDetails)):
        return s.order_details()
    if hint in _NESTED:
        return _NESTED[hint]
    if hint is str:
        return _texts(spec)
    if hint is bool:
        return st.booleans()
    if hint is int:
        assert spec.minimum is not None and spec.maximum is not None
        low, high = int(spec.minimum), int(spec.maximum)
        return st.sampled_from([low, high]) | st.integers(low, min(high, low + 10**6))
    if hint is timedelta:
        return st.timedeltas(timedelta(seconds=1), timedelta(days=365))
    if hint is date:
        return st.dates()
    if get_origin(hint) is tuple and attrs.has(args[0]):  # nested inputs (invoice lines)
        inner = typing.get_type_hints(args[0])
        item = st.builds(
            args[0],
            **{a.name: _field_values(inner[a.name], spec_of(a)) for a in attrs.fields(args[0])},
        )
        assert spec.max_items is not None
        return st.lists(item, min_size=spec.min_items, max_size=min(spec.max_items, 3)).map(tuple)
    if get_origin(hint) is tuple and issubclass(args[0], Enum):
        return st.lists(
            st.sampled_from(args[0]), unique=True, min_size=spec.min_items, max_size=spec.max_items
        ).map(tuple)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return st.sampled_from(hint)
    if hint is UUID:
        return st.uuids()
    raise AssertionError(f"no strategy for {hint!r}")


@st.composite
def _create_cases(draw: st.DrawFn) -> CreateCase:
    kind = draw(st.sampled_from([k for k in CaseKind if not k.is_follow_up]))
    retainer = kind is CaseKind.RETAINER
    return CreateCase(
        kind=kind,
        patient=draw(s.patient_details()),
        request=draw(st.none() | s.treatment_requests()),
        teeth=draw(s.tooth_charts(max_marks=6)),
        order=draw(st.none() | s.retainer_orders()) if retainer else None,
        impression_type=draw(st.none() | st.sampled_from(ImpressionType)),
    )


@st.composite
def _upload_plans(draw: st.DrawFn) -> UploadPlan:
    plan = draw(s.plan_versions(max_steps=4))
    return UploadPlan(
        case_id=draw(st.uuids()),
        expected_version=draw(st.none() | st.integers(1, 100)),
        summary=plan.summary,
        steps=plan.steps,
        simulation_url=plan.simulation_url,
        notes=draw(_texts(spec_of(attrs.fields(UploadPlan).notes))),
    )


@st.composite
def _invitations(draw: st.DrawFn) -> InviteCollaborator:
    by_email = draw(st.booleans())
    return InviteCollaborator(
        case_id=draw(st.uuids()),
        expected_version=draw(st.none() | st.integers(1, 100)),
        collaborator_id=None if by_email else draw(st.uuids()),
        email=draw(s.emails()) if by_email else None,
        permissions=draw(
            st.lists(st.sampled_from(CollaboratorPermission), min_size=1, unique=True).map(tuple)
        ),
    )


_OVERRIDES: dict[type, dict[str, st.SearchStrategy[Any]]] = {
    Register: {"role": st.sampled_from([r for r in Role if r is not Role.ADMIN])},
}


def commands(cls: type[Command]) -> st.SearchStrategy[Command]:
    """Valid commands of a class: each field drawn from its type and Spec."""
    if cls is CreateCase:
        return _create_cases()
    if cls is UploadPlan:
        return _upload_plans()
    if cls is InviteCollaborator:
        return _invitations()
    hints = typing.get_type_hints(cls)
    overrides = _OVERRIDES.get(cls, {})
    fields = {
        a.name: overrides[a.name]
        if a.name in overrides
        else _field_values(hints[a.name], spec_of(a))
        for a in attrs.fields(cls)
    }
    if {"payment", "payment_method_id"} <= fields.keys():  # one way to pay, not both (a rule)
        given, kept = fields.pop("payment"), fields.pop("payment_method_id")
        return st.builds(cls, payment=given, **fields) | st.builds(
            cls, payment_method_id=kept, **fields
        )
    return st.builds(cls, **fields)


_REASONS = st.lists(st.sampled_from(sorted(CODES)).map(Reason), max_size=2).map(tuple)
_SUMMARIES = st.lists(s.case_summaries(), max_size=3).map(tuple)

VALID: dict[Any, st.SearchStrategy[Any]] = {
    **{c: commands(c) for c in COMMANDS.values() if c is not AttachFile},
    PatientDetails: s.patient_details(),
    Registration: s.registrations(),
    ProfileChanges: s.profile_changes(),
    Address: s.addresses(),
    TreatmentRequest: s.treatment_requests(),
    Pontic: s.pontics(),
    RefinementOrder: s.refinement_orders(),
    RetainerOrder: s.retainer_orders(),
    ReplacementOrder: s.replacement_orders(),
    RevisionOrder: s.revision_orders(),
    OrderDetails: s.order_details(),
    Product: s.products(),
    Catalogue: s.catalogues(),
    PlanSummary: s.plan_summaries(),
    PlanStep: s.plan_steps(),
    IprContact: s.ipr_contacts(),
    ToothChart: s.tooth_charts(),
    CaseFilter: s.case_filters(),
    # read models
    Case: s.cases(max_items=1),
    CaseSummary: s.case_summaries(),
    Page[CaseSummary]: st.builds(
        Page, _SUMMARIES, st.integers(0, 10**6), st.integers(0, 10**6), st.integers(1, 500)
    ),
    Dashboard: st.builds(
        Dashboard, st.dictionaries(st.sampled_from(CaseStatus), st.integers(0, 10**6))
    ),
    PlanVersion: s.plan_versions(max_steps=3),
    HistoryEntry: s.history_entries(),
    SharedPlan: st.builds(
        SharedPlan,
        st.integers(1, 10**9),
        st.sampled_from(CaseKind),
        s.plan_versions(max_steps=2),
        s.aware_datetimes(),
    ),
    CaseDetail: st.builds(
        CaseDetail, s.cases(max_items=1), st.frozensets(st.sampled_from(Action)), st.booleans()
    ),
    ActionOption: st.builds(
        ActionOption,
        st.sampled_from(Action),
        st.sampled_from(list(COMMANDS.values())),
        st.booleans(),
        st.lists(s.text(30, blank=False), max_size=3).map(tuple),
        st.dictionaries(s.text(30), st.integers() | st.text(), max_size=2),
        _REASONS,
    ),
    Blockers: st.builds(Blockers, _REASONS, _REASONS, _REASONS),
    DirectoryEntry: st.builds(
        DirectoryEntry,
        st.uuids(),
        s.text(200, blank=False),
        st.sampled_from(Role),
        s.text(200),
        st.booleans(),
    ),
    FileRecord: st.builds(
        FileRecord,
        st.uuids(),
        st.sampled_from(FileKind),
        s.text(120, blank=False),
        st.sampled_from(MediaType),
        st.integers(0, 10**12),
        st.binary(min_size=32, max_size=32).map(bytes.hex),
        s.aware_datetimes(),
    ),
}
#: Commands (but AttachFile: its content is a multipart part) and input values.
INPUTS = list(VALID)[: list(VALID).index(CaseFilter) + 1]
#: Read models the converter cannot read back (see the xfail tests at the end).
UNREADABLE: set[Any] = set()
READABLE = [c for c in VALID if c not in UNREADABLE]


def _json_ready(value: Any) -> Any:
    """The converter's output with the two values it leaves unwritable made JSON.

    ``CaseDetail.allowed_actions`` stays a frozenset and ``ActionOption.command``
    a class (see ``test_converter_writes_...`` below); the schema says: a list of
    actions, the command's name.
    """
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, frozenset):
        return sorted(_json_ready(v) for v in value)
    if isinstance(value, type):
        return value.__name__
    return value


def document(subject: Any, obj: Any) -> Any:
    written = CONVERTER.unstructure(obj, subject)
    if subject in UNREADABLE:
        written = _json_ready(written)
    return json.loads(json.dumps(written, ensure_ascii=False))


def _name(subject: Any) -> str:
    origin = get_origin(subject)
    return f"{origin.__name__}[{get_args(subject)[0].__name__}]" if origin else subject.__name__


# -- (a) what the converter writes, the schema accepts -----------------------------------------
@pytest.mark.parametrize("subject", list(VALID), ids=_name)
@settings(max_examples=15, derandomize=True, suppress_health_check=SLOW)
@given(data=st.data())
def test_documents_of_valid_objects_validate(subject: Any, data: st.DataObject) -> None:
    doc = document(subject, data.draw(VALID[subject], label="valid"))
    assert schema_errors(subject, doc) == []
    if subject not in UNREADABLE:
        assert converter_errors(subject, doc) == []


# -- (b) what the schema allows, the converter reads (but for rules beyond a schema) -----------
#: Codes of rules a JSON Schema cannot state: across fields, or a rule function on one
#: field (a regular expression, a date bound) the Spec does not carry.
BEYOND_SCHEMA = {
    # rule functions on one field
    "invalid_email": "email-validator's rules, beyond `format: email`",
    "invalid_username": "one script only",
    "invalid_reference_code": "a regular expression in a rule",
    "invalid_language": "a regular expression in a rule",
    "invalid_telephone": "a regular expression in a rule",
    "date_too_early": "born from 1900",
    "date_in_future": "born until tomorrow",
    "link_lifetime": "0 < ttl <= 365 days (a duration has no bounds in JSON Schema)",
    "invalid_url": "https only (format: uri takes any scheme)",
    "admin_not_registered": "Register: a rule bars one value of Role",
    "follow_up_kind": "CreateCase: a rule bars the follow-up values of CaseKind",
    # across fields
    "invitee_one_of": "InviteCollaborator: an account id or an e-mail address",
    "order_kind_mismatch": "CreateCase: order fits kind",
    "payment_twice": "orders: a way to pay given or a kept one picked, not both",
    "steps_numbering": "UploadPlan: steps numbered 1..N",
    "steps_count": "UploadPlan: steps agree with the summary",
    "steps_ipr_total": "UploadPlan: IPR agrees with the summary",
    "steps_attachments": "UploadPlan: attachments agree with the summary",
    "plan_without_steps": "PlanSummary: some steps",
    "contact_teeth": "IprContact: two teeth of one arch",
    "retainer_range_needed": "RetainerOrder: type and ranges",
    "retainer_range_not_fixed": "RetainerOrder: type and ranges",
    "retainer_model_step": "RetainerOrder: type and model step",
    "retainer_range_arch": "RetainerOrder: ranges and arches",
    "replacement_steps_needed": "ReplacementOrder: steps of some arch",
    "steps_unreadable": "ReplacementOrder: steps as 3, 5-7 (a parse in a rule)",
    "step_range_reversed": "ReplacementOrder: steps as 3, 5-7 (a parse in a rule)",
    "step_not_in_range": "ReplacementOrder: steps as 3, 5-7 (a parse in a rule)",
    "too_many_step_ranges": "ReplacementOrder: steps as 3, 5-7 (a parse in a rule)",
    "too_many_steps": "ReplacementOrder: steps as 3, 5-7 (a parse in a rule)",
    "reason_detail_needed": "ReplacementOrder: detail for 'other'",
    "teeth_extract_and_keep": "TreatmentRequest: disjoint tooth lists",
    "second_pontic": "TreatmentRequest: one pontic per tooth",
    "primary_tooth_in_permanent": "TreatmentRequest: teeth fit the dentition",
    "tooth_marked_again": "ToothChart: one mark per tooth",
    "invalid_cursor": "CaseFilter: a cursor is one the library made, for this sort",
    "invalid_product_code": "a regular expression in a rule",
    "turnaround_stage_again": "Product: one turnaround per stage",
    "product_code_again": "Catalogue: product codes unique",
}
#: Refusals by attrs validators the Spec does not carry (path patterns).
BEYOND_SCHEMA_PATHS = {
    r"\$\.payment(\..*)?": "PaymentMethod: a card token only for a card on file",
    r"\$\.(entries|overrides|packages)(\[.*)?": "prices and packages: exact amounts, codes",
}


def beyond_schema(error: FieldError) -> bool:
    if error.code in BEYOND_SCHEMA:
        return True
    return any(re.fullmatch(p, error.path) for p in BEYOND_SCHEMA_PATHS)


# -- documents from a schema -------------------------------------------------------------------
# hypothesis-jsonschema (0.23) targets drafts 4-7 (no prefixItems) and fails on objects with
# current Hypothesis, so documents are drawn here, from every keyword the schemas use; an
# unknown keyword is an error, never silently ignored.
_ANNOTATIONS = {"title", "description", "default", "$schema", "$defs", "contentMediaType"}
_KEYWORDS = _ANNOTATIONS | {
    "$ref", "type", "enum", "const", "anyOf", "oneOf", "properties", "required",
    "additionalProperties", "propertyNames", "items", "prefixItems", "minItems", "maxItems",
    "uniqueItems", "minLength", "maxLength", "pattern", "format", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum",
}  # fmt: skip
#: Longest array drawn (the schema's maxItems is met by (c)'s "too many items").
_MAX_DRAWN = 6


def _two(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n:02d}")


_OFFSETS = st.just("Z") | st.builds(
    "{}{}:{}".format, st.sampled_from("+-"), _two(0, 23), _two(0, 59)
)
_DATETIMES = st.builds(
    "{}T{}:{}:{}{}{}".format,
    st.dates().map(lambda d: d.isoformat()),
    _two(0, 23),
    _two(0, 59),
    _two(0, 59),
    st.just("") | st.from_regex(r"\.[0-9]{1,9}", fullmatch=True),
    _OFFSETS,
)
#: RFC 3339 and RFC 4122 text as the converter must read it (upper-case T and Z, no leap
#: second: see test_converter_refuses_rfc_3339_lower_case_and_leap_seconds).
_FORMATS: dict[str, st.SearchStrategy[str]] = {
    "uuid": st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper()),
    "date-time": _DATETIMES,
    "date": st.dates().map(lambda d: d.isoformat()),
    "email": st.emails(),
    "uri": st.builds(
        "https://{}/{}".format, st.sampled_from(["sim.example.org", "x.io"]), st.uuids()
    ),
}


def from_schema(node: Any, defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Documents valid against ``node`` (a schema using only :data:`_KEYWORDS`)."""
    if node is True or node == {}:
        return st.none() | st.booleans() | st.integers() | st.text(max_size=5)
    unknown = set(node) - _KEYWORDS
    assert not unknown, f"the generator does not know {unknown}"
    if "$ref" in node:
        return from_schema(defs[node["$ref"].removeprefix("#/$defs/")], defs)
    if "anyOf" in node or "oneOf" in node:
        return st.one_of([from_schema(arm, defs) for arm in node.get("anyOf", node.get("oneOf"))])
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node["type"]
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        low, high = node.get("minimum"), node.get("maximum")
        edges = st.sampled_from([n for n in (low, high) if n is not None] or [0])
        return edges | st.integers(low, high)
    if kind == "number":
        return _numbers(node)
    if kind == "string":
        return _strings(node)
    if kind == "array":
        return _arrays(node, defs)
    assert kind == "object"
    if "properties" not in node:
        keys = from_schema(node.get("propertyNames", {"type": "string"}), defs)
        values = from_schema(node.get("additionalProperties", True), defs)
        return st.dictionaries(keys, values, max_size=_MAX_DRAWN)
    required = set(node.get("required", ()))
    props = {k: from_schema(v, defs) for k, v in node["properties"].items()}
    return st.fixed_dictionaries(
        {k: v for k, v in props.items() if k in required},
        optional={k: v for k, v in props.items() if k not in required},
    )


def _numbers(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    low = node.get("minimum", node.get("exclusiveMinimum"))
    high = node.get("maximum", node.get("exclusiveMaximum"))
    floats = st.floats(
        low,
        high,
        exclude_min="exclusiveMinimum" in node,
        exclude_max="exclusiveMaximum" in node,
        allow_nan=False,
        allow_infinity=False,
    )
    first = None if low is None else math.floor(low) + 1 if "exclusiveMinimum" in node else low
    last = None if high is None else math.ceil(high) - 1 if "exclusiveMaximum" in node else high
    first = None if first is None else math.ceil(first)
    last = None if last is None else math.floor(last)
    if first is not None and last is not None and first > last:
        return floats
    return floats | st.integers(first, last)  # JSON has one number type: 3 is a number too


def _strings(node: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = node.get("minLength", 0), node.get("maxLength")
    if "format" in node and node["format"] in _FORMATS:
        found = _FORMATS[node["format"]]
    elif "pattern" in node:
        pattern = re.compile(node["pattern"])
        # Hypothesis draws a lookahead's text in front of the rest: draw without it, then check.
        body = re.sub(r"^\^\(\?=(?:[^()\\]|\\.)*\)", "^", node["pattern"])
        drawn = st.from_regex(body, fullmatch=True).filter(pattern.search)
        if high is not None:  # and as long as allowed, from a drawn text repeated
            longest = drawn.filter(bool).map(lambda t: (t * high)[:high])
            drawn = drawn | longest.filter(pattern.search)
        found = drawn
    else:
        assert "format" not in node, node["format"]
        found = st.text(min_size=low, max_size=high)
    return found.filter(lambda t: low <= len(t) <= (high if high is not None else len(t)))


def _arrays(node: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[list[Any]]:
    if "prefixItems" in node:
        return st.tuples(*(from_schema(a, defs) for a in node["prefixItems"])).map(list)
    low = node.get("minItems", 0)
    high = max(low, min(node.get("maxItems", _MAX_DRAWN), _MAX_DRAWN))
    items = from_schema(node["items"], defs)
    unique = (lambda v: json.dumps(v, sort_keys=True)) if node.get("uniqueItems") else None
    return st.lists(items, min_size=low, max_size=high, unique_by=unique)


@functools.cache
def generated(subject: Any) -> st.SearchStrategy[Any]:
    schema = json_schema(subject)
    return from_schema(schema, schema.get("$defs", {}))


@pytest.mark.parametrize("subject", INPUTS, ids=_name)
@settings(max_examples=20, derandomize=True, suppress_health_check=SLOW)
@given(data=st.data())
def test_documents_the_schema_allows_are_read(subject: Any, data: st.DataObject) -> None:
    doc = data.draw(generated(subject), label="generated")
    assert schema_errors(subject, doc) == []
    unexplained = [
        f"{e.code} @ {e.path}" for e in converter_errors(subject, doc) if not beyond_schema(e)
    ]
    assert unexplained == []


# -- (c) one mistake: both refuse -----------------------------------------------------------
Path = tuple[str | int, ...]


@attrs.frozen
class Spot:
    """A place in a document: its value, its schema as written and as resolved."""

    path: Path
    written: dict[str, Any]
    schema: dict[str, Any]
    value: Any


def _resolve(defs: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = defs[node["$ref"].removeprefix("#/$defs/")]
    return node


def _valid(defs: dict[str, Any], node: dict[str, Any], value: Any) -> bool:
    checker = Draft202012Validator(
        {**node, "$defs": defs}, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    return bool(checker.is_valid(value))


def spots(
    defs: dict[str, Any],
    node: dict[str, Any],
    value: Any,
    path: Path = (),
    written: dict[str, Any] | None = None,
) -> list[Spot]:
    """Every object and field of ``value`` (valid against ``node``), depth first."""
    written = written if written is not None else node
    node = _resolve(defs, node)
    for key in ("anyOf", "oneOf"):
        if key in node:
            arm = next(a for a in node[key] if _valid(defs, a, value))
            return spots(defs, arm, value, path, written)
    found = [Spot(path, written, node, value)]
    if isinstance(value, dict):
        for name, item in value.items():
            inner = node.get("properties", {}).get(name, node.get("additionalProperties"))
            if isinstance(inner, dict):
                found += spots(defs, inner, item, (*path, name))
    elif isinstance(value, list):
        arms = node.get("prefixItems") or [node.get("items", {})] * len(value)
        for i, (arm, item) in enumerate(zip(arms, value, strict=False)):
            found += spots(defs, arm, item, (*path, i))
    return found


def _arms(defs: dict[str, Any], node: dict[str, Any], wanted: str) -> list[dict[str, Any]]:
    arms = node.get("anyOf") or node.get("oneOf") or [node]
    resolved = [_resolve(defs, a) for a in arms]
    return [a for a in resolved if a.get("type") == wanted]


WRONG = [None, True, 0, 1.5, -7, "x", "", [], [1], {}, {"x": 1}]
CONTROLS = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f", "\x0b", "\n", "\t", "\r"]


@attrs.frozen
class Mutation:
    kind: str
    path: Path
    make: Callable[[Any], Any]

    def apply(self, doc: Any) -> Any:
        changed = copy.deepcopy(doc)
        if not self.path:
            return self.make(changed)
        parent = changed
        for step in self.path[:-1]:
            parent = parent[step]
        parent[self.path[-1]] = self.make(parent[self.path[-1]])
        return changed


def _constant(value: Any) -> Callable[[Any], Any]:
    return lambda _: copy.deepcopy(value)


def _with_control(c: str) -> Callable[[Any], Any]:
    return lambda v: v[: len(v) // 2] + c + v[len(v) // 2 + 1 :] if v else c + "a"


def _without(key: str) -> Callable[[Any], Any]:
    return lambda v: {k: x for k, x in v.items() if k != key}


def mutations(defs: dict[str, Any], root: dict[str, Any], doc: Any) -> list[Mutation]:
    """Every single mistake that can be made in ``doc`` (each refused by the schema)."""
    found: list[Mutation] = []
    for spot in spots(defs, root, doc):
        path, value = spot.path, spot.value
        written = _resolve(defs, spot.written)
        if path:
            for wrong in WRONG:
                if not _valid(defs, spot.written, wrong):
                    found.append(Mutation("wrong type", path, _constant(wrong)))
        if isinstance(value, str):
            for text in _arms(defs, written, "string"):
                if "maxLength" in text:
                    over = "x" * (text["maxLength"] + 1)
                    found.append(Mutation("too long", path, _constant(over)))
                for c in CONTROLS if "pattern" in text else []:
                    if not re.search(text["pattern"], "a" + c):
                        found.append(Mutation("control character", path, _with_control(c)))
        if type(value) in (int, float):
            for number in _arms(defs, written, "integer") + _arms(defs, written, "number"):
                if "maximum" in number:
                    found.append(Mutation("out of range", path, _constant(number["maximum"] + 1)))
                if "minimum" in number:
                    found.append(Mutation("out of range", path, _constant(number["minimum"] - 1)))
                if "exclusiveMinimum" in number:
                    low = number["exclusiveMinimum"]
                    found.append(Mutation("out of range", path, _constant(low)))
        if isinstance(value, list) and value and spot.schema.get("maxItems", MAX_ARRAY) < 1000:
            more = spot.schema["maxItems"] + 1
            found.append(Mutation("too many items", path, lambda v, n=more: (v * n)[:n]))
        if isinstance(value, dict) and spot.schema.get("additionalProperties") is False:
            found.append(Mutation("unknown key", path, lambda v: {**v, "unexpected": 1}))
            for name in spot.schema.get("required", ()):
                found.append(Mutation("missing key", path, _without(name)))
    return found


def _json_path(path: Path) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _near(path: str, where: str) -> bool:
    """``path`` is ``where``, inside it, or one of the objects holding it."""
    return path == where or path.startswith((f"{where}.", f"{where}[")) or where.startswith(path)


@pytest.mark.parametrize("subject", READABLE, ids=_name)
@settings(max_examples=15, derandomize=True, suppress_health_check=SLOW)
@given(data=st.data())
def test_one_mistake_is_refused_by_both(subject: Any, data: st.DataObject) -> None:
    schema = json_schema(subject)
    defs = schema.get("$defs", {})
    doc = document(subject, data.draw(VALID[subject], label="valid"))
    possible = mutations(defs, schema, doc)
    kind = data.draw(st.sampled_from(sorted({m.kind for m in possible})), label="kind")
    mutation = data.draw(st.sampled_from([m for m in possible if m.kind == kind]), label="where")
    wrong = mutation.apply(doc)
    where = _json_path(mutation.path)
    assert schema_errors(subject, wrong), (kind, where)
    refused = converter_errors(subject, wrong)
    assert refused, (kind, where)
    assert any(_near(e.path, where) for e in refused), (kind, where, [str(e) for e in refused])


# -- known differences ---------------------------------------------------------------------
CASE_ID = "6bb6ece2-4cbf-c239-b5e4-bd7535558ee3"


def test_differences_a_json_schema_cannot_remove() -> None:
    """Allowed by the schema, refused by the converter: what JSON Schema cannot say."""
    from aligner_core.commands import AcceptPlan, Comment

    whole_float = {"case_id": CASE_ID, "plan_version": 1.0}  # an "integer" in JSON Schema
    surrogate = {"case_id": CASE_ID, "text": "a\ud800b"}  # ECMA patterns see UTF-16 halves
    for subject, doc in ((AcceptPlan, whole_float), (Comment, surrogate)):
        assert schema_errors(subject, doc) == []
        assert converter_errors(subject, doc)


def test_converter_reads_the_durations_the_schema_names() -> None:
    from aligner_core.commands import SharePlan

    for ttl in ("P14D", "PT12H", "P1DT2H", 3600, 0.5):
        doc = {"case_id": CASE_ID, "plan_version": 1, "ttl": ttl}
        assert schema_errors(SharePlan, doc) == [] and converter_errors(SharePlan, doc) == []
    dangling = {"case_id": CASE_ID, "plan_version": 1, "ttl": "P1DT"}  # not ISO 8601
    assert schema_errors(SharePlan, dangling) and converter_errors(SharePlan, dangling)


# The converter's own disagreements with the schema that were found and fixed, one minimal
# example each.
def test_converter_writes_allowed_actions_as_a_list() -> None:
    at, some = datetime(2024, 5, 1, tzinfo=UTC), UUID(CASE_ID)
    patient = Patient(some, "Doe", Gender.FEMALE)
    case = Case(some, 1, CaseKind.TREATMENT, some, some, patient, at, at)
    detail = CaseDetail(case, frozenset({Action.VIEW}), True)
    assert json.dumps(CONVERTER.unstructure(detail)["allowed_actions"]) == '["view"]'


def test_converter_writes_the_command_by_name() -> None:
    option = ActionOption(Action.SUBMIT, COMMANDS["Submit"], False, ())
    assert CONVERTER.unstructure(option)["command"] == "Submit"


def test_converter_reads_a_page() -> None:
    doc = {"items": [], "total": 0, "offset": 0, "limit": 50}
    assert converter_errors(Page[CaseSummary], doc) == []


def test_converter_refuses_durations_in_other_digits() -> None:
    from aligner_core.commands import SharePlan

    doc = {"case_id": CASE_ID, "plan_version": 1, "ttl": "P\u0663D"}  # ARABIC-INDIC THREE
    assert schema_errors(SharePlan, doc)
    assert converter_errors(SharePlan, doc)


def test_converter_reads_rfc_3339_lower_case() -> None:
    doc = {"created_from": "2024-05-01t10:00:00z"}
    assert converter_errors(CaseFilter, doc) == []


def test_converter_names_a_second_mark_at_its_place() -> None:
    doc = {"marks": [{"tooth": 11, "state": "crown"}, {"tooth": 11, "state": "missing"}]}
    assert [e.path for e in converter_errors(ToothChart, doc)] == ["$.marks[1]"]
