"""Former home of the content checks, kept so that existing imports keep working.

The code now lives in :mod:`~aligner_core.files.sniff` (types by content),
:mod:`~aligner_core.files.checks` (per-format checks),
:mod:`~aligner_core.files.scanner` (``ContentScanner``) and
:mod:`~aligner_core.files.limits`. Import from those.
"""

from __future__ import annotations

from aligner_core.files.limits import GiB, KiB, Limits, MiB
from aligner_core.files.scanner import (
    STL_EXTRA_MISSING,
    ContentScanner,
    MeshAnalyzer,
    allowed_types,
)
from aligner_core.files.sniff import executable_kind, sniff, sniff_file

__all__ = [
    "STL_EXTRA_MISSING",
    "ContentScanner",
    "GiB",
    "KiB",
    "Limits",
    "MeshAnalyzer",
    "MiB",
    "allowed_types",
    "executable_kind",
    "sniff",
    "sniff_file",
]
