"""Who in the lab works on a case: an admin assigns it, a planner takes an unassigned one.

The assignee is a planner or production user of the case's network; the
assignment is a line of the history and the assignee is told (the e-mail names
the case number only).
"""

from __future__ import annotations

from uuid import UUID

import attrs

from aligner_core.commands import AssignCase, TakeCase
from aligner_core.domain.accounts import Role
from aligner_core.domain.cases import Case
from aligner_core.domain.events import EventType
from aligner_core.errors import ValidationError
from aligner_core.service.handlers._common import active_member
from aligner_core.service.pipeline import Change, Handler, Step

__all__ = ["ASSIGNABLE", "HANDLERS"]

#: The roles a case is assigned to in the lab.
ASSIGNABLE = frozenset({Role.PLANNER, Role.PRODUCTION})


def _assigned(case: Case, assignee_id: UUID | None) -> Change:
    return Change(
        attrs.evolve(case, assigned_to=assignee_id),
        EventType.CASE_ASSIGNED,
        {"assignee": assignee_id, "previous": case.assigned_to},
        subject_id=assignee_id,
    )


def _assign(step: Step[AssignCase]) -> Change:
    assignee_id = step.command.assignee_id
    if assignee_id is not None and not active_member(step, assignee_id, ASSIGNABLE):
        raise ValidationError.of("assignee_invalid", "$.assignee_id")
    return _assigned(step.case, assignee_id)


def _take(step: Step[TakeCase]) -> Change:
    return _assigned(step.case, step.actor.account_id)


HANDLERS: dict[type, Handler] = {AssignCase: _assign, TakeCase: _take}
