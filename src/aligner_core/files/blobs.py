"""Blob stores: file content addressed by its sha256 (the ``BlobStore`` port).

* :class:`MemoryBlobStore` - a dict, for tests and small tools.
* :class:`FileSystemBlobStore` - ``root/ab/cd/<sha256>``, written atomically
  (temporary file in the same directory, fsync, rename, fsync of the directory)
  and stored once however often it is put.
* :class:`FsspecBlobStore` - the same layout on any fsspec file system (S3, GCS,
  memory, local, ...); fsspec is the optional ``aligner-core[fsspec]`` extra.

Content is streamed in 1 MiB chunks and hashed while written; a given sha256
that does not match the content is a ``ValidationError`` and nothing is kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tempfile
import threading
import uuid
from collections.abc import Iterator
from typing import IO, Any, Final, cast

from aligner_core.errors import NotFoundError, StorageError, ValidationError

__all__ = ["FileSystemBlobStore", "FsspecBlobStore", "MemoryBlobStore", "check_sha256"]

_CHUNK: Final = 1024 * 1024
_SHA256: Final = re.compile(r"[0-9a-f]{64}")


def check_sha256(sha256: str) -> str:
    """Return ``sha256`` if it is 64 lowercase hex digits, else raise ``ValidationError``."""
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise ValidationError.single(
            "must be 64 lowercase hex digits", "$.sha256", subject="sha256"
        )
    return sha256


def _mismatch(expected: str, actual: str) -> ValidationError:
    return ValidationError.single(
        f"content has sha256 {actual}, not {expected}", "$.sha256", subject="blob"
    )


def _chunks(source: IO[bytes]) -> Iterator[bytes]:
    while chunk := source.read(_CHUNK):
        yield chunk


class MemoryBlobStore:
    """Blobs in a dict guarded by a lock (content is necessarily held in memory)."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def put(self, source: IO[bytes], sha256: str | None = None) -> str:
        """Store the content of ``source``; return its sha256."""
        if sha256 is not None:
            check_sha256(sha256)
        digest = hashlib.sha256()
        buffer = io.BytesIO()
        for chunk in _chunks(source):
            digest.update(chunk)
            buffer.write(chunk)
        actual = digest.hexdigest()
        if sha256 is not None and sha256 != actual:
            raise _mismatch(sha256, actual)
        with self._lock:
            self._blobs.setdefault(actual, buffer.getvalue())
        return actual

    def open(self, sha256: str) -> IO[bytes]:
        check_sha256(sha256)
        with self._lock:
            data = self._blobs.get(sha256)
        if data is None:
            raise NotFoundError("blob", sha256)
        return io.BytesIO(data)

    def exists(self, sha256: str) -> bool:
        check_sha256(sha256)
        with self._lock:
            return sha256 in self._blobs

    def delete(self, sha256: str) -> None:
        """Remove a blob; deleting a missing blob does nothing."""
        check_sha256(sha256)
        with self._lock:
            self._blobs.pop(sha256, None)


def _fsync_dir(path: str) -> None:
    """Make a rename or a new entry in ``path`` durable (a no-op where unsupported)."""
    if os.name != "posix":  # pragma: no cover - Windows cannot open directories
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileSystemBlobStore:
    """Blobs as files ``root/ab/cd/<sha256>`` on a local file system.

    ``put`` writes to a temporary file in the target directory (or in
    ``root/.incoming`` when the sha256 is not known beforehand), hashing on the
    way, fsyncs it, renames it into place and fsyncs the directory: a crash
    leaves either the whole blob or none. Existing content is not written again.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.path.abspath(os.fspath(root))
        try:
            os.makedirs(self.root, exist_ok=True)
        except OSError as e:
            raise StorageError(f"cannot create blob store at {self.root}: {e}") from e

    def path_for(self, sha256: str) -> str:
        """Where a blob lives (whether or not it exists)."""
        check_sha256(sha256)
        return os.path.join(self.root, sha256[:2], sha256[2:4], sha256)

    def put(self, source: IO[bytes], sha256: str | None = None) -> str:
        """Stream ``source`` into the store atomically; return its sha256."""
        workdir = (
            os.path.dirname(self.path_for(sha256))
            if sha256 is not None
            else os.path.join(self.root, ".incoming")
        )
        tmp_path: str | None = None
        try:
            os.makedirs(workdir, exist_ok=True)
            fd, tmp_path = tempfile.mkstemp(prefix=".tmp-", dir=workdir)
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out:
                for chunk in _chunks(source):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            actual = digest.hexdigest()
            if sha256 is not None and sha256 != actual:
                raise _mismatch(sha256, actual)
            final = self.path_for(actual)
            if os.path.exists(final):
                return actual  # deduplicated; the temporary file goes in ``finally``
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.replace(tmp_path, final)
            tmp_path = None
            _fsync_dir(os.path.dirname(final))
            return actual
        except OSError as e:
            raise StorageError(f"cannot store blob: {e}") from e
        finally:
            if tmp_path is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_path)

    def open(self, sha256: str) -> IO[bytes]:
        path = self.path_for(sha256)
        try:
            return open(path, "rb")
        except FileNotFoundError as e:
            raise NotFoundError("blob", sha256) from e
        except OSError as e:
            raise StorageError(f"cannot open blob {sha256}: {e}") from e

    def exists(self, sha256: str) -> bool:
        return os.path.isfile(self.path_for(sha256))

    def delete(self, sha256: str) -> None:
        """Remove a blob; deleting a missing blob does nothing."""
        path = self.path_for(sha256)
        try:
            os.unlink(path)
        except FileNotFoundError:
            return
        except OSError as e:
            raise StorageError(f"cannot delete blob {sha256}: {e}") from e


class FsspecBlobStore:
    """Blobs as ``root/ab/cd/<sha256>`` on any fsspec file system.

    ``fs`` is an ``fsspec.AbstractFileSystem`` or a protocol name such as
    ``"memory"``, ``"file"`` or ``"s3"`` (then made with ``storage_options``).
    Content is written to ``root/.incoming/<uuid>``, hashed on the way, and
    moved into place; object stores without atomic rename still never show a
    partial blob under its final name when ``mv`` is a copy-then-delete.
    """

    def __init__(self, fs: Any, root: str, **storage_options: Any) -> None:
        if isinstance(fs, str):
            import fsspec

            fs = fsspec.filesystem(fs, **storage_options)
        self.fs = fs
        self.root = root.rstrip("/") or "/"
        self._sep = getattr(fs, "sep", "/") or "/"

    def _join(self, *parts: str) -> str:
        return self._sep.join((self.root, *parts))

    def path_for(self, sha256: str) -> str:
        """Where a blob lives on the file system."""
        check_sha256(sha256)
        return self._join(sha256[:2], sha256[2:4], sha256)

    def put(self, source: IO[bytes], sha256: str | None = None) -> str:
        """Stream ``source`` to the file system; return its sha256."""
        if sha256 is not None:
            check_sha256(sha256)
        incoming = self._join(".incoming")
        tmp_path: str | None = self._join(".incoming", uuid.uuid4().hex)
        try:
            self.fs.makedirs(incoming, exist_ok=True)
            digest = hashlib.sha256()
            with self.fs.open(tmp_path, "wb") as out:
                for chunk in _chunks(source):
                    digest.update(chunk)
                    out.write(chunk)
            actual = digest.hexdigest()
            if sha256 is not None and sha256 != actual:
                raise _mismatch(sha256, actual)
            final = self.path_for(actual)
            if self.fs.exists(final):
                return actual
            self.fs.makedirs(self._join(actual[:2], actual[2:4]), exist_ok=True)
            self.fs.mv(tmp_path, final)
            tmp_path = None
            return actual
        except OSError as e:
            raise StorageError(f"cannot store blob: {e}") from e
        finally:
            if tmp_path is not None:
                with contextlib.suppress(OSError):
                    self.fs.rm(tmp_path)

    def open(self, sha256: str) -> IO[bytes]:
        path = self.path_for(sha256)
        try:
            return cast(IO[bytes], self.fs.open(path, "rb"))
        except FileNotFoundError as e:
            raise NotFoundError("blob", sha256) from e
        except OSError as e:
            raise StorageError(f"cannot open blob {sha256}: {e}") from e

    def exists(self, sha256: str) -> bool:
        path = self.path_for(sha256)
        try:
            return bool(self.fs.isfile(path))
        except OSError as e:
            raise StorageError(f"cannot check blob {sha256}: {e}") from e

    def delete(self, sha256: str) -> None:
        """Remove a blob; deleting a missing blob does nothing."""
        path = self.path_for(sha256)
        try:
            if self.fs.exists(path):
                self.fs.rm(path)
        except FileNotFoundError:
            return
        except OSError as e:
            raise StorageError(f"cannot delete blob {sha256}: {e}") from e
