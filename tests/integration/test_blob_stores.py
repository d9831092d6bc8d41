"""The three blob stores join the BlobStore contract; plus store-specific behaviour."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

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
