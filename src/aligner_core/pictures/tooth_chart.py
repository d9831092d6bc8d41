"""The tooth chart as SVG: both arches as a dentist facing the patient sees them.

The upper arch runs UR8 .. UR1 UL1 .. UL8 across the top and the lower arch LR8 .. LL8 below,
so the patient's right is on the viewer's left. Every tooth is one ``<g>`` with a stable id
(``tooth-18``, FDI), ``data-fdi``, ``data-state``, ``data-label`` and a ``<title>``, so a shell
can make it clickable and a screen reader can name it. Each state is a colour and a symbol.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

from aligner_core.domain.teeth import (
    PERMANENT_TEETH,
    PRIMARY_TEETH,
    Notation,
    Tooth,
    ToothChart,
    ToothState,
)
from aligner_core.errors import FieldError, ValidationError
from aligner_core.pictures._svg import (
    FONT,
    INK,
    MUTED,
    RULE,
    Element,
    check_id_prefix,
    check_subject,
    clean_text,
    document,
    el,
    num,
    text_width,
)
from aligner_core.pictures._teeth_art import (
    CROWN_HEIGHT,
    MAX_ROOT,
    STATE_NAMES,
    draw_tooth,
    shape_of,
)

__all__ = ["Dentition", "chart_order", "tooth_chart_svg"]

Dentition = Literal["permanent", "mixed"]
LegendChoice = Literal["all", "used", "none"]

CELL: Final = 50.0
"""Width of one tooth's column."""
MIDLINE_GAP: Final = 14.0
MARGIN: Final = 28.0
WIDTH: Final = MARGIN * 2 + CELL * 16 + MIDLINE_GAP
_NOTATION_NAMES: Final = {
    Notation.FDI: "FDI notation",
    Notation.UNIVERSAL: "Universal notation",
    Notation.PALMER: "Palmer notation",
}
_LEGEND_ITEM_HEIGHT: Final = 48.0


def column_of(tooth: Tooth) -> int:
    """0..15 from the viewer's left: the patient's right third molar is column 0."""
    right = tooth.quadrant in (1, 4, 5, 8)
    return 8 - tooth.position if right else 7 + tooth.position


def column_x(column: int) -> float:
    """The centre of a column on the page."""
    return MARGIN + CELL * column + CELL / 2 + (MIDLINE_GAP if column >= 8 else 0.0)


def chart_order(*, primary: bool = False) -> tuple[tuple[Tooth, ...], ...]:
    """The chart's rows top to bottom, each from the viewer's left to right.

    Permanent: upper, lower. With ``primary``: upper, upper primary, lower primary, lower.
    """

    def row(teeth: Iterable[Tooth], upper: bool) -> tuple[Tooth, ...]:
        chosen = [t for t in teeth if (t.quadrant in (1, 2, 5, 6)) == upper]
        return tuple(sorted(chosen, key=column_of))

    if not primary:
        return (row(PERMANENT_TEETH, True), row(PERMANENT_TEETH, False))
    return (
        row(PERMANENT_TEETH, True),
        row(PRIMARY_TEETH, True),
        row(PRIMARY_TEETH, False),
        row(PERMANENT_TEETH, False),
    )


def _check(
    chart: ToothChart, notation: Notation | str, dentition: str, legend: str
) -> tuple[Notation, bool]:
    chosen, problems = check_subject(chart, ToothChart, "$.chart", "tooth_chart", notation)
    if dentition not in ("permanent", "mixed"):
        problems.append(FieldError.of("not_one_of", "$.dentition", choices="permanent, mixed"))
    if legend not in ("all", "used", "none"):
        problems.append(FieldError.of("not_one_of", "$.legend", choices="all, used, none"))
    if problems:
        raise ValidationError(problems, subject="tooth chart picture")
    primary = dentition == "mixed" or any(m.tooth.is_primary for m in chart.marks)
    return chosen, primary


def _tooth_title(tooth: Tooth, state: ToothState, notation: Notation) -> str:
    others = [
        f"{name} {tooth.format(n)}"
        for n, name in ((Notation.FDI, "FDI"), (Notation.UNIVERSAL, "Universal"))
        if n is not notation
    ]
    if notation is not Notation.PALMER:
        others.append(f"Palmer {tooth.palmer}")
    return f"Tooth {tooth.format(notation)} ({', '.join(others)}): {STATE_NAMES[state]}"


def _tooth(
    tooth: Tooth,
    state: ToothState,
    notation: Notation,
    occlusal: float,
    label_y: float,
    prefix: str,
) -> Element:
    cx = column_x(column_of(tooth))
    shape = shape_of(tooth, cx, occlusal)
    label = tooth.format(notation)
    marked = state is not ToothState.NONE
    hit_top, hit_bottom = min(shape.top, label_y - 14), max(shape.bottom, label_y + 4)
    return el(
        "g",
        {
            "id": f"{prefix}tooth-{tooth.fdi}",
            "class_": f"tooth state-{state.value}",
            "data_fdi": str(tooth.fdi),
            "data_state": state.value,
            "data_label": label,
        },
        el("title", {}, _tooth_title(tooth, state, notation)),
        el(
            "rect",
            {
                "class_": "hit",
                "x": cx - CELL / 2,
                "y": hit_top - 2,
                "width": CELL,
                "height": hit_bottom - hit_top + 4,
                "fill": "#ffffff",
                "fill_opacity": "0",
            },
        ),
        draw_tooth(shape, state, reach=CELL / 2),
        el(
            "text",
            {
                "class_": "label",
                "x": cx,
                "y": label_y,
                "text_anchor": "middle",
                "font_size": 13.5,
                "font_weight": "700" if marked else "500",
                "fill": INK if marked else MUTED,
            },
            label,
        ),
    )


def _caption(x: float, y: float, text: str, anchor: str) -> Element:
    return el(
        "text",
        {
            "x": x,
            "y": y,
            "text_anchor": anchor,
            "font_size": 11,
            "font_weight": "600",
            "letter_spacing": "0.08em",
            "fill": MUTED,
        },
        text.upper(),
    )


def _legend(states: list[ToothState], top: float, prefix: str) -> tuple[Element, float]:
    """Legend items in rows of up to four columns; returns the group and its height."""
    widest = max(text_width(STATE_NAMES[s], 13.5) for s in states)
    item_width = max(170.0, 40.0 + widest)
    columns = max(1, min(len(states), int((WIDTH - 2 * MARGIN) // item_width)))
    rows = -(-len(states) // columns)
    left = (WIDTH - columns * item_width) / 2
    items: list[Element] = []
    for i, state in enumerate(states):
        row, column = divmod(i, columns)
        x = left + column * item_width
        y = top + row * _LEGEND_ITEM_HEIGHT
        # a small lower molar: crown up, roots down, the way a tooth icon is read
        shape = shape_of(Tooth(46), x + 15, y + 6, scale=0.62)
        items.append(
            el(
                "g",
                {
                    "id": f"{prefix}legend-{state.value}",
                    "class_": "legend-item",
                    "data_state": state.value,
                },
                draw_tooth(shape, state, reach=13.0),
                el(
                    "text",
                    {"x": x + 38, "y": y + 23, "font_size": 13.5, "fill": INK},
                    STATE_NAMES[state],
                ),
            )
        )
    group = el("g", {"class_": "legend", "role": "list"}, items)
    return group, rows * _LEGEND_ITEM_HEIGHT


def tooth_chart_svg(
    chart: ToothChart,
    *,
    notation: Notation | str = Notation.FDI,
    dentition: Dentition = "permanent",
    title: str | None = None,
    legend: LegendChoice = "all",
    id_prefix: str = "",
) -> str:
    """The chart as an SVG document (text), the same bytes for the same arguments.

    ``notation`` labels the teeth (FDI, Universal or Palmer); ids stay FDI (``tooth-18``).
    ``dentition="mixed"`` adds the primary teeth (51..85) between the arches; a chart that
    marks a primary tooth shows them whatever ``dentition`` says, so no mark is hidden.
    ``legend`` names every state (``"all"``, the default), only those in the chart
    (``"used"``), or is left out (``"none"``). ``id_prefix`` goes before every id, for pages
    that show two charts. Bad options raise :class:`~aligner_core.errors.ValidationError`.

    .. versionadded:: 0.1
    """
    chosen, primary = _check(chart, notation, dentition, legend)
    prefix = check_id_prefix(id_prefix)
    heading = clean_text(title, 200) if title else ""
    rows = chart_order(primary=primary)

    body: list[Element] = []
    y = 20.0
    if heading:
        body.append(
            el(
                "text",
                {"x": MARGIN, "y": y + 18, "font_size": 18, "font_weight": "700", "fill": INK},
                heading,
            )
        )
        y += 28
    y += 14
    body.append(
        el(
            "text",
            {"x": MARGIN, "y": y, "font_size": 12.5, "fill": MUTED},
            f"{_NOTATION_NAMES[chosen]} \u00b7 as seen facing the patient",
        )
    )
    y += 26
    body.append(_caption(MARGIN, y, "Upper right", "start"))
    body.append(_caption(WIDTH - MARGIN, y, "Upper left", "end"))
    chart_top = y + 6

    teeth: list[Element] = []
    # Vertical rhythm per row: label, then the tooth (root away from the occlusal plane).
    row_height = CROWN_HEIGHT + MAX_ROOT
    y = chart_top + 18  # first label baseline
    occlusal_lines: list[float] = []
    for index, row in enumerate(rows):
        upper = row[0].quadrant in (1, 2, 5, 6)
        scale = 0.78 if row[0].is_primary else 1.0
        height = row_height * scale
        if upper:
            label_y = y
            occlusal = y + 6 + height
            y = occlusal
        else:
            occlusal = y
            label_y = y + height + 18
            y = label_y
        for tooth in row:
            teeth.append(_tooth(tooth, chart.state_of(tooth), chosen, occlusal, label_y, prefix))
        upper_next = index + 1 < len(rows) and rows[index + 1][0].quadrant in (1, 2, 5, 6)
        if upper and not upper_next:
            occlusal_lines.append(y + 11)
            y += 22  # the gap between the arches
        else:
            y += 22 if upper else 20
    chart_bottom = y
    midline_x = MARGIN + CELL * 8 + MIDLINE_GAP / 2
    body.append(
        el(
            "g",
            {"class_": "guides", "aria_hidden": "true"},
            el(
                "line",
                {
                    "x1": midline_x,
                    "y1": chart_top,
                    "x2": midline_x,
                    "y2": chart_bottom - 16,
                    "stroke": RULE,
                    "stroke_width": 1,
                    "stroke_dasharray": "4 4",
                },
            ),
            (
                el(
                    "line",
                    {
                        "x1": MARGIN,
                        "y1": line_y,
                        "x2": WIDTH - MARGIN,
                        "y2": line_y,
                        "stroke": RULE,
                        "stroke_width": 1,
                    },
                )
                for line_y in occlusal_lines
            ),
        )
    )
    body.append(el("g", {"class_": "teeth", "role": "list"}, teeth))
    body.append(_caption(MARGIN, chart_bottom, "Lower right", "start"))
    body.append(_caption(WIDTH - MARGIN, chart_bottom, "Lower left", "end"))
    height = chart_bottom + 16

    if legend != "none":
        used = {m.state for m in chart.marks}
        states = [s for s in ToothState if legend == "all" or s in used]
        if states:
            height += 8
            body.append(
                el(
                    "line",
                    {
                        "x1": MARGIN,
                        "y1": height,
                        "x2": WIDTH - MARGIN,
                        "y2": height,
                        "stroke": RULE,
                        "stroke_width": 1,
                    },
                )
            )
            group, legend_height = _legend(states, height + 8, prefix)
            body.append(group)
            height += legend_height + 18
    height += 8

    marked = len(chart.marks)
    label = heading or "Tooth chart"
    aria = f"{label}, {_NOTATION_NAMES[chosen]}: " + (
        "no tooth marked"
        if not marked
        else "; ".join(
            f"{m.tooth.format(chosen)} {STATE_NAMES[m.state].lower()}" for m in chart.marks
        )
    )
    root = el(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "width": WIDTH,
            "height": height,
            "viewBox": f"0 0 {num(WIDTH)} {num(height)}",
            "role": "img",
            "aria_label": clean_text(aria, 2000),
            "class_": "aligner-tooth-chart",
            "font_family": FONT,
        },
        el("title", {}, label),
        el("rect", {"width": "100%", "height": "100%", "fill": "#ffffff"}),
        body,
    )
    return document(root)
