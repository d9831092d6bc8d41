"""Writing SVG as text: escaping, number formatting, elements, the shared look.

Every picture is built from :class:`Element` trees and serialised once, so attribute order,
number formatting and whitespace are fixed and the output is byte-for-byte deterministic.
Text from outside (titles, notes) passes through :func:`clean_text`, which drops characters
XML 1.0 cannot carry, then is escaped on output.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from aligner_core.domain.teeth import Notation
from aligner_core.errors import FieldError, ValidationError

__all__ = [
    "FONT",
    "INK",
    "MUTED",
    "RULE",
    "Element",
    "check_id_prefix",
    "clean_text",
    "document",
    "el",
    "num",
    "text_width",
]

FONT: Final = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK: Final = "#1f2933"
"""Body text."""
MUTED: Final = "#616e7c"
"""Secondary text: captions, axis labels."""
RULE: Final = "#cbd2d9"
"""Hairlines and grid."""

# XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
_NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ESCAPES: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_ID_PREFIX: Final = re.compile(r"(?:[A-Za-z][A-Za-z0-9_-]*)?")


def clean_text(value: str, limit: int | None = None) -> str:
    """``value`` without characters XML 1.0 forbids, whitespace folded, cut to ``limit``."""
    text = " ".join(_NOT_XML.sub("", value).split())
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)].rstrip() + "\u2026"
    return text


def _escape(value: str) -> str:
    return "".join(_ESCAPES.get(c, c) for c in value)


def num(value: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros (``12``, ``12.5``)."""
    if not math.isfinite(value):  # pragma: no cover - layout arithmetic never yields these
        raise ValueError(f"not a finite coordinate: {value}")
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """A generous estimate of a sans-serif text's width, for layout without a font engine."""
    return len(text) * size * (0.62 if bold else 0.58)


def check_id_prefix(prefix: str) -> str:
    """``prefix`` if it can start an XML id (a letter, then letters, digits, ``_``, ``-``)."""
    if not isinstance(prefix, str) or not _ID_PREFIX.fullmatch(prefix) or len(prefix) > 40:
        raise ValidationError.of("id_prefix", "$.id_prefix", subject="picture options")
    return prefix


def check_subject(
    given: object, cls: type, path: str, expected: str, notation: Notation | str
) -> tuple[Notation, list[FieldError]]:
    """The notation asked for (FDI when unknown) and the problems with what is drawn.

    ``given`` is checked as any object: callers outside mypy pass anything.
    """
    problems = []
    if not isinstance(given, cls):
        problems.append(
            FieldError.of("expected_object", path, expected=expected, type=type(given).__name__)
        )
    try:
        chosen = Notation(notation)
    except ValueError:
        chosen = Notation.FDI
        choices = ", ".join(n.value for n in Notation)
        problems.append(FieldError.of("not_one_of", "$.notation", choices=choices))
    return chosen, problems


AttrValue = str | int | float | None


@attrs.frozen
class Element:
    """An SVG element: tag, attributes in the order given, children or text."""

    tag: str
    attributes: tuple[tuple[str, str], ...] = ()
    children: tuple[Element | str, ...] = ()

    def render(self, out: list[str], depth: int = 0) -> None:
        pad = "  " * depth
        attributes = "".join(f' {k}="{_escape(v)}"' for k, v in self.attributes)
        if not self.children:
            out.append(f"{pad}<{self.tag}{attributes}/>")
            return
        if all(isinstance(c, str) for c in self.children):
            body = "".join(_escape(c) for c in self.children if isinstance(c, str))
            out.append(f"{pad}<{self.tag}{attributes}>{body}</{self.tag}>")
            return
        out.append(f"{pad}<{self.tag}{attributes}>")
        for child in self.children:
            if isinstance(child, Element):
                child.render(out, depth + 1)
            else:
                out.append(f"{pad}  {_escape(child)}")
        out.append(f"{pad}</{self.tag}>")


def _value(value: AttrValue) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):  # pragma: no cover - callers pass text for flags
        return "true" if value else "false"
    if isinstance(value, int | float):
        return num(value)
    return value


def el(
    tag: str,
    attributes: Mapping[str, AttrValue] | None = None,
    *children: Element | str | Iterable[Element] | None,
) -> Element:
    """An element; attributes whose value is None are left out, children may be iterables."""
    pairs = tuple(
        (k.rstrip("_").replace("_", "-"), v)
        for k, raw in (attributes or {}).items()
        if (v := _value(raw)) is not None
    )
    flat: list[Element | str] = []
    for child in children:
        if child is None:
            continue
        if isinstance(child, Element | str):
            flat.append(child)
        else:
            flat.extend(child)
    return Element(tag, pairs, tuple(flat))


def document(root: Element) -> str:
    """The whole SVG file as text (no XML declaration: it embeds inline in HTML as is)."""
    out: list[str] = []
    root.render(out)
    return "\n".join(out) + "\n"
