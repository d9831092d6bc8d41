"""The three blob stores join the BlobStore contract; plus store-specific behaviour."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fsspec
import pytest

from aligner_core.clock import ManualClock
from aligner_core.errors import StorageError
from aligner_core.files.blobs import FileSystemBlobStore, FsspecBlobStore, MemoryBlobStore
from aligner_core.ports import BlobStore
from aligner_core.testing.contracts.files import BlobStoreContract


class TestMemoryBlobStore(BlobStoreContract):
    @pytest.fixture
    def blob_store(self) -> BlobStore:
        return MemoryBlobStore()


class TestFileSystemBlobStore(BlobStoreContract):
    @pytest.fixture
    def blob_store(self, tmp_path: Path) -> BlobStore:
        return FileSystemBlobStore(tmp_path / "blobs")


class TestFsspecMemoryBlobStore(BlobStoreContract):
    @pytest.fixture
    def blob_store(self, request: pytest.FixtureRequest) -> Iterator[BlobStore]:
        fs = fsspec.filesystem("memory")
        root = f"/blobs-{abs(hash(request.node.nodeid))}"
        yield FsspecBlobStore(fs, root)
        if fs.exists(root):
            fs.rm(root, recursive=True)


class TestFsspecLocalBlobStore(BlobStoreContract):
    @pytest.fixture
    def blob_store(self, tmp_path: Path) -> BlobStore:
        return FsspecBlobStore("file", str(tmp_path / "blobs"))


def test_filesystem_layout_is_content_addressed(tmp_path: Path) -> None:
    store = FileSystemBlobStore(tmp_path)
    sha = store.put(io.BytesIO(b"abc"))
    assert (tmp_path / sha[:2] / sha[2:4] / sha).read_bytes() == b"abc"


def test_filesystem_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = FileSystemBlobStore(tmp_path)
    sha = store.put(io.BytesIO(b"abc"))
    store.put(io.BytesIO(b"abc"), sha)
    with pytest.raises(Exception):
        store.put(io.BytesIO(b"abc"), hashlib.sha256(b"x").hexdigest())
    store.put(io.BytesIO(b"def"))
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and p.name.startswith(".tmp")]
    assert leftovers == []


def test_filesystem_dedup_keeps_the_first_file(tmp_path: Path) -> None:
    store = FileSystemBlobStore(tmp_path)
    sha = store.put(io.BytesIO(b"abc"))
    path = Path(store.path_for(sha))
    before = path.stat().st_ino
    store.put(io.BytesIO(b"abc"))
    assert path.stat().st_ino == before


def test_filesystem_error_is_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(StorageError) as info:
        FileSystemBlobStore(blocker / "sub")
    assert isinstance(info.value.__cause__, OSError)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permissions")
def test_filesystem_unwritable_is_storage_error(tmp_path: Path) -> None:
    store = FileSystemBlobStore(tmp_path)
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(StorageError):
            store.put(io.BytesIO(b"abc"))
    finally:
        tmp_path.chmod(0o700)


def test_filesystem_write_failure_is_storage_error(tmp_path: Path) -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: object) -> int:
            raise OSError("disk on fire")

    store = FileSystemBlobStore(tmp_path)
    with pytest.raises(StorageError) as info:
        store.put(io.BufferedReader(Broken()))
    assert "disk on fire" in str(info.value.__cause__)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_fsspec_layout(tmp_path: Path) -> None:
    store = FsspecBlobStore(fsspec.filesystem("file"), str(tmp_path))
    sha = store.put(io.BytesIO(b"abc"))
    assert (tmp_path / sha[:2] / sha[2:4] / sha).read_bytes() == b"abc"


# --- put_file, listing and ageing ---------------------------------------------------------------


def _spooled(directory: Path, data: bytes) -> tuple[Path, str]:
    path = directory / "upload-x.part"
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def test_filesystem_put_file_is_a_rename(tmp_path: Path) -> None:
    store = FileSystemBlobStore(tmp_path / "blobs")
    path, sha = _spooled(Path(store.incoming), b"scan bytes" * 100)
    inode = path.stat().st_ino
    store.put_file(path, sha)
    assert Path(store.path_for(sha)).stat().st_ino == inode  # moved, not copied
    assert not path.exists()


def test_filesystem_put_file_across_file_systems_copies_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileSystemBlobStore(tmp_path / "blobs")
    path, sha = _spooled(tmp_path, b"elsewhere" * 100)
    real_replace = os.replace

    def replace(src: str, dst: str) -> None:
        if os.fspath(src) == os.fspath(path):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    assert store.put_file(path, sha) == sha
    assert not path.exists()
    assert Path(store.path_for(sha)).read_bytes() == b"elsewhere" * 100
    assert [p.name for p in (tmp_path / "blobs").rglob(".tmp-*")] == []


def test_filesystem_put_file_error_keeps_nothing(tmp_path: Path) -> None:
    store = FileSystemBlobStore(tmp_path / "blobs")
    with pytest.raises(StorageError):
        store.put_file(tmp_path / "missing.part", "0" * 64)
    assert not store.exists("0" * 64)


def test_filesystem_list_skips_temporary_files(tmp_path: Path) -> None:
    store = FileSystemBlobStore(tmp_path)
    sha = store.put(io.BytesIO(b"abc"))
    (Path(store.incoming) / "upload-1.part").write_bytes(b"spooled")
    (Path(store.path_for(sha)).parent / ".tmp-123").write_bytes(b"partial")
    (tmp_path / "README").write_text("not a blob")
    assert [s for s, _ in store.list_blobs()] == [sha]


def test_filesystem_remove_partial(tmp_path: Path) -> None:
    store = FileSystemBlobStore(tmp_path)
    sha = store.put(io.BytesIO(b"abc"))
    old = Path(store.path_for(sha)).parent / ".tmp-old"
    new = tmp_path / ".incoming" / ".tmp-new"
    new.parent.mkdir(exist_ok=True)
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    assert store.remove_partial(datetime.now(UTC) - timedelta(minutes=30)) == 1
    assert not old.exists() and new.exists()
    assert store.exists(sha)


def test_memory_store_dates_blobs_with_its_clock() -> None:
    clock = ManualClock(tick=timedelta(0))
    store = MemoryBlobStore(clock=clock)
    sha = store.put(io.BytesIO(b"abc"))
    assert dict(store.list_blobs())[sha] == clock.now()
    clock.advance(timedelta(hours=2))
    store.put(io.BytesIO(b"abc"))
    assert dict(store.list_blobs())[sha] == clock.now()


def test_fsspec_put_file_leaves_no_incoming_file(tmp_path: Path) -> None:
    fs = fsspec.filesystem("memory")
    store = FsspecBlobStore(fs, "/blobs-put-file")
    try:
        path, sha = _spooled(tmp_path, b"abc")
        store.put_file(path, sha)
        assert fs.ls("/blobs-put-file/.incoming") == []
        assert [s for s, _ in store.list_blobs()] == [sha]
    finally:
        fs.rm("/blobs-put-file", recursive=True)
