"""JSON Schema (draft 2020-12) of the commands, input values and read models.

Generated from the same attrs classes the converter structures (their fields,
resolved type hints and :class:`~aligner_core.domain.fields.Spec`), so a schema
accepts the documents :func:`~aligner_core.serialization.make_converter` accepts,
except for rules across fields that JSON Schema cannot state (a tooth both
extracted and kept, a schedule that contradicts its summary, ...)::

    from aligner_core.commands import CreateCase
    from aligner_core.schema import json_schema

    schema = json_schema(CreateCase)  # {"$schema": ..., "properties": ..., "$defs": ...}

A web shell hands the schemas to its OpenAPI 3.1 document instead of writing
them by hand, and points request bodies at them (FastAPI shown)::

    from aligner_core.commands import COMMANDS
    from aligner_core.schema import openapi_components, schema_name

    def openapi() -> dict:
        doc = get_openapi(title="Aligner portal", version="1", routes=app.routes)
        doc.setdefault("components", {}).setdefault("schemas", {}).update(
            openapi_components([*COMMANDS.values(), CaseDetail])["schemas"]
        )
        return doc

    app.openapi = openapi
    # on a route: openapi_extra={"requestBody": {"content": {"application/json": {
    #     "schema": {"$ref": f"#/components/schemas/{schema_name(CreateCase)}"}}}}}

``AttachFile.content`` is a ``multipart/form-data`` part (``format: binary``);
it has no JSON form.
"""

from __future__ import annotations

import collections.abc as cabc
import copy
import enum
import functools
import inspect
import math
import re
import types
import typing
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, TypeVar, Union, get_args, get_origin
from uuid import UUID

import attrs

from aligner_core.commands import COMMANDS
from aligner_core.domain.fields import Spec, is_checked, spec_of
from aligner_core.domain.money import CURRENCIES, Currency
from aligner_core.domain.orders import ORDER_TYPES
from aligner_core.domain.teeth import ALL_TEETH, Tooth
from aligner_core.serialization import MAX_ARRAY, make_converter

__all__ = ["DIALECT", "json_schema", "openapi_components", "schema_name"]

#: The JSON Schema dialect of every schema (the one OpenAPI 3.1 uses).
DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"

_DEFS: Final = "#/$defs/"
_COMPONENTS: Final = "#/components/schemas/"
#: The key naming the kind of follow-up order in its JSON object (the converter's tag).
_ORDER_TAG: Final = "order_type"
_ORDER_UNION: Final = frozenset(ORDER_TYPES.values())

# -- text patterns ------------------------------------------------------------------------------
# Written for ECMA-262 (what JSON Schema names) and Python's re alike: \uXXXX escapes, no flags.
# ``$`` alone lets Python accept one trailing newline, so the end is also "no character follows".
_END: Final = r"(?![\s\S])$"
_CONTROL: Final = r"\u0000-\u001f\u007f-\u009f"
_CONTROL_MULTILINE: Final = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
#: What ``str.strip()`` removes: every character for which ``str.isspace()`` holds.
_SPACE: Final = (
    r"\t\n\u000b\u000c\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _text_pattern(*, multiline: bool, blank: bool) -> str:
    """Whole text without control characters; with ``blank=False``, not only white space."""
    control = _CONTROL_MULTILINE if multiline else _CONTROL
    something = "" if blank else f"(?=[{_SPACE}]*[^{_SPACE}])"
    return f"^{something}[^{control}]*{_END}"


# An ISO 8601 duration as the converter reads it (days, hours, minutes, seconds).
_TIME: Final = (
    r"T(?:[0-9]{1,6}H(?:[0-9]{1,8}M)?(?:[0-9]{1,10}S)?|[0-9]{1,8}M(?:[0-9]{1,10}S)?|[0-9]{1,10}S)"
)
_DURATION: Final = rf"^P(?:[0-9]{{1,4}}D(?:{_TIME})?|{_TIME}){_END}"
#: Seconds as a number: the converter takes any finite number below this in magnitude.
_MAX_SECONDS: Final = 10**12
#: Timestamps longer than this are refused by the converter before parsing.
_MAX_DATETIME_TEXT: Final = 64


class _CommandName:
    """Stands for "a command class, by name" (``ActionOption.command``)."""


# -- names ----------------------------------------------------------------------------------------
def schema_name(tp: Any) -> str:
    """The key of ``tp``'s schema under ``$defs`` and ``components/schemas``.

    The class name; ``Page_CaseSummary`` for ``Page[CaseSummary]``; a class named
    like a command but other than it gets its module's name in front
    (``cases.Comment`` beside the command ``Comment``).
    """
    if tp is _CommandName:
        return "CommandName"
    if _is_order_union(tp):
        return "OrderDetails"
    origin = get_origin(tp)
    if origin is not None and attrs.has(origin):
        return "_".join([schema_name(origin), *(schema_name(a) for a in get_args(tp))])
    name: str = getattr(tp, "__name__", None) or repr(tp)
    command = COMMANDS.get(name)
    if command is not None and command is not tp:
        return f"{tp.__module__.rpartition('.')[2]}.{name}"
    return name


def _title(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is not None and attrs.has(origin):
        return f"{origin.__name__}[{', '.join(_title(a) for a in get_args(tp))}]"
    return schema_name(tp)


_ROLE: Final = re.compile(r":\w+:`~?(?:[\w.]+\.)?([^`]+)`")


def _summary(tp: Any) -> str | None:
    """The first paragraph of a class's own docstring, as one line of plain text."""
    doc = vars(get_origin(tp) or tp).get("__doc__")
    if not isinstance(doc, str) or not doc.strip():
        return None
    first = inspect.cleandoc(doc).split("\n\n", 1)[0]
    text = " ".join(first.split())
    return _ROLE.sub(r"`\1`", text).replace("``", "`")


def _is_order_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType) and frozenset(get_args(tp)) == _ORDER_UNION


def _is_named(tp: Any) -> bool:
    """Types with a schema of their own under ``$defs`` (referred to with ``$ref``)."""
    if tp is _CommandName or tp is Tooth or _is_order_union(tp):
        return True
    if tp is Currency:
        return False  # its ISO 4217 code
    origin = get_origin(tp)
    if origin is not None:
        return attrs.has(origin)
    return isinstance(tp, type) and (issubclass(tp, enum.Enum) or attrs.has(tp))


# -- definitions ----------------------------------------------------------------------------------
@attrs.frozen
class _Definition:
    """One named type's schema (refs as ``#/$defs/...``) and the named types it refers to."""

    schema: dict[str, Any]
    refers_to: tuple[Any, ...]


class _Builder:
    """Schemas of values; collects the named types they refer to."""

    def __init__(self, bindings: Mapping[Any, Any] | None = None) -> None:
        self.refs: dict[Any, None] = {}
        self.bindings = dict(bindings or {})

    def ref(self, tp: Any) -> dict[str, Any]:
        self.refs[tp] = None
        return {"$ref": _DEFS + schema_name(tp)}

    def value(self, tp: Any, spec: Spec | None = None) -> dict[str, Any]:
        """The schema of a value of type ``tp``; ``spec`` bounds it (fields of checked classes)."""
        if isinstance(tp, TypeVar):
            tp = self.bindings.get(tp, Any)
        if tp is type:
            return self.ref(_CommandName)
        origin, args = get_origin(tp), get_args(tp)
        if tp is Any:
            if spec is not None and spec.format == "binary":
                return {
                    "type": "string",
                    "format": "binary",
                    "contentMediaType": "application/octet-stream",
                }
            return {}
        if origin in (Union, types.UnionType):
            return self._union(tp, args, spec)
        if _is_named(tp):
            return self.ref(self._bound(tp))
        if origin is tuple:
            return self._tuple(args, spec)
        if origin in (frozenset, set, cabc.Set):
            return {
                "type": "array",
                "items": self.value(args[0]),
                "uniqueItems": True,
                "maxItems": MAX_ARRAY,
            }
        if origin in (dict, cabc.Mapping, cabc.MutableMapping):
            key, item = args or (str, Any)
            schema: dict[str, Any] = {"type": "object"}
            if key is not str:
                schema["propertyNames"] = self.value(key)
            schema["additionalProperties"] = self.value(item) if item is not Any else True
            return schema
        return self._scalar(tp, spec)

    def _bound(self, tp: Any) -> Any:
        """``tp`` with the type variables this builder binds replaced (``Page[T]``)."""
        params = getattr(tp, "__parameters__", ())
        if params and get_origin(tp) is not None:
            return tp[tuple(self.bindings.get(p, Any) for p in params)]
        return tp

    def _union(self, tp: Any, args: tuple[Any, ...], spec: Spec | None) -> dict[str, Any]:
        rest = tuple(a for a in args if a is not type(None))
        if len(rest) == len(args):
            if _is_order_union(tp):
                return self.ref(tp)
            raise TypeError(f"no JSON Schema for the union {tp!r}")
        inner = rest[0] if len(rest) == 1 else Union[rest]  # noqa: UP007 (a runtime union)
        return {"anyOf": [self.value(inner, spec), {"type": "null"}]}

    def _tuple(self, args: tuple[Any, ...], spec: Spec | None) -> dict[str, Any]:
        if len(args) == 2 and args[1] is Ellipsis:
            schema: dict[str, Any] = {"type": "array", "items": self.value(args[0])}
            if spec is not None and spec.item_pattern is not None:
                schema["items"] = {"type": "string", "pattern": spec.item_pattern}
                schema["uniqueItems"] = True
            if spec is not None and spec.min_items:
                schema["minItems"] = spec.min_items
            limit = spec.max_items if spec is not None else None
            schema["maxItems"] = limit if limit is not None else MAX_ARRAY
            return schema
        return {
            "type": "array",
            "prefixItems": [self.value(a) for a in args],
            "items": False,
            "minItems": len(args),
            "maxItems": len(args),
        }

    def _scalar(self, tp: Any, spec: Spec | None) -> dict[str, Any]:
        schema: dict[str, Any]
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            schema = {"type": "integer"}
            if spec is not None:
                _bounds(schema, spec)
            return schema
        if tp is float:
            schema = {"type": "number"}
            if spec is not None:
                _bounds(schema, spec)
            return schema
        if tp is str:
            return _string(spec)
        if tp is UUID:
            return {"type": "string", "format": "uuid"}
        if tp is Decimal:
            return {"type": "string", "pattern": r"^-?[0-9]{1,13}(\.[0-9]{1,3})?$"}
        if tp is Currency:
            return {"type": "string", "enum": sorted(CURRENCIES)}
        if tp is datetime:
            return {"type": "string", "format": "date-time", "maxLength": _MAX_DATETIME_TEXT}
        if tp is date:
            return {"type": "string", "format": "date"}
        if tp is timedelta:
            return {
                "oneOf": [
                    {
                        "type": "number",
                        "exclusiveMinimum": -_MAX_SECONDS,
                        "exclusiveMaximum": _MAX_SECONDS,
                        "description": "Seconds.",
                    },
                    {
                        "type": "string",
                        "format": "duration",
                        "pattern": _DURATION,
                        "description": "ISO 8601: days, hours, minutes, seconds (P14D, PT12H).",
                    },
                ]
            }
        if isinstance(tp, type) and issubclass(tp, str):
            return {"type": "string"}  # a str subclass (Reason) is its text
        raise TypeError(f"no JSON Schema for {tp!r}")


def _bounds(schema: dict[str, Any], spec: Spec) -> None:
    if spec.minimum is not None:
        schema["exclusiveMinimum" if spec.exclusive_minimum else "minimum"] = spec.minimum
    if spec.maximum is not None:
        schema["maximum"] = spec.maximum


def _string(spec: Spec | None) -> dict[str, Any]:
    """Text; a field of a checked class also refuses control characters (and blank text)."""
    schema: dict[str, Any] = {"type": "string"}
    if spec is None:
        return schema
    if not spec.blank:
        schema["minLength"] = 1
    if spec.max_length is not None:
        schema["maxLength"] = spec.max_length
    schema["pattern"] = _text_pattern(multiline=spec.multiline, blank=spec.blank)
    if spec.format:
        schema["format"] = spec.format
    return schema


def _describe(schema: dict[str, Any], tp: Any) -> dict[str, Any]:
    described: dict[str, Any] = {"title": _title(tp)}
    summary = _summary(tp)
    if summary:
        described["description"] = summary
    described.update(schema)
    return described


def _enum_schema(tp: type[enum.Enum]) -> dict[str, Any]:
    values = [m.value for m in tp]
    kind = "integer" if all(type(v) is int for v in values) else "string"
    return _describe({"type": kind, "enum": values}, tp)


def _tooth_schema() -> dict[str, Any]:
    return {
        "title": "Tooth",
        "description": "A tooth by its FDI number (ISO 3950): permanent 11-18, 21-28, 31-38, "
        "41-48; primary 51-55, 61-65, 71-75, 81-85.",
        "type": "integer",
        "enum": [t.fdi for t in ALL_TEETH],
    }


def _command_name_schema() -> dict[str, Any]:
    return {
        "title": "CommandName",
        "description": "A command by its class name (a key of `aligner_core.commands.COMMANDS`).",
        "type": "string",
        "enum": list(COMMANDS),
    }


def _object_schema(tp: Any) -> _Definition:
    """An attrs class as the converter reads it: its fields, no others."""
    cls = get_origin(tp) or tp
    bindings = dict(zip(getattr(cls, "__parameters__", ()), get_args(tp), strict=False))
    builder = _Builder(bindings)
    hints = typing.get_type_hints(cls)
    checked = is_checked(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    defaults = _Defaults()
    for a in attrs.fields(cls):
        if not a.init:
            continue
        spec = spec_of(a) if checked else None
        hint = hints.get(a.name, Any)
        prop = builder.value(hint, spec)
        if spec is not None and spec.doc:
            prop = {**prop, "description": spec.doc}
        if a.default is attrs.NOTHING:
            required.append(a.name)
        else:
            found, value = defaults.of(a.default, hint)
            if found:
                prop = {**prop, "default": value}
        properties[a.name] = prop
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return _Definition(_describe(schema, tp), tuple(builder.refs))


class _Defaults:
    """Field defaults as the converter writes them; ``(False, None)`` when not plain JSON."""

    def __init__(self) -> None:
        self._converter: Any = None

    def of(self, default: Any, hint: Any) -> tuple[bool, Any]:
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            if default.takes_self:
                return False, None
            default = default.factory()
        if default is None or type(default) in (bool, int, str):
            return True, default
        if self._converter is None:
            self._converter = make_converter()
        try:
            value = self._converter.unstructure(default, hint)
        except Exception:  # a default the converter cannot write has no JSON form
            return False, None
        return _plain_json(value), value


def _plain_json(value: Any) -> bool:
    if value is None or type(value) in (bool, int, str):
        return True
    if type(value) is float:
        return math.isfinite(value)
    if type(value) is list:
        return all(_plain_json(v) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _plain_json(v) for k, v in value.items())
    return False


def _order_union_schema() -> _Definition:
    """The follow-up orders: one object per kind, told apart by a constant ``order_type``."""
    branches: list[dict[str, Any]] = []
    refs: dict[Any, None] = {}
    for tag, cls in ORDER_TYPES.items():
        own = _definition(typing.cast(Any, cls))
        refs.update(dict.fromkeys(own.refers_to))
        body = copy.deepcopy(own.schema)
        body["properties"] = {_ORDER_TAG: {"type": "string", "const": tag}, **body["properties"]}
        body["required"] = [_ORDER_TAG, *body.get("required", ())]
        body["additionalProperties"] = body.pop("additionalProperties")  # last, as elsewhere
        branches.append(body)
    schema = {
        "title": "OrderDetails",
        "description": f"A follow-up order; `{_ORDER_TAG}` names its kind.",
        "oneOf": branches,
    }
    return _Definition(schema, tuple(refs))


@functools.cache
def _definition(tp: Any) -> _Definition:
    """The schema of a named type (built once per type: building is pure)."""
    if tp is _CommandName:
        return _Definition(_command_name_schema(), ())
    if tp is Tooth:
        return _Definition(_tooth_schema(), ())
    if _is_order_union(tp):
        return _order_union_schema()
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _Definition(_enum_schema(tp), ())
    if attrs.has(get_origin(tp) or tp):
        return _object_schema(tp)
    raise TypeError(f"no JSON Schema for {tp!r}")


def _closure(root: Any, into: dict[str, Any] | None = None) -> dict[str, Any]:
    """``root`` and every named type it refers to, directly or not, by schema name.

    Two different types under one name are refused (their ``$ref`` would be ambiguous).
    """
    found: dict[str, Any] = {} if into is None else into
    pending = [root]
    while pending:
        tp = pending.pop()
        name = schema_name(tp)
        if name in found:
            if found[name] != tp:
                raise TypeError(f"two types named {name!r}: {found[name]!r} and {tp!r}")
            continue
        found[name] = tp
        pending.extend(reversed(_definition(tp).refers_to))
    return found


@functools.cache
def _document(root: Any) -> dict[str, Any]:
    if _is_named(root):
        own = _definition(root)
        schema, refs = own.schema, own.refers_to
    else:
        builder = _Builder()
        schema, refs = builder.value(root), tuple(builder.refs)
    inner: dict[str, Any] = {}
    for tp in refs:
        _closure(tp, inner)  # the root itself only when something refers back to it
    document: dict[str, Any] = {"$schema": DIALECT, **schema}
    if inner:
        document["$defs"] = {n: _definition(inner[n]).schema for n in sorted(inner)}
    return document


def json_schema(cls: Any) -> dict[str, Any]:
    """The JSON Schema (2020-12) of the JSON documents the converter reads as ``cls``.

    ``cls`` is a command, an input value, a read model (``Page[CaseSummary]`` too)
    or the ``OrderDetails`` union. Nested classes and enums are under ``$defs``.
    The result is a fresh copy: change it as you like.

    .. versionadded:: 0.2
    """
    return copy.deepcopy(_document(cls))


def openapi_components(classes: Iterable[Any]) -> dict[str, Any]:
    """``components`` for an OpenAPI 3.1 document: ``{"schemas": {name: schema}}``.

    Every class given and every class and enum they refer to, named by
    :func:`schema_name`, with references rewritten to ``#/components/schemas/``.

    .. versionadded:: 0.2
    """
    named: dict[str, Any] = {}
    for root in classes:
        _closure(root, named)
    schemas = {
        n: _to_components(copy.deepcopy(_definition(named[n]).schema)) for n in sorted(named)
    }
    return {"schemas": schemas}


def _to_components(node: Any) -> Any:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_DEFS):
                node[key] = _COMPONENTS + value[len(_DEFS) :]
            else:
                _to_components(value)
    elif isinstance(node, list):
        for item in node:
            _to_components(item)
    return node
