"""What a web shell draws, without a web framework: forms, errors per field, buttons, steps.

A portal renders commands; this module tells it what to render, read from the same
declarations the converter checks (types, bounds, defaults, rules), so a template
needs no per-command code:

- :func:`form_for` -- a command's (or any input value's) form fields: names the
  converter's ``load_form`` reads back (``patient.last_name``, ``steps[0].ipr[0].first``,
  ``teeth.UR2``), labels, widgets, choices, required marks, bounds and current values;
  :meth:`Form.with_error` places a refusal's messages under the fields they are about;
- :func:`buttons` -- the buttons of a case from :meth:`Core.available_actions`, each
  with its form, whether it asks twice, and for *submit* the review's warnings;
- :func:`review`, :func:`progress`, :func:`case_filter`, :data:`DASHBOARD_STATUSES` --
  the submit dialog's warnings, the status stepper, the case list's query from
  request parameters, the dashboard's counts in order;
- :func:`form_data`, :func:`read_command`, :func:`api_paths` -- a posted form as
  fields, the command it sent (with what the shell knows added), a command API's
  OpenAPI paths; :func:`commands_on` -- the commands one route runs on an account
  (or an invoice) named in its URL, :func:`local_path` -- where it may send the user back;
- :func:`order_choices`, :func:`attach_uploads` -- a new order's practices and catalogue
  products, the uploads of a form attached to its case.

Field labels and hints are English unless a ``texts`` catalog (English text ->
translation) is given; enum labels, button labels and error messages are the
library's own, in the ``language`` asked for (:mod:`aligner_core.i18n`). Nothing
here imports a web framework or does I/O.

.. versionadded:: 0.2
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from types import NoneType, UnionType
from typing import Any, Final, Literal, TypeVar, Union, cast, get_args, get_origin
from uuid import UUID

import attrs

from aligner_core import i18n
from aligner_core.commands import (
    COMMANDS,
    AssignCase,
    AttachFile,
    CaseCommand,
    ConfirmDelivery,
    InviteCollaborator,
    OrderFollowUp,
    Reassign,
    RevokeCollaborator,
    RevokeShare,
    SetTeeth,
    Submit,
    UpdateDraft,
)
from aligner_core.domain.accounts import Account, GrantStatus, Practice, Role
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import Case, CaseKind, CaseStatus
from aligner_core.domain.fields import spec_of
from aligner_core.domain.lifecycle import FOLLOWS, impressions_by_post
from aligner_core.domain.money import Money
from aligner_core.domain.orders import ORDER_TYPES, OrderDetails
from aligner_core.domain.prices import Item
from aligner_core.domain.products import Catalogue
from aligner_core.domain.queries import DASHBOARD_STATUSES, MAX_NAME, CaseFilter, SortKey
from aligner_core.domain.records import FileKind
from aligner_core.domain.teeth import PERMANENT_TEETH, Notation, Tooth, ToothChart, ToothState
from aligner_core.errors import (
    AlignerError,
    FieldError,
    InvalidTransitionError,
    Reason,
    RejectedFileError,
    ValidationError,
)
from aligner_core.serialization import Converter, make_converter
from aligner_core.service.views import ActionOption, DirectoryEntry

__all__ = [
    "DASHBOARD_STATUSES",
    "FIELD_LABELS",
    "Button",
    "Choice",
    "Field",
    "Form",
    "Step",
    "api_paths",
    "attach_uploads",
    "buttons",
    "case_filter",
    "choices_of",
    "commands_on",
    "drop_blank_rows",
    "form_data",
    "form_for",
    "form_values",
    "item_label",
    "label",
    "local_path",
    "message",
    "money",
    "order_choices",
    "payer_choices",
    "payment_choices",
    "progress",
    "read_command",
    "review",
]

Widget = Literal[
    "text",
    "textarea",
    "email",
    "url",
    "number",
    "date",
    "checkbox",
    "checkboxes",
    "radio",
    "select",
    "teeth",
    "tooth",
    "chart",
    "file",
    "hidden",
    "group",
    "list",
]
Texts = Mapping[str, str]
T = TypeVar("T")

#: Fields a shell fills itself (the case from the URL, the version the page showed).
GIVEN: Final = frozenset({"case_id", "expected_version", "parent_case_id"})
#: Fields taken from somewhere other than a form input (the upload's own file name).
_FROM_UPLOAD: Final = {(AttachFile, "name")}
#: Enums with at most this many members are radio buttons (the Aligner Portal's form); more, a list.
MAX_RADIO = 4

#: English labels of fields whose name does not read well as it is (``Class.field``: that
#: class's field only).
FIELD_LABELS: Final[Mapping[str, str]] = {
    "kind": "Product",
    "AttachFile.kind": "Kind of file",
    "RequestRecords.kinds": "Records needed",
    "product": "Catalogue product",
    "patient": "Patient details",
    "request": "Treatment request",
    "teeth": "Tooth chart",
    "clinic_name": "Clinic / business name",
    "email": "E-mail",
    "date_of_birth": "Date of birth",
    "state_province": "State / province",
    "arches": "Treat",
    "scope": "Treatment type",
    "ipr": "IPR",
    "instructions": "Doctor's instructions",
    "step_limit": "Limit to steps",
    "teeth_not_to_move": "Teeth not to move",
    "teeth_without_attachments": "Teeth without attachments (engagers)",
    "impression_type": "Impression type",
    "complete": "I confirm that I have filled out the form completely and truthfully.",
    "privacy": "I confirm that I have read and accepted the privacy policy.",
    "content": "File",
    "upper_steps": "Upper steps",
    "lower_steps": "Lower steps",
    "total_ipr_mm": "Total IPR (mm)",
    "amount_mm": "IPR (mm)",
    "attachment_count": "Attachments",
    "attachments_placed": "Attachments placed",
    "attachments_removed": "Attachments removed",
    "simulation_url": "Simulation link",
    "plan_version": "Plan version",
    "ttl": "Link valid for",
    "tracking_number": "Tracking number",
    "final": "Last phase of this order",
    "shipment_id": "Parcel",
    "share_id": "Share link",
    "owner": "New doctor",
    "collaborator_id": "Collaborator",
    "assignee_id": "Assign to",
    "practice_id": "Ships to (practice)",
    "payment": "Payment method",
    "payment_method_id": "Saved payment method",
    "PaymentMethod.kind": "How to pay",
    "PaymentMethod.owner_id": "Paid by",
    "CardToken.value": "Card token (from the payment provider)",
    "SavePaymentMethod.label": "Name (e.g. Visa ending 4242)",
    "method_id": "Payment method",
    "not_quality_complaint": "I acknowledge that a replacement is not a quality complaint.",
    "keep_attachments": "Keep all existing attachments",
    "best_fitting_aligner": "Best fitting aligner",
    "current_aligner": "Aligner currently worn",
    "upper": "Upper arch steps (e.g. 3, 5-7)",
    "lower": "Lower arch steps (e.g. 3, 5-7)",
    "reason_detail": "Details",
    "sets": "Number of sets",
    "model_step": "Reuse model of step",
    "type": "Retainer type",
    "upper_range": "Upper range",
    "lower_range": "Lower range",
    "chief_complaint": "Patient's chief complaint",
    "text": "Comment",
    "first": "Between",
    "second": "and",
    "steps": "Steps",
    "wear_schedule": "Wear schedule",
}

_FOLLOW_UP_LABELS: Final = {
    "refinement": "Add refinement",
    "retainer": "Add retainer",
    "replacement": "Order replacement",
    "revision": "Request revision",
}
_DURATIONS: Final = (7, 14, 30, 90)  # days a share link may live, offered as choices
_PRIMARY: Final = frozenset({Action.SUBMIT, Action.ACCEPT_PLAN, Action.UPLOAD_PLAN, Action.SHIP})


# -- texts: the shell's catalog, and aligner_core.i18n ----------------------------------------
def _t(text: str, texts: Texts | None) -> str:
    return texts.get(text, text) if texts else text


def _humanize(name: str) -> str:
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def item_label(item: Item, language: str = "en", names: Mapping[str, str] | None = None) -> str:
    """A quote's or invoice's item as people read it (``Add-on: TPS``): a template's filter."""
    return i18n.item_label(item, language, names)


def money(value: Money, language: str = "en") -> str:
    """An amount as ``language`` writes it (``1.890,00 €`` in German): a template's filter."""
    return i18n.format_money(value, language)


def label(member: Enum, language: str = "en") -> str:
    """The label of an enum member in ``language`` (:func:`aligner_core.i18n.label`).

    An enum without labels in the catalogs shows its value, readable.
    """
    try:
        return i18n.label(member, language)
    except KeyError:
        return _humanize(str(member.value))


def message(item: FieldError | Reason | AlignerError | str, language: str = "en") -> str:
    """A field error, a reason or an error in ``language`` (:func:`aligner_core.i18n.message`)."""
    return i18n.message(item, language)


# -- forms ---------------------------------------------------------------------------------------
@attrs.frozen
class Choice:
    """One option of a select, radio group or checkbox group."""

    value: str
    label: str


@attrs.frozen
class Field:
    """One input (or group of inputs) of a form, as a template draws it.

    ``name`` is what the form sends and ``load_form`` reads; ``value`` is the text to
    show (a list for checkbox groups); ``fields`` are a group's or a list row's inputs
    and ``rows`` a list's rows. ``errors`` are the messages to show under it.
    """

    name: str
    label: str
    widget: Widget
    required: bool = False
    value: str | tuple[str, ...] = ""
    choices: tuple[Choice, ...] = ()
    minimum: str | None = None
    maximum: str | None = None
    step: str | None = None
    max_length: int | None = None
    help: str = ""
    errors: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ()
    rows: tuple[tuple[Field, ...], ...] = ()
    svg: str = ""
    form_id: str = ""

    @property
    def id(self) -> str:
        """An HTML id for the input (``f-patient-last_name``; ``f-Ship-carrier`` in form Ship)."""
        name = re.sub(r"[^A-Za-z0-9_-]+", "-", self.name).strip("-")
        return f"f-{self.form_id}-{name}" if self.form_id else f"f-{name}"

    @property
    def checked(self) -> bool:
        return self.value not in ("", "off", "false", ())

    def walk(self) -> Iterable[Field]:
        """This field and every field inside it."""
        yield self
        for child in self.fields:
            yield from child.walk()
        for row in self.rows:
            for child in row:
                yield from child.walk()

    @property
    def has_errors(self) -> bool:
        return any(f.errors for f in self.walk())


@attrs.frozen
class Form:
    """A command's form: its fields and the messages about no field in particular."""

    command: type
    fields: tuple[Field, ...]
    errors: tuple[str, ...] = ()
    language: str = "en"

    def __getitem__(self, name: str) -> Field:
        for top in self.fields:
            for found in top.walk():
                if found.name == name:
                    return found
        raise KeyError(name)

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(f.has_errors for f in self.fields)

    def with_error(self, error: BaseException, field: str | None = None) -> Form:
        """The form with ``error``'s messages under the fields they name.

        A ``ValidationError`` names its fields by path (``$.patient.last_name``); an
        ``InvalidTransitionError`` names the inputs its reasons are about; a
        ``RejectedFileError`` is put under ``field`` (the file input it came from).
        What names no field of the form is shown above it.
        """
        placed: dict[str, list[str]] = {}
        loose: list[str] = []

        def put(path: str | None, text: str) -> None:
            name = _closest(self, _name_of(path)) if path else None
            if name is None:
                loose.append(text)
            else:
                placed.setdefault(name, []).append(text)

        lang = self.language
        if isinstance(error, ValidationError):
            for e in error.errors:
                put(e.path, message(e, lang))
        elif isinstance(error, InvalidTransitionError):
            for r in error.reasons:
                put(r.path if r.kind == "input" else None, message(r, lang))
        elif isinstance(error, RejectedFileError):
            for r in error.reasons:
                put(f"$.{field}" if field else None, message(r, lang))
        elif isinstance(error, AlignerError):
            loose.append(message(error, lang))
        else:
            loose.append(str(error))
        return attrs.evolve(
            self,
            fields=tuple(_place(f, placed) for f in self.fields),
            errors=(*self.errors, *loose),
        )


_TOKEN = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def _name_of(path: str) -> str:
    """``$.steps[0].ipr[1].first`` -> ``steps[0].ipr[1].first`` (a form field's name)."""
    return path[1:].lstrip(".") if path.startswith("$") else path


def _parent(name: str) -> str:
    cut = max(name.rfind("."), name.rfind("["))
    return name[:cut] if cut > 0 else ""


def _closest(form: Form, name: str) -> str | None:
    """The form's field named ``name``, or the nearest enclosing one (a chart for its marks)."""
    names = {f.name for top in form.fields for f in top.walk()}
    while name:
        if name in names:
            return name
        name = _parent(name)
    return None


def _place(field: Field, placed: Mapping[str, list[str]]) -> Field:
    own = placed.get(field.name)
    if not own and not field.fields and not field.rows:
        return field
    return attrs.evolve(
        field,
        errors=(*field.errors, *(own or ())),
        fields=tuple(_place(f, placed) for f in field.fields),
        rows=tuple(tuple(_place(f, placed) for f in row) for row in field.rows),
    )


def _arms(tp: Any) -> tuple[Any, bool]:
    """The non-None part of an optional type, and whether None is allowed."""
    if get_origin(tp) in (Union, UnionType):
        args = get_args(tp)
        rest = tuple(a for a in args if a is not NoneType)
        if set(rest) == set(get_args(OrderDetails)):
            return OrderDetails, len(rest) < len(args)
        return (rest[0] if len(rest) == 1 else tp), len(rest) < len(args)
    return tp, False


def _number(value: float | None) -> str | None:
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else str(value)


def _text(value: Any, notation: Notation) -> str:
    """A scalar as a form shows it."""
    if value is None:
        return ""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Tooth):
        return value.format(notation)
    if isinstance(value, bool):
        return "on" if value else "off"  # "off", not absent: absent is the default
    if isinstance(value, timedelta):
        return str(int(value.total_seconds()))
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, float):
        return _number(value) or ""
    if isinstance(value, tuple | list):
        return " ".join(_text(v, notation) for v in value)
    return str(value)


def form_values(
    value: Any, name: str = "", *, notation: Notation | str = "palmer"
) -> dict[str, Any]:
    """A value as the fields a form sends for it (what :func:`form_for` takes as ``values``).

    Nested values become dotted names, list items indexed names, a tooth chart one
    ``teeth.UR2``-style name per marked tooth, a follow-up order gets its ``order_type``.
    """
    chosen = Notation(notation)
    out: dict[str, Any] = {}

    def key(sub: str) -> str:
        return f"{name}.{sub}" if name else sub

    if isinstance(value, ToothChart):
        for mark in value.marks:
            out[key(mark.tooth.format(chosen))] = mark.state.value
    elif attrs.has(type(value)) and not isinstance(value, Tooth):
        tag = next((t for t, cl in ORDER_TYPES.items() if isinstance(value, cl)), None)
        if tag is not None:
            out[key("order_type")] = tag
        for a in attrs.fields(type(value)):
            out.update(form_values(getattr(value, a.name), key(a.name), notation=chosen))
    elif isinstance(value, tuple | list):
        if value and all(isinstance(v, Tooth) for v in value):
            out[name] = " ".join(v.format(chosen) for v in value)
        elif value and all(isinstance(v, Enum) for v in value):
            out[name] = [str(v.value) for v in value]
        elif value and attrs.has(type(value[0])):
            for i, item in enumerate(value):
                out.update(form_values(item, f"{name}[{i}]", notation=chosen))
        else:
            out[name] = ""
    elif isinstance(value, Mapping):
        for sub, item in value.items():
            out.update(form_values(item, key(str(sub)), notation=chosen))
    else:
        out[name] = _text(value, chosen)
    return out


@attrs.frozen
class _Context:
    values: Mapping[str, Any]
    fresh: bool
    language: str
    notation: Notation
    texts: Texts | None
    choices: Mapping[str, Sequence[tuple[str, str]]]
    variants: Mapping[str, str]
    skip: frozenset[str]
    form_id: str = ""


def _shown(ctx: _Context, name: str, default: Any) -> str | tuple[str, ...]:
    if name in ctx.values:
        raw = ctx.values[name]
        if isinstance(raw, list | tuple):
            return tuple(str(v) for v in raw)
        return raw if isinstance(raw, str) else ""
    factory = callable(getattr(default, "factory", None))
    if ctx.fresh and default is not attrs.NOTHING and not factory:
        return _text(default, ctx.notation)
    return ""


def _enum_choices(kind: type[Enum], ctx: _Context, name: str = "") -> tuple[Choice, ...]:
    """The members of ``kind`` (only those ``choices`` names for the field, when it does)."""
    allowed = {v for v, _ in ctx.choices.get(name, ())}
    members = [m for m in kind if not allowed or str(m.value) in allowed]
    return tuple(Choice(str(m.value), label(m, ctx.language)) for m in members)


def _field_label(name: str, ctx: _Context) -> str:
    return _t(FIELD_LABELS.get(name) or _humanize(name), ctx.texts)


def _rows_of(prefix: str, ctx: _Context) -> int:
    """How many rows of list ``prefix`` the values hold (at least one, for a blank row)."""
    pattern = re.compile(re.escape(prefix) + r"\[(\d+)\]")
    found = [int(m.group(1)) for k in ctx.values if (m := pattern.match(k))]
    return max(found) + 1 if found else 1


def _has_row(prefix: str, index: int, ctx: _Context) -> bool:
    row = f"{prefix}[{index}]"
    return any(k.startswith((row + ".", row + "[")) for k in ctx.values)


def _chart_of(prefix: str, ctx: _Context) -> ToothChart:
    marks = {}
    for key, raw in ctx.values.items():
        if key.startswith(prefix + ".") and isinstance(raw, str) and raw:
            try:
                marks[Tooth.parse(key[len(prefix) + 1 :], ctx.notation)] = ToothState(raw)
            except (ValueError, ValidationError):
                continue
    return ToothChart.from_mapping(marks)


def _field(
    name: str, short: str, tp: Any, required: bool, default: Any, spec: Any, ctx: _Context
) -> Field | None:
    inner, optional = _arms(tp)
    required = required and not optional
    lab = _field_label(short, ctx)
    common: dict[str, Any] = {
        "name": name,
        "label": lab,
        "required": required,
        "form_id": ctx.form_id,
    }
    if inner is ToothChart:
        from aligner_core.pictures import tooth_chart_svg

        chart = _chart_of(name, ctx)
        states = tuple(Choice(s.value, label(s, ctx.language)) for s in ToothState)
        teeth = tuple(
            Field(
                f"{name}.{t.format(ctx.notation)}",
                t.format(ctx.notation),
                "select",
                value=chart.state_of(t).value,
                choices=states,
                form_id=ctx.form_id,
            )
            for t in PERMANENT_TEETH
        )
        prefix = f"{ctx.form_id}-{name}-" if ctx.form_id else f"{name}-"
        svg = tooth_chart_svg(chart, notation=ctx.notation, legend="used", id_prefix=prefix)
        return Field(**common, widget="chart", fields=teeth, svg=svg)
    if inner is OrderDetails:
        tag = ctx.variants.get(name)
        if tag is None:
            return None
        cl = ORDER_TYPES[tag]
        tagged = Field(f"{name}.order_type", "", "hidden", value=tag, form_id=ctx.form_id)
        return Field(**common, widget="group", fields=(tagged, *_fields(cl, name + ".", ctx)))
    if attrs.has(inner) and inner is not Tooth:
        return Field(**common, widget="group", fields=_fields(inner, name + ".", ctx))
    shown = _shown(ctx, name, default)
    if get_origin(inner) is tuple:
        elem = get_args(inner)[0]
        if elem is Tooth:
            return Field(**common, widget="teeth", value=shown, help=_t("e.g. UR3 UL3", ctx.texts))
        if isinstance(elem, type) and issubclass(elem, Enum):
            picked = shown if isinstance(shown, tuple) else tuple(shown.split())
            opts = _enum_choices(elem, ctx)
            return Field(**common, widget="checkboxes", value=picked, choices=opts)
        if attrs.has(elem):
            count = _rows_of(name, ctx)
            blank = attrs.evolve(ctx, fresh=False)  # a blank row takes no defaults: it stays blank
            rows = tuple(
                _fields(elem, f"{name}[{i}].", ctx if _has_row(name, i, ctx) else blank)
                for i in range(count)
            )
            return Field(**common, widget="list", rows=rows)
        return Field(**common, widget="text", value=shown)
    if isinstance(inner, type) and issubclass(inner, Enum):
        opts = _enum_choices(inner, ctx, name)
        few = len(opts) <= MAX_RADIO and not optional
        return Field(**common, widget="radio" if few else "select", value=shown, choices=opts)
    if inner is bool:
        return Field(**common, widget="checkbox", value=shown)
    if inner in (int, float):
        return Field(
            **common,
            widget="number",
            value=shown,
            minimum=_number(spec.minimum),
            maximum=_number(spec.maximum),
            step="1" if inner is int else "0.01",
        )
    if inner is date:
        return Field(**common, widget="date", value=shown)
    if inner is timedelta:
        days = tuple(Choice(str(d * 86400), _t(f"{d} days", ctx.texts)) for d in _DURATIONS)
        return Field(**common, widget="select", value=shown, choices=days)
    if inner is UUID or (inner is str and name in ctx.choices):
        given = tuple(Choice(v, lab_) for v, lab_ in ctx.choices.get(name, ()))
        return Field(**common, widget="select", value=shown, choices=given)
    if inner is Tooth:
        return Field(**common, widget="tooth", value=shown)
    if inner is Any:
        return Field(**common, widget="file")
    widget: Widget = "textarea" if spec.multiline else "text"
    if spec.format == "email":
        widget = "email"
    elif spec.format == "uri":
        widget = "url"
    return Field(**common, widget=widget, value=shown, max_length=spec.max_length)


def _fields(cls: type, prefix: str, ctx: _Context) -> tuple[Field, ...]:
    hints = typing.get_type_hints(cls)
    made: list[Field] = []
    for a in attrs.fields(cls):
        name = prefix + a.name
        if a.name in GIVEN or (cls, a.name) in _FROM_UPLOAD or name in ctx.skip:
            continue
        required = a.default is attrs.NOTHING
        own = f"{cls.__name__}.{a.name}"  # a label for this class's field only
        short = own if own in FIELD_LABELS else a.name
        one = _field(name, short, hints.get(a.name, Any), required, a.default, spec_of(a), ctx)
        if one is not None:
            made.append(one)
    return tuple(made)


def form_for(
    cls: type,
    *,
    values: Mapping[str, Any] | None = None,
    initial: Any = None,
    error: BaseException | None = None,
    error_field: str | None = None,
    language: str = "en",
    notation: Notation | str = Notation.PALMER,
    texts: Texts | None = None,
    choices: Mapping[str, Sequence[tuple[str, str]]] | None = None,
    variants: Mapping[str, str] | None = None,
    skip: Iterable[str] = (),
    form_id: str = "",
) -> Form:
    """The form of ``cls`` (a command or an input value such as ``Registration``).

    ``values`` are fields a form sent (shown again as typed, after an error);
    ``initial`` is what a new form starts from (an object, or a mapping of field name
    to object) over the declared defaults. ``error`` is placed with
    :meth:`Form.with_error`. ``notation`` is how teeth are written (the shell passes the
    same to ``load_form``). ``choices`` lists the options of identifier fields
    (``{"owner": [(id, name), ...]}``) or limits an enum field's (only the values
    listed are offered); ``variants`` picks the kind of a follow-up order
    (``{"order": "retainer"}``); names in ``skip`` are left out. ``form_id`` goes into
    every field's HTML id, for pages with several forms.
    """
    chosen = Notation(notation)
    fresh = values is None
    shown = dict(values) if values is not None else {}
    if fresh and initial is not None:
        shown = form_values(initial, notation=chosen)
    ctx = _Context(
        shown,
        fresh,
        language,
        chosen,
        texts,
        choices or {},
        variants or {},
        frozenset(skip),
        re.sub(r"[^A-Za-z0-9_-]+", "-", form_id),
    )
    form = Form(cls, _fields(cls, "", ctx), language=language)
    return form.with_error(error, error_field) if error is not None else form


def drop_blank_rows(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields without the blank rows at the end of each list (the row a form adds).

    ``steps[2].number=""`` with every other ``steps[2]...`` empty (or ``off``, what a
    checkbox's hidden twin sends) is dropped; a blank row before a filled one stays,
    so the converter names it.
    """
    rows: dict[str, dict[int, bool]] = {}
    for key, raw in fields.items():
        values = raw if isinstance(raw, list) else [raw]
        filled = any(v not in ("", "off", None) for v in values)  # "off": an unticked box
        for m in re.finditer(r"\[(\d+)\]", key):
            prefix, index = key[: m.start()], int(m.group(1))
            seen = rows.setdefault(prefix, {})
            seen[index] = seen.get(index, False) or filled
    dropped: set[str] = set()
    for prefix, seen in rows.items():
        for index in sorted(seen, reverse=True):
            if seen[index]:
                break
            dropped.add(f"{prefix}[{index}]")
    return {
        k: v
        for k, v in fields.items()
        if not any(k == d or k.startswith(d + ".") or k.startswith(d + "[") for d in dropped)
    }


def form_data(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """The fields of a posted form as :func:`read_command` takes them.

    ``pairs`` are ``(name, value)`` as every framework lists them (Starlette's
    ``form.multi_items()``, Django's ``request.POST.items()`` plus ``request.FILES.items()``,
    Flask's ``request.form.items(multi=True)``). A name sent once maps to its text, one
    sent more often to the list of its texts; a value with ``filename`` and ``file``
    attributes is an upload, and a file input maps to the list of its uploads as
    ``(file name, stream)`` (an input left empty to an empty list). The streams are not
    read here: the library streams them when the command runs.
    """
    texts: dict[str, list[str]] = {}
    files: dict[str, list[tuple[str, Any]]] = {}
    for name, value in pairs:
        if hasattr(value, "filename") and hasattr(value, "file"):
            chosen = files.setdefault(name, [])
            if value.filename:
                chosen.append((str(value.filename), value.file))
        elif isinstance(value, str):
            texts.setdefault(name, []).append(value)
    out: dict[str, Any] = {k: v[0] if len(v) == 1 else v for k, v in texts.items()}
    out.update(files)
    return out


def _root(name: str) -> str:
    return re.split(r"[.\[]", name, maxsplit=1)[0]


def read_command(
    cls: type[T],
    fields: Mapping[str, Any],
    *,
    converter: Converter | None = None,
    notation: Notation | str = Notation.PALMER,
    **given: Any,
) -> T:
    """The ``cls`` a form sent (one ``ValidationError`` naming every bad field).

    What the shell knows is ``given`` (``case_id=...``, ``parent_case_id=...``): each is
    used where ``cls`` has such a field, over anything the form sent. Names the class
    does not have are dropped (the page's ``expected_version`` on a command without
    one), the blank rows a form adds at the end of a list too (:func:`drop_blank_rows`).
    An upload (see :func:`form_data`) for a binary field becomes its stream, and its
    file name the command's ``name`` unless the form sent one.
    """
    own = {a.name: a for a in attrs.fields(cast(Any, cls))}
    data = {k: v for k, v in drop_blank_rows(fields).items() if _root(k) in own}
    for key, attribute in own.items():
        upload = data.get(key)
        if spec_of(attribute).format == "binary" and isinstance(upload, list):
            if not upload:
                del data[key]
                continue
            if "name" in own:
                data.setdefault("name", upload[0][0])
            data[key] = upload[0][1]
    data.update({k: str(v) if isinstance(v, UUID) else v for k, v in given.items() if k in own})
    return (converter or make_converter()).load_form(data, cls, notation=str(Notation(notation)))


def api_paths(
    commands: Mapping[str, type],
    *,
    on_case: str = "/api/cases/{case_id}/commands/{name}",
    other: str = "/api/commands/{name}",
) -> dict[str, Any]:
    """OpenAPI ``paths`` of a command API: one POST per command, its body the command's schema.

    Case commands are posted to ``on_case`` (the case's id in the path), the others to
    ``other``; a command with a binary field takes ``multipart/form-data``, the rest
    JSON. Bodies refer to ``#/components/schemas/<name>`` (``aligner_core.schema``'s
    ``openapi_components``); every answer is the changed record or the error's
    ``to_dict()`` with its ``http_status``.
    """
    paths: dict[str, Any] = {}
    for name, cls in commands.items():
        own = attrs.fields(cast(Any, cls))
        case = any(a.name == "case_id" for a in own)
        binary = any(spec_of(a).format == "binary" for a in own)
        media = "multipart/form-data" if binary else "application/json"
        operation: dict[str, Any] = {
            "operationId": name,
            "summary": (cls.__doc__ or name).strip().splitlines()[0],
            "tags": ["commands"],
            "requestBody": {
                "required": True,
                "content": {media: {"schema": {"$ref": f"#/components/schemas/{name}"}}},
            },
            "responses": {
                "200": {"description": "The changed case, account or network"},
                "default": {"description": "A refusal: the error's to_dict(), its http_status"},
            },
        }
        if case:
            operation["parameters"] = [
                {"name": "case_id", "in": "path", "required": True,
                 "schema": {"type": "string", "format": "uuid"}}
            ]  # fmt: skip
        paths[(on_case if case else other).replace("{name}", name)] = {"post": operation}
    return paths


# -- buttons -------------------------------------------------------------------------------------
@attrs.frozen
class Button:
    """One action a user may take on a case now, as a button with its form.

    ``confirm`` is the question of a button that asks twice (destructive actions and
    submit); ``warnings`` are what the user should read before confirming.
    """

    action: Action
    command: str
    label: str
    form: Form
    destructive: bool = False
    primary: bool = False
    confirm: str = ""
    warnings: tuple[str, ...] = ()
    blockers: tuple[str, ...] = ()

    @property
    def available(self) -> bool:
        return not self.blockers

    @property
    def has_inputs(self) -> bool:
        return any(f.widget != "hidden" for f in self.form.fields)


def _people(
    command: type,
    case: Case,
    people: Sequence[DirectoryEntry],
    now: datetime | None,
    practices: Sequence[Practice] = (),
) -> dict[str, Sequence[tuple[str, str]]]:
    """Options of the identifier fields of ``command`` on ``case``."""
    names = {p.account_id: p.display_name for p in people}
    if command in (UpdateDraft, OrderFollowUp):  # where the aligners ship to, who pays
        owner = (str(case.owner_id), names.get(case.owner_id, str(case.owner_id)))
        payers = [owner, *_practices(practices)]
        return {"payment.owner_id": payers, "practice_id": _practices(practices)}
    if command is Reassign:
        doctors = [p for p in people if p.role is Role.DOCTOR and p.active]
        others = [p for p in doctors if p.account_id != case.owner_id]
        return {
            "owner": [(str(p.account_id), f"{p.display_name} ({p.clinic_name})") for p in others]
        }
    if command is AssignCase:  # lab staff of the case's network, but the one assigned now
        staff = [
            p
            for p in people
            if p.role in (Role.PLANNER, Role.PRODUCTION)
            and p.active
            and p.account_id != case.assigned_to
        ]
        return {"assignee_id": [(str(p.account_id), f"{p.display_name} ({p.role})") for p in staff]}
    if command is InviteCollaborator:
        return {
            "collaborator_id": [
                (str(p.account_id), p.display_name)
                for p in people
                if p.active
                and p.account_id != case.owner_id
                and case.grant_for(p.account_id) is None
            ]
        }
    if command is RevokeCollaborator:
        held = [
            g for g in case.collaborators if g.status in (GrantStatus.INVITED, GrantStatus.ACCEPTED)
        ]
        return {
            "collaborator_id": [
                (str(g.account_id), names.get(g.account_id, str(g.account_id))) for g in held
            ]
        }
    if command is RevokeShare:
        live = [s for s in case.shares if s.revoked_at is None and (now is None or s.is_valid(now))]
        return {
            "share_id": [
                (str(s.share_id), f"v{s.plan_version} · {s.expires_at:%Y-%m-%d}") for s in live
            ]
        }
    if command is ConfirmDelivery:
        pending = [s for s in case.shipments if s.delivered_at is None]
        return {
            "shipment_id": [
                (str(s.shipment_id), f"{s.phase}: {s.carrier} {s.tracking_number}") for s in pending
            ]
        }
    return {}


def _unusable(form: Form) -> bool:
    """A required list of options with nothing in it (nobody to reassign to, no link to revoke)."""
    return any(f.widget == "select" and f.required and not f.choices for f in form.fields)


def _initial(command: type, case: Case, defaults: Mapping[str, Any]) -> dict[str, Any]:
    if command is UpdateDraft:
        return {
            "patient": case.patient.details,
            "request": case.request,
            "order": case.order,
            "impression_type": case.records.impression_type,
        }
    if command is SetTeeth:
        return {"teeth": case.chart}
    if command is AttachFile and case.records_request is not None:
        missing = case.records_request.missing(case.records)  # what the lab waits for
        return {**defaults, "kind": missing[0]} if missing else dict(defaults)
    return dict(defaults)


def buttons(
    options: Iterable[ActionOption],
    *,
    case: Case,
    people: Iterable[DirectoryEntry] = (),
    language: str = "en",
    notation: Notation | str = Notation.PALMER,
    texts: Texts | None = None,
    failed: tuple[str, Mapping[str, Any], BaseException] | None = None,
    now: datetime | None = None,
    practices: Iterable[Practice] = (),
) -> tuple[Button, ...]:
    """The buttons of a case from ``core.available_actions(...)``, each with its form.

    A follow-up order becomes one button per kind the case allows now (refinement,
    retainer, replacement, revision), asking for the order's details only (the new
    draft's treatment request is edited on the draft). ``people``
    (``core.directory(viewer, case_id)``) gives the options of the identifier fields
    (the new doctor, a collaborator). ``failed`` is the command
    name, the fields sent and the error of a refused attempt: that button's form shows
    them again with the errors under its fields. ``now`` (the core's clock) leaves
    expired share links out of the links to revoke. A button whose required choice
    has no options (no collaborator to remove) is left out. ``practices`` (the viewer's,
    when they own the case) are the options of the practice an order ships to.
    """
    everyone, own = list(people), list(practices)
    made: list[Button] = []
    for option in options:
        variants: list[str | None] = [None]
        if option.command is OrderFollowUp:
            variants = [tag for tag in ORDER_TYPES if _follow_up_fits(tag, case)]
        for tag in variants:
            name = option.command.__name__ + (f":{tag}" if tag else "")
            values = error = None
            if failed is not None and failed[0] == name:
                values, error = failed[1], failed[2]
            form = form_for(
                option.command,
                values=values,
                initial=_initial(option.command, case, option.defaults),
                error=error,
                error_field="content",
                language=language,
                notation=notation,
                texts=texts,
                choices={**option.choices, **_people(option.command, case, everyone, now, own)},
                variants={"order": tag} if tag else None,
                skip={"request"} if tag else (),  # the draft's request is edited on the draft
                form_id=name,
            )
            if _unusable(form):
                continue
            text = _t(_FOLLOW_UP_LABELS[tag], texts) if tag else label(option.action, language)
            asks_review = option.command is Submit
            departures = tuple(message(w, language) for w in option.warnings)
            asks = option.destructive or asks_review or bool(departures)
            made.append(
                Button(
                    option.action,
                    name,
                    text,
                    form,
                    destructive=option.destructive,
                    primary=option.action in _PRIMARY,
                    confirm=_t("Are you sure?", texts) if asks else "",
                    warnings=review(case, language=language, texts=texts)
                    if option.command is Submit
                    else departures,
                    blockers=tuple(message(b, language) for b in option.blockers),
                )
            )
    return tuple(made)


_FOLLOW_UP_PARENT: Final = {
    "refinement": (CaseStatus.SHIPPED, CaseStatus.CLOSED),
    "retainer": (CaseStatus.SHIPPED, CaseStatus.CLOSED),
    "replacement": (CaseStatus.IN_PRODUCTION, CaseStatus.SHIPPED, CaseStatus.CLOSED),
    "revision": (CaseStatus.IN_PRODUCTION, CaseStatus.SHIPPED, CaseStatus.CLOSED),
}


def _follow_up_fits(tag: str, case: Case) -> bool:
    return case.status in _FOLLOW_UP_PARENT[tag] and case.kind in FOLLOWS[CaseKind(tag)]


# -- what a page shows about a case --------------------------------------------------------------
_RECOMMENDED: Final = (
    (FileKind.BITE_SCAN, "The upload of a bite scan is recommended for more accuracy."),
    (FileKind.RADIOGRAPH, "A radiograph is highly recommended for safe and predictable planning."),
)


def review(case: Case, *, language: str = "en", texts: Texts | None = None) -> tuple[str, ...]:
    """What to read before submitting: missing recommended records and the files' warnings."""
    found: list[str] = []
    planned = case.kind.is_planned
    for kind, text in _RECOMMENDED:
        if planned and not case.records.has(kind):
            found.append(_t(text, texts))
    if planned and not any(f.kind.value.startswith("photo_") for f in case.records.files):
        found.append(_t("Clinical photos are helpful for optimal planning.", texts))
    if case.patient.date_of_birth is None:
        found.append(_t("The date of birth is not mandatory but always helpful.", texts))
    for ref in case.records.files:
        found.extend(f"{ref.name}: {w}" for w in ref.report.warnings)
    return tuple(found)


@attrs.frozen
class Step:
    """One station of a case's way: ``state`` is ``done``, ``current`` or ``todo``."""

    status: CaseStatus
    label: str
    state: str


_PATHS: Final = {
    "planned": (
        CaseStatus.DRAFT,
        CaseStatus.IN_PLANNING,
        CaseStatus.WAITING_FOR_APPROVAL,
        CaseStatus.IN_PRODUCTION,
        CaseStatus.SHIPPED,
    ),
    "reviewed": (
        CaseStatus.DRAFT,
        CaseStatus.LAB_REVIEW,
        CaseStatus.IN_PRODUCTION,
        CaseStatus.SHIPPED,
    ),
    "made": (CaseStatus.DRAFT, CaseStatus.IN_PRODUCTION, CaseStatus.SHIPPED),
}


def progress(case: Case, *, language: str = "en") -> tuple[Step, ...]:
    """The stations of the case's way (draft .. shipped) and where it stands.

    A held case, or one awaiting records, stands where it was; a rejected plan at the
    approval, a closed case past shipped; a cancelled case has every station still to
    do after its last. Impressions by post add the lab's digitising after the draft.
    """
    if case.kind.is_planned:
        path = _PATHS["planned"]
    elif case.kind is CaseKind.REPLACEMENT:
        path = _PATHS["reviewed"]
    else:
        path = _PATHS["made"]
    if impressions_by_post(case):
        path = (path[0], CaseStatus.AWAITING_IMPRESSIONS, *path[1:])
    at = case.hold.left_status if case.hold is not None else case.status
    if case.records_request is not None:
        at = case.records_request.left_status
    at = {CaseStatus.PLAN_REJECTED: CaseStatus.WAITING_FOR_APPROVAL}.get(at, at)
    if case.status is CaseStatus.CLOSED:
        index = len(path)
    elif at in path:
        index = path.index(at)
    else:  # cancelled: after the last station it passed
        passed = [h.from_status for h in case.history if h.from_status in path]
        index = max((path.index(s) for s in passed if s is not None), default=0)
    return tuple(
        Step(s, label(s, language), "done" if i < index else "current" if i == index else "todo")
        for i, s in enumerate(path)
    )


def _day(text: str | None, end: bool = False) -> datetime | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return moment + timedelta(days=1, microseconds=-1) if end else moment


def _one(params: Mapping[str, Any], key: str) -> str:
    raw = params.get(key, "")
    if isinstance(raw, list | tuple):
        raw = raw[-1] if raw else ""
    return raw.strip() if isinstance(raw, str) else ""


def case_filter(params: Mapping[str, Any], *, page_size: int = 20) -> CaseFilter:
    """The case list's query from request parameters; what does not parse is ignored.

    ``q`` (the search box: words of the patient's name, a case number, a product),
    ``kind``, ``status``, ``mine`` (my cases: ``1``), ``created_from``,
    ``created_to``, ``updated_from``, ``updated_to`` (``YYYY-MM-DD``), ``sort`` (a
    :class:`SortKey`), ``order`` (``asc``/``desc``) and ``page`` (from 1).
    """
    q = _one(params, "q")[:MAX_NAME]

    def pick(kind: type[Enum], key: str) -> Any:
        try:
            return kind(_one(params, key))
        except ValueError:
            return None

    kind, status, sort = pick(CaseKind, "kind"), pick(CaseStatus, "status"), pick(SortKey, "sort")
    page = _one(params, "page")
    index = min(int(page), 10_000) - 1 if page.isdigit() and int(page) > 0 else 0
    return CaseFilter(
        search=q or None,
        mine=_one(params, "mine") in ("1", "on", "true"),
        kinds=(kind,) if kind else (),
        statuses=(status,) if status else (),
        created_from=_day(_one(params, "created_from")),
        created_to=_day(_one(params, "created_to"), end=True),
        updated_from=_day(_one(params, "updated_from")),
        updated_to=_day(_one(params, "updated_to"), end=True),
        sort=sort or SortKey.UPDATED,
        descending=_one(params, "order") != "asc",
        offset=index * page_size,
        limit=page_size,
    )


def choices_of(kind: type[Enum], language: str = "en") -> tuple[Choice, ...]:
    """Every member of an enum as a choice (a filter's options)."""
    return tuple(Choice(str(m.value), label(m, language)) for m in kind)


def _practices(practices: Iterable[Practice]) -> list[tuple[str, str]]:
    return [(str(p.practice_id), p.name) for p in practices]


def order_choices(account: Account, catalogue: Catalogue) -> dict[str, list[tuple[str, str]]]:
    """The options of a new order's ``practice_id`` (the doctor's practices, where the
    aligners ship to), ``product`` (``core.catalogue(...)``) and way to pay (the kept
    ones, or who pays), as :func:`form_for`'s ``choices``."""
    return {
        "practice_id": _practices(account.practices),
        "product": [(p.code, p.name) for p in catalogue.products],
        "payment_method_id": payment_choices(account),
        "payment.owner_id": payer_choices(account),
    }


def payment_choices(account: Account) -> list[tuple[str, str]]:
    """The ways to pay kept on ``account``, as the options of ``payment_method_id`` (an
    order) or ``method_id`` (``RemovePaymentMethod``)."""
    return [(str(m.method_id), m.label) for m in account.payment_methods]


def payer_choices(account: Account) -> list[tuple[str, str]]:
    """Who a way to pay belongs to (``payment.owner_id``): the doctor or one of their
    practices."""
    return [(str(account.account_id), account.display_name), *_practices(account.practices)]


def commands_on(field: str, commands: Mapping[str, type] = COMMANDS) -> dict[str, type]:
    """The commands on the record a field names, by name: ``"account_id"`` gives the
    account commands (``AddPractice``, ``Block``, ``UpdateProfile``, ...), ``"invoice_id"``
    ``IssueCreditNote``. Case commands are left out (they go to the case's route), so a
    shell runs these on one route with the record's id from its URL."""
    return {
        name: cls
        for name, cls in commands.items()
        if not issubclass(cls, CaseCommand)
        and any(a.name == field for a in attrs.fields(cast(Any, cls)))
    }


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site (``/profile?saved=1``), else ``default``:
    where a form may send the user back without becoming an open redirect."""
    text = target or ""
    plain = all(" " < c <= "~" for c in text)  # no spaces, no controls a browser would drop
    return text if plain and text[:1] == "/" and text[1:2] not in ("/", "\\") else default


def attach_uploads(
    run: Callable[[AttachFile], object], fields: Mapping[str, Any], case_id: UUID
) -> dict[str, AlignerError]:
    """Attach each upload in ``fields`` (:func:`form_data`) whose input a file kind names
    (``upper_scan``) to the case, through ``run`` (the shell's ``core.execute`` for the
    user); the refusals by input name, for the form to show under its file inputs."""
    refused: dict[str, AlignerError] = {}
    for kind in FileKind:
        for name, stream in fields.get(kind.value) or ():
            try:
                run(AttachFile(case_id=case_id, kind=kind, name=name, content=stream))
            except AlignerError as error:
                refused[kind.value] = error
    return refused
