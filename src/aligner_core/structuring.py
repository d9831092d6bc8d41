"""Generated structure functions for attrs classes: the fast path of the converter.

For each class one plain function is written and compiled: JSON's own types
(text, integers, booleans, numbers) and enums are checked inline, with no hook
call; optional values, bounded arrays and nested classes call their hooks. Any
mismatch raises, and the converter then goes field by field to name every
problem (:func:`aligner_core.serialization._collect`), so this path never has
to build an error itself.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from enum import Enum
from typing import Any, NoReturn, Union, get_args, get_origin

import attrs

from aligner_core.domain.fields import spec_of

__all__ = ["Mismatch", "generate_structure"]

Hook = Callable[[Any, Any], Any]


class Mismatch(Exception):
    """Raised by a generated function at the first value it does not accept."""


def _fail() -> NoReturn:
    raise Mismatch


_JSON_TYPES = (str, int, bool)


class _Writer:
    """The namespace and expressions of one generated function."""

    def __init__(self, hook_of: Callable[[Any], Hook], max_array: int) -> None:
        self.hook_of = hook_of
        self.max_array = max_array
        self.ns: dict[str, Any] = {"_fail": _fail, "_isfinite": math.isfinite}

    def name(self, value: Any, prefix: str) -> str:
        key = f"_{prefix}{len(self.ns)}"
        self.ns[key] = value
        return key

    def expr(self, tp: Any, v: str, max_items: int | None = None) -> str:
        """A Python expression over the local ``v``: its structured value, or ``_fail()``."""
        origin = get_origin(tp)
        if origin in (Union, types.UnionType):
            arms = get_args(tp)
            rest = [a for a in arms if a is not type(None)]
            if len(arms) == 2 and len(rest) == 1:
                return f"(None if {v} is None else {self.expr(rest[0], v, max_items)})"
        if tp in _JSON_TYPES:
            return f"({v} if type({v}) is {self.name(tp, 't')} else _fail())"
        if tp is float:
            return (
                f"(float({v}) if (type({v}) is float or type({v}) is int)"
                f" and _isfinite({v}) else _fail())"
            )
        if isinstance(tp, type) and issubclass(tp, Enum):
            raw = {type(m._value_) for m in tp}
            if len(raw) == 1 and raw <= {str, int}:
                table = self.name({m._value_: m for m in tp}, "e")
                return f"({table}[{v}] if type({v}) is {self.name(raw.pop(), 't')} else _fail())"
        if origin is tuple:
            args = get_args(tp)
            if len(args) == 2 and args[1] is Ellipsis:
                most = min(self.max_array, max_items if max_items is not None else self.max_array)
                x = f"x{len(self.ns)}"
                item = self.expr(args[0], x)
                return (
                    f"(tuple([{item} for {x} in {v}])"
                    f" if type({v}) is list and len({v}) <= {most} else _fail())"
                )
        if origin is tuple:
            fixed = get_args(tp)
            if fixed and fixed[-1] is not Ellipsis:
                parts = "".join(f"{self.expr(a, f'{v}[{i}]')}, " for i, a in enumerate(fixed))
                return f"(({parts}) if type({v}) is list and len({v}) == {len(fixed)} else _fail())"
        hook = self.hook_of(tp)
        call = f"{self.name(hook, 'h')}({v}, {self.name(tp, 't')})"
        remembered, key_type = getattr(hook, "remembered", None), getattr(hook, "key", None)
        if remembered is not None:  # a parse remembered: a dict lookup, no call
            get, key = self.name(remembered.get, "g"), self.name(key_type, "t")
            return f"(({get}({v}) if type({v}) is {key} else None) or {call})"
        if max_items is not None:
            return f"({call} if type({v}) is not list or len({v}) <= {max_items} else _fail())"
        return call


def generate_structure(
    cl: Any,
    base: type,
    hints: dict[str, Any],
    hook_of: Callable[[Any], Hook],
    on_failure: Callable[[Any], NoReturn],
    not_an_object: Callable[[], Exception],
    max_array: int,
) -> Hook | None:
    """A structure function for the attrs class ``base`` (``cl`` may be its generic alias).

    ``on_failure(value)`` is called with the input when anything does not fit
    and must raise; arrays longer than ``max_array`` (or their field's bound)
    fail. ``None`` is returned for classes this path does not cover
    (fields outside ``__init__``, defaults computed from the instance).
    """
    fields = attrs.fields(base)
    if any(not a.init for a in fields):
        return None
    w = _Writer(hook_of, max_array)
    lines = [
        "def structure(o, _):",
        f"    if type(o) is not dict: raise {w.name(not_an_object, 'x')}()",
        "    try:",
    ]
    args: list[str] = []
    required = 0
    for i, a in enumerate(fields):
        expr = w.expr(hints.get(a.name, Any), "v", spec_of(a).max_items)
        args.append(f"{a.alias or a.name}=a{i}")
        if a.default is attrs.NOTHING:
            required += 1
            lines += [f"        v = o[{a.name!r}]", f"        a{i} = {expr}"]
            continue
        if isinstance(a.default, attrs.Factory):  # type: ignore[arg-type]
            if a.default.takes_self:
                return None
            default = f"{w.name(a.default.factory, 'd')}()"
        else:
            default = w.name(a.default, "d")
        lines += [
            f"        if {a.name!r} in o:",
            f"            v = o[{a.name!r}]",
            f"            a{i} = {expr}",
            "            n += 1",
            "        else:",
            f"            a{i} = {default}",
        ]
    lines.insert(3, f"        n = {required}")
    lines.append("        if len(o) != n: _fail()  # unknown keys")
    lines += [
        f"        return {w.name(base, 'c')}({', '.join(args)})",
        "    except Exception:",
        "        pass",
        f"    {w.name(on_failure, 'f')}(o)",
    ]
    exec("\n".join(lines), w.ns)  # noqa: S102 - generated from the class's own fields
    structure: Hook = w.ns["structure"]
    return structure
