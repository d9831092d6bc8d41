"""Drawing one tooth: its outline by type, and the colour and symbol of each tooth state.

Shared by the tooth chart (full-size teeth and the legend's small ones) and the plan schedule's
legend. Every state has a colour *and* a symbol, so a chart printed in black and white still
reads: an X for missing, a slash for a planned extraction, a thick crown outline, a bar that
joins bridge teeth, a screw for an implant, a ring for a retained deciduous tooth, a patch for
a filling and a padlock for "do not move".
"""

from __future__ import annotations

from typing import Final

import attrs

from aligner_core.domain.teeth import Tooth, ToothState
from aligner_core.pictures._svg import Element, el, num

__all__ = ["STATE_NAMES", "STYLES", "StateStyle", "ToothShape", "draw_tooth", "shape_of"]


@attrs.frozen
class StateStyle:
    stroke: str
    """Outline and symbol colour (dark enough for text contrast on white)."""
    fill: str
    """Tint of the tooth body."""


STYLES: Final[dict[ToothState, StateStyle]] = {
    ToothState.NONE: StateStyle("#7b8794", "#ffffff"),
    ToothState.MISSING: StateStyle("#52606d", "#f5f7fa"),
    ToothState.PLANNED_EXTRACTION: StateStyle("#c53030", "#fde8e8"),
    ToothState.INLAY_ONLAY_FILLING: StateStyle("#2b6cb0", "#e3effa"),
    ToothState.CROWN: StateStyle("#b7791f", "#fdf3dc"),
    ToothState.BRIDGE: StateStyle("#6b46c1", "#efe9fb"),
    ToothState.IMPLANT: StateStyle("#2c7a7b", "#e0f2f1"),
    ToothState.RETAINED_DECIDUOUS: StateStyle("#b83280", "#fbe7f2"),
    ToothState.DO_NOT_MOVE: StateStyle("#243b53", "#e4e9f0"),
}

STATE_NAMES: Final[dict[ToothState, str]] = {
    ToothState.NONE: "No note",
    ToothState.MISSING: "Missing",
    ToothState.PLANNED_EXTRACTION: "Planned for extraction",
    ToothState.INLAY_ONLAY_FILLING: "Inlay / onlay / filling",
    ToothState.CROWN: "Crown",
    ToothState.BRIDGE: "Bridge",
    ToothState.IMPLANT: "Implant",
    ToothState.RETAINED_DECIDUOUS: "Retained deciduous",
    ToothState.DO_NOT_MOVE: "Do not move",
}

# Crown width (px at scale 1, about 4 px per mm of a real crown) and root length by position.
_CROWN_WIDTH: Final = {1: 31, 2: 25, 3: 28, 4: 27, 5: 26, 6: 39, 7: 36, 8: 33}
_ROOT_LENGTH: Final = {1: 34, 2: 31, 3: 40, 4: 33, 5: 33, 6: 30, 7: 28, 8: 24}
CROWN_HEIGHT: Final = 25.0
MAX_ROOT: Final = 40.0
PRIMARY_SCALE: Final = 0.78


@attrs.frozen
class ToothShape:
    """A tooth's outline at ``(cx, occlusal)``: crown towards the occlusal plane, root away.

    ``up`` is True for the upper arch, whose roots point up the page.
    """

    cx: float
    occlusal: float
    up: bool
    crown_width: float
    crown_height: float
    root_length: float
    roots: int
    edge: str = "flat"
    """The occlusal edge: ``flat`` (incisor), ``cusp`` (canine) or ``cusps`` (premolar, molar)."""

    @property
    def sign(self) -> float:
        """-1 when roots point up the page (upper arch), +1 when down."""
        return -1.0 if self.up else 1.0

    @property
    def cervical(self) -> float:
        return self.occlusal + self.sign * self.crown_height

    @property
    def apex(self) -> float:
        return self.cervical + self.sign * self.root_length

    @property
    def crown_mid(self) -> float:
        return self.occlusal + self.sign * self.crown_height / 2

    @property
    def root_mid(self) -> float:
        return self.cervical + self.sign * self.root_length * 0.5

    @property
    def top(self) -> float:
        return min(self.occlusal, self.apex)

    @property
    def bottom(self) -> float:
        return max(self.occlusal, self.apex)

    def _y(self, depth: float) -> str:
        """``depth`` px from the occlusal edge towards the root, as a page y coordinate."""
        return num(self.occlusal + self.sign * depth)

    def _x(self, offset: float) -> str:
        return num(self.cx + offset)

    def _edge(self) -> str:
        """The occlusal edge from the left corner to the right one."""
        w, r = self.crown_width / 2, min(6.0, self.crown_width * 0.2)
        k = self.crown_height / CROWN_HEIGHT
        x, y = self._x, self._y
        if self.edge == "cusp":  # a canine's single pointed cusp
            return (
                f"Q{x(-w * 0.45)} {y(-0.5 * k)} {x(0)} {y(-3.5 * k)}"
                f"Q{x(w * 0.45)} {y(-0.5 * k)} {x(w - r)} {y(0)}"
            )
        if self.edge == "cusps":  # two rounded cusps with a groove between them
            return (
                f"Q{x(-w * 0.5)} {y(-3 * k)} {x(0)} {y(1.2 * k)}"
                f"Q{x(w * 0.5)} {y(-3 * k)} {x(w - r)} {y(0)}"
            )
        return f"L{x(w - r)} {y(0)}"

    def _crown(self) -> str:
        w, h = self.crown_width / 2, self.crown_height
        neck = w * 0.78
        r = min(6.0, w * 0.4)
        x, y = self._x, self._y
        return (
            f"M{x(-neck)} {y(h)}"
            f"C{x(-w - 1)} {y(h * 0.7)} {x(-w)} {y(r)} {x(-w + r)} {y(0)}"
            + self._edge()
            + f"C{x(w)} {y(r)} {x(w + 1)} {y(h * 0.7)} {x(neck)} {y(h)}"
        )

    def crown_path(self) -> str:
        return self._crown() + "Z"

    def outline_path(self) -> str:
        """The whole tooth: crown, then the root(s) to the apex."""
        w, h, length = self.crown_width / 2, self.crown_height, self.root_length
        neck = w * 0.78
        x, y = self._x, self._y
        crown = self._crown()
        end = h + length
        if self.roots == 1:
            root = (
                f"C{x(neck * 0.95)} {y(h + length * 0.55)} {x(2.5)} {y(end)} {x(0)} {y(end)}"
                f"C{x(-2.5)} {y(end)} {x(-neck * 0.95)} {y(h + length * 0.55)} {x(-neck)} {y(h)}Z"
            )
        else:
            fork = h + length * 0.3
            tip = neck * 0.62
            root = (
                f"C{x(neck)} {y(h + length * 0.5)} {x(tip + 3)} {y(end)} {x(tip)} {y(end)}"
                f"C{x(tip - 3)} {y(end)} {x(tip * 0.5)} {y(fork)} {x(0)} {y(fork)}"
                f"C{x(-tip * 0.5)} {y(fork)} {x(-tip + 3)} {y(end)} {x(-tip)} {y(end)}"
                f"C{x(-tip - 3)} {y(end)} {x(-neck)} {y(h + length * 0.5)} {x(-neck)} {y(h)}Z"
            )
        return crown + root


def shape_of(tooth: Tooth, cx: float, occlusal: float, scale: float = 1.0) -> ToothShape:
    """The outline of ``tooth`` drawn with its crown's occlusal edge at ``occlusal``."""
    position = tooth.position
    if tooth.is_primary:
        # Primary incisors and canine look like small permanent ones; the molars like molars.
        like = {1: 1, 2: 2, 3: 3, 4: 6, 5: 6}[position]
        scale *= PRIMARY_SCALE
    else:
        like = position
    return ToothShape(
        cx=cx,
        occlusal=occlusal,
        up=tooth.quadrant in (1, 2, 5, 6),
        crown_width=_CROWN_WIDTH[like] * scale,
        crown_height=CROWN_HEIGHT * scale,
        root_length=_ROOT_LENGTH[like] * scale,
        roots=2 if like >= 6 else 1,
        edge="flat" if like <= 2 else "cusp" if like == 3 else "cusps",
    )


def _line(x1: float, y1: float, x2: float, y2: float, colour: str, width: float) -> Element:
    return el(
        "line",
        {
            "x1": x1,
            "y1": y1,
            "x2": x2,
            "y2": y2,
            "stroke": colour,
            "stroke_width": width,
            "stroke_linecap": "round",
        },
    )


def _symbol(state: ToothState, s: ToothShape, reach: float) -> Element | None:
    """The state's mark over the tooth; ``reach`` is half the cell width (bridges join there)."""
    colour = STYLES[state].stroke
    k = s.crown_height / CROWN_HEIGHT  # scale of this tooth
    w = s.crown_width / 2
    cy = s.crown_mid
    match state:
        case ToothState.NONE:
            return None
        case ToothState.MISSING:
            pad = 3 * k
            return el(
                "g",
                {"class_": "symbol"},
                _line(s.cx - w - pad, s.top - pad, s.cx + w + pad, s.bottom + pad, colour, 2.6 * k),
                _line(s.cx - w - pad, s.bottom + pad, s.cx + w + pad, s.top - pad, colour, 2.6 * k),
            )
        case ToothState.PLANNED_EXTRACTION:
            pad = 3 * k
            return el(
                "g",
                {"class_": "symbol"},
                _line(s.cx - w - pad, s.bottom + pad, s.cx + w + pad, s.top - pad, colour, 3.2 * k),
            )
        case ToothState.INLAY_ONLAY_FILLING:
            pw, ph = w * 0.9, s.crown_height * 0.38
            return el(
                "rect",
                {
                    "class_": "symbol",
                    "x": s.cx - pw / 2,
                    "y": cy - ph / 2,
                    "width": pw,
                    "height": ph,
                    "rx": 2.5 * k,
                    "fill": colour,
                },
            )
        case ToothState.CROWN:
            return el(
                "path",
                {
                    "class_": "symbol",
                    "d": s.crown_path(),
                    "fill": "none",
                    "stroke": colour,
                    "stroke_width": 3.4 * k,
                    "stroke_linejoin": "round",
                },
            )
        case ToothState.BRIDGE:
            return el(
                "g",
                {"class_": "symbol"},
                _line(s.cx - reach, cy, s.cx + reach, cy, colour, 4.5 * k),
                el("circle", {"cx": s.cx, "cy": cy, "r": 3.6 * k, "fill": colour}),
            )
        case ToothState.IMPLANT:
            half = max(2.5, w * 0.22)
            y0 = s.cervical - s.sign * 2 * k
            y1 = s.apex - s.sign * 2 * k
            threads = [
                _line(
                    s.cx - half - 2 * k,
                    y0 + (y1 - y0) * f,
                    s.cx + half + 2 * k,
                    y0 + (y1 - y0) * f + s.sign * 2 * k,
                    colour,
                    1.6 * k,
                )
                for f in (0.25, 0.45, 0.65, 0.85)
            ]
            post = el(
                "rect",
                {
                    "x": s.cx - half,
                    "y": min(y0, y1),
                    "width": 2 * half,
                    "height": abs(y1 - y0),
                    "rx": half,
                    "fill": colour,
                },
            )
            return el("g", {"class_": "symbol"}, post, threads)
        case ToothState.RETAINED_DECIDUOUS:
            return el(
                "circle",
                {
                    "class_": "symbol",
                    "cx": s.cx,
                    "cy": cy,
                    "r": min(w * 0.55, 6.5 * k),
                    "fill": "none",
                    "stroke": colour,
                    "stroke_width": 2.6 * k,
                },
            )
        case ToothState.DO_NOT_MOVE:
            bw, bh = 12 * k, 9 * k
            body_top = cy - bh / 2 + 2.5 * k
            shackle = (
                f"M{num(s.cx - 3.6 * k)} {num(body_top)}V{num(body_top - 3 * k)}"
                f"A{num(3.6 * k)} {num(3.6 * k)} 0 0 1 {num(s.cx + 3.6 * k)} "
                f"{num(body_top - 3 * k)}V{num(body_top)}"
            )
            return el(
                "g",
                {"class_": "symbol"},
                el(
                    "path",
                    {"d": shackle, "fill": "none", "stroke": colour, "stroke_width": 2.2 * k},
                ),
                el(
                    "rect",
                    {
                        "x": s.cx - bw / 2,
                        "y": body_top,
                        "width": bw,
                        "height": bh,
                        "rx": 1.8 * k,
                        "fill": colour,
                    },
                ),
            )
    raise AssertionError(state)  # pragma: no cover - every state is drawn above


def draw_tooth(shape: ToothShape, state: ToothState, *, reach: float) -> list[Element]:
    """The tooth body, its crown line and the state's symbol."""
    style = STYLES[state]
    missing = state is ToothState.MISSING
    k = shape.crown_height / CROWN_HEIGHT
    outline: dict[str, str | float | None] = {
        "fill": style.fill,
        "stroke": STYLES[ToothState.NONE].stroke if missing else style.stroke,
        "stroke_width": 1.4 * k,
        "stroke_linejoin": "round",
        "stroke_dasharray": f"{num(3 * k)} {num(2.5 * k)}" if missing else None,
    }
    parts = [
        el("path", {"class_": "shape", "d": shape.outline_path(), **outline}),
        el("path", {"class_": "crown", "d": shape.crown_path(), **outline}),
    ]
    symbol = _symbol(state, shape, reach)
    if symbol is not None:
        parts.append(symbol)
    return parts
