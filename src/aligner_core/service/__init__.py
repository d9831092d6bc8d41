"""The application layer: the facade (``Core``), the command pipeline, handlers and queries."""

from aligner_core.service.core import Core
from aligner_core.service.views import (
    ActionOption,
    Blockers,
    CaseDetail,
    Dashboard,
    DirectoryEntry,
    FileRecord,
    OpenedFile,
    SharedPlan,
)

__all__ = [
    "ActionOption",
    "Blockers",
    "CaseDetail",
    "Core",
    "Dashboard",
    "DirectoryEntry",
    "FileRecord",
    "OpenedFile",
    "SharedPlan",
]
