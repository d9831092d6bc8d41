"""The case lifecycle drawn from the one table, ``aligner_core.domain.lifecycle.TABLE``.

:func:`lifecycle_mermaid` writes a Mermaid ``stateDiagram-v2``; :func:`lifecycle_svg` draws
the same graph as a layered SVG with no graph-layout tool. Only rows that change the status
are drawn; actions that keep it (view, comment, edit, share, ...) are not. Rows with the same
source and destination share one arrow whose label names every action, with the case kinds
or the routing condition that limit it.

``docs/lifecycle.md`` and ``docs/lifecycle.svg`` are written by ``python -m
aligner_core.pictures.lifecycle docs`` and a test holds them equal to what these functions
give now, so they never go stale.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import attrs

from aligner_core.domain.cases import CaseStatus
from aligner_core.domain.lifecycle import TABLE, Row
from aligner_core.pictures._svg import FONT, INK, MUTED, Element, document, el, num

__all__ = ["Edge", "lifecycle_edges", "lifecycle_markdown", "lifecycle_mermaid", "lifecycle_svg"]


@attrs.frozen
class Edge:
    """One arrow: every status-changing row from ``source`` to ``dest``, as labels."""

    source: CaseStatus
    dest: CaseStatus
    labels: tuple[str, ...]


def _label(row: Row) -> str:
    text = row.action.value.replace("_", " ")
    if row.kinds:
        text += " (" + ", ".join(k.value.replace("_", " ") for k in row.kinds) + ")"
    if row.when and not row.when.startswith("left_"):  # release's "left_X": the arrow says X
        text += f" ({row.when.replace('_', ' ')})"
    return text


def lifecycle_edges() -> tuple[Edge, ...]:
    """The status changes in ``TABLE``, in table order, one per (source, destination)."""
    labels: dict[tuple[CaseStatus, CaseStatus], list[str]] = {}
    for row in TABLE:
        if row.dest is None:
            continue
        for source in row.sources:
            if source is row.dest:
                continue
            found = labels.setdefault((source, row.dest), [])
            label = _label(row)
            if label not in found:
                found.append(label)
    return tuple(Edge(s, d, tuple(ls)) for (s, d), ls in labels.items())


def _states(edges: Sequence[Edge]) -> list[CaseStatus]:
    used = {e.source for e in edges} | {e.dest for e in edges}
    return [s for s in CaseStatus if s in used]


def _title(status: CaseStatus) -> str:
    return status.value.replace("_", " ").capitalize()


def lifecycle_mermaid() -> str:
    """The lifecycle as Mermaid ``stateDiagram-v2`` text (ends with a newline)."""
    edges = lifecycle_edges()
    states = _states(edges)
    sources = {e.source for e in edges}
    lines = ["stateDiagram-v2"]
    lines += [f'    state "{_title(s)}" as {s.value}' for s in states]
    lines.append(f"    [*] --> {CaseStatus.DRAFT.value}")
    lines += [f"    {e.source.value} --> {e.dest.value}: {' / '.join(e.labels)}" for e in edges]
    lines += [f"    {s.value} --> [*]" for s in states if s not in sources]
    return "\n".join(lines) + "\n"


# -- the layered drawing -----------------------------------------------------------------------
NODE_W: Final = 150.0
NODE_H: Final = 36.0
LAYER_GAP: Final = 104.0
COLUMN_GAP: Final = 190.0
MARGIN: Final = 30.0
_KIND_STYLE: Final = {  # fill, stroke by what the status means for the doctor
    CaseStatus.DRAFT: ("#f5f7fa", "#7b8794"),
    CaseStatus.AWAITING_IMPRESSIONS: ("#e3effa", "#2b6cb0"),
    CaseStatus.AWAITING_RECORDS: ("#fdf3dc", "#b7791f"),
    CaseStatus.LAB_REVIEW: ("#e3effa", "#2b6cb0"),
    CaseStatus.IN_PLANNING: ("#e3effa", "#2b6cb0"),
    CaseStatus.WAITING_FOR_APPROVAL: ("#fdf3dc", "#b7791f"),
    CaseStatus.PLAN_REJECTED: ("#fdf3dc", "#b7791f"),
    CaseStatus.IN_PRODUCTION: ("#e0f2f1", "#2c7a7b"),
    CaseStatus.SHIPPED: ("#e0f2f1", "#2c7a7b"),
    CaseStatus.CLOSED: ("#e4e9f0", "#243b53"),
    CaseStatus.ON_HOLD: ("#efe9fb", "#6b46c1"),
    CaseStatus.CANCELLED: ("#fde8e8", "#c53030"),
    CaseStatus.DELETED: ("#fde8e8", "#c53030"),
}
_EDGE_INK: Final = "#52606d"


PLACES: Final[dict[CaseStatus, tuple[float, float]]] = {
    # (layer, column): the usual path runs down the middle column.
    CaseStatus.DRAFT: (0, 2),
    CaseStatus.DELETED: (0, 3.45),
    CaseStatus.AWAITING_IMPRESSIONS: (0.5, 0.55),
    CaseStatus.AWAITING_RECORDS: (1.0, -0.9),
    CaseStatus.IN_PLANNING: (1, 2),
    CaseStatus.LAB_REVIEW: (1.5, 0.55),
    CaseStatus.WAITING_FOR_APPROVAL: (2, 2),
    CaseStatus.PLAN_REJECTED: (2, 3.45),
    CaseStatus.IN_PRODUCTION: (3, 2),
    CaseStatus.ON_HOLD: (2.6, 0.55),
    CaseStatus.CANCELLED: (3.6, 3.45),
    CaseStatus.SHIPPED: (4, 2),
    CaseStatus.CLOSED: (5, 2),
}
"""Where each status sits: a layout hint kept beside the drawing (the arrows come from the
table). A status missing here is drawn in an extra layer at the bottom, and a test fails
until it is given a place."""


def _places(states: list[CaseStatus]) -> dict[CaseStatus, tuple[float, float]]:
    placed = {s: PLACES[s] for s in states if s in PLACES}
    extra = [s for s in states if s not in PLACES]
    last = max((layer for layer, _ in placed.values()), default=-1.0)
    for i, state in enumerate(extra):
        placed[state] = (math.floor(last) + 1, float(i))
    return placed


def _rect_exit(
    points: tuple[tuple[float, float], ...], centre: tuple[float, float], t0: float, t1: float
) -> float:
    """The curve parameter in [t0, t1] where the curve crosses the node box at ``centre``."""
    inside_at_t0 = _inside(_bezier(points, t0), centre)
    for _ in range(40):
        mid = (t0 + t1) / 2
        if _inside(_bezier(points, mid), centre) == inside_at_t0:
            t0 = mid
        else:
            t1 = mid
    return (t0 + t1) / 2


def _inside(p: tuple[float, float], centre: tuple[float, float]) -> bool:
    return abs(p[0] - centre[0]) <= NODE_W / 2 + 2 and abs(p[1] - centre[1]) <= NODE_H / 2 + 2


def _bezier(points: tuple[tuple[float, float], ...], t: float) -> tuple[float, float]:
    (x0, y0), (x1, y1), (x2, y2) = points
    u = 1 - t
    return (u * u * x0 + 2 * u * t * x1 + t * t * x2, u * u * y0 + 2 * u * t * y1 + t * t * y2)


def _sub_curve(
    points: tuple[tuple[float, float], ...], a: float, b: float
) -> tuple[tuple[float, float], ...]:
    """The part of a quadratic Bezier between parameters ``a`` and ``b`` (blossoming)."""
    (x0, y0), (x1, y1), (x2, y2) = points
    w0, w1, w2 = (1 - a) * (1 - b), (1 - a) * b + a * (1 - b), a * b
    control = (w0 * x0 + w1 * x1 + w2 * x2, w0 * y0 + w1 * y1 + w2 * y2)
    return (_bezier(points, a), control, _bezier(points, b))


def _hubs(
    edges: Sequence[Edge],
) -> tuple[dict[tuple[CaseStatus, CaseStatus], set[str]], dict[CaseStatus, list[str]]]:
    """Labels written once beside a state instead of on each of its arrows.

    When three or more arrows into a state (or out of one) share a label, such as
    ``hold`` from every active status, the label goes under the state ("hold from 5
    states") and leaves those arrows' labels; the arrows' titles keep the whole text.
    Returns the labels taken off each arrow, and the captions per state.
    """
    taken: dict[tuple[CaseStatus, CaseStatus], set[str]] = {}
    captions: dict[CaseStatus, list[str]] = {}
    for incoming in (True, False):
        buckets: dict[tuple[CaseStatus, str], list[tuple[Edge, str]]] = {}
        for e in edges:
            for label in e.labels:
                state = e.dest if incoming else e.source
                buckets.setdefault((state, label), []).append((e, label))
        for (state, action), members in buckets.items():
            if len(members) >= 3:
                for e, label in members:
                    taken.setdefault((e.source, e.dest), set()).add(label)
                word = "from" if incoming else "to"
                captions.setdefault(state, []).append(f"{action} {word} {len(members)} states")
    return taken, captions


Box = tuple[float, float, float, float]


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _node_box(centre: tuple[float, float], pad: float = 0.0) -> Box:
    x, y = centre
    return (x - NODE_W / 2 - pad, y - NODE_H / 2 - pad, x + NODE_W / 2 + pad, y + NODE_H / 2 + pad)


def _clear_bend(
    start: tuple[float, float],
    end: tuple[float, float],
    normal: tuple[float, float],
    first: float,
    obstacles: list[Box],
) -> float:
    """The smallest bend (from ``first`` outwards, same side first) whose curve misses nodes."""
    tries = [first]
    for step in (60.0, 120.0, 190.0, 260.0):
        tries += [first + step, first - step] if first >= 0 else [first - step, first + step]
    mid = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    for bend in tries:
        control = (mid[0] + normal[0] * bend, mid[1] + normal[1] * bend)
        samples = [_bezier((start, control, end), i / 32) for i in range(1, 32)]
        if not any(
            box[0] <= px <= box[2] and box[1] <= py <= box[3]
            for px, py in samples
            for box in obstacles
        ):
            return bend
    return first


def _edge_label(
    lines: Sequence[str],
    curve: tuple[tuple[float, float], ...],
    side: tuple[float, float] | None,
    taken: list[Box],
) -> list[Element]:
    """The label on the curve (or beside it, on ``side``) where it overlaps nothing placed.

    Positions along the curve are tried from the middle outwards; the first free one wins
    (the middle when none is free). The label's box is added to ``taken``.
    """
    height = 12.0 * len(lines)
    width = max(len(line) for line in lines) * 10 * 0.56 + 6
    anchor, dx, dy = "middle", 0.0, 0.0
    if side is not None:
        nx, ny = side
        if abs(ny) > 0.8:  # a mostly horizontal arrow: the label above or below it
            dy = (height / 2 + 4) * (1 if ny > 0 else -1)
        else:
            anchor = "start" if nx > 0 else "end"
            dx = 5.0 * (1 if nx > 0 else -1)

    def box_at(t: float) -> tuple[float, float, Box]:
        x, y = _bezier(curve, t)
        x, y = x + dx, y + dy
        left = x - width / 2 if anchor == "middle" else x if anchor == "start" else x - width
        return x, y, (left, y - height / 2, left + width, y + height / 2)

    x, y, box = box_at(0.5)
    for t in (0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74, 0.18, 0.82):
        cx, cy, candidate = box_at(t)
        if not any(_overlaps(candidate, other) for other in taken):
            x, y, box = cx, cy, candidate
            break
    taken.append(box)
    return [
        el(
            "text",
            {
                "x": x,
                "y": y + 3.5 + (j - (len(lines) - 1) / 2) * 12,
                "text_anchor": anchor,
                "font_size": 10,
                "fill": INK,
                "stroke": "#ffffff",
                "stroke_width": 3.5,
                "stroke_linejoin": "round",
                "paint_order": "stroke",
            },
            line,
        )
        for j, line in enumerate(lines)
    ]


def lifecycle_svg() -> str:
    """The lifecycle as a layered SVG drawing (deterministic text, no layout tool needed)."""
    edges = lifecycle_edges()
    states = _states(edges)
    places = _places(states)
    low = min(column for _, column in places.values())
    high = max(column for _, column in places.values())
    deepest = max(layer for layer, _ in places.values())
    width = 2 * MARGIN + (high - low) * COLUMN_GAP + NODE_W
    top = 100.0
    where = {
        state: (MARGIN + NODE_W / 2 + (column - low) * COLUMN_GAP, top + layer * LAYER_GAP)
        for state, (layer, column) in places.items()
    }
    height = top + deepest * LAYER_GAP + NODE_H / 2 + MARGIN
    pairs = {(e.source, e.dest) for e in edges}
    grouped, captions = _hubs(edges)

    arrows: list[Element] = []
    labels: list[Element] = []
    done: set[tuple[CaseStatus, CaseStatus]] = set()
    pending: list[
        tuple[list[str], tuple[tuple[float, float], ...], tuple[float, float] | None]
    ] = []
    taken: list[Box] = [_node_box(where[s], 2.0) for s in states]
    for state, lines in captions.items():  # captions sit under their node
        x, y = where[state]
        half = max(len(line) for line in lines) * 10 * 0.56 / 2
        taken.append((x - half, y + NODE_H / 2, x + half, y + NODE_H / 2 + 6 + 12 * len(lines)))
    for e in edges:
        key, back = (e.source, e.dest), (e.dest, e.source)
        if key in done:
            continue
        done.add(key)
        shown = [label for label in e.labels if label not in grouped.get(key, set())]
        back_shown = [
            label
            for o in edges
            if (o.source, o.dest) == back
            for label in o.labels
            if label not in grouped.get(back, set())
        ]
        # both ways, every label under a node: one line with a head at each end
        two_way = back in pairs and not shown and not back_shown
        if two_way:
            done.add(back)
        (x0, y0), (x2, y2) = where[e.source], where[e.dest]
        dx, dy = x2 - x0, y2 - y0
        length = math.hypot(dx, dy)
        nx, ny = dy / length, -dx / length  # to the left of the direction of travel
        # Opposite arrows bend apart; an arrow that would cross a node bends round it.
        others = [_node_box(where[s], 6.0) for s in states if s not in key]
        first = 0.0 if two_way else 34.0 if back in pairs else 0.0
        bend = _clear_bend((x0, y0), (x2, y2), (nx, ny), first, others)
        control = ((x0 + x2) / 2 + nx * bend, (y0 + y2) / 2 + ny * bend)
        curve = ((x0, y0), control, (x2, y2))
        a = _rect_exit(curve, (x0, y0), 0.0, 0.5)
        b = _rect_exit(curve, (x2, y2), 0.5, 1.0)
        (sx, sy), (cx, cy), (ex, ey) = _sub_curve(curve, a, b)
        title = f"{_title(e.source)} \u2192 {_title(e.dest)}: " + "; ".join(e.labels)
        if two_way:
            other = next(o for o in edges if (o.source, o.dest) == back)
            title += f"; {_title(e.dest)} \u2192 {_title(e.source)}: " + "; ".join(other.labels)
        arrows.append(
            el(
                "path",
                {
                    "id": f"edge-{e.source.value}-{e.dest.value}",
                    "class_": "transition",
                    "d": f"M{num(sx)} {num(sy)}Q{num(cx)} {num(cy)} {num(ex)} {num(ey)}",
                    "fill": "none",
                    "stroke": _EDGE_INK,
                    "stroke_width": 1.3,
                    "marker_start": "url(#lifecycle-arrow)" if two_way else None,
                    "marker_end": "url(#lifecycle-arrow)",
                },
                el("title", {}, title),
            )
        )
        if shown:
            lines = [part for label in shown for part in label.replace(" (", "\n(").split("\n")]
            pending.append((lines, ((sx, sy), (cx, cy), (ex, ey)), (nx, ny) if bend else None))
    # Short arrows have the least room: their labels are placed first.
    pending.sort(key=lambda p: math.dist(p[1][0], p[1][2]))
    for lines, points, side in pending:
        labels.extend(_edge_label(lines, points, side, taken))
    nodes: list[Element] = []
    outgoing = {e.source for e in edges}
    for state in states:
        x, y = where[state]
        fill, stroke = _KIND_STYLE.get(state, ("#ffffff", "#7b8794"))
        final = state not in outgoing
        nodes.append(
            el(
                "g",
                {"id": f"state-{state.value}", "class_": "state", "data_state": state.value},
                el(
                    "rect",
                    {
                        "x": x - NODE_W / 2,
                        "y": y - NODE_H / 2,
                        "width": NODE_W,
                        "height": NODE_H,
                        "rx": NODE_H / 2 if final else 8,
                        "fill": fill,
                        "stroke": stroke,
                        "stroke_width": 2.2 if final else 1.4,
                    },
                ),
                el(
                    "text",
                    {
                        "x": x,
                        "y": y + 4.5,
                        "text_anchor": "middle",
                        "font_size": 13,
                        "font_weight": "600",
                        "fill": INK,
                    },
                    _title(state),
                ),
                (
                    el(
                        "text",
                        {
                            "x": x,
                            "y": y + NODE_H / 2 + 14 + 12 * i,
                            "text_anchor": "middle",
                            "font_size": 10,
                            "fill": MUTED,
                            "class_": "hub-caption",
                        },
                        caption,
                    )
                    for i, caption in enumerate(captions.get(state, ()))
                ),
            )
        )
    dx, dy = where[CaseStatus.DRAFT]
    start = el(
        "g",
        {"class_": "start"},
        el("circle", {"cx": dx, "cy": dy - NODE_H / 2 - 30, "r": 6, "fill": INK}),
        el(
            "line",
            {
                "x1": dx,
                "y1": dy - NODE_H / 2 - 24,
                "x2": dx,
                "y2": dy - NODE_H / 2 - 3,
                "stroke": _EDGE_INK,
                "stroke_width": 1.3,
                "marker_end": "url(#lifecycle-arrow)",
            },
        ),
    )
    caption = "Case lifecycle: every status change in aligner_core.domain.lifecycle.TABLE"
    root = el(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "width": width,
            "height": height,
            "viewBox": f"0 0 {num(width)} {num(height)}",
            "role": "img",
            "aria_label": caption,
            "font_family": FONT,
        },
        el("title", {}, caption),
        el(
            "defs",
            {},
            el(
                "marker",
                {
                    "id": "lifecycle-arrow",
                    "viewBox": "0 0 10 10",
                    "refX": 9,
                    "refY": 5,
                    "markerWidth": 7,
                    "markerHeight": 7,
                    "orient": "auto-start-reverse",
                },
                el("path", {"d": "M0 0L10 5L0 10z", "fill": _EDGE_INK}),
            ),
        ),
        el("rect", {"width": "100%", "height": "100%", "fill": "#ffffff"}),
        el(
            "text",
            {"x": MARGIN, "y": 30, "font_size": 16, "font_weight": "700", "fill": INK},
            "Case lifecycle",
        ),
        el(
            "text",
            {"x": MARGIN, "y": 48, "font_size": 11.5, "fill": MUTED},
            "Status changes only; actions that keep the status are not drawn.",
        ),
        start,
        el("g", {"class_": "transitions"}, arrows),
        el("g", {"class_": "states"}, nodes),
        el("g", {"class_": "labels"}, labels),
    )
    return document(root)


def lifecycle_markdown() -> str:
    """``docs/lifecycle.md``: the Mermaid diagram and a link to the SVG drawing."""
    return (
        "# Case lifecycle\n\n"
        "Generated from `aligner_core.domain.lifecycle.TABLE` by\n"
        "`python -m aligner_core.pictures.lifecycle docs`; a test fails when this file or\n"
        "`lifecycle.svg` differs from what the table gives now. Do not edit by hand.\n\n"
        "Only status changes are drawn. Actions that keep the status (view, edit, comment,\n"
        "add a document, share a plan, invite a collaborator, ship an earlier phase, ...)\n"
        "are in the table but not in the diagram.\n\n"
        "```mermaid\n" + lifecycle_mermaid() + "```\n\n"
        "The same graph as a layered drawing (no Mermaid needed):\n\n"
        "![Case lifecycle](lifecycle.svg)\n"
    )


def write_docs(folder: Path) -> list[Path]:
    """Write ``lifecycle.md`` and ``lifecycle.svg`` into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("lifecycle.md", lifecycle_markdown()), ("lifecycle.svg", lifecycle_svg())):
        path = folder / name
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - a developer's command
    for written_path in write_docs(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")):
        print(written_path)
