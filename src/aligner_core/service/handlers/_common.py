"""Handlers several command families share."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from uuid import UUID

from aligner_core.domain.accounts import Role
from aligner_core.domain.events import EventType
from aligner_core.errors import NotFoundError
from aligner_core.service.pipeline import Change, Handler, Step

__all__ = ["active_member", "event_only", "for_reason"]


def active_member(step: Step[Any], account_id: UUID, roles: Collection[Role]) -> bool:
    """Whether ``account_id`` is an active account of the case's network in one of ``roles``
    (who a case may be given to: another doctor, a planner, production staff)."""
    try:
        account = step.uow.accounts.get(account_id)
    except NotFoundError:
        return False
    return (
        account.role in roles and account.is_active and account.network_id == step.case.network_id
    )


def event_only(event: EventType) -> Handler:
    """A command that changes only the case's status (the pipeline does that) and tells people."""

    def handle(step: Step[Any]) -> Change:
        return Change(step.case, event)

    return handle


def for_reason(event: EventType) -> Handler:
    """A command whose reason is a line of the history (and the hold's reason)."""

    def handle(step: Step[Any]) -> Change:
        return Change(step.case, event, {"reason": step.command.reason})

    return handle
