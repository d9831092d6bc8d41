"""Checks of a prescription against the tooth chart, and of a plan against its request.

A pontic fills a gap: its tooth is missing or planned for extraction, in the
chart or the request. A plan that departs from the request is not refused (the
planner may have reasons) but each difference is a warning the doctor sees
before accepting: more steps than the limit, another wear schedule, IPR or
attachments on teeth the request keeps still, attachments on teeth marked
without.
"""

from __future__ import annotations

from collections.abc import Iterable

from aligner_core.domain.plans import PlanVersion
from aligner_core.domain.prescriptions import TreatmentRequest
from aligner_core.domain.teeth import Tooth, ToothChart, ToothState
from aligner_core.errors import Reason, ReasonKind

__all__ = ["plan_warnings", "pontic_problems"]

_GAPS = (ToothState.MISSING, ToothState.PLANNED_EXTRACTION)
W: ReasonKind = "warning"


def pontic_problems(request: TreatmentRequest, chart: ToothChart) -> list[Reason]:
    """Pontics on teeth that are neither missing nor to be extracted (one per pontic)."""
    extracted = set(request.teeth_to_extract)
    return [
        Reason("pontic_on_present_tooth", {"tooth": p.tooth.fdi}, path=f"$.pontics[{i}]")
        for i, p in enumerate(request.pontics)
        if p.tooth not in extracted and chart.state_of(p.tooth) not in _GAPS
    ]


def _teeth_touched(plan: PlanVersion) -> Iterable[tuple[Tooth, str]]:
    for step in plan.steps:
        for contact in step.ipr:
            yield contact.first, "ipr"
            yield contact.second, "ipr"
        for tooth in step.attachments_placed:
            yield tooth, "attachment"


def plan_warnings(request: TreatmentRequest | None, plan: PlanVersion) -> tuple[Reason, ...]:
    """How ``plan`` departs from ``request``, as warnings (empty without a request)."""
    if request is None:
        return ()
    found: list[Reason] = []
    summary = plan.summary
    if request.step_limit is not None and summary.steps > request.step_limit:
        found.append(
            Reason(
                "plan_past_step_limit",
                {"steps": summary.steps, "limit": request.step_limit},
                kind=W,
            )
        )
    if summary.wear_schedule is not request.wear_schedule:
        found.append(
            Reason(
                "plan_wear_schedule",
                {"plan": int(summary.wear_schedule), "request": int(request.wear_schedule)},
                kind=W,
            )
        )
    keep, without = set(request.teeth_not_to_move), set(request.teeth_without_attachments)
    seen: set[tuple[int, str]] = set()
    for tooth, what in sorted(_teeth_touched(plan), key=lambda t: (t[0].fdi, t[1])):
        if (tooth.fdi, what) in seen:
            continue
        seen.add((tooth.fdi, what))
        if tooth in keep and what == "ipr":
            found.append(Reason("plan_ipr_on_kept_tooth", {"tooth": tooth.fdi}, kind=W))
        elif tooth in keep:
            found.append(Reason("plan_attachment_on_kept_tooth", {"tooth": tooth.fdi}, kind=W))
        elif tooth in without:
            found.append(Reason("plan_attachment_on_excluded_tooth", {"tooth": tooth.fdi}, kind=W))
    return tuple(found)
