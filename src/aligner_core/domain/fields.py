"""Fields with bounds: one declaration gives the check, the JSON Schema and the form.

Inputs (commands and the values inside them) declare each field with
:func:`text`, :func:`integer`, :func:`number`, :func:`items` or :func:`field`
and derive from :class:`Checked` (decorated with ``attrs.frozen``). Construction then
checks every field against its type and bounds, and every cross-field rule of
the class (``__rules__``), and raises one :class:`ValidationError` naming all
problems. The converter runs the same checks field by field on untrusted input
(:func:`problems`), and :mod:`aligner_core.schema` reads the same :class:`Spec`.
"""

from __future__ import annotations

import enum
import functools
import math
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from itertools import repeat
from typing import Any, Final, TypeVar, Union, get_args, get_origin
from uuid import UUID

import attrs

from aligner_core.errors import FieldError, ValidationError

__all__ = [
    "MAX_INT",
    "SPEC",
    "Checked",
    "Rule",
    "Spec",
    "field",
    "integer",
    "items",
    "number",
    "problems",
    "spec_of",
    "text",
    "tolerant",
]

T = TypeVar("T")

SPEC: Final = "aligner_core.spec"
#: The largest integer SQLite and PostgreSQL (bigint) store.
MAX_INT: Final = 2**63 - 1

Rule = Callable[[Any], Iterable[FieldError]]
"""A check of one value (or of a whole object, for ``__rules__``): problems, paths from ``$``."""

# Control characters refused in any text; newline, carriage return and tab are allowed in
# multi-line text only. Lone surrogates cannot be stored (UTF-8) and are refused everywhere.
_BAD_LINE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_BAD_MULTILINE: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


@attrs.frozen
class Spec:
    """What a field accepts beyond its type; the schema and the form builder read it."""

    blank: bool = True
    max_length: int | None = None
    multiline: bool = False
    max_items: int | None = None
    min_items: int = 0
    minimum: int | float | None = None
    maximum: int | float | None = None
    exclusive_minimum: bool = False
    format: str | None = None
    rules: tuple[Rule, ...] = ()
    doc: str = ""
    #: a list's texts match this (anchored) pattern, each once (the schema says so; rules check)
    item_pattern: str | None = None


_DEFAULT_SPEC: Final = Spec()


def _field(spec: Spec, default: Any, factory: Any, converter: Any, kw_only: bool) -> Any:
    kwargs: dict[str, Any] = {"metadata": {SPEC: spec}}
    if kw_only:
        kwargs["kw_only"] = True
    if factory is not None:
        kwargs["factory"] = factory
    elif default is not attrs.NOTHING:
        kwargs["default"] = default
    if converter is not None:
        kwargs["converter"] = converter
    return attrs.field(**kwargs)


def text(
    max_length: int,
    *,
    blank: bool = False,
    multiline: bool = False,
    default: Any = attrs.NOTHING,
    format: str | None = None,
    rules: Iterable[Rule] = (),
    doc: str = "",
    kw_only: bool = False,
    converter: Callable[[Any], Any] | None = None,
) -> Any:
    """A text field of at most ``max_length`` characters; ``blank=False`` needs a non-blank one.

    ``converter`` normalises the text (one it cannot read stays as given, for ``rules``).
    """
    spec = Spec(
        blank=blank,
        max_length=max_length,
        multiline=multiline,
        format=format,
        rules=tuple(rules),
        doc=doc,
    )
    return _field(spec, default, None, _guarded(converter) if converter else None, kw_only)


def integer(
    minimum: int = 0,
    maximum: int = MAX_INT,
    *,
    default: Any = attrs.NOTHING,
    rules: Iterable[Rule] = (),
    doc: str = "",
    kw_only: bool = False,
) -> Any:
    """A whole number in ``[minimum, maximum]`` (booleans are not numbers)."""
    spec = Spec(minimum=minimum, maximum=maximum, rules=tuple(rules), doc=doc)
    return _field(spec, default, None, None, kw_only)


def number(
    minimum: float,
    maximum: float,
    *,
    exclusive_minimum: bool = False,
    default: Any = attrs.NOTHING,
    doc: str = "",
    kw_only: bool = False,
) -> Any:
    """A finite number in ``[minimum, maximum]`` (``(minimum, maximum]`` if exclusive)."""
    spec = Spec(minimum=minimum, maximum=maximum, exclusive_minimum=exclusive_minimum, doc=doc)
    return _field(spec, default, None, None, kw_only)


def items(
    max_items: int,
    *,
    min_items: int = 0,
    default: Any = attrs.NOTHING,
    converter: Callable[[Any], Any] | None = None,
    rules: Iterable[Rule] = (),
    doc: str = "",
    kw_only: bool = False,
    item_pattern: str | None = None,
) -> Any:
    """A tuple of at most ``max_items`` items (checked before its items are read);
    ``item_pattern``: distinct texts matching it (the ``rules`` check that)."""
    spec = Spec(
        max_items=max_items,
        min_items=min_items,
        rules=tuple(rules),
        doc=doc,
        item_pattern=item_pattern,
    )
    return _field(spec, default, None, _guarded(converter) if converter else None, kw_only)


def field(
    *,
    default: Any = attrs.NOTHING,
    factory: Callable[[], Any] | None = None,
    converter: Callable[[Any], Any] | None = None,
    rules: Iterable[Rule] = (),
    format: str | None = None,
    doc: str = "",
    kw_only: bool = False,
) -> Any:
    """Any other field (enums, booleans, identifiers, nested values), checked by its type."""
    spec = Spec(rules=tuple(rules), format=format, doc=doc)
    return _field(spec, default, factory, _guarded(converter) if converter else None, kw_only)


def _guarded(converter: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A field converter that leaves a value it cannot convert as is, for the checks to name."""

    @functools.wraps(converter)
    def convert(value: Any) -> Any:
        try:
            return converter(value)
        except (TypeError, ValueError, AttributeError, KeyError):
            return value

    return convert


def spec_of(attribute: attrs.Attribute[Any]) -> Spec:
    spec = attribute.metadata.get(SPEC)
    return spec if isinstance(spec, Spec) else _DEFAULT_SPEC


# -- type checks ------------------------------------------------------------------------------
Check = Callable[[Any], list[FieldError]]


def _wrong(expected: str) -> list[FieldError]:
    return [FieldError.of("wrong_type", expected=expected)]


def _simple(kind: type, expected: str) -> Check:
    def check(value: Any) -> list[FieldError]:
        return [] if isinstance(value, kind) else _wrong(expected)

    return check


def _check_int(value: Any) -> list[FieldError]:
    return [] if type(value) is int or (isinstance(value, int) and not isinstance(value, bool)) \
        else _wrong("integer")  # fmt: skip


def _check_float(value: Any) -> list[FieldError]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _wrong("number")
    return [] if math.isfinite(value) else [FieldError.of("not_finite")]


def _check_date(value: Any) -> list[FieldError]:
    ok = isinstance(value, date) and not isinstance(value, datetime)
    return [] if ok else _wrong("date")


def _check_datetime(value: Any) -> list[FieldError]:
    if not isinstance(value, datetime):
        return _wrong("datetime")
    return [] if value.utcoffset() is not None else [FieldError.of("naive_datetime")]


def _check_enum(kind: type[enum.Enum]) -> Check:
    choices = ", ".join(str(m.value) for m in kind)

    def check(value: Any) -> list[FieldError]:
        return [] if isinstance(value, kind) else [FieldError.of("not_one_of", choices=choices)]

    return check


def _check_union(arms: tuple[Any, ...]) -> Check:
    optional = type(None) in arms
    rest = tuple(a for a in arms if a is not type(None))
    if len(rest) == 1:
        inner = _type_check(rest[0])

        def check_optional(value: Any) -> list[FieldError]:
            return [] if value is None and optional else inner(value)

        return check_optional
    classes = tuple(get_origin(a) or a for a in rest)

    def check_any(value: Any) -> list[FieldError]:
        if value is None and optional:
            return []
        return [] if isinstance(value, classes) else _wrong("object")

    return check_any


def _check_tuple(args: tuple[Any, ...]) -> Check:
    if len(args) == 2 and args[1] is Ellipsis:
        inner = _type_check(args[0])

        def check_items(value: Any) -> list[FieldError]:
            if not isinstance(value, tuple):
                return _wrong("list")
            found: list[FieldError] = []
            for i, item in enumerate(value):
                found.extend(e.under(f"$[{i}]") for e in inner(item))
                if len(found) > 50:
                    break
            return found

        return check_items
    inners = [_type_check(a) for a in args]

    def check_fixed(value: Any) -> list[FieldError]:
        if not isinstance(value, tuple) or len(value) != len(inners):
            return _wrong("list")
        found: list[FieldError] = []
        for i, (inner, item) in enumerate(zip(inners, value, strict=True)):
            found.extend(e.under(f"$[{i}]") for e in inner(item))
        return found

    return check_fixed


def _type_check(tp: Any) -> Check:
    """A checker for values of the resolved type ``tp`` (Python callers pass anything)."""
    origin = get_origin(tp)
    if tp is Any or isinstance(tp, TypeVar):
        return lambda value: []
    if origin in (Union, types.UnionType):
        return _check_union(get_args(tp))
    if origin is tuple:
        return _check_tuple(get_args(tp))
    if origin is typing.Literal:
        allowed = get_args(tp)
        choices = ", ".join(str(a) for a in allowed)
        return lambda value: (
            [] if value in allowed else [FieldError.of("not_one_of", choices=choices)]
        )
    if origin is not None:
        base = origin
        if base in (Mapping, typing.Mapping):
            return _simple(Mapping, "object")
        if isinstance(base, type):
            return _simple(base, "object")
        return lambda value: []
    if tp is bool:
        return _simple(bool, "boolean")
    if tp is int:
        return _check_int
    if tp is float:
        return _check_float
    if tp is str:
        return _simple(str, "text")
    if tp is UUID:
        return _simple(UUID, "uuid")
    if tp is datetime:
        return _check_datetime
    if tp is date:
        return _check_date
    if tp is timedelta:
        return _simple(timedelta, "duration")
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _check_enum(tp)
    if isinstance(tp, type):
        return _simple(tp, "object")
    return lambda value: []


# -- bounds -----------------------------------------------------------------------------------
def _check_spec(value: Any, spec: Spec) -> list[FieldError]:
    found: list[FieldError] = []
    if isinstance(value, str):
        bad = _BAD_MULTILINE if spec.multiline else _BAD_LINE
        if bad.search(value):
            found.append(FieldError.of("bad_characters"))
        if not spec.blank and not value.strip():
            found.append(FieldError.of("blank"))
        if spec.max_length is not None and len(value) > spec.max_length:
            found.append(FieldError.of("too_long", max=spec.max_length))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        low, high = spec.minimum, spec.maximum
        if low is not None and high is not None:
            below = value <= low if spec.exclusive_minimum else value < low
            if below or value > high:
                found.append(FieldError.of("out_of_range", min=low, max=high))
    elif isinstance(value, tuple | list | frozenset):
        if spec.max_items is not None and len(value) > spec.max_items:
            found.append(FieldError.of("too_many", max=spec.max_items))
        elif len(value) < spec.min_items:
            found.append(FieldError.of("too_few", min=spec.min_items))
    if not found:
        for rule in spec.rules:
            found.extend(rule(value))
    return found


@attrs.frozen
class _FieldPlan:
    name: str
    check_type: Check
    spec: Spec


@functools.cache
def _plan(cls: type) -> tuple[_FieldPlan, ...]:
    hints = typing.get_type_hints(cls)
    return tuple(
        _FieldPlan(a.name, _type_check(hints.get(a.name, Any)), spec_of(a))
        for a in attrs.fields(cls)
    )


def field_problems(cls: type, name: str, value: Any) -> list[FieldError]:
    """What is wrong with ``value`` as field ``name`` of ``cls`` (paths from ``$``)."""
    for plan in _plan(cls):
        if plan.name == name:
            found = plan.check_type(value) or _check_spec(value, plan.spec)
            return [e.under(f"$.{name}") for e in found]
    return []


def tolerant(rule: Rule) -> Rule:
    """Marks a class rule that is right on the good items of a list whose other items failed.

    (Two lists that must not share a tooth: the good teeth still must not be shared.
    A count of steps is not such a rule: it would count the missing ones as absent.)
    """
    rule.tolerant = True  # type: ignore[attr-defined]
    return rule


class _Without:
    """An object seen without some attributes (a rule must not read a list that lost items)."""

    def __init__(self, obj: Any, hidden: frozenset[str] | set[str]) -> None:
        self._obj = obj
        self._hidden = hidden

    def __getattr__(self, name: str) -> Any:
        if name in self._hidden:
            raise AttributeError(name)
        return getattr(self._obj, name)


def problems(
    cls: type, obj: Any, *, partial: frozenset[str] | set[str] = frozenset()
) -> list[FieldError]:
    """Every problem of ``obj`` as a ``cls``: its fields' types and bounds, then its rules.

    ``obj`` may lack attributes (a partly structured input): their checks and the
    rules that read them are skipped, so the problems of what *is* there are named.
    Fields in ``partial`` are lists that lost bad items: only :func:`tolerant` rules
    read them.
    """
    found: list[FieldError] = []
    for plan in _plan(cls):
        try:
            current = getattr(obj, plan.name)
        except AttributeError:
            continue
        wrong = plan.check_type(current) or _check_spec(current, plan.spec)
        if plan.name in partial:  # the items named as bad were given: not too few
            wrong = [e for e in wrong if e.code != "too_few"]
        found.extend(e.under(f"$.{plan.name}") for e in wrong)
    hidden = _Without(obj, partial) if partial else obj
    for rule in getattr(cls, "__rules__", ()):
        try:
            found.extend(rule(obj if getattr(rule, "tolerant", False) else hidden))
        except (AttributeError, TypeError, ValueError, KeyError):
            continue  # the rule reads a field that is missing or already named as wrong
    return found


# -- the fast path: "is anything wrong?" without building a single error -------------------
Ok = Callable[[Any], bool]


def _type_ok(tp: Any) -> Ok:
    """A cheap yes/no for the common types (the full check names the problem when it fails)."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        arms = get_args(tp)
        rest = tuple(a for a in arms if a is not type(None))
        if len(rest) == 1 and len(arms) == 2:
            inner = _type_ok(rest[0])
            return lambda v: v is None or inner(v)
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            kind = args[0]
            if isinstance(kind, type) and attrs.has(kind):  # C-speed, no call per item
                return lambda v: type(v) is tuple and all(map(isinstance, v, repeat(kind)))
            item = _type_ok(kind)
            return lambda v: type(v) is tuple and all(map(item, v))
    if tp is int:
        return lambda v: type(v) is int
    if tp is float:
        return lambda v: (type(v) is float or type(v) is int) and math.isfinite(v)
    if tp in (str, bool, UUID) or (isinstance(tp, type) and issubclass(tp, enum.Enum)):
        return lambda v: type(v) is tp
    if isinstance(tp, type) and attrs.has(tp):
        return lambda v: type(v) is tp or isinstance(v, tp)
    full = _type_check(tp)
    return lambda v: not full(v)


def _rules_ok(rules: tuple[Rule, ...], value: Any) -> bool:
    return not any(True for rule in rules for _ in rule(value))


def _inline_type(tp: Any, ns: dict[str, Any]) -> str:
    """A Python expression over ``v`` that is true when ``v`` is of type ``tp``."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        arms = get_args(tp)
        rest = tuple(a for a in arms if a is not type(None))
        if len(rest) == 1 and len(arms) == 2:
            return f"(v is None or {_inline_type(rest[0], ns)})"
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis and isinstance(args[0], type):
            kinds = f"_r{len(ns)}"
            ns[kinds] = repeat(args[0])  # never exhausted: map stops at the tuple's end
            every = f"all(map(isinstance, v, {kinds}))"
            if not attrs.has(args[0]):
                ok = f"_o{len(ns)}"
                ns[ok] = _type_ok(args[0])
                every = f"all(map({ok}, v))"
            return f"(type(v) is tuple and (not v or {every}))"
    simple = tp in (str, int, bool, UUID) or (isinstance(tp, type) and issubclass(tp, enum.Enum))
    if simple:
        name = f"_t{len(ns)}"
        ns[name] = tp
        return f"type(v) is {name}"
    if tp is float:
        return "((type(v) is float or type(v) is int) and _isfinite(v))"
    if isinstance(tp, type) and attrs.has(tp):
        name = f"_t{len(ns)}"
        ns[name] = tp
        return f"isinstance(v, {name})"
    name = f"_c{len(ns)}"
    ns[name] = _type_ok(tp)
    return f"{name}(v)"


def _inline_spec(spec: Spec, ns: dict[str, Any]) -> str | None:
    """A Python expression over ``v`` (already of its type) that is true within the bounds."""
    parts: list[str] = []
    if spec.max_length is not None:
        bad = f"_b{len(ns)}"
        ns[bad] = (_BAD_MULTILINE if spec.multiline else _BAD_LINE).search
        text = f"len(v) <= {spec.max_length} and not {bad}(v)"
        if not spec.blank:
            text += " and v.strip()"
        parts.append(f"(v is None or ({text}))")
    elif spec.minimum is not None and spec.maximum is not None:
        low = "<" if spec.exclusive_minimum else "<="
        parts.append(f"(v is None or ({spec.minimum!r} {low} v <= {spec.maximum!r}))")
    elif spec.max_items is not None or spec.min_items:
        most = spec.max_items if spec.max_items is not None else MAX_INT
        parts.append(f"({spec.min_items} <= len(v) <= {most})")
    if spec.rules:
        rules = f"_r{len(ns)}"
        ns[rules] = spec.rules
        parts.append(f"_rules_ok({rules}, v)")
    return " and ".join(parts) or None


@functools.cache
def _fast(cls: type) -> Callable[[Any], bool]:
    """A generated function: is every field of a ``cls`` of its type and within its bounds,
    and does every rule of the class hold? (No error is built; the full pass names them.)"""
    hints = typing.get_type_hints(cls)
    ns: dict[str, Any] = {"_isfinite": math.isfinite, "_rules_ok": _rules_ok}
    lines = ["def fine(o):"]
    for a in attrs.fields(cls):
        test = _inline_type(hints.get(a.name, Any), ns)
        bounds = _inline_spec(spec_of(a), ns)
        if bounds:
            test = f"{test} and {bounds}"
        lines += [f"    v = o.{a.name}", f"    if not ({test}):", "        return False"]
    ns["_rules"] = tuple(getattr(cls, "__rules__", ()))
    if ns["_rules"]:
        lines += [
            "    for rule in _rules:",
            "        for _ in rule(o):",
            "            return False",
        ]
    lines.append("    return True")
    exec("\n".join(lines), ns)  # noqa: S102 - generated from the class's own fields
    fine: Callable[[Any], bool] = ns["fine"]
    return fine


_FINE: dict[type, Callable[[Any], bool]] = {}


class Checked:
    """Base of checked values: construction checks every field and rule, naming all problems.

    Decorate the subclass with ``attrs.frozen``; ``__attrs_post_init__`` runs
    :func:`problems` and raises one :class:`ValidationError` listing them. A quick
    yes/no pass runs first, so a valid value (the usual case) builds no error at all.
    """

    __slots__ = ()

    def __attrs_post_init__(self) -> None:
        try:
            cls: Any = type(self)
            fine = _FINE.get(cls)
            if fine is None:
                fine = _FINE[cls] = _fast(cls)
            if fine(self):
                return
        except (AttributeError, TypeError, ValueError, KeyError):
            pass  # a rule stumbled over a wrong value: the full pass names it
        found = problems(type(self), self)
        if found:
            raise ValidationError(found, subject=type(self).__name__)


def is_checked(cls: type) -> bool:
    """Whether ``cls`` is a :class:`Checked` value (its checks can run field by field)."""
    return isinstance(cls, type) and issubclass(cls, Checked)
