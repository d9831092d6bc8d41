"""The application service: the only public way to change state.

Every command takes the acting user's id, loads through one unit of work,
checks permission, asks the lifecycle, applies the change, appends a history
entry, queues the notifications in the same unit of work (outbox), and commits.
"""

from __future__ import annotations

from aligner_core.service._base import SpooledFile, Spooler
from aligner_core.service.accounts import AccountCommands
from aligner_core.service.collaboration import CollaborationCommands
from aligner_core.service.drafts import DraftCommands
from aligner_core.service.planning import PlanningCommands
from aligner_core.service.production import ProductionCommands
from aligner_core.service.reads import CaseQueries

__all__ = ["Service", "SpooledFile", "Spooler"]


class Service(
    AccountCommands,
    DraftCommands,
    PlanningCommands,
    CollaborationCommands,
    ProductionCommands,
    CaseQueries,
):
    """Commands and queries over one storage. Build it with :func:`aligner_core.connect`.

    The command families live one per module (accounts, drafts, planning,
    collaboration, production, reads); the plumbing they share is ``ServiceBase``.
    """
