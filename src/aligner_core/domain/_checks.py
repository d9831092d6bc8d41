"""Small attrs validators shared by the domain modules (private)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs

from aligner_core.errors import ValidationError

__all__ = [
    "aware",
    "finite_non_negative",
    "non_blank",
    "non_negative_int",
    "positive",
    "text_limit",
    "unique",
]

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _fail(inst: Any, attribute: attrs.Attribute[Any], code: str, **params: Any) -> None:
    raise ValidationError.of(code, f"$.{attribute.name}", subject=type(inst).__name__, **params)


def non_blank(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A mandatory text field: a str with something other than white space."""
    if not isinstance(value, str) or not value.strip():
        _fail(inst, attribute, "blank")


def text_limit(limit: int) -> Validator:
    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            _fail(inst, attribute, "text_limit", max=limit)

    return check


def positive(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        _fail(inst, attribute, "positive_integer")


def non_negative_int(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        _fail(inst, attribute, "non_negative_integer")


def finite_non_negative(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        _fail(inst, attribute, "non_negative_number")


def aware(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Datetimes are timezone-aware (UTC in storage); naive ones are refused."""
    if value is None or (type(value) is datetime and value.tzinfo is UTC):
        return  # the usual case, decided without a call
    if not isinstance(value, datetime) or value.utcoffset() is None:
        _fail(inst, attribute, "aware_datetime")


def unique(key: Callable[[Any], Any] = lambda x: x) -> Validator:
    """Items of a tuple field are unique by ``key``."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        seen: set[Any] = set()
        for item in value:
            k = key(item)
            if k in seen:
                _fail(inst, attribute, "duplicate_entry", entry=k)
            seen.add(k)

    return check
