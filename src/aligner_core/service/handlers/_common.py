"""Handlers several command families share."""

from __future__ import annotations

from typing import Any

from aligner_core.domain.events import EventType
from aligner_core.service.pipeline import Change, Handler, Step

__all__ = ["event_only", "for_reason"]


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
