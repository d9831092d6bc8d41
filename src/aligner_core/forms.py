"""HTML form fields to the data the converter structures: the form half of ``load_form``.

A form sends flat names (``patient.last_name``, ``steps[0].ipr[1].amount_mm``,
``teeth.UR8``) with text values. This module nests them, reads each value as
the command's field types ask (numbers from text, checkboxes, teeth in the
user's notation, empty meaning absent) and leaves anything it cannot read as
the text it was, so that the converter then reports exactly what the JSON path
reports for the same value.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from datetime import timedelta
from enum import Enum, IntEnum
from types import NoneType, UnionType
from typing import Any, Final, Union, get_args, get_origin

import attrs

from aligner_core.domain.orders import ORDER_TYPES, OrderDetails
from aligner_core.domain.teeth import Notation, Tooth, ToothChart, ToothState
from aligner_core.errors import ValidationError

__all__ = ["form_to_data"]

_ABSENT: Final = object()
_KEY = re.compile(r"([^.\[\]]+)|\[(\d{1,4})\]")
_INTEGER = re.compile(r"[+-]?\d{1,19}")
_NUMBER = re.compile(r"[+-]?(\d{1,12}(\.\d{0,12})?|\.\d{1,12})")
_SEPARATORS = re.compile(r"[\s,;]+")
_TRUE: Final = frozenset({"on", "true", "1", "yes", "checked"})
_FALSE: Final = frozenset({"off", "false", "0", "no", ""})
_MAX_FIELDS = 5000


def _path(name: str) -> list[str | int]:
    tokens: list[str | int] = []
    for match in _KEY.finditer(name):
        tokens.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
    return tokens


def _nest(fields: Mapping[str, Any], ignore: frozenset[str] | set[str]) -> dict[Any, Any]:
    if not isinstance(fields, Mapping):
        raise ValidationError.of("not_an_object")
    if len(fields) > _MAX_FIELDS:
        raise ValidationError.of("document_too_many_values", max=_MAX_FIELDS)
    tree: dict[Any, Any] = {}
    for name, raw in fields.items():
        if not isinstance(name, str) or name in ignore:
            continue
        values = list(raw) if isinstance(raw, list | tuple) else [raw]
        tokens = _path(name) or [name]
        node = tree
        for token in tokens[:-1]:
            child = node.get(token)
            if not isinstance(child, dict):
                child = node[token] = {}
            node = child
        node[tokens[-1]] = values
    return tree


def _empty(node: Any) -> bool:
    if isinstance(node, dict):
        return all(_empty(v) for v in node.values())
    return all(v == "" or v is None for v in node)


def _leaves(node: Any) -> Any:
    """A subtree as raw data (for names the command does not have: the converter names them)."""
    if isinstance(node, dict):
        return {str(k): _leaves(v) for k, v in node.items()}
    return node[-1] if len(node) == 1 else node


def _tooth(text: str, notation: Notation) -> Any:
    try:
        return Tooth.parse(text.strip(), notation).fdi
    except ValidationError:
        return text


def _scalar(value: Any, tp: Any, notation: Notation) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if tp is bool:
        lowered = text.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else value
    if tp is int or (isinstance(tp, type) and issubclass(tp, IntEnum)):
        return int(text) if _INTEGER.fullmatch(text) else value
    if tp is float:
        return float(text) if _NUMBER.fullmatch(text) else value
    if tp is Tooth:
        return _tooth(text, notation)
    if tp is timedelta:
        return int(text) if _INTEGER.fullmatch(text) else text
    if isinstance(tp, type) and issubclass(tp, Enum):
        return text
    return value


def _arms(tp: Any) -> tuple[Any, bool]:
    """The non-None part of an optional type, and whether None is allowed."""
    if get_origin(tp) in (Union, UnionType):
        args = get_args(tp)
        rest = tuple(a for a in args if a is not NoneType)
        optional = len(rest) < len(args)
        if len(rest) == 1:
            return rest[0], optional
        if set(rest) == set(get_args(OrderDetails)):
            return OrderDetails, optional
        return tp, optional
    return tp, False


def _chart(node: dict[Any, Any], notation: Notation) -> dict[str, Any]:
    marks = []
    for label, values in node.items():
        state = values[-1] if isinstance(values, list) and values else values
        if isinstance(state, str) and state.strip() in ("", ToothState.NONE.value):
            continue
        tooth = _tooth(str(label), notation)
        marks.append({"tooth": tooth, "state": state})
    return {"marks": marks}


def _order(node: dict[Any, Any], notation: Notation) -> Any:
    tag = node.get("order_type")
    name = tag[-1] if isinstance(tag, list) and tag else None
    cl = ORDER_TYPES.get(name) if isinstance(name, str) else None
    if cl is None:
        return _leaves(node)
    rest = {k: v for k, v in node.items() if k != "order_type"}
    return {**_class(rest, cl, notation), "order_type": name}


def _value(node: Any, tp: Any, notation: Notation, required: bool) -> Any:
    inner, optional = _arms(tp)
    if isinstance(node, dict):
        if optional and _empty(node):
            return _ABSENT
        if inner is OrderDetails:
            return _order(node, notation)
        if inner is ToothChart:
            return _chart(node, notation)
        if get_origin(inner) is tuple:
            elem = get_args(inner)[0]
            ordered = [node[k] for k in sorted(k for k in node if isinstance(k, int))]
            return [_value(item, elem, notation, True) for item in ordered]
        if attrs.has(inner):
            return _class(node, inner, notation)
        return _leaves(node)
    values = [v for v in node if v is not None]
    if get_origin(inner) is tuple:
        elem = get_args(inner)[0]
        texts: list[Any] = []
        for v in values:
            texts.extend(_SEPARATORS.split(v.strip()) if isinstance(v, str) else [v])
        items = [t for t in texts if t != ""]
        return [_scalar(t, elem, notation) for t in items] if items else _ABSENT
    value = values[-1] if values else ""
    if value == "" and (not required or inner is not str):
        return _ABSENT
    return _scalar(value, inner, notation)


def _class(node: dict[Any, Any], cl: type, notation: Notation) -> dict[str, Any]:
    hints = typing.get_type_hints(cl)
    fields = {a.name: a for a in attrs.fields(cl)}
    data: dict[str, Any] = {}
    for key, sub in node.items():
        field = fields.get(key) if isinstance(key, str) else None
        if field is None:
            data[str(key)] = _leaves(sub)
            continue
        required = field.default is attrs.NOTHING
        value = _value(sub, hints.get(key, Any), notation, required)
        if value is not _ABSENT:
            data[key] = value
    for name, field in fields.items():
        if name not in data and hints.get(name) is bool and field.default is attrs.NOTHING:
            data[name] = False  # an unchecked checkbox sends nothing
    return data


def form_to_data(
    fields: Mapping[str, Any],
    cl: type,
    *,
    notation: Notation | str = Notation.FDI,
    ignore: frozenset[str] | set[str] = frozenset(),
) -> dict[str, Any]:
    """The JSON-shaped data of a form for ``cl`` (see :meth:`Converter.load_form`)."""
    try:
        chosen = Notation(notation)
    except ValueError:
        raise ValidationError.of(
            "not_one_of", "$.notation", choices=", ".join(n.value for n in Notation)
        ) from None
    return _class(_nest(fields, ignore), cl, chosen)
