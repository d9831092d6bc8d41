"""Taking an upload in: one streaming pass that spools, counts and hashes; then check and keep.

:func:`receive` is what a service calls for every upload::

    with receive(source, name=name, kind=kind, scanner=scanner, spool_dir=d) as received:
        received.store(blobs)          # the kept bytes, handed over once
    report = received.report           # size and sha256 of the kept bytes

The upload is written once to a spool file (``upload-*.part``) while its size
is counted against the limit of its kind and its sha256 computed; reading
stops one byte past the limit. The scanner checks the spool file; photos are
re-encoded (a second spool file, hashed while written). ``store`` moves the
kept file into the blob store (a rename on the file-system store). Every
spool file is gone when the ``with`` block ends; a crash leaves them to
:func:`aligner_core.files.gc.remove_stale_spool_files`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import IO, Final, Self

import attrs

from aligner_core.domain.records import FileKind, FileReport, sanitize_filename
from aligner_core.errors import StorageError
from aligner_core.files.limits import Limits
from aligner_core.files.reasons import Reason, Rule, reason, refused
from aligner_core.ports import BlobStore, FileScanner

__all__ = [
    "CHUNK_SIZE",
    "SPOOL_PREFIX",
    "SPOOL_SUFFIX",
    "ReceivedFile",
    "SpooledUpload",
    "default_spool_dir",
    "receive",
    "spool",
]

CHUNK_SIZE: Final = 1024 * 1024
SPOOL_PREFIX: Final = "upload-"
SPOOL_SUFFIX: Final = ".part"
Source = IO[bytes] | Iterable[bytes] | bytes


def default_spool_dir() -> str:
    """``<temp dir>/aligner-core-spool-<uid>``, created private (0700) and checked to be ours.

    Raises ``StorageError`` when the path exists but is not a directory we own
    (someone else's directory in a shared ``/tmp``); pass ``spool_dir`` then.
    """
    uid = os.getuid() if hasattr(os, "getuid") else None
    suffix = f"-{uid}" if uid is not None else ""
    path = os.path.join(tempfile.gettempdir(), f"aligner-core-spool{suffix}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as e:
        raise StorageError("cannot create the spool directory") from e
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or (uid is not None and st.st_uid != uid):
        raise StorageError(f"spool directory {path} is not a directory owned by this user")
    return path


class SpooledUpload:
    """An upload written to a temporary file: its ``path``, ``size`` and ``sha256``.

    A context manager: the temporary file is deleted on exit (or by ``delete()``).
    """

    def __init__(self, path: str, size: int, sha256: str) -> None:
        self.path = path
        self.size = size
        self.sha256 = sha256

    def open(self) -> IO[bytes]:
        """Open the spooled content for reading."""
        return open(self.path, "rb")

    def delete(self) -> None:
        """Remove the temporary file (idempotent)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.delete()

    def __repr__(self) -> str:
        return f"SpooledUpload({self.path!r}, size={self.size}, sha256={self.sha256!r})"


def _chunks(source: Source, max_bytes: int) -> Iterator[bytes | memoryview]:
    """Chunks of the source; from a file object never more than ``max_bytes + 1`` in all."""
    if isinstance(source, bytes | bytearray | memoryview):
        yield memoryview(source)[: max_bytes + 1]
        return
    read = getattr(source, "read", None)
    if read is None:
        yield from source
        return
    budget = max_bytes + 1
    while budget > 0:
        chunk = read(min(CHUNK_SIZE, budget))
        if not chunk:
            return
        budget -= len(chunk)
        yield chunk


def _spool(
    source: Source,
    *,
    max_bytes: int,
    directory: str | os.PathLike[str],
    name: str,
    too_large: Reason,
) -> SpooledUpload:
    """The one pass: write, count and hash; stop and remove the file past ``max_bytes``."""
    digest = hashlib.sha256()
    size = 0
    try:
        tmp = tempfile.NamedTemporaryFile(  # noqa: SIM115 - handed to SpooledUpload
            prefix=SPOOL_PREFIX, suffix=SPOOL_SUFFIX, dir=directory, delete=False
        )
    except OSError as e:
        raise StorageError("cannot create a spool file") from e
    try:
        with tmp:
            for chunk in _chunks(source, max_bytes):
                if not isinstance(chunk, bytes | bytearray | memoryview):  # [None] * 50, "text"
                    raise refused(name, [reason(Rule.NOT_REGULAR)])
                size += len(chunk)
                if size > max_bytes:
                    raise refused(name, [too_large])
                digest.update(chunk)
                tmp.write(chunk)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp.name)
        raise
    return SpooledUpload(tmp.name, size, digest.hexdigest())


def spool(
    source: IO[bytes] | Iterable[bytes],
    *,
    max_bytes: int,
    directory: str | os.PathLike[str] | None = None,
    name: str = "upload",
) -> SpooledUpload:
    """Stream ``source`` to a temporary file, computing size and sha256 on the way.

    Raises ``RejectedFileError(name, ["larger than N bytes"])`` as soon as more
    than ``max_bytes`` arrive, without reading further; the partial file is
    removed. ``directory`` defaults to :func:`default_spool_dir`.
    """
    return _spool(
        source,
        max_bytes=max_bytes,
        directory=directory if directory is not None else default_spool_dir(),
        name=name,
        too_large=reason(Rule.TOO_LARGE, limit=max_bytes),
    )


@attrs.define(eq=False)
class ReceivedFile:
    """An upload that passed every check: its ``report`` and the spool file of the kept bytes.

    ``report.size`` and ``report.sha256`` describe the kept bytes (for a photo,
    the re-encoded image). Valid inside the ``with receive(...)`` block only.
    """

    report: FileReport
    name: str
    """The upload's name made safe to show and store (:func:`sanitize_filename`)."""
    path: str
    """The spool file holding the kept bytes (until :meth:`store` moves it)."""
    stored: bool = False

    def open(self) -> IO[bytes]:
        """Read the kept bytes (before :meth:`store`)."""
        return open(self.path, "rb")

    def store(self, blobs: BlobStore) -> str:
        """Hand the kept bytes to ``blobs`` once (``put_file``: moved, not copied, where possible).

        Returns the sha256. Calling it again does nothing more.
        """
        if not self.stored:
            blobs.put_file(self.path, self.report.sha256)
            self.stored = True
        return self.report.sha256


def _kind_limit(limits: Limits, kind: FileKind) -> tuple[int, Reason]:
    limit = limits.max_bytes(kind)
    return limit, reason(Rule.TOO_LARGE, "of_kind", limit=limit, kind=kind.value)


@contextlib.contextmanager
def receive(
    source: Source,
    *,
    name: str,
    kind: FileKind,
    scanner: FileScanner,
    limits: Limits | None = None,
    spool_dir: str | os.PathLike[str] | None = None,
) -> Iterator[ReceivedFile]:
    """Take an upload in: spool (limit of ``kind`` enforced while reading), check, sanitise.

    ``source`` is a binary file object, an iterable of byte chunks or bytes.
    ``limits`` defaults to the scanner's ``limits`` attribute, else ``Limits()``;
    ``spool_dir`` to :func:`default_spool_dir` (put it on the blob store's file
    system so that ``store`` is a rename). Raises ``RejectedFileError`` (name
    kept as ``.name``, never in the message) or ``StorageError``; the spool
    files are removed on the way out of the block, whatever happens.

    .. versionadded:: 0.1
    """
    from aligner_core.files import photos
    from aligner_core.files.scanner import IMAGES, ContentScanner

    limits = limits or getattr(scanner, "limits", None) or Limits()
    directory = os.fspath(spool_dir) if spool_dir is not None else default_spool_dir()
    max_bytes, too_large = _kind_limit(limits, kind)
    spooled = _spool(
        source, max_bytes=max_bytes, directory=directory, name=name, too_large=too_large
    )
    paths = [spooled.path]
    try:
        if isinstance(scanner, ContentScanner):  # it need not decode what is re-encoded next
            report = scanner.scan(
                spooled.path, name=name, kind=kind, sha256=spooled.sha256, decode_images=False
            )
        else:
            report = scanner.scan(spooled.path, name=name, kind=kind, sha256=spooled.sha256)
        kept = spooled.path
        if report.media_type in IMAGES:
            image = photos.reencode(
                spooled.path, report.media_type, name=name, limits=limits, directory=directory
            )
            paths.append(image.path)
            spooled.delete()  # the original with its metadata goes at once
            kept = image.path
            report = attrs.evolve(
                report,
                size=image.size,
                sha256=image.sha256,
                original_size=report.size,
                original_sha256=report.sha256,
                warnings=(*report.warnings, *image.notes),
            )
        yield ReceivedFile(report, sanitize_filename(name), kept)
    finally:
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
