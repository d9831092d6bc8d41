"""Garbage collection: spool files left by crashes and blobs no case refers to.

A spool file (``upload-*.part``) lives only while an upload is received; one
older than the grace period was left by a crashed process. A blob is
unreferenced when no case names its sha256; one older than the grace period
is not an upload whose case is still being committed. Both hold patient data
and are removed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Set
from datetime import UTC, datetime, timedelta
from typing import Final

import attrs

from aligner_core.files.intake import SPOOL_PREFIX, SPOOL_SUFFIX, default_spool_dir
from aligner_core.ports import BlobStore

__all__ = ["DEFAULT_GRACE", "GcReport", "collect_garbage", "remove_stale_spool_files"]

DEFAULT_GRACE: Final = timedelta(hours=1)


@attrs.frozen
class GcReport:
    """What one collection removed and kept."""

    spool_files_removed: int = 0
    spool_bytes_removed: int = 0
    blobs_removed: int = 0
    blobs_referenced: int = 0
    """Blobs listed that a case refers to (kept)."""
    blobs_too_recent: int = 0
    """Unreferenced blobs younger than the grace period (an upload may be committing)."""
    partial_files_removed: int = 0
    """Temporary files of interrupted blob writes (stores that have them)."""

    def __str__(self) -> str:
        return (
            f"spool: {self.spool_files_removed} file(s), {self.spool_bytes_removed} bytes removed; "
            f"blobs: {self.blobs_removed} removed, {self.blobs_referenced} referenced, "
            f"{self.blobs_too_recent} unreferenced but recent kept; "
            f"partial writes: {self.partial_files_removed} removed"
        )


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now


def remove_stale_spool_files(
    spool_dir: str | os.PathLike[str] | None = None,
    grace: timedelta = DEFAULT_GRACE,
    *,
    now: datetime | None = None,
) -> tuple[int, int]:
    """Remove ``upload-*.part`` files older than ``grace``: ``(files, bytes)`` removed.

    ``spool_dir`` defaults to :func:`~aligner_core.files.intake.default_spool_dir`.
    Only regular files with that name pattern directly in the directory are touched.
    """
    directory = os.fspath(spool_dir) if spool_dir is not None else default_spool_dir()
    cutoff = (_now(now) - grace).timestamp()
    files = removed_bytes = 0
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return 0, 0
    for entry in entries:
        if not (entry.name.startswith(SPOOL_PREFIX) and entry.name.endswith(SPOOL_SUFFIX)):
            continue
        with contextlib.suppress(FileNotFoundError):
            st = entry.stat(follow_symlinks=False)
            if entry.is_file(follow_symlinks=False) and st.st_mtime < cutoff:
                os.unlink(entry.path)
                files += 1
                removed_bytes += st.st_size
    return files, removed_bytes


def collect_garbage(
    blobs: BlobStore,
    referenced: Callable[[], Set[str]],
    spool_dir: str | os.PathLike[str] | None = None,
    grace: timedelta = DEFAULT_GRACE,
    *,
    now: datetime | None = None,
) -> GcReport:
    """Remove stale spool files, then blobs older than ``grace`` that no case refers to.

    ``referenced`` returns the sha256 of every file the storage still names; it
    is called after the blobs are listed, and each blob is deleted only if it
    was still last stored before the cutoff at the moment of deletion, so an
    upload that stores the same content again meanwhile keeps it.
    """
    moment = _now(now)
    cutoff = moment - grace
    spool_files, spool_bytes = remove_stale_spool_files(spool_dir, grace, now=moment)
    old: list[str] = []
    recent: list[str] = []
    for sha256, stored_at in blobs.list_blobs():
        (old if stored_at < cutoff else recent).append(sha256)
    keep = referenced()
    removed = 0
    for sha256 in old:
        if sha256 not in keep and blobs.delete(sha256, stored_before=cutoff):
            removed += 1
    remove_partial = getattr(blobs, "remove_partial", None)
    partial = int(remove_partial(cutoff)) if callable(remove_partial) else 0
    return GcReport(
        spool_files_removed=spool_files,
        spool_bytes_removed=spool_bytes,
        blobs_removed=removed,
        blobs_referenced=sum(1 for sha256 in (*old, *recent) if sha256 in keep),
        blobs_too_recent=sum(1 for sha256 in recent if sha256 not in keep),
        partial_files_removed=partial,
    )
