"""Hold and release, cancel, shipping in phases, delivery, close and reopen."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from aligner_core.domain.accounts import Account
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import Case, Shipment
from aligner_core.domain.events import EventType
from aligner_core.errors import InvalidTransitionError
from aligner_core.ports import UnitOfWork
from aligner_core.service._base import ServiceBase, _Change

__all__ = ["ProductionCommands"]


class ProductionCommands(ServiceBase):
    """Hold and release, cancel, shipping in phases, delivery, close and reopen."""

    # ------------------------------------------------------------------ hold, cancel, ship, close
    def hold(self, staff_id: UUID, case_id: UUID, reason: str) -> Case:
        return self._act_for_reason(staff_id, case_id, Action.HOLD, EventType.CASE_HELD, reason)

    def release(self, staff_id: UUID, case_id: UUID) -> Case:
        return self._act(staff_id, case_id, Action.RELEASE, event=EventType.CASE_RELEASED)

    def cancel(self, actor_id: UUID, case_id: UUID, reason: str) -> Case:
        return self._act_for_reason(
            actor_id, case_id, Action.CANCEL, EventType.CASE_CANCELLED, reason
        )

    def ship(
        self,
        production_id: UUID,
        case_id: UUID,
        *,
        carrier: str,
        tracking_number: str,
        final: bool = True,
    ) -> Case:
        """Ship phase N (the next one); the last phase moves the case to shipped."""

        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            parcel = Shipment(
                self.ids.new_id(), carrier, tracking_number, len(case.shipments) + 1, final, now
            )
            return _Change(
                attrs.evolve(case, shipments=(*case.shipments, parcel)),
                EventType.CASE_SHIPPED,
                {
                    "carrier": carrier,
                    "tracking_number": tracking_number,
                    "phase": parcel.phase,
                    "final": final,
                },
            )

        return self._act(
            production_id,
            case_id,
            Action.SHIP,
            change,
            args={"carrier": carrier, "tracking_number": tracking_number, "final": final},
        )

    def confirm_delivery(
        self, actor_id: UUID, case_id: UUID, shipment_id: UUID | None = None
    ) -> Case:
        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            pending = [s for s in case.shipments if s.delivered_at is None]
            target = next((s for s in pending if shipment_id in (None, s.shipment_id)), None)
            if target is None:
                raise InvalidTransitionError(
                    case.number,
                    case.status.value,
                    Action.CONFIRM_DELIVERY.value,
                    [
                        "no undelivered shipment"
                        if shipment_id is None
                        else f"shipment {shipment_id} is not awaiting delivery"
                    ],
                )
            shipments = tuple(
                attrs.evolve(s, delivered_at=now) if s.shipment_id == target.shipment_id else s
                for s in case.shipments
            )
            return _Change(
                attrs.evolve(case, shipments=shipments),
                EventType.DELIVERY_CONFIRMED,
                {"phase": target.phase},
            )

        return self._act(actor_id, case_id, Action.CONFIRM_DELIVERY, change)

    def close(self, actor_id: UUID, case_id: UUID) -> Case:
        return self._act(actor_id, case_id, Action.CLOSE, event=EventType.CASE_CLOSED)

    def reopen(self, actor_id: UUID, case_id: UUID) -> Case:
        return self._act(actor_id, case_id, Action.REOPEN, event=EventType.CASE_REOPENED)
