"""Records that arrive after submission: impressions by post and the lab's records requests."""

from __future__ import annotations

import attrs

from aligner_core.commands import (
    CompleteDigitising,
    ReceiveImpressions,
    RequestRecords,
    ShipImpressions,
)
from aligner_core.domain.cases import CaseStatus, RecordsRequest
from aligner_core.domain.events import EventType
from aligner_core.domain.records import ImpressionShipment
from aligner_core.service.pipeline import Change, Handler, Step

__all__ = ["HANDLERS"]


def _ship_impressions(step: Step[ShipImpressions]) -> Change:
    command, case = step.command, step.case
    parcel = ImpressionShipment(
        command.carrier, command.tracking_number, step.now, step.actor.account_id
    )
    return Change(
        attrs.evolve(case, records=attrs.evolve(case.records, impressions=parcel)),
        details={"carrier": command.carrier, "tracking_number": command.tracking_number},
    )


def _receive_impressions(step: Step[ReceiveImpressions]) -> Change:
    case = step.case
    shipment = case.records.impressions
    assert shipment is not None, "the lifecycle lets only shipped impressions be received"
    received = attrs.evolve(shipment, received_at=step.now, received_by=step.actor.account_id)
    return Change(
        attrs.evolve(case, records=attrs.evolve(case.records, impressions=received)),
        EventType.IMPRESSIONS_RECEIVED,
    )


def _complete_digitising(step: Step[CompleteDigitising]) -> Change:
    return Change(step.case, EventType.SCANS_DIGITISED)


def _request_records(step: Step[RequestRecords]) -> Change:
    command, case = step.command, step.case
    request = RecordsRequest(
        kinds=command.kinds,
        reason=command.reason,
        requested_by=step.actor.account_id,
        requested_at=step.now,
        left_status=case.status,
    )
    return Change(
        # the status the lifecycle gave, with the request it needs (a case holds both or neither)
        attrs.evolve(case, status=CaseStatus.AWAITING_RECORDS, records_request=request),
        EventType.RECORDS_REQUESTED,
        {"kinds": ",".join(k.value for k in command.kinds), "reason": command.reason},
    )


HANDLERS: dict[type, Handler] = {
    ShipImpressions: _ship_impressions,
    ReceiveImpressions: _receive_impressions,
    CompleteDigitising: _complete_digitising,
    RequestRecords: _request_records,
}
