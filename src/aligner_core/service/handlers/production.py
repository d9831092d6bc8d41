"""Hold and release, cancel, shipping in phases, delivery, close and reopen."""

from __future__ import annotations

import attrs

from aligner_core.commands import Cancel, Close, ConfirmDelivery, Hold, Release, Reopen, Ship
from aligner_core.domain.cases import Shipment
from aligner_core.domain.events import EventType
from aligner_core.service.handlers._common import event_only, for_reason
from aligner_core.service.pipeline import Change, Handler, Step

__all__ = ["HANDLERS"]


def _ship(step: Step[Ship]) -> Change:
    command, case = step.command, step.case
    parcel = Shipment(
        step.deps.ids.new_id(),
        command.carrier,
        command.tracking_number,
        len(case.shipments) + 1,
        command.final,
        step.now,
    )
    return Change(
        attrs.evolve(case, shipments=(*case.shipments, parcel)),
        EventType.CASE_SHIPPED,
        {
            "carrier": command.carrier,
            "tracking_number": command.tracking_number,
            "phase": parcel.phase,
            "final": command.final,
        },
    )


def _confirm_delivery(step: Step[ConfirmDelivery]) -> Change:
    """The named parcel, or the oldest undelivered one (the lifecycle checked there is one)."""
    wanted, case = step.command.shipment_id, step.case
    target = next(
        s for s in case.shipments if s.delivered_at is None and wanted in (None, s.shipment_id)
    )
    shipments = tuple(
        attrs.evolve(s, delivered_at=step.now) if s.shipment_id == target.shipment_id else s
        for s in case.shipments
    )
    return Change(
        attrs.evolve(case, shipments=shipments),
        EventType.DELIVERY_CONFIRMED,
        {"phase": target.phase},
    )


HANDLERS: dict[type, Handler] = {
    Hold: for_reason(EventType.CASE_HELD),
    Release: event_only(EventType.CASE_RELEASED),
    Cancel: for_reason(EventType.CASE_CANCELLED),
    Ship: _ship,
    ConfirmDelivery: _confirm_delivery,
    Close: event_only(EventType.CASE_CLOSED),
    Reopen: event_only(EventType.CASE_REOPENED),
}
