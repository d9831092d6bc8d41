"""Lab review and treatment planning: plan versions, approval, rejection, modification, sharing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

import attrs

from aligner_core.domain.accounts import Account, Role
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import Case, CaseStatus, ShareLink
from aligner_core.domain.events import EventType
from aligner_core.domain.plans import PlanStep, PlanSummary, PlanVersion
from aligner_core.errors import NotFoundError, ValidationError
from aligner_core.ports import UnitOfWork
from aligner_core.service._base import ServiceBase, _Change
from aligner_core.service.views import SharedPlan

__all__ = ["PlanningCommands"]


class PlanningCommands(ServiceBase):
    """Lab review and planning: plan versions, approval, rejection, modification, sharing."""

    # ------------------------------------------------------------------ lab review, plans
    def accept_order(self, staff_id: UUID, case_id: UUID) -> Case:
        return self._act(staff_id, case_id, Action.ACCEPT_ORDER, event=EventType.ORDER_ACCEPTED)

    def refuse_order(self, staff_id: UUID, case_id: UUID, reason: str) -> Case:
        return self._act_for_reason(
            staff_id, case_id, Action.REFUSE_ORDER, EventType.ORDER_REFUSED, reason
        )

    def upload_plan(
        self,
        planner_id: UUID,
        case_id: UUID,
        summary: PlanSummary,
        *,
        steps: Iterable[PlanStep] = (),
        simulation_url: str | None = None,
        notes: str = "",
    ) -> Case:
        """Plan version N+1; the earlier versions are superseded."""
        step_list = tuple(steps)

        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            plan = PlanVersion(
                number=len(case.plans) + 1,
                uploaded_at=now,
                uploaded_by=actor.account_id,
                summary=summary,
                steps=step_list,
                simulation_url=simulation_url,
                notes=notes,
            )
            planner = case.assigned_planner_id
            if planner is None and actor.role is Role.PLANNER:
                planner = actor.account_id
            return _Change(
                attrs.evolve(case, plans=(*case.plans, plan), assigned_planner_id=planner),
                EventType.PLAN_UPLOADED,
                {"plan_version": plan.number},
            )

        return self._act(planner_id, case_id, Action.UPLOAD_PLAN, change, args={"plan": summary})

    def accept_plan(self, doctor_id: UUID, case_id: UUID, plan_version: int) -> Case:
        """Approve one named version; a superseded version cannot be approved."""
        return self._act(
            doctor_id,
            case_id,
            Action.ACCEPT_PLAN,
            args={"plan_version": plan_version},
            event=EventType.PLAN_ACCEPTED,
            details={"plan_version": plan_version},
        )

    def reject_plan(self, doctor_id: UUID, case_id: UUID, reason: str) -> Case:
        return self._act_for_reason(
            doctor_id, case_id, Action.REJECT_PLAN, EventType.PLAN_REJECTED, reason
        )

    def request_modification(self, actor_id: UUID, case_id: UUID, reason: str) -> Case:
        """Back to planning with the reason and a new turnaround deadline."""
        return self._act_for_reason(
            actor_id, case_id, Action.REQUEST_MODIFICATION, EventType.MODIFICATION_REQUESTED, reason
        )

    # ------------------------------------------------------------------ sharing
    def share_plan(
        self,
        doctor_id: UUID,
        case_id: UUID,
        plan_version: int,
        *,
        ttl: timedelta = timedelta(days=14),
    ) -> str:
        """A signed, expiring, revocable token that shows one plan version without a login."""
        if ttl <= timedelta(0) or ttl > timedelta(days=365):
            raise ValidationError.single("a link lives between 1 second and 365 days", "$.ttl")
        share_id = self.ids.new_id()

        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            link = ShareLink(share_id, plan_version, actor.account_id, now, now + ttl)
            return _Change(
                attrs.evolve(case, shares=(*case.shares, link)),
                EventType.PLAN_SHARED,
                {"plan_version": plan_version, "share": share_id},
            )

        case = self._act(
            doctor_id, case_id, Action.SHARE_PLAN, change, args={"plan_version": plan_version}
        )
        return self._token(case.case_id, share_id)

    def revoke_share(self, doctor_id: UUID, case_id: UUID, share_id: UUID) -> Case:
        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            if case.share(share_id) is None:
                raise NotFoundError("share link", share_id)
            shares = tuple(
                attrs.evolve(s, revoked_at=now)
                if s.share_id == share_id and s.revoked_at is None
                else s
                for s in case.shares
            )
            return _Change(
                attrs.evolve(case, shares=shares), EventType.SHARE_REVOKED, {"share": share_id}
            )

        return self._act(doctor_id, case_id, Action.REVOKE_SHARE, change)

    def _token(self, case_id: UUID, share_id: UUID) -> str:
        body = case_id.bytes + share_id.bytes
        mac = hmac.new(self._secret, body, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(body + mac).decode().rstrip("=")

    def resolve_share(self, token: str) -> SharedPlan:
        """What a share link shows; ``NotFoundError`` for a bad, expired or revoked link."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError):
            raise NotFoundError("share link", "?") from None
        if len(raw) != 48:
            raise NotFoundError("share link", "?")
        body, mac = raw[:32], raw[32:]
        if not secrets.compare_digest(
            mac, hmac.new(self._secret, body, hashlib.sha256).digest()[:16]
        ):
            raise NotFoundError("share link", "?")
        case_id, share_id = UUID(bytes=body[:16]), UUID(bytes=body[16:])
        with self._uow() as uow:
            case = uow.cases.get(case_id)
        link = case.share(share_id)
        plan = case.plan(link.plan_version) if link else None
        if (
            link is None
            or plan is None
            or not link.is_valid(self.clock.now())
            or case.status is CaseStatus.DELETED
        ):
            raise NotFoundError("share link", share_id)
        return SharedPlan(case.number, case.kind, plan, link.expires_at)
