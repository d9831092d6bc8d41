"""What is left of a case once its patient's personal data is erased (GDPR art. 17).

:func:`erased` keeps the case's skeleton (number, kind, status, dates, who did
what) under a pseudonym and removes the patient's details, every file, and
every text someone typed about them (comments, reasons, instructions, notes,
file names). ``retain_clinical`` keeps the clinical record a lab must retain
(prescription choices, tooth chart, plan figures, shipments) without its free
text; without it those go too. Pure: the service stores the result and deletes
the files' bytes.
"""

from __future__ import annotations

from typing import Final

import attrs

from aligner_core.domain.cases import Case, Comment, HistoryEntry
from aligner_core.domain.orders import (
    OrderDetails,
    RefinementOrder,
    ReplacementOrder,
    RetainerOrder,
    RevisionOrder,
)
from aligner_core.domain.patients import Gender, Patient
from aligner_core.domain.plans import PlanVersion
from aligner_core.domain.records import Records
from aligner_core.domain.teeth import ToothChart

__all__ = ["ERASED", "FREE_TEXT_DETAILS", "erased", "pseudonym"]

#: What replaces a text that may have named the patient.
ERASED: Final = "[erased]"
#: History details that hold what someone typed (or a file name): erased with the patient.
FREE_TEXT_DETAILS: Final = frozenset({"reason", "file", "text"})


def pseudonym(number: int) -> str:
    """The name a case's patient is known by after erasure (the first case's number)."""
    return f"Erased patient {number}"


def _order(order: OrderDetails | None) -> OrderDetails | None:
    if isinstance(order, RefinementOrder):
        return attrs.evolve(order, instructions="")
    if isinstance(order, RetainerOrder):
        return attrs.evolve(order, chief_complaint="")
    if isinstance(order, ReplacementOrder):
        return attrs.evolve(order, reason_detail=ERASED if order.reason_detail else "")
    if isinstance(order, RevisionOrder):
        return attrs.evolve(order, instructions=ERASED)
    return order


def _plan(plan: PlanVersion) -> PlanVersion:
    steps = tuple(attrs.evolve(s, note="") for s in plan.steps)
    return attrs.evolve(plan, notes="", steps=steps, simulation_url=None)


def _history(entry: HistoryEntry) -> HistoryEntry:
    details = tuple((k, ERASED if k in FREE_TEXT_DETAILS else v) for k, v in entry.details)
    return attrs.evolve(entry, details=details)


def _comment(comment: Comment) -> Comment:
    return attrs.evolve(comment, text=ERASED)


def erased(case: Case, name: str, *, retain_clinical: bool = True) -> Case:
    """``case`` without its patient's personal data, under the pseudonym ``name``."""
    patient = Patient(case.patient.patient_id, name, Gender.UNDISCLOSED)
    records = Records(
        impression_type=case.records.impression_type,
        confirmed_complete=case.records.confirmed_complete,
        privacy_accepted=case.records.privacy_accepted,
    )
    request = case.request
    if request is not None:
        request = (
            attrs.evolve(request, instructions="", chief_complaint="") if retain_clinical else None
        )
    return attrs.evolve(
        case,
        patient=patient,
        records=records,
        request=request,
        order=_order(case.order),
        chart=case.chart if retain_clinical else ToothChart(),
        plans=tuple(_plan(p) for p in case.plans) if retain_clinical else (),
        shipments=case.shipments if retain_clinical else (),
        shares=(),
        comments=tuple(_comment(c) for c in case.comments),
        history=tuple(_history(h) for h in case.history),
        hold=attrs.evolve(case.hold, reason=ERASED) if case.hold else None,
    )
