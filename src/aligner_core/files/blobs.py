"""Blob stores: file content addressed by its sha256 (the ``BlobStore`` port).

* :class:`MemoryBlobStore` - a dict, for tests and small tools.
* :class:`FileSystemBlobStore` - ``root/ab/cd/<sha256>``, written atomically
  (temporary file in the same directory, fsync, rename, fsync of the directory)
  and stored once however often it is put.
* :class:`FsspecBlobStore` - the same layout on any fsspec file system (S3, GCS,
  memory, local, ...); fsspec is the optional ``aligner-core[fsspec]`` extra.

``put`` streams content in 1 MiB chunks and hashes it while writing; a given
sha256 that does not match the content is a ``ValidationError`` and nothing is
kept. ``put_file`` takes over a local file whose sha256 the caller computed
while writing it (the intake does): the file-system store renames it into
place, the others stream it once; it is not hashed again. Storing content that
is already there refreshes its age, so that garbage collection (``list_blobs``,
``delete(..., stored_before=...)``) never removes a blob that was just stored again.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any, Final, cast

from aligner_core.errors import NotFoundError, StorageError, ValidationError
from aligner_core.ports import Clock

__all__ = ["FileSystemBlobStore", "FsspecBlobStore", "MemoryBlobStore", "check_sha256"]

_CHUNK: Final = 1024 * 1024
_SHA256: Final = re.compile(r"[0-9a-f]{64}")
_HEX2: Final = re.compile(r"[0-9a-f]{2}")


def check_sha256(sha256: str) -> str:
    """Return ``sha256`` if it is 64 lowercase hex digits, else raise ``ValidationError``."""
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise ValidationError.of("invalid_sha256", "$.sha256", subject="sha256")
    return sha256


def _mismatch(expected: str, actual: str) -> ValidationError:
    return ValidationError.of(
        "sha256_mismatch", "$.sha256", subject="blob", actual=actual, expected=expected
    )


def _chunks(source: IO[bytes]) -> Iterator[bytes]:
    while chunk := source.read(_CHUNK):
        yield chunk


class MemoryBlobStore:
    """Blobs in a dict guarded by a lock (content is necessarily held in memory).

    ``clock`` dates the blobs (for garbage collection); the system clock by default.
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._blobs: dict[str, bytes] = {}
        self._stored_at: dict[str, datetime] = {}
        self._clock = clock
        self._lock = threading.Lock()

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    def _keep(self, sha256: str, data: bytes) -> None:
        with self._lock:
            self._blobs.setdefault(sha256, data)
            self._stored_at[sha256] = self._now()

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
        self._keep(actual, buffer.getvalue())
        return actual

    def put_file(self, path: str | os.PathLike[str], sha256: str) -> str:
        """Read the file at ``path`` (digest ``sha256``, not recomputed) and remove it."""
        check_sha256(sha256)
        try:
            with open(path, "rb") as fh:
                data = fh.read()
            self._keep(sha256, data)
            os.unlink(path)
        except OSError as e:
            raise StorageError("cannot store blob from a file") from e
        return sha256

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

    def list_blobs(self) -> Iterator[tuple[str, datetime]]:
        """Every stored sha256 with the time it was last stored."""
        with self._lock:
            listed = list(self._stored_at.items())
        yield from listed

    def delete(self, sha256: str, *, stored_before: datetime | None = None) -> bool:
        """Remove a blob (only if last stored before ``stored_before``); True if removed."""
        check_sha256(sha256)
        with self._lock:
            at = self._stored_at.get(sha256)
            if at is None or (stored_before is not None and at >= stored_before):
                return False
            del self._blobs[sha256]
            del self._stored_at[sha256]
            return True


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
    leaves either the whole blob or none. ``put_file`` fsyncs the given file and
    renames it into place (a copy only across file systems: spool uploads in
    :attr:`incoming` to avoid it). Existing content is not written again; its
    modification time is refreshed. A blob's age is its file's modification time.
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

    @property
    def incoming(self) -> str:
        """A directory on the store's file system: spool files here are renamed, not copied."""
        path = os.path.join(self.root, ".incoming")
        os.makedirs(path, exist_ok=True)
        return path

    def _refresh(self, final: str) -> bool:
        """Touch an existing blob (its age starts again); False when there is none."""
        try:
            os.utime(final)
        except FileNotFoundError:
            return False
        return True

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
            if self._refresh(final):
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

    def put_file(self, path: str | os.PathLike[str], sha256: str) -> str:
        """Move the file at ``path`` (digest ``sha256``, not recomputed) into place.

        The file is fsynced and renamed; across file systems it is copied once
        into the blob's directory, fsynced and renamed. It is gone afterwards.
        """
        final = self.path_for(sha256)
        source = os.fspath(path)
        try:
            if self._refresh(final):
                os.unlink(source)
                return sha256
            with open(source, "rb+") as fh:
                os.fsync(fh.fileno())
            os.makedirs(os.path.dirname(final), exist_ok=True)
            try:
                os.replace(source, final)
            except OSError as e:
                if e.errno != errno.EXDEV:
                    raise
                self._copy_into_place(source, final)
            _fsync_dir(os.path.dirname(final))
            return sha256
        except OSError as e:
            raise StorageError(f"cannot store blob: {e}") from e

    def _copy_into_place(self, source: str, final: str) -> None:
        fd, tmp_path = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(final))
        try:
            with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
                shutil.copyfileobj(src, out, _CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_path, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_path)
            raise
        os.unlink(source)

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

    def list_blobs(self) -> Iterator[tuple[str, datetime]]:
        """Every stored sha256 with its file's modification time (temporary files skipped)."""
        try:
            for first in _subdirs(self.root):
                for second in _subdirs(os.path.join(self.root, first)):
                    with os.scandir(os.path.join(self.root, first, second)) as entries:
                        for entry in entries:
                            if _SHA256.fullmatch(entry.name) and entry.is_file():
                                yield entry.name, _utc(entry.stat().st_mtime)
        except OSError as e:
            raise StorageError(f"cannot list blobs: {e}") from e

    def delete(self, sha256: str, *, stored_before: datetime | None = None) -> bool:
        """Remove a blob (only if last stored before ``stored_before``); True if removed."""
        path = self.path_for(sha256)
        try:
            if stored_before is not None and _utc(os.stat(path).st_mtime) >= stored_before:
                return False
            os.unlink(path)
        except FileNotFoundError:
            return False
        except OSError as e:
            raise StorageError(f"cannot delete blob {sha256}: {e}") from e
        return True

    def remove_partial(self, stored_before: datetime) -> int:
        """Remove ``.tmp-*`` files of interrupted writes older than ``stored_before``."""
        removed = 0
        for folder, _dirs, files in os.walk(self.root):
            for filename in files:
                if filename.startswith(".tmp-"):
                    path = os.path.join(folder, filename)
                    with contextlib.suppress(FileNotFoundError):
                        if _utc(os.stat(path).st_mtime) < stored_before:
                            os.unlink(path)
                            removed += 1
        return removed


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _subdirs(path: str) -> list[str]:
    with os.scandir(path) as entries:
        return sorted(
            e.name
            for e in entries
            if len(e.name) == 2 and e.is_dir(follow_symlinks=False) and _HEX2.fullmatch(e.name)
        )


class FsspecBlobStore:
    """Blobs as ``root/ab/cd/<sha256>`` on any fsspec file system.

    ``fs`` is an ``fsspec.AbstractFileSystem`` or a protocol name such as
    ``"memory"``, ``"file"`` or ``"s3"`` (then made with ``storage_options``).
    Content is written to ``root/.incoming/<uuid>``, hashed on the way, and
    moved into place; object stores without atomic rename still never show a
    partial blob under its final name when ``mv`` is a copy-then-delete.
    Content already stored is moved over again, which refreshes its age.
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
        incoming = self._join(".incoming", uuid.uuid4().hex)
        tmp_path: str | None = incoming
        try:
            self.fs.makedirs(self._join(".incoming"), exist_ok=True)
            digest = hashlib.sha256()
            with self.fs.open(incoming, "wb") as out:
                for chunk in _chunks(source):
                    digest.update(chunk)
                    out.write(chunk)
            actual = digest.hexdigest()
            if sha256 is not None and sha256 != actual:
                raise _mismatch(sha256, actual)
            self._move_into_place(incoming, actual)
            tmp_path = None
            return actual
        except OSError as e:
            raise StorageError(f"cannot store blob: {e}") from e
        finally:
            if tmp_path is not None:
                with contextlib.suppress(OSError):
                    self.fs.rm(tmp_path)

    def _move_into_place(self, tmp_path: str, sha256: str) -> None:
        """Move an incoming file to its final name (over an existing copy: same content)."""
        self.fs.makedirs(self._join(sha256[:2], sha256[2:4]), exist_ok=True)
        self.fs.mv(tmp_path, self.path_for(sha256))

    def put_file(self, path: str | os.PathLike[str], sha256: str) -> str:
        """Upload the local file at ``path`` once (digest ``sha256``, not recomputed); remove it."""
        check_sha256(sha256)
        incoming = self._join(".incoming", uuid.uuid4().hex)
        tmp_path: str | None = incoming
        try:
            self.fs.makedirs(self._join(".incoming"), exist_ok=True)
            self.fs.put_file(os.fspath(path), incoming)
            self._move_into_place(incoming, sha256)
            tmp_path = None
            os.unlink(path)
            return sha256
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

    def list_blobs(self) -> Iterator[tuple[str, datetime]]:
        """Every stored sha256 with its modification time as the file system reports it."""
        try:
            if not self.fs.exists(self.root):
                return
            found = self.fs.find(self.root, detail=True)
        except OSError as e:
            raise StorageError(f"cannot list blobs: {e}") from e
        for path, info in sorted(found.items()):
            name = path.rstrip("/").rsplit("/", 1)[-1]
            if _SHA256.fullmatch(name) and f"{self._sep}.incoming{self._sep}" not in path:
                yield name, self._stored_at(path, info)

    def _stored_at(self, path: str, info: dict[str, Any]) -> datetime:
        for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
            value = info.get(key)
            if isinstance(value, datetime):
                return value if value.tzinfo else value.replace(tzinfo=UTC)
            if isinstance(value, int | float):
                return _utc(float(value))
        modified = self.fs.modified(path)
        return cast(datetime, modified if modified.tzinfo else modified.replace(tzinfo=UTC))

    def delete(self, sha256: str, *, stored_before: datetime | None = None) -> bool:
        """Remove a blob (only if last stored before ``stored_before``); True if removed."""
        path = self.path_for(sha256)
        try:
            if not self.fs.exists(path):
                return False
            if (
                stored_before is not None
                and self._stored_at(path, self.fs.info(path)) >= stored_before
            ):
                return False
            self.fs.rm(path)
        except FileNotFoundError:
            return False
        except OSError as e:
            raise StorageError(f"cannot delete blob {sha256}: {e}") from e
        return True
