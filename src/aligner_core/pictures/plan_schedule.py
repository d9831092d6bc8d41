"""The plan schedule as SVG: the table a doctor reads before approving a plan version.

Steps run across (columns 1..N), teeth down (rows, upper arch then lower). Each cell shows
what happens at that step: IPR in mm drawn on the contact between the two teeth's rows,
attachments placed (+) or removed (-), checkpoint steps highlighted; steps past an arch's own
step count are hatched (no aligner on that arch). A header gives the plan's summary.

Which rows: per arch, every permanent tooth from the first to the last tooth the schedule
touches, in the chart's order (the patient's right first), plus any primary tooth it touches.
Untouched teeth *between* touched ones stay, so neighbours are always adjacent rows and an
IPR contact sits on the line between them; untouched teeth outside that span are left out,
which keeps a typical anterior plan to a handful of rows instead of 32 mostly empty ones.

Ids: one ``<g id="step-N">`` per step column and one ``<g id="tooth-XX">`` (FDI) per row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Final

import attrs

from aligner_core.domain.plans import PlanStep, PlanVersion
from aligner_core.domain.teeth import Arch, Notation, Tooth
from aligner_core.errors import ValidationError
from aligner_core.pictures._svg import (
    FONT,
    INK,
    MUTED,
    Element,
    check_id_prefix,
    check_subject,
    clean_text,
    document,
    el,
    num,
    text_width,
)

__all__ = ["plan_schedule_svg", "schedule_rows"]

MARGIN: Final = 24.0
LABEL_WIDTH: Final = 72.0
ROW: Final = 28.0
BAND: Final = 24.0
MIN_WIDTH: Final = 760.0
PLACED: Final = "#2f855a"
REMOVED: Final = "#c53030"
IPR_INK: Final = "#1a4f8a"
IPR_FILL: Final = "#e3effa"
CHECKPOINT: Final = "#fbe7b5"
CHECKPOINT_INK: Final = "#975a16"
ZEBRA: Final = "#f7f9fb"
BAND_FILL: Final = "#eef2f6"
HATCH: Final = "#b8c2cc"
MINUS: Final = "\u2212"


def _arch_key(tooth: Tooth) -> tuple[int, int]:
    """Order along an arch as the chart draws it: the patient's right third molar first."""
    right = tooth.quadrant in (1, 4, 5, 8)
    return (-tooth.position if right else tooth.position, int(tooth.is_primary))


def _touched(steps: Iterable[PlanStep]) -> set[Tooth]:
    teeth: set[Tooth] = set()
    for step in steps:
        teeth.update(step.attachments_placed, step.attachments_removed)
        for contact in step.ipr:
            teeth.update((contact.first, contact.second))
    return teeth


def schedule_rows(plan: PlanVersion) -> dict[Arch, tuple[Tooth, ...]]:
    """The teeth drawn as rows, per arch, top to bottom (see the module docstring)."""
    touched = _touched(plan.steps)
    rows: dict[Arch, tuple[Tooth, ...]] = {}
    for arch in (Arch.UPPER, Arch.LOWER):
        mine = [t for t in touched if t.arch is arch]
        if not mine:
            rows[arch] = ()
            continue
        low = min(_arch_key(t)[0] for t in mine)
        high = max(_arch_key(t)[0] for t in mine)
        quadrants = (1, 2) if arch is Arch.UPPER else (4, 3)
        span = {
            Tooth(q * 10 + p)
            for q in quadrants
            for p in range(1, 9)
            if low <= _arch_key(Tooth(q * 10 + p))[0] <= high
        }
        rows[arch] = tuple(sorted(span | set(mine), key=_arch_key))
    return rows


def _mm(value: float) -> str:
    """0.2 -> ``0.2``, 0.25 -> ``0.25``, 1 -> ``1``."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _listing(numbers: list[int]) -> str:
    if len(numbers) <= 1:
        return "".join(map(str, numbers))
    return ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"


@attrs.frozen
class _Grid:
    """Where things go: the x of each step column and the y of each row."""

    left: float
    step_width: float
    row_top: dict[Tooth, float]
    arch_span: dict[Arch, tuple[float, float]]

    def x(self, step: int) -> float:
        """The left edge of a step's column."""
        return self.left + (step - 1) * self.step_width

    def cx(self, step: int) -> float:
        return self.x(step) + self.step_width / 2

    def cy(self, tooth: Tooth) -> float:
        return self.row_top[tooth] + ROW / 2


def _stat(x: float, y: float, label: str, value: str, detail: str = "") -> Element:
    return el(
        "g",
        {"class_": "stat"},
        el(
            "text",
            {
                "x": x,
                "y": y,
                "font_size": 10.5,
                "font_weight": "600",
                "letter_spacing": "0.06em",
                "fill": MUTED,
            },
            label.upper(),
        ),
        el(
            "text", {"x": x, "y": y + 21, "font_size": 16, "font_weight": "700", "fill": INK}, value
        ),
        el("text", {"x": x, "y": y + 37, "font_size": 11, "fill": MUTED}, detail)
        if detail
        else None,
    )


def _header(plan: PlanVersion, width: float) -> tuple[list[Element], float]:
    s = plan.summary
    parts: list[Element] = [
        el(
            "text",
            {"x": MARGIN, "y": 38, "font_size": 18, "font_weight": "700", "fill": INK},
            f"Treatment plan \u00b7 version {plan.number}",
        ),
        el(
            "text",
            {"x": width - MARGIN, "y": 38, "font_size": 12, "fill": MUTED, "text_anchor": "end"},
            f"uploaded {plan.uploaded_at.date().isoformat()}",
        ),
    ]
    weeks = s.estimated_duration_weeks
    stats = [
        ("Upper arch", _plural(s.upper_steps, "step") if s.upper_steps else "none", ""),
        ("Lower arch", _plural(s.lower_steps, "step") if s.lower_steps else "none", ""),
        ("Total IPR", f"{_mm(s.total_ipr_mm)} mm", ""),
        ("Attachments", str(s.attachment_count), ""),
        ("Wear", f"{int(s.wear_schedule)} days", "per aligner"),
        (
            "Est. duration",
            f"{weeks:.0f} weeks" if weeks == int(weeks) else f"\u2248 {weeks:.1f} weeks",
            f"{s.estimated_duration_days} days",
        ),
    ]
    per_row = max(1, min(len(stats), int((width - 2 * MARGIN) // 118)))
    box = (width - 2 * MARGIN) / per_row
    y = 62.0
    for i, (label, value, detail) in enumerate(stats):
        row, column = divmod(i, per_row)
        parts.append(_stat(MARGIN + column * box, y + row * 50, label, value, detail))
    rows = -(-len(stats) // per_row)
    return parts, y + rows * 50 + 6


def _hatch_pattern(prefix: str) -> Element:
    return el(
        "pattern",
        {
            "id": f"{prefix}hatch",
            "width": 6,
            "height": 6,
            "patternUnits": "userSpaceOnUse",
            "patternTransform": "rotate(45)",
        },
        el("rect", {"width": 6, "height": 6, "fill": "#f3f5f7"}),
        el("line", {"x1": 0, "y1": 0, "x2": 0, "y2": 6, "stroke": HATCH, "stroke_width": 1.6}),
    )


def _attachment(cx: float, cy: float, placed: bool, r: float = 7.0) -> Element:
    colour = PLACED if placed else REMOVED
    bar = r * 0.55
    strokes = [el("line", {"x1": cx - bar, "y1": cy, "x2": cx + bar, "y2": cy})]
    if placed:
        strokes.append(el("line", {"x1": cx, "y1": cy - bar, "x2": cx, "y2": cy + bar}))
    return el(
        "g",
        {"class_": "attachment-placed" if placed else "attachment-removed"},
        el("circle", {"cx": cx, "cy": cy, "r": r, "fill": colour}),
        el(
            "g",
            {"stroke": "#ffffff", "stroke_width": 1.9, "stroke_linecap": "round"},
            strokes,
        ),
    )


def _ipr_pill(cx: float, cy: float, text: str, font: float) -> list[Element]:
    w = max(text_width(text, font, bold=True) + 6, 18.0)
    return [
        el(
            "rect",
            {
                "x": cx - w / 2,
                "y": cy - 7,
                "width": w,
                "height": 14,
                "rx": 7,
                "fill": IPR_FILL,
                "stroke": IPR_INK,
                "stroke_width": 1,
            },
        ),
        el(
            "text",
            {
                "x": cx,
                "y": cy + font * 0.36,
                "text_anchor": "middle",
                "font_size": font,
                "font_weight": "700",
                "fill": IPR_INK,
            },
            text,
        ),
    ]


def _step_title(step: PlanStep, notation: Notation) -> str:
    bits = [f"Step {step.number}"]
    if step.checkpoint:
        bits.append("checkpoint")
    for contact in step.ipr:
        a, b = sorted((contact.first, contact.second), key=_arch_key)
        bits.append(
            f"IPR {_mm(contact.amount_mm)} mm between {a.format(notation)} and {b.format(notation)}"
        )
    if step.attachments_placed:
        teeth = ", ".join(t.format(notation) for t in step.attachments_placed)
        bits.append(f"attachments placed on {teeth}")
    if step.attachments_removed:
        teeth = ", ".join(t.format(notation) for t in step.attachments_removed)
        bits.append(f"attachments removed from {teeth}")
    note = clean_text(step.note, 300)
    if note:
        bits.append(f"note: {note}")
    return "; ".join(bits)


def _step_column(
    step: PlanStep,
    grid: _Grid,
    arch_steps: dict[Arch, int],
    notation: Notation,
    top: float,
    bottom: float,
    prefix: str,
) -> Element:
    n = step.number
    x, cx, sw = grid.x(n), grid.cx(n), grid.step_width
    font = 10.5 if sw >= 26 else 9.5
    parts: list[Element | None] = [el("title", {}, _step_title(step, notation))]
    if step.checkpoint:
        parts.append(
            el(
                "rect",
                {
                    "class_": "checkpoint",
                    "x": x + 1,
                    "y": top,
                    "width": sw - 2,
                    "height": bottom - top,
                    "rx": 3,
                    "fill": CHECKPOINT,
                    "fill_opacity": "0.75",
                },
            )
        )
    for arch, (y0, y1) in grid.arch_span.items():
        if n > arch_steps[arch]:
            parts.append(
                el(
                    "rect",
                    {
                        "class_": "no-aligner",
                        "x": x,
                        "y": y0,
                        "width": sw,
                        "height": y1 - y0,
                        "fill": f"url(#{prefix}hatch)",
                    },
                )
            )
    parts.append(
        el(
            "text",
            {
                "class_": "step-number",
                "x": cx,
                "y": top + 17,
                "text_anchor": "middle",
                "font_size": 11.5 if sw >= 26 else 10,
                "font_weight": "700" if step.checkpoint else "500",
                "fill": CHECKPOINT_INK if step.checkpoint else INK,
            },
            str(n),
        )
    )
    # IPR: summed per contact, drawn on the line between the two rows (or joining them).
    amounts: dict[tuple[Tooth, Tooth], float] = defaultdict(float)
    for contact in step.ipr:
        a, b = sorted((contact.first, contact.second), key=_arch_key)
        amounts[a, b] += contact.amount_mm
    ipr_marks: list[Element] = []
    for (a, b), mm in sorted(amounts.items(), key=lambda kv: (kv[0][0].fdi, kv[0][1].fdi)):
        ya, yb = grid.cy(a), grid.cy(b)
        if abs(yb - ya) > ROW * 1.5:  # not neighbours: join the two rows
            ipr_marks.append(
                el(
                    "line",
                    {
                        "x1": cx,
                        "y1": ya,
                        "x2": cx,
                        "y2": yb,
                        "stroke": IPR_INK,
                        "stroke_width": 1.2,
                        "stroke_dasharray": "2 2",
                    },
                )
            )
        ipr_marks.append(
            el(
                "g",
                {
                    "class_": "ipr",
                    "data_contact": f"{a.fdi}-{b.fdi}",
                    "data_mm": _mm(mm),
                },
                _ipr_pill(cx, (ya + yb) / 2, _mm(mm), font),
            )
        )
    removed = set(step.attachments_removed)
    placed = set(step.attachments_placed)
    attachment_marks: list[Element] = []
    for tooth in sorted(placed | removed, key=lambda t: t.fdi):
        cy = grid.cy(tooth)
        both = tooth in placed and tooth in removed
        shift = 4.5 if both else 0.0
        group = []
        if tooth in placed:
            group.append(_attachment(cx - shift, cy - (5 if both else 0), True, 5.5 if both else 7))
        if tooth in removed:
            group.append(
                _attachment(cx + shift, cy + (5 if both else 0), False, 5.5 if both else 7)
            )
        attachment_marks.append(el("g", {"data_fdi": str(tooth.fdi)}, group))
    parts.extend(attachment_marks)
    parts.extend(ipr_marks)  # over the attachments: a contact pill must stay readable
    return el(
        "g",
        {
            "id": f"{prefix}step-{n}",
            "class_": "step" + (" checkpoint" if step.checkpoint else ""),
            "data_step": str(n),
            "data_checkpoint": "true" if step.checkpoint else "false",
        },
        *parts,
    )


def _legend(y: float, width: float, prefix: str) -> tuple[Element, float]:
    items: list[tuple[str, list[Element]]] = []
    items.append(("Attachment placed", [_attachment(8, 0, True)]))
    items.append(("Attachment removed", [_attachment(8, 0, False)]))
    items.append(("IPR in mm before the step, at the contact", _ipr_pill(12, 0, "0.2", 10)))
    items.append(
        (
            "Checkpoint step",
            [
                el(
                    "rect",
                    {
                        "x": 2,
                        "y": -9,
                        "width": 14,
                        "height": 18,
                        "rx": 3,
                        "fill": CHECKPOINT,
                        "stroke": CHECKPOINT_INK,
                        "stroke_width": 1,
                    },
                )
            ],
        )
    )
    items.append(
        (
            "No aligner on this arch",
            [
                el(
                    "rect",
                    {
                        "x": 2,
                        "y": -9,
                        "width": 14,
                        "height": 18,
                        "fill": f"url(#{prefix}hatch)",
                        "stroke": HATCH,
                        "stroke_width": 1,
                    },
                )
            ],
        )
    )
    x, line = MARGIN, 0
    placed: list[Element] = []
    for text, glyph in items:
        item_width = 34 + text_width(text, 12.5)
        if x + item_width > width - MARGIN and x > MARGIN:
            x, line = MARGIN, line + 1
        cy = y + 12 + line * 26
        placed.append(
            el(
                "g",
                {"class_": "legend-item", "transform": f"translate({num(x)} {num(cy)})"},
                glyph,
                el("text", {"x": 30, "y": 4.5, "font_size": 12.5, "fill": INK}, text),
            )
        )
        x += item_width + 14
    return el("g", {"class_": "legend"}, placed), (line + 1) * 26


def plan_schedule_svg(
    plan: PlanVersion, *, notation: Notation | str = Notation.FDI, id_prefix: str = ""
) -> str:
    """The plan version's summary and per-step schedule as an SVG document (text).

    A plan without a per-step schedule shows its summary and says so. ``notation`` labels
    the rows; ids stay FDI. ``id_prefix`` goes before every id. Deterministic: the same
    plan gives the same bytes. Bad arguments raise
    :class:`~aligner_core.errors.ValidationError`.

    .. versionadded:: 0.1
    """
    chosen, problems = check_subject(plan, PlanVersion, "$.plan", "plan_version", notation)
    if problems:
        raise ValidationError(problems, subject="plan schedule picture")
    prefix = check_id_prefix(id_prefix)

    steps = plan.steps
    count = len(steps)
    step_width = min(34.0, max(22.0, (MIN_WIDTH - 2 * MARGIN - LABEL_WIDTH) / max(count, 1)))
    grid_width = LABEL_WIDTH + count * step_width
    width = max(MIN_WIDTH, 2 * MARGIN + grid_width)
    header, y = _header(plan, width)
    body: list[Element] = [*header]
    arch_steps = {Arch.UPPER: plan.summary.upper_steps, Arch.LOWER: plan.summary.lower_steps}

    if not steps:
        body.append(
            el(
                "g",
                {"class_": "no-schedule"},
                el(
                    "rect",
                    {
                        "x": MARGIN,
                        "y": y + 8,
                        "width": width - 2 * MARGIN,
                        "height": 44,
                        "rx": 6,
                        "fill": BAND_FILL,
                    },
                ),
                el(
                    "text",
                    {"x": MARGIN + 16, "y": y + 35, "font_size": 13, "fill": INK},
                    "This version has no per-step schedule: the summary above is all it gives.",
                ),
            )
        )
        height = y + 70
        aria = f"Treatment plan version {plan.number}: summary only, no per-step schedule"
        return _finish(body, width, height, aria, prefix, with_hatch=False)

    rows = schedule_rows(plan)
    left = MARGIN + LABEL_WIDTH
    top = y + 6
    header_bottom = top + 26
    cursor = header_bottom
    row_top: dict[Tooth, float] = {}
    arch_span: dict[Arch, tuple[float, float]] = {}
    row_parts: list[Element] = []
    band_parts: list[Element] = []  # drawn over the grid lines
    for arch in (Arch.UPPER, Arch.LOWER):
        band_parts.append(
            el(
                "g",
                {"id": f"{prefix}arch-{arch.value}", "class_": "arch"},
                el(
                    "rect",
                    {
                        "x": MARGIN,
                        "y": cursor,
                        "width": grid_width,
                        "height": BAND,
                        "fill": BAND_FILL,
                    },
                ),
                el(
                    "text",
                    {
                        "x": MARGIN + 8,
                        "y": cursor + 16,
                        "font_size": 10.5,
                        "font_weight": "700",
                        "letter_spacing": "0.08em",
                        "fill": MUTED,
                    },
                    f"{arch.value} arch \u00b7 {_plural(arch_steps[arch], 'step')}".upper(),
                ),
            )
        )
        cursor += BAND
        start = cursor
        teeth = rows[arch]
        if not teeth:
            note = (
                "No aligners on this arch"
                if arch_steps[arch] == 0
                else "No IPR or attachments on this arch"
            )
            row_parts.append(
                el(
                    "text",
                    {"x": MARGIN + 8, "y": cursor + 18, "font_size": 11.5, "fill": MUTED},
                    note,
                )
            )
            cursor += ROW
        for i, tooth in enumerate(teeth):
            row_top[tooth] = cursor
            row_parts.append(
                el(
                    "g",
                    {
                        "id": f"{prefix}tooth-{tooth.fdi}",
                        "class_": "tooth-row",
                        "data_fdi": str(tooth.fdi),
                        "data_label": tooth.format(chosen),
                    },
                    el("title", {}, f"Tooth {tooth.format(chosen)} (FDI {tooth.fdi})"),
                    el(
                        "rect",
                        {
                            "x": MARGIN,
                            "y": cursor,
                            "width": grid_width,
                            "height": ROW,
                            "fill": ZEBRA if i % 2 else "#ffffff",
                        },
                    ),
                    el(
                        "text",
                        {
                            "x": MARGIN + 10,
                            "y": cursor + 18,
                            "font_size": 13,
                            "font_weight": "600",
                            "fill": INK,
                        },
                        tooth.format(chosen),
                    ),
                ),
            )
            cursor += ROW
        arch_span[arch] = (start, cursor)
    bottom = cursor
    grid = _Grid(left, step_width, row_top, arch_span)

    lines: list[Element] = []
    for n in range(1, count + 2):
        strong = n == 1 or (n - 1) % 5 == 0 or n == count + 1
        lines.append(
            el(
                "line",
                {
                    "x1": grid.x(n),
                    "y1": top + 4,
                    "x2": grid.x(n),
                    "y2": bottom,
                    "stroke": "#9aa5b1" if strong else "#e4e7eb",
                    "stroke_width": 1,
                },
            )
        )
    for y_line in (header_bottom, bottom):
        lines.append(
            el(
                "line",
                {
                    "x1": MARGIN,
                    "y1": y_line,
                    "x2": MARGIN + grid_width,
                    "y2": y_line,
                    "stroke": "#9aa5b1",
                    "stroke_width": 1,
                },
            )
        )
    step_label = el(
        "text",
        {
            "x": MARGIN + 10,
            "y": top + 17,
            "font_size": 10.5,
            "font_weight": "700",
            "letter_spacing": "0.08em",
            "fill": MUTED,
        },
        "STEP",
    )
    columns = [_step_column(step, grid, arch_steps, chosen, top, bottom, prefix) for step in steps]
    body.extend(
        [
            el("g", {"class_": "rows"}, row_parts),
            el("g", {"class_": "grid", "aria_hidden": "true"}, lines, step_label),
            el("g", {"class_": "arches"}, band_parts),
            el("g", {"class_": "steps"}, columns),
        ]
    )
    legend, legend_height = _legend(bottom + 18, width, prefix)
    body.append(legend)
    checkpoints = [s.number for s in steps if s.checkpoint]
    aria = (
        f"Treatment plan version {plan.number}: {_plural(count, 'step')}, "
        f"{_mm(plan.summary.total_ipr_mm)} mm IPR, "
        f"{_plural(plan.summary.attachment_count, 'attachment')}"
        + (f", checkpoints at steps {_listing(checkpoints)}" if checkpoints else "")
    )
    return _finish(body, width, bottom + 18 + legend_height + 14, aria, prefix, with_hatch=True)


def _finish(
    body: list[Element], width: float, height: float, aria: str, prefix: str, *, with_hatch: bool
) -> str:
    root = el(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "width": width,
            "height": height,
            "viewBox": f"0 0 {num(width)} {num(height)}",
            "role": "img",
            "aria_label": aria,
            "class_": "aligner-plan-schedule",
            "font_family": FONT,
        },
        el("title", {}, aria.split(":", maxsplit=1)[0]),
        el("defs", {}, _hatch_pattern(prefix)) if with_hatch else None,
        el("rect", {"width": "100%", "height": "100%", "fill": "#ffffff"}),
        body,
    )
    return document(root)
