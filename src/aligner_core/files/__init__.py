"""Files: taking uploads in, checking them by content, re-encoding photos, storing blobs.

The entry point for a service is :func:`receive`; ``aligner-core scan`` uses
:class:`ContentScanner` directly; :func:`collect_garbage` removes what crashes
and deleted cases leave behind. Optional extras: ``stl`` (numpy-stl),
``images`` (Pillow), ``pdf`` (pikepdf), ``fsspec``. Nothing heavy is imported here.
"""

from __future__ import annotations

from aligner_core.files.blobs import FileSystemBlobStore, FsspecBlobStore, MemoryBlobStore
from aligner_core.files.gc import GcReport, collect_garbage, remove_stale_spool_files
from aligner_core.files.intake import ReceivedFile, default_spool_dir, receive
from aligner_core.files.limits import Limits
from aligner_core.files.reasons import Reason, Rule
from aligner_core.files.scanner import ContentScanner

__all__ = [
    "ContentScanner",
    "FileSystemBlobStore",
    "FsspecBlobStore",
    "GcReport",
    "Limits",
    "MemoryBlobStore",
    "Reason",
    "ReceivedFile",
    "Rule",
    "collect_garbage",
    "default_spool_dir",
    "receive",
    "remove_stale_spool_files",
]
