"""One cattrs converter for storage and for shells' JSON.

``make_converter()`` builds a private converter (never the cattrs global one)
with explicit hooks: ISO 8601 datetimes and dates, UUIDs as text, enums by
value, teeth as FDI numbers, follow-up orders as a tagged union. Untrusted
input goes through :meth:`Converter.load` / :meth:`Converter.structure_checked`,
which fail only with :class:`~aligner_core.errors.ValidationError` naming every
bad field as ``msg @ $.path``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import date, datetime
from enum import Enum, IntEnum, StrEnum
from typing import Any, TypeVar, get_origin
from uuid import UUID

import cattrs
from cattrs.cols import (
    homogenous_tuple_structure_factory,
    is_mutable_sequence,
    is_sequence,
    list_structure_factory,
)
from cattrs.strategies import configure_tagged_union

from aligner_core.domain.orders import (
    OrderDetails,
    RefinementOrder,
    ReplacementOrder,
    RetainerOrder,
    RevisionOrder,
)
from aligner_core.domain.teeth import Tooth
from aligner_core.errors import AlignerError, FieldError, ValidationError

__all__ = ["SCHEMA_VERSION", "Converter", "make_converter"]

T = TypeVar("T")

#: Version of the stored document layout; bumped when a stored shape changes.
SCHEMA_VERSION = 1
_SCHEMA_KEY = "_schema"

_ORDER_TAGS: dict[type, str] = {
    RefinementOrder: "refinement",
    RetainerOrder: "retainer",
    ReplacementOrder: "replacement",
    RevisionOrder: "revision",
}


def _field_errors(exc: BaseException, path: str = "$") -> list[FieldError]:
    """Flatten a cattrs error tree (and our own errors inside it) into field errors."""
    if isinstance(exc, ValidationError):
        errors = []
        for e in exc.errors:
            sub = e.path[1:] if e.path.startswith("$") else e.path
            errors.append(FieldError(e.message, path + sub if sub else path))
        return errors
    if isinstance(exc, AlignerError):
        return [FieldError(str(exc), path)]
    if isinstance(exc, cattrs.ClassValidationError | cattrs.IterableValidationError):
        found: list[FieldError] = []
        with_notes, without = exc.group_exceptions()
        for inner, note in with_notes:
            if isinstance(note, cattrs.AttributeValidationNote):
                sub = f"{path}.{note.name}"
            else:
                sub = f"{path}[{note.index!r}]"
            found.extend(_field_errors(inner, sub))
        for inner in without:
            found.extend(_field_errors(inner, path))
        return found
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return [FieldError(f"unexpected field {k!r}", path) for k in sorted(exc.extra_fields)]
    if isinstance(exc, KeyError):
        return [FieldError("required field missing", path)]
    if isinstance(exc, cattrs.BaseValidationError):
        found = []
        for inner in exc.exceptions:
            found.extend(_field_errors(inner, path))
        return found or [FieldError(str(exc), path)]
    message = str(exc) or type(exc).__name__
    if isinstance(exc, TypeError | AttributeError):
        message = f"invalid type ({message})"
    elif isinstance(exc, ValueError):
        message = f"invalid value ({message})"
    return [FieldError(message, path)]


def _name(cl: Any) -> str:
    return getattr(cl, "__name__", None) or repr(cl)


class Converter(cattrs.Converter):
    """The library's converter; build it with :func:`make_converter`."""

    def structure_checked(self, data: Any, cl: type[T]) -> T:
        """Structure untrusted data; every failure is one ``ValidationError``."""
        try:
            return self.structure(data, cl)
        except ValidationError as e:
            raise ValidationError(_field_errors(e), subject=_name(cl)) from e
        except (cattrs.BaseValidationError, cattrs.ForbiddenExtraKeysError) as e:
            raise ValidationError(_field_errors(e), subject=_name(cl)) from e
        except (
            TypeError,
            ValueError,
            KeyError,
            AttributeError,
            RecursionError,
            OverflowError,
        ) as e:
            raise ValidationError(_field_errors(e), subject=_name(cl)) from e

    def dumps(self, obj: Any) -> str:
        """Compact JSON text of ``obj``."""
        return json.dumps(self.unstructure(obj), separators=(",", ":"), ensure_ascii=False)

    def load(self, text: str | bytes, cl: type[T]) -> T:
        """Parse JSON text and structure it; malformed JSON is a ``ValidationError`` too."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as e:
            raise ValidationError.single(f"malformed JSON ({e})", subject=_name(cl)) from e
        return self.structure_checked(data, cl)

    def to_document(self, obj: Any) -> dict[str, Any]:
        """A stored document: the unstructured object plus the schema version."""
        data = self.unstructure(obj)
        data[_SCHEMA_KEY] = SCHEMA_VERSION
        return data  # type: ignore[no-any-return]

    def from_document(self, data: Any, cl: type[T]) -> T:
        """Structure a stored document, refusing one from a newer schema."""
        if not isinstance(data, dict):
            raise ValidationError.single("a document is a JSON object", subject=_name(cl))
        data = dict(data)
        version = data.pop(_SCHEMA_KEY, SCHEMA_VERSION)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ValidationError.single(
                f"document schema {version!r} is newer than supported {SCHEMA_VERSION}",
                f"$.{_SCHEMA_KEY}",
                subject=_name(cl),
            )
        return self.structure_checked(data, cl)

    def document_dumps(self, obj: Any) -> str:
        return json.dumps(self.to_document(obj), separators=(",", ":"), ensure_ascii=False)

    def document_loads(self, text: str | bytes, cl: type[T]) -> T:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as e:
            raise ValidationError.single(f"malformed JSON ({e})", subject=_name(cl)) from e
        return self.from_document(data, cl)


def _parse_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.utcoffset() is None:
        raise ValueError("datetime without a time zone")
    return parsed


def _structure_date(value: Any, _: type) -> date:
    if not isinstance(value, str):
        raise TypeError("expected an ISO 8601 date text")
    return date.fromisoformat(value)


def _parsers() -> tuple[Any, Any, Any]:
    """Structure hooks for UUIDs, datetimes and teeth that remember what they parsed.

    The values are immutable, so handing out the same object again is safe; a
    case loaded before every command repeats most of its ids and timestamps.
    Failures are not remembered (``lru_cache`` keeps only results).
    """
    uuid_of = functools.lru_cache(maxsize=16_384)(UUID)
    datetime_of = functools.lru_cache(maxsize=16_384)(_parse_datetime)
    tooth_of = functools.lru_cache(maxsize=128)(Tooth.from_fdi)

    def structure_uuid(value: Any, _: type) -> UUID:
        if type(value) is not str:
            raise TypeError("expected a UUID text")
        return uuid_of(value)

    def structure_datetime(value: Any, _: type) -> datetime:
        if type(value) is not str:
            raise TypeError("expected an ISO 8601 text")
        return datetime_of(value)

    def structure_tooth(value: Any, _: type) -> Tooth:
        if type(value) is not int:
            raise TypeError("expected an FDI tooth number")
        return tooth_of(value)

    return structure_uuid, structure_datetime, structure_tooth


def _strict(kind: type[Any]) -> Any:
    """Primitives as JSON gives them: no "12" for an int, no 1 for a bool (1 for 1.0 is fine).

    Registered for ``str``, ``int``, ``float`` and ``bool`` themselves, so it also
    receives their subclasses (``StrEnum``, ``IntEnum``): the raw JSON type is
    checked first, then the enum (or the type) builds the value.
    """

    def structure(value: Any, cl: type) -> Any:
        if type(value) is not kind and not (kind is float and type(value) is int):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return value if cl is kind and kind is not float else cl(value)

    return structure


def _enum_value(e: Enum) -> Any:
    return e._value_


def _no_text_for_arrays(value: Any, cl: Any, inner: Any) -> Any:
    if isinstance(value, str | bytes | dict):
        raise TypeError(f"expected a JSON array, got {type(value).__name__}")
    return inner(value, cl)


def _homogeneous(cl: Any) -> bool:
    args: tuple[Any, ...] = getattr(cl, "__args__", ())
    return len(args) == 2 and args[1] is Ellipsis


def _array_factory(cl: Any, converter: cattrs.Converter) -> Any:
    """Sequences refuse a JSON string or object (cattrs would split a string into letters).

    Tuples take a fast path (one list comprehension with the element hooks); when
    it fails, cattrs' detailed path runs to name the bad index in the error.
    """
    args: tuple[Any, ...] = getattr(cl, "__args__", ())
    inner: Any
    fast: Any = None
    if get_origin(cl) is tuple and args and not _homogeneous(cl):
        inner = converter._structure_tuple
        hooks = [converter.get_structure_hook(a) for a in args]

        def fast(value: list[Any]) -> tuple[Any, ...]:
            if len(value) != len(hooks):
                raise ValueError("wrong length")
            return tuple([h(x, a) for h, a, x in zip(hooks, args, value, strict=True)])

    elif is_mutable_sequence(cl):
        inner = list_structure_factory(cl, converter)
    else:
        inner = homogenous_tuple_structure_factory(cl, converter)
        if args:
            elem = args[0]
            hook = converter.get_structure_hook(elem)

            def fast(value: list[Any]) -> tuple[Any, ...]:
                return tuple([hook(x, elem) for x in value])

    def structure(value: Any, t: Any) -> Any:
        if fast is not None and type(value) is list:
            try:
                return fast(value)
            except Exception:  # noqa: S110 - the detailed path below names what is wrong
                pass
        return _no_text_for_arrays(value, t, inner)

    return structure


def _is_tuple(cl: Any) -> bool:
    return get_origin(cl) is tuple


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


def make_converter() -> Converter:
    """A new converter with the library's hooks; cheap enough to build per storage."""
    converter = Converter(forbid_extra_keys=True, detailed_validation=True)
    uuid_text, datetime_text = _memoized_text()
    structure_uuid, structure_datetime, structure_tooth = _parsers()
    converter.register_unstructure_hook(datetime, datetime_text)
    converter.register_structure_hook(datetime, structure_datetime)
    converter.register_unstructure_hook(date, date.isoformat)
    converter.register_structure_hook(date, _structure_date)
    converter.register_unstructure_hook(UUID, uuid_text)
    converter.register_structure_hook(UUID, structure_uuid)
    converter.register_unstructure_hook(Tooth, lambda t: t.fdi)
    converter.register_structure_hook(Tooth, structure_tooth)
    for kind in (str, int, float, bool):
        converter.register_structure_hook(kind, _strict(kind))
    for base in (Enum, StrEnum, IntEnum):
        converter.register_unstructure_hook(base, _enum_value)
    converter.register_structure_hook_factory(is_sequence, _array_factory)
    converter.register_unstructure_hook_factory(_is_tuple, _tuple_unstructure_factory)
    configure_tagged_union(
        OrderDetails,
        converter,
        tag_generator=lambda cl: _ORDER_TAGS[cl],
        tag_name="order_type",
    )
    optional_order: Any = OrderDetails | None
    converter.register_structure_hook(
        optional_order,
        lambda v, _: None if v is None else converter.structure(v, OrderDetails),  # type: ignore[arg-type]
    )
    converter.register_unstructure_hook(
        optional_order,
        lambda v: None if v is None else converter.unstructure(v, unstructure_as=OrderDetails),
    )
    return converter
