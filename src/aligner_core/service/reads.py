"""Queries: case detail with timeline, allowed actions, blockers, case list, dashboard."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import attrs

from aligner_core.domain import lifecycle, permissions
from aligner_core.domain.accounts import Account
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import Case
from aligner_core.domain.queries import CaseFilter, CaseSummary, Page
from aligner_core.service._base import ServiceBase
from aligner_core.service.views import CaseDetail, Dashboard

__all__ = ["CaseQueries"]


class CaseQueries(ServiceBase):
    """Queries: case detail with timeline, allowed actions, blockers, case list, dashboard."""

    # ------------------------------------------------------------------ queries
    def get_case(self, actor_id: UUID, case_id: UUID) -> CaseDetail:
        """The case as the viewer may see it (plans hidden from collaborators without setup)."""
        with self._uow() as uow:
            actor = self._actor(uow, actor_id)
            case = self._case_for(uow, actor, case_id)
        return self._detail(actor, case)

    def get_case_by_number(self, actor_id: UUID, number: int) -> CaseDetail:
        with self._uow() as uow:
            actor = self._actor(uow, actor_id)
            found = uow.cases.get_by_number(number)
            case = self._case_for(uow, actor, found.case_id)
        return self._detail(actor, case)

    def _detail(self, actor: Account, case: Case) -> CaseDetail:
        rel = permissions.relations(actor, case)
        sees_plans = bool(
            rel
            & {
                permissions.Relation.OWNER,
                permissions.Relation.PLANNER,
                permissions.Relation.PRODUCTION,
                permissions.Relation.ADMIN,
                permissions.Relation.COLLABORATOR_VIEW_SETUP,
            }
        )
        shown = case if sees_plans else attrs.evolve(case, plans=(), shares=())
        return CaseDetail(shown, self._allowed(actor, case), sees_plans)

    def _allowed(self, actor: Account, case: Case) -> frozenset[Action]:
        return frozenset(
            a for a in lifecycle.possible_actions(case) if permissions.can(actor, a, case)
        )

    def allowed_actions(self, actor_id: UUID, case_id: UUID) -> frozenset[Action]:
        """The buttons to draw: actions the state and the user's permissions allow now."""
        return self.get_case(actor_id, case_id).allowed_actions

    def blockers(self, actor_id: UUID, case_id: UUID, action: Action, **args: Any) -> list[str]:
        """Why ``action`` would be refused now (empty: it would go ahead)."""
        with self._uow() as uow:
            actor = self._actor(uow, actor_id)
            case = self._case_for(uow, actor, case_id)
            reasons = (
                [] if permissions.can(actor, action, case) else ["not permitted for this user"]
            )
            parent = self._parent(uow, case) if action is Action.SUBMIT else None
        return reasons + lifecycle.blockers(lifecycle.Attempt(case, action, args, parent))

    def list_cases(self, actor_id: UUID, query: CaseFilter | None = None) -> Page[CaseSummary]:
        with self._uow() as uow:
            actor = self._actor(uow, actor_id)
            return uow.cases.list(permissions.scope_for(actor), query or CaseFilter())

    def dashboard(self, actor_id: UUID) -> Dashboard:
        with self._uow() as uow:
            actor = self._actor(uow, actor_id)
            counts = uow.cases.count_by_status(permissions.scope_for(actor))
        return Dashboard(dict(counts))
