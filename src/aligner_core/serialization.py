"""One cattrs converter for storage and for shells' JSON and HTML forms.

``make_converter()`` builds a private converter (never the cattrs global one)
with explicit hooks: ISO 8601 datetimes and dates, UUIDs as text, enums by
value, teeth as FDI numbers, follow-up orders as a tagged union, durations in
seconds. Untrusted input goes through :meth:`Converter.load` (JSON text),
:meth:`Converter.load_form` (HTML form fields) or
:meth:`Converter.structure_checked` (parsed data); each fails only with one
:class:`~aligner_core.errors.ValidationError` naming every problem (type
errors and domain rules alike) as ``msg @ $.path``, each with a code, never
with the offending value. Documents past the converter's :class:`Limits` are
refused before they become objects.
"""

from __future__ import annotations

import functools
import json
import math
import re
import typing
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum, IntEnum, StrEnum
from typing import Any, NoReturn, TypeVar, get_args, get_origin
from uuid import UUID

import attrs
import cattrs
from cattrs.cols import is_sequence
from cattrs.gen import make_dict_structure_fn

from aligner_core.domain.cases import Case, Comment, HistoryEntry, Shipment
from aligner_core.domain.fields import is_checked, problems, spec_of
from aligner_core.domain.money import Currency, exact_decimal
from aligner_core.domain.orders import (
    ORDER_TYPES,
    OrderDetails,
    ReplacementOrder,
    from_legacy_replacement,
)
from aligner_core.domain.plans import PlanVersion
from aligner_core.domain.quotes import Quote
from aligner_core.domain.records import FileRef
from aligner_core.domain.teeth import Tooth
from aligner_core.errors import AlignerError, FieldError, ValidationError
from aligner_core.forms import form_to_data
from aligner_core.structuring import generate_structure

__all__ = ["DOCUMENT_VERSION", "Converter", "Limits", "make_converter"]

T = TypeVar("T")

#: Version of the stored document layout (the ``_schema`` key of each stored document).
DOCUMENT_VERSION = 1
_SCHEMA_KEY = "_schema"
#: An array longer than this is refused wherever it stands (fields declare smaller bounds).
MAX_ARRAY = 10_000
#: Keys stored documents of a class once had, and the field each is now read into.
_RENAMED: dict[type, dict[str, str]] = {
    Case: {"assigned_planner_id": "assigned_to"},  # schema 6: any lab staff, not only planners
}

ORDER_TAGS: dict[type, str] = {cl: tag for tag, cl in ORDER_TYPES.items()}
_ORDER_BY_TAG: dict[str, type] = dict(ORDER_TYPES)
_ORDER_TAG = "order_type"


@attrs.frozen
class Limits:
    """What ``load`` accepts before parsing: bytes, nesting depth and values of a document."""

    max_bytes: int = 4 * 1024 * 1024
    max_depth: int = 32
    max_values: int = 100_000


def _name(cl: Any) -> str:
    return getattr(cl, "__name__", None) or "input"


# -- document limits --------------------------------------------------------------------------
_QUOTED = re.compile(rb'"[^"]*"')
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"\\')


def _deeper_than(skeleton: bytes, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than ``limit``, without parsing.

    ``skeleton`` is the document's brackets, quotes and backslashes
    (``bytes.translate``, C speed). Escapes and strings go first, then each pass
    removes the innermost pairs, one level at a time: a few microseconds per
    kilobyte. Unbalanced brackets are left for the parser to call malformed.
    """
    if b"\\" in skeleton:
        skeleton = skeleton.replace(b"\\\\", b"").replace(b'\\"', b"").replace(b"\\", b"")
    skeleton = skeleton.replace(b'""', b"")
    if b'"' in skeleton:  # strings holding brackets
        skeleton = _QUOTED.sub(b"", skeleton)
    for _ in range(limit):
        if not skeleton:
            return False
        skeleton = skeleton.replace(b"[]", b"").replace(b"{}", b"")
    return b"[]" in skeleton or b"{}" in skeleton


def _check_limits(text: str | bytes, limits: Limits, subject: str) -> str:
    """The text of a document within the limits, or a ValidationError before any parsing."""
    if isinstance(text, bytes | bytearray):
        if len(text) > limits.max_bytes:
            raise ValidationError.of("document_too_large", subject=subject, max=limits.max_bytes)
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError.of("malformed_json", subject=subject) from None
    if not isinstance(text, str):
        raise ValidationError.of("wrong_type", subject=subject, expected="text")
    if len(text) > limits.max_bytes:
        raise ValidationError.of("document_too_large", subject=subject, max=limits.max_bytes)
    skeleton = text.encode("utf-8", "surrogatepass").translate(None, _NOT_STRUCTURE)
    opening = skeleton.count(b"[") + skeleton.count(b"{")
    # every value takes a character at least: shorter texts cannot hold too many
    if len(text) > limits.max_values and text.count(",") + opening > limits.max_values:
        raise ValidationError.of("document_too_many_values", subject=subject, max=limits.max_values)
    if opening > limits.max_depth and _deeper_than(skeleton, limits.max_depth):
        raise ValidationError.of("document_too_deep", subject=subject, max=limits.max_depth)
    return text


# -- primitive hooks: JSON types as JSON gives them, coded errors without values ---------------
_EXPECTED = {str: "text", int: "integer", float: "number", bool: "boolean"}


def _strict(kind: type[Any]) -> Any:
    """Primitives as JSON gives them: no "12" for an int, no 1 for a bool (1 for 1.0 is fine).

    Registered for ``str``, ``int``, ``float`` and ``bool`` themselves, so it also
    receives their subclasses (``StrEnum``, ``IntEnum``): the raw JSON type is
    checked first, then the enum (or the type) builds the value.
    """
    expected = _EXPECTED[kind]

    def structure(value: Any, cl: type) -> Any:
        if type(value) is not kind and not (kind is float and type(value) is int):
            if isinstance(cl, type) and issubclass(cl, Enum):
                raise _not_one_of(cl)
            raise ValidationError.of("wrong_type", expected=expected)
        if cl is kind:
            if kind is float and not math.isfinite(value):
                raise ValidationError.of("not_finite")
            return float(value) if kind is float else value
        try:
            return cl(value)
        except ValueError:
            raise _not_one_of(cl) from None

    return structure


def _not_one_of(cl: type[Enum]) -> ValidationError:
    return ValidationError.of("not_one_of", choices=", ".join(str(m.value) for m in cl))


def _structure_date(value: Any, _: type) -> date:
    if type(value) is not str:
        raise ValidationError.of("invalid_date")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError.of("invalid_date") from None


def _parse_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.upper() if "t" in value or "z" in value else value)
    if parsed.utcoffset() is None:
        raise ValidationError.of("naive_datetime")
    return parsed


_ISO_DURATION = re.compile(
    r"P(?:(?P<d>[0-9]{1,4})D)?"
    r"(?:T(?=[0-9])(?:(?P<h>[0-9]{1,6})H)?(?:(?P<m>[0-9]{1,8})M)?(?:(?P<s>[0-9]{1,10})S)?)?"
)


def _structure_duration(value: Any, _: type) -> timedelta:
    """Seconds as a number, or an ISO 8601 duration such as ``P14D`` or ``PT12H``."""
    if type(value) in (int, float) and math.isfinite(value) and abs(value) < 1e12:
        return timedelta(seconds=value)
    if type(value) is str and value != "P" and (m := _ISO_DURATION.fullmatch(value)):
        parts = {k: int(v) for k, v in m.groupdict().items() if v}
        if parts:
            return timedelta(
                days=parts.get("d", 0),
                hours=parts.get("h", 0),
                minutes=parts.get("m", 0),
                seconds=parts.get("s", 0),
            )
    raise ValidationError.of("invalid_duration")


def _unstructure_duration(value: timedelta) -> int | float:
    seconds = value.total_seconds()
    return int(seconds) if seconds.is_integer() else seconds


class _Remembering:
    """A structure hook for values parsed from one JSON type, remembering its results.

    The values are immutable, so handing out the same object again is safe; a
    case loaded before every command repeats most of its ids and timestamps.
    The generated structure functions (:mod:`aligner_core.structuring`) look a
    ``key``-typed value up in ``remembered`` themselves and call only on a miss.
    Failures are not remembered; the dict is emptied when full. ``parse``
    raises ValueError for a value it refuses (``invalid()`` then raises the
    ValidationError naming the problem) or a ValidationError naming it itself.
    """

    def __init__(
        self, parse: Callable[[Any], Any], key: type, invalid: Callable[[], NoReturn]
    ) -> None:
        self.parse, self.key, self.invalid = parse, key, invalid
        self.remembered: dict[Any, Any] = {}

    def __call__(self, value: Any, _: Any) -> Any:
        if type(value) is not self.key or (type(value) is str and len(value) > 64):
            self.invalid()
        found = self.remembered.get(value)
        if found is None:
            try:
                found = self.parse(value)
            except ValidationError:
                raise
            except ValueError:
                self.invalid()
            if len(self.remembered) >= 16_384:
                self.remembered.clear()
            self.remembered[value] = found
        return found


def _invalid_uuid() -> NoReturn:
    raise ValidationError.of("invalid_uuid")


def _invalid_datetime() -> NoReturn:
    raise ValidationError.of("invalid_datetime")


def _invalid_tooth() -> NoReturn:
    raise ValidationError.of("invalid_tooth", notation="FDI")


def _tooth_of(number: int) -> Tooth:
    try:
        return Tooth.from_fdi(number)
    except ValidationError:
        raise ValueError(number) from None


def _parsers() -> tuple[Any, Any, Any]:
    """Structure hooks for UUIDs, datetimes and teeth that remember what they parsed."""
    structure_uuid = _Remembering(UUID, str, _invalid_uuid)
    structure_datetime = _Remembering(_parse_datetime, str, _invalid_datetime)
    structure_tooth = _Remembering(_tooth_of, int, _invalid_tooth)
    return structure_uuid, structure_datetime, structure_tooth


def _enum_value(e: Enum) -> Any:
    return e._value_


# -- sequences --------------------------------------------------------------------------------
def _homogeneous(cl: Any) -> bool:
    args: tuple[Any, ...] = getattr(cl, "__args__", ())
    return len(args) == 2 and args[1] is Ellipsis


def _array_factory(cl: Any, converter: Converter) -> Any:
    """Sequences from JSON arrays only (cattrs would split a string into letters).

    Homogeneous tuples structure with one list comprehension; a failing item is
    named by index (``$[3]``) with every other bad item. Arrays past
    :data:`MAX_ARRAY` are refused before any item is read.
    """
    args: tuple[Any, ...] = getattr(cl, "__args__", ())
    if get_origin(cl) is tuple and args and not _homogeneous(cl):
        hooks = [converter.get_structure_hook(a) for a in args]

        def fixed(value: Any, _: Any) -> tuple[Any, ...]:
            if type(value) is not list or len(value) != len(hooks):
                raise ValidationError.of("wrong_type", expected="list")
            return tuple([h(x, a) for h, a, x in zip(hooks, args, value, strict=True)])

        return fixed
    elem = args[0] if args else Any
    hook = converter.get_structure_hook(elem)
    make = list if get_origin(cl) is list else tuple

    def structure(value: Any, _: Any) -> Any:
        if type(value) is not list:
            raise ValidationError.of("wrong_type", expected="list")
        if not value:
            return make()
        if len(value) > MAX_ARRAY:
            raise ValidationError.of("too_many", max=MAX_ARRAY)
        try:
            return make([hook(x, elem) for x in value])
        except Exception:
            _, errors = _items(converter, value, elem)
            raise ValidationError(errors) from None

    return structure


def _items(converter: Converter, value: list[Any], elem: Any) -> tuple[list[Any], list[FieldError]]:
    """The items that structure, and the problems of the others (by index)."""
    good: list[Any] = []
    errors: list[FieldError] = []
    for i, item in enumerate(value):
        try:
            good.append(converter.structure(item, elem))
        except Exception as e:
            errors.extend(f.under(f"$[{i}]") for f in _describe(e))
    return good, errors


def _tuple_unstructure_factory(cl: Any, converter: cattrs.Converter) -> Any:
    """Tuples become lists with one comprehension (cattrs' generic path is a generator)."""
    args: tuple[Any, ...] = getattr(cl, "__args__", ())
    plain = (str, int, float, bool)
    if not args:
        return list
    if _homogeneous(cl):
        elem = args[0]
        if elem in plain:
            return list
        hook = converter.get_unstructure_hook(elem)
        return lambda seq: [hook(x) for x in seq]
    if all(a in plain for a in args):
        return list
    hooks = [converter.get_unstructure_hook(a) for a in args]
    return lambda seq: [h(x) for h, x in zip(hooks, seq, strict=True)]


def _is_tuple(cl: Any) -> bool:
    return get_origin(cl) is tuple


def _structure_command_class(value: Any, _: Any) -> type:
    """A command class from its name (what ``ActionOption.command`` is written as)."""
    from aligner_core.commands import COMMANDS

    found = COMMANDS.get(value) if type(value) is str else None
    if found is None:
        raise ValidationError.of("not_one_of", choices=", ".join(sorted(COMMANDS)))
    return found


def _is_frozenset(cl: Any) -> bool:
    return cl is frozenset or get_origin(cl) in (frozenset, set)


def _frozenset_unstructure_factory(cl: Any, converter: cattrs.Converter) -> Any:
    """Sets become sorted lists (JSON has no sets; sorted, so the text is stable)."""
    args: tuple[Any, ...] = getattr(cl, "__args__", ())
    hook = converter.get_unstructure_hook(args[0]) if args else (lambda x: x)
    return lambda items: sorted(hook(x) for x in items)


# -- classes: a fast path, and every problem when it fails --------------------------------------
def _describe(exc: BaseException) -> list[FieldError]:
    """The field errors an exception stands for (never repeating the input's values)."""
    if isinstance(exc, ValidationError):
        return list(exc.errors)
    if isinstance(exc, AlignerError):
        return [FieldError.of("invalid")]
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return [
            FieldError.of("unexpected_field", field=str(k)[:50]) for k in sorted(exc.extra_fields)
        ]
    if isinstance(exc, cattrs.BaseValidationError):
        found: list[FieldError] = []
        for inner in exc.exceptions:
            found.extend(_describe(inner))
        return found or [FieldError.of("invalid")]
    if isinstance(exc, RecursionError):
        return [FieldError.of("document_too_deep", max="the")]
    return [FieldError.of("invalid")]


class _Partial:
    """The fields of an input that did structure, for the checks of a partly bad input."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.__dict__.update(values)


def _attrs_factory(cl: type, converter: Converter) -> Any:
    """A structure hook for an attrs class: a generated function, then every problem.

    The generated function (:mod:`aligner_core.structuring`) runs first (fast;
    the class's constructor checks its invariants). Only when it fails does
    :func:`_collect` go field by field to name every problem with its path.
    """
    base: Any = get_origin(cl) or cl
    hints = _hints(cl)
    name = base.__name__

    def every_problem(value: Any) -> NoReturn:
        raise ValidationError(_collect(converter, value, base, hints), subject=name)

    def not_an_object() -> ValidationError:
        return ValidationError.of("not_an_object", subject=name)

    generated = generate_structure(
        cl, base, hints, converter.get_structure_hook, every_problem, not_an_object, MAX_ARRAY
    )
    if generated is not None:
        return generated
    fast: Callable[[Any, Any], Any] = make_dict_structure_fn(
        cl, converter, _cattrs_forbid_extra_keys=True, _cattrs_detailed_validation=False
    )

    def structure(value: Any, _: Any) -> Any:
        if type(value) is not dict:
            raise not_an_object()
        try:
            return fast(value, cl)
        except Exception:
            every_problem(value)

    return structure


def _is_attrs_class(cl: Any) -> bool:
    """An attrs class (or a generic one's alias, ``Page[X]``), but a tooth (its own hook)."""
    base: Any = get_origin(cl) or cl
    return isinstance(base, type) and attrs.has(base) and cl not in (Tooth, Currency)


def _hints(cl: Any) -> dict[str, Any]:
    """The resolved field types of an attrs class, or of a generic one's alias (``Page[X]``)."""
    origin = get_origin(cl)
    if origin is None:
        return typing.get_type_hints(cl)
    mapping = dict(zip(origin.__parameters__, get_args(cl), strict=False))
    return {
        name: _substitute(hint, mapping) for name, hint in typing.get_type_hints(origin).items()
    }


def _substitute(hint: Any, mapping: Mapping[Any, Any]) -> Any:
    if isinstance(hint, TypeVar):
        return mapping.get(hint, hint)
    params = getattr(hint, "__parameters__", ())
    if params and all(p in mapping for p in params):
        return hint[tuple(mapping[p] for p in params)]
    return hint


def _collect(
    converter: Converter, value: Mapping[str, Any], cl: type, hints: Mapping[str, Any]
) -> list[FieldError]:
    """Every problem of ``value`` as a ``cl``: unknown and missing fields, each field's
    structure, type and bounds, and the class's rules on what did structure."""
    fields = attrs.fields(cl)
    known = {a.name for a in fields}
    errors = [
        FieldError.of("unexpected_field", field=str(k)[:50])
        for k in sorted(value, key=str)
        if k not in known
    ]
    present: dict[str, Any] = {}
    partial: set[str] = set()
    for a in fields:
        path = f"$.{a.name}"
        if a.name not in value:
            if a.default is attrs.NOTHING:
                errors.append(FieldError.of("required", path))
            continue
        raw, tp, spec = value[a.name], hints.get(a.name, Any), spec_of(a)
        if spec.max_items is not None and type(raw) is list and len(raw) > spec.max_items:
            errors.append(FieldError.of("too_many", path, max=spec.max_items))
            continue
        if get_origin(tp) is tuple and _homogeneous(tp) and type(raw) is list:
            good, bad = _items(converter, raw, get_args(tp)[0])
            errors.extend(e.under(path) for e in bad)
            if bad:
                partial.add(a.name)
            structured: Any = tuple(good)
        else:
            try:
                structured = converter.structure(raw, tp)
            except Exception as e:
                errors.extend(f.under(path) for f in _describe(e))
                continue
        try:
            present[a.name] = a.converter(structured) if callable(a.converter) else structured
        except ValidationError as e:
            errors.extend(e.errors)  # a converter names the class's own paths
    if is_checked(cl):
        errors.extend(problems(cl, _Partial(present), partial=partial))
    else:
        errors.extend(_run_validators(cl, fields, present))
    if not errors:
        try:
            cl(**present)
        except ValidationError as e:
            errors.extend(e.errors)
        except Exception:
            errors.append(FieldError.of("invalid"))
    return errors


def _run_validators(cl: type, fields: Any, present: Mapping[str, Any]) -> list[FieldError]:
    """An unchecked attrs class: its field validators one by one (they stop at the first)."""
    found: list[FieldError] = []
    holder = _Partial(present)
    for a in fields:
        if a.name in present and a.validator is not None:
            try:
                a.validator(holder, a, present[a.name])
            except ValidationError as e:
                found.extend(e.errors)
            except Exception:
                found.append(FieldError.of("invalid", f"$.{a.name}"))
    return found


# -- the tagged union of follow-up orders ---------------------------------------------------
def _order_hooks(converter: Converter) -> tuple[Any, Any]:
    tags = ", ".join(_ORDER_BY_TAG)

    def structure(value: Any, _: Any) -> Any:
        if type(value) is not dict:
            raise ValidationError.of("not_an_object")
        tag = value.get(_ORDER_TAG)
        cl = _ORDER_BY_TAG.get(tag) if isinstance(tag, str) else None
        if cl is None:
            raise ValidationError.of("not_one_of", choices=tags)
        rest = {k: v for k, v in value.items() if k != _ORDER_TAG}
        if cl is ReplacementOrder:  # the former shape (arches, first_step, last_step) too
            rest = from_legacy_replacement(rest)
        return converter.structure(rest, cl)

    def unstructure(value: Any) -> Any:
        data: dict[str, Any] = converter.unstructure(value)
        data[_ORDER_TAG] = ORDER_TAGS[type(value)]
        return data

    return structure, unstructure


class Converter(cattrs.Converter):
    """The library's converter; build it with :func:`make_converter`."""

    limits: Limits
    #: the converter ``document_dumps`` writes with (records remembered), made on first use
    _writer: Converter | None = None

    def structure_checked(self, data: Any, cl: type[T]) -> T:
        """Structure untrusted data; every failure is one ``ValidationError`` naming all."""
        try:
            return self.structure(data, cl)
        except ValidationError as e:
            raise ValidationError(e.errors, subject=_name(cl), omitted=e.omitted) from None
        except Exception as e:
            raise ValidationError(_describe(e), subject=_name(cl)) from None

    def dumps(self, obj: Any) -> str:
        """Compact JSON text of ``obj``."""
        return json.dumps(self.unstructure(obj), separators=(",", ":"), ensure_ascii=False)

    def loads_json(self, text: str | bytes, subject: str = "input") -> Any:
        """Parse untrusted JSON text within the limits (refused before parsing when past them)."""
        checked = _check_limits(text, self.limits, subject)
        try:
            return json.loads(checked)
        except (ValueError, RecursionError):
            raise ValidationError.of("malformed_json", subject=subject) from None

    def load(self, text: str | bytes, cl: type[T]) -> T:
        """Parse JSON text and structure it; malformed JSON is a ``ValidationError`` too."""
        return self.structure_checked(self.loads_json(text, _name(cl)), cl)

    def load_form(
        self,
        fields: Mapping[str, Any],
        cl: type[T],
        *,
        notation: str = "fdi",
        ignore: frozenset[str] | set[str] = frozenset(),
    ) -> T:
        """Structure what an HTML form sends: the same command (or error) as the JSON path.

        ``fields`` maps names to a string or a list of strings (or an upload object
        for a file field). Nested fields are dotted (``patient.last_name``), items of
        lists indexed (``steps[0].number``); numbers come as text, checkboxes as
        ``on``/``true``/``1`` (an absent required checkbox is false), an empty
        value means absent, teeth are read in ``notation`` (``fdi``, ``universal``
        or ``palmer``). Names in ``ignore`` (a CSRF token, the submit button) are
        dropped.
        """
        data = form_to_data(fields, cl, notation=notation, ignore=ignore)
        return self.structure_checked(data, cl)

    def to_document(self, obj: Any) -> dict[str, Any]:
        """A stored document: the unstructured object plus the document version (a new
        dict: the unstructured one may be remembered, see ``document_dumps``)."""
        return {**self.unstructure(obj), _SCHEMA_KEY: DOCUMENT_VERSION}

    def from_document(self, data: Any, cl: type[T]) -> T:
        """Structure a stored document, refusing one from a newer version."""
        if not isinstance(data, dict):
            raise ValidationError.of("not_an_object", subject=_name(cl))
        data = dict(data)
        version = data.pop(_SCHEMA_KEY, DOCUMENT_VERSION)
        if type(version) is not int or version > DOCUMENT_VERSION:
            raise ValidationError.of("schema_too_new", f"$.{_SCHEMA_KEY}", subject=_name(cl))
        for old, new in _RENAMED.get(cl, {}).items():
            if old in data:
                value = data.pop(old)
                data.setdefault(new, value)
        return self.structure_checked(data, cl)

    def document_dumps(self, obj: Any) -> str:
        """A stored document as JSON text. A case is written again after every command
        with most of its history, comments, plans and files unchanged: their
        unstructured form is remembered by identity (they are immutable), in a
        converter of its own, so what ``unstructure`` hands out is never shared."""
        if self._writer is None:
            self._writer = make_converter(self.limits, remember=_IMMUTABLE_RECORDS)
        document = self._writer.to_document(obj)
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False)

    def document_loads(self, text: str | bytes, cl: type[T]) -> T:
        """A stored document (trusted size: written by this library)."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise ValidationError.of("malformed_json", subject=_name(cl)) from None
        return self.from_document(data, cl)


def _memoized_text() -> tuple[Callable[[UUID], str], Callable[[datetime], str]]:
    """UUID and datetime text, remembered per converter (bounded).

    A case is saved again after every command and keeps most of its ids and
    timestamps, so most of its text is the same each time; formatting them is
    most of what unstructuring costs. Datetimes are keyed with their UTC offset:
    equal instants in other zones keep their own text.
    """
    uuid_text = functools.lru_cache(maxsize=16_384)(UUID.__str__)
    iso = functools.lru_cache(maxsize=16_384)(_isoformat_at)

    def datetime_text(value: datetime) -> str:
        return iso(value, value.utcoffset())

    return uuid_text, datetime_text


def _isoformat_at(value: datetime, offset: object) -> str:
    return value.isoformat()


def _structure_decimal(value: Any, _: Any) -> Decimal:
    """An exact amount from JSON text (``"12.50"``) or an integer; a JSON number with a
    fraction is a float and is refused (``money_float``): 0.1 is not a price."""
    if type(value) is float:
        raise ValidationError.of("money_float")
    if type(value) not in (str, int):
        raise ValidationError.of("money_amount")
    try:
        return exact_decimal(value, "$")
    except ValidationError:
        raise ValidationError.of("money_amount") from None


def _structure_currency(value: Any, _: Any) -> Currency:
    """A currency from its ISO 4217 code (``"EUR"``)."""
    if type(value) is not str:
        raise ValidationError.of("wrong_type", expected="text")
    try:
        return Currency.of(value)
    except ValidationError:
        raise ValidationError.of("unknown_currency", currency=value[:8]) from None


def _is_enum(cl: Any) -> bool:
    return isinstance(cl, type) and issubclass(cl, Enum)


#: Deeply immutable records a case keeps many of (``document_dumps`` remembers their form).
_IMMUTABLE_RECORDS: tuple[type, ...] = (
    HistoryEntry,
    Comment,
    Shipment,
    PlanVersion,
    Quote,
    FileRef,
)
#: How many unstructured records such a converter remembers (then it starts afresh).
_REMEMBERED = 16_384


def _remembered(hook: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``hook`` answering again for the same object from a bounded table keyed by identity.

    The object is kept with its answer, so its id cannot be reused while it is
    remembered. Plain dict operations: safe to share between threads.
    """
    table: dict[int, tuple[Any, Any]] = {}

    def unstructure(obj: Any) -> Any:
        found = table.get(id(obj))
        if found is not None and found[0] is obj:
            return found[1]
        data = hook(obj)
        if len(table) >= _REMEMBERED:
            table.clear()
        table[id(obj)] = (obj, data)
        return data

    return unstructure


def make_converter(limits: Limits | None = None, *, remember: tuple[type, ...] = ()) -> Converter:
    """A new converter with the library's hooks; cheap enough to build per storage.

    ``remember``: immutable record classes whose unstructured form is remembered by
    identity (only for a converter whose output is consumed at once, never handed out).
    """
    converter = Converter(forbid_extra_keys=True, detailed_validation=True)
    converter.limits = limits or Limits()
    uuid_text, datetime_text = _memoized_text()
    structure_uuid, structure_datetime, structure_tooth = _parsers()
    converter.register_unstructure_hook(datetime, datetime_text)
    converter.register_structure_hook(datetime, structure_datetime)
    converter.register_unstructure_hook(date, date.isoformat)
    converter.register_structure_hook(date, _structure_date)
    converter.register_unstructure_hook(timedelta, _unstructure_duration)
    converter.register_structure_hook(timedelta, _structure_duration)
    converter.register_unstructure_hook(UUID, uuid_text)
    converter.register_structure_hook(UUID, structure_uuid)
    converter.register_unstructure_hook(Tooth, lambda t: t.fdi)
    converter.register_structure_hook(Tooth, structure_tooth)
    converter.register_unstructure_hook(Decimal, str)
    converter.register_structure_hook(Decimal, _structure_decimal)
    converter.register_unstructure_hook(Currency, lambda c: c.code)
    converter.register_structure_hook(Currency, _structure_currency)
    converter.register_structure_hook(Any, lambda v, _: v)
    for kind in (str, int, float, bool):
        converter.register_structure_hook(kind, _strict(kind))
    for base in (Enum, StrEnum, IntEnum):
        converter.register_unstructure_hook(base, _enum_value)
    converter.register_structure_hook_factory(is_sequence, _array_factory)  # type: ignore[type-var]
    converter.register_unstructure_hook_factory(_is_tuple, _tuple_unstructure_factory)
    converter.register_unstructure_hook_factory(_is_frozenset, _frozenset_unstructure_factory)
    converter.register_unstructure_hook(type, lambda cl: cl.__name__)
    converter.register_structure_hook(type, _structure_command_class)
    converter.register_structure_hook_factory(
        _is_attrs_class,
        _attrs_factory,  # type: ignore[type-var]
    )
    structure_order, unstructure_order = _order_hooks(converter)
    converter.register_structure_hook(OrderDetails, structure_order)
    converter.register_unstructure_hook(OrderDetails, unstructure_order)
    optional_order: Any = OrderDetails | None
    converter.register_structure_hook(
        optional_order, lambda v, _: None if v is None else structure_order(v, None)
    )
    converter.register_unstructure_hook(
        optional_order, lambda v: None if v is None else unstructure_order(v)
    )
    for record in remember:
        converter.register_unstructure_hook(
            record, _remembered(converter.get_unstructure_hook(record))
        )
    return converter
