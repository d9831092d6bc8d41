"""Garbage collection: stale spool files and unreferenced blobs, with a grace period."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fsspec
import pytest

from aligner_core.clock import ManualClock
from aligner_core.files.blobs import FileSystemBlobStore, FsspecBlobStore, MemoryBlobStore
from aligner_core.files.gc import GcReport, collect_garbage, remove_stale_spool_files
from aligner_core.ports import BlobStore

HOUR = timedelta(hours=1)


def _aged(path: Path, seconds: float) -> Path:
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def test_stale_spool_files_are_removed(tmp_path: Path) -> None:
    old = tmp_path / "upload-old.part"
    old.write_bytes(b"scan data of a crashed upload")
    _aged(old, 2 * 3600)
    fresh = tmp_path / "upload-fresh.part"
    fresh.write_bytes(b"an upload in progress")
    other = tmp_path / "notes.txt"
    other.write_bytes(b"not ours")
    _aged(other, 2 * 3600)
    assert remove_stale_spool_files(tmp_path, HOUR) == (1, 29)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "upload-fresh.part"]


def test_a_missing_spool_directory_is_nothing_to_do(tmp_path: Path) -> None:
    assert remove_stale_spool_files(tmp_path / "absent") == (0, 0)


def test_spool_symlinks_are_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_bytes(b"keep")
    _aged(target, 2 * 3600)
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "upload-link.part").symlink_to(target)
    remove_stale_spool_files(spool, HOUR)
    assert target.read_bytes() == b"keep"


def _store_and_ager(tmp_path: Path, name: str) -> tuple[BlobStore, Callable[[list[str]], None]]:
    """A store and a function that makes the given blobs (all stored so far) two hours old."""
    if name == "memory":
        clock = ManualClock(start=datetime.now(UTC) - 2 * HOUR, tick=timedelta(0))
        memory = MemoryBlobStore(clock=clock)
        # Stored two hours ago by the store's clock, which now catches up with the time.
        return memory, lambda shas: clock.advance(2 * HOUR)
    store: FileSystemBlobStore | FsspecBlobStore = (
        FileSystemBlobStore(tmp_path / "blobs")
        if name == "filesystem"
        else FsspecBlobStore(fsspec.filesystem("file"), str(tmp_path / "fs"))
    )

    def age_files(shas: list[str]) -> None:
        for sha256 in shas:
            _aged(Path(store.path_for(sha256)), 2 * 3600)

    return store, age_files


@pytest.mark.parametrize("store_name", ["memory", "filesystem", "fsspec"])
def test_unreferenced_old_blobs_go_referenced_and_recent_stay(
    tmp_path: Path, store_name: str
) -> None:
    store, age = _store_and_ager(tmp_path, store_name)
    referenced = store.put(io.BytesIO(b"on a case"))
    orphan = store.put(io.BytesIO(b"case deleted"))
    again = store.put(io.BytesIO(b"stored again while collecting"))
    age([referenced, orphan, again])
    fresh = store.put(io.BytesIO(b"upload committing"))
    calls: list[int] = []

    def still_referenced() -> set[str]:
        calls.append(1)
        store.put(io.BytesIO(b"stored again while collecting"))  # a new case takes it
        return {referenced}

    spool = tmp_path / "spool"
    spool.mkdir()
    report = collect_garbage(store, still_referenced, spool, HOUR)
    assert calls == [1]
    assert not store.exists(orphan)
    assert store.exists(referenced)
    assert store.exists(again)  # its age started again when it was stored again
    assert store.exists(fresh)
    assert (report.blobs_removed, report.blobs_referenced, report.blobs_too_recent) == (1, 1, 1)
    assert "1 removed" in str(report)


def test_nothing_is_removed_within_the_grace_period(tmp_path: Path) -> None:
    clock = ManualClock(tick=timedelta(0))
    store = MemoryBlobStore(clock=clock)
    orphan = store.put(io.BytesIO(b"just uploaded"))
    report = collect_garbage(store, set, tmp_path, HOUR, now=clock.now() + HOUR / 2)
    assert store.exists(orphan)
    assert report == GcReport(blobs_too_recent=1)
    report = collect_garbage(store, set, tmp_path, HOUR, now=clock.now() + 2 * HOUR)
    assert not store.exists(orphan)
    assert report.blobs_removed == 1


def test_partial_writes_are_swept_on_the_filesystem_store(tmp_path: Path) -> None:
    store = FileSystemBlobStore(tmp_path / "blobs")
    leftover = Path(store.incoming) / ".tmp-crashed"
    leftover.write_bytes(b"half a scan")
    _aged(leftover, 3 * 3600)
    report = collect_garbage(store, set, store.incoming, HOUR)
    assert report.partial_files_removed == 1
    assert not leftover.exists()


def test_spool_files_are_collected_too(tmp_path: Path) -> None:
    stale = tmp_path / "upload-9.part"
    stale.write_bytes(b"x" * 10)
    _aged(stale, 3 * 3600)
    report = collect_garbage(MemoryBlobStore(), set, tmp_path, HOUR)
    assert (report.spool_files_removed, report.spool_bytes_removed) == (1, 10)


def test_now_must_be_aware(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="aware"):
        collect_garbage(MemoryBlobStore(), set, tmp_path, now=datetime(2026, 1, 1))
