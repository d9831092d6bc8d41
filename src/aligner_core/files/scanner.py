"""The ``FileScanner`` port's implementation: type by content, kind fit, per-format checks.

:class:`ContentScanner` composes :mod:`~aligner_core.files.sniff` (what the
bytes are, and whether they are two formats at once),
:mod:`~aligner_core.files.checks` (structure of images, PDFs, archives),
:mod:`~aligner_core.files.photos` (decoding, Pillow) and the STL analyzer
(numpy-stl). Every problem found is collected into one ``RejectedFileError``.
"""

from __future__ import annotations

import hashlib
import os
import stat
from typing import Final, Protocol

from aligner_core.codes import english
from aligner_core.domain.records import (
    PHOTO_KINDS,
    SCAN_KINDS,
    FileKind,
    FileReport,
    MediaType,
    MeshReport,
)
from aligner_core.errors import RejectedFileError, StorageError
from aligner_core.files import checks, photos
from aligner_core.files.limits import Limits, MiB
from aligner_core.files.reasons import Reason, Rule, reason, refused
from aligner_core.files.sniff import executable_kind, identify, read_ends

__all__ = [
    "IMAGES",
    "STL_EXTRA_MISSING",
    "ContentScanner",
    "MeshAnalyzer",
    "allowed_types",
]

STL_EXTRA_MISSING: Final = english("extra.missing", {"problem": "stl", "extra": "stl"})
IMAGES: Final = frozenset({MediaType.PNG, MediaType.JPEG})
"""The image types; they are re-encoded when received."""
_ALL_TYPES: Final = frozenset(MediaType)
_CHUNK: Final = MiB


class MeshAnalyzer(Protocol):
    """Measures an STL file (implemented by ``aligner_core.files.stl.StlAnalyzer``)."""

    def analyze(
        self, path: str | os.PathLike[str], size: int, sha256: str
    ) -> tuple[MeshReport, list[str]]: ...


def allowed_types(kind: FileKind) -> frozenset[MediaType]:
    """Which content types fit a kind: scans STL, photos PNG/JPEG, radiographs also PDF."""
    if kind in SCAN_KINDS:
        return frozenset({MediaType.STL})
    if kind in PHOTO_KINDS:
        return IMAGES
    if kind is FileKind.RADIOGRAPH:
        return IMAGES | {MediaType.PDF}
    return _ALL_TYPES


_EXTENSIONS: Final = {
    MediaType.STL: (".stl",),
    MediaType.PNG: (".png",),
    MediaType.JPEG: (".jpg", ".jpeg", ".jpe", ".jfif"),
    MediaType.PDF: (".pdf",),
    MediaType.ZIP: (".zip",),
    MediaType.TAR: (".tar",),
    MediaType.GZIP: (".gz", ".tgz"),
}


def _extension_mismatch(name: str, media: MediaType) -> tuple[MediaType, Reason] | None:
    """The type the name's extension claims and the reason, when it differs from the content.

    Only the extension is named, and only one from the list above.
    """
    lower = name.lower()
    for other, suffixes in _EXTENSIONS.items():
        if other is not media:
            for suffix in suffixes:
                if lower.endswith(suffix):
                    return other, reason(Rule.EXTENSION, extension=suffix[1:], media=media.value)
    return None


def _polyglot_reasons(media: MediaType, also: tuple[str, ...]) -> list[Reason]:
    """One reason per other format (a name from ``identify``'s fixed list)."""
    return [reason(Rule.POLYGLOT, media=media.value, also=other) for other in also]


def _digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class ContentScanner:
    """Checks a file by its content; implements the ``FileScanner`` port.

    ``stl`` measures STL meshes; when not given, ``StlAnalyzer`` from the
    ``stl`` extra is used if numpy-stl can be imported (``autoload_stl=False``
    turns that off), and otherwise STL files are refused. Images need Pillow
    (extra ``images``) and PDFs pikepdf (extra ``pdf``); without them they are refused.
    """

    def __init__(
        self,
        limits: Limits | None = None,
        stl: MeshAnalyzer | None = None,
        *,
        autoload_stl: bool = True,
    ) -> None:
        self.limits = limits or Limits()
        self._stl = stl
        self._autoload = stl is None and autoload_stl

    @property
    def stl(self) -> MeshAnalyzer | None:
        """The STL analyzer, loaded at the first STL (numpy is imported only then)."""
        if self._stl is None and self._autoload:
            self._stl = _default_stl_analyzer()
            self._autoload = False
        return self._stl

    def scan(
        self,
        path: str | os.PathLike[str],
        *,
        name: str,
        kind: FileKind,
        sha256: str | None = None,
        decode_images: bool = True,
    ) -> FileReport:
        """Describe the file at ``path`` or raise ``RejectedFileError`` with every reason.

        ``sha256`` is the digest already computed while the file was written;
        without it the file is hashed here. ``decode_images=False`` skips the
        pixel decoding of PNG/JPEG (for a caller that re-encodes them next).
        Raises ``StorageError`` if the file cannot be read at all.
        """
        fspath = os.fspath(path)
        try:
            st = os.stat(fspath)
            if not stat.S_ISREG(st.st_mode):
                raise refused(name, [reason(Rule.NOT_REGULAR)])
            size = st.st_size
            if size == 0:
                raise refused(name, [reason(Rule.EMPTY)])
            limit = self.limits.max_bytes(kind)
            if size > limit:
                raise refused(
                    name,
                    [reason(Rule.TOO_LARGE, "of_kind", limit=limit, kind=kind.value, size=size)],
                )
            with open(fspath, "rb") as fh:
                head, tail = read_ends(fh, size)
            media, also = self._media(head, size, tail, name=name, kind=kind)
            found, mesh = self._check(
                fspath, name=name, size=size, media=media, decode=decode_images and not also
            )
            for why in _polyglot_reasons(media, also):
                found.add(why)
            mismatch = _extension_mismatch(name, media)
            if mismatch and {media, mismatch[0]} <= IMAGES:
                found.warn(str(mismatch[1]))  # a PNG named .jpg is common and harmless
            elif mismatch:
                found.add(mismatch[1])
            if found:
                raise refused(name, found.all_reasons())
            return FileReport(
                media_type=media,
                size=size,
                sha256=sha256 if sha256 is not None else _digest(fspath),
                warnings=tuple(found.warnings),
                mesh=mesh,
                archive_entries=found.entries,
            )
        except RejectedFileError:
            raise
        except OSError as e:
            raise StorageError("cannot read the file to check it") from e

    def _media(
        self, head: bytes, size: int, tail: bytes, *, name: str, kind: FileKind
    ) -> tuple[MediaType, tuple[str, ...]]:
        """The content type and the other formats it also is; refuses executables,
        unknown content and content that does not fit the kind."""
        exe = executable_kind(head)
        if exe:
            raise refused(name, [reason(Rule.EXECUTABLE, executable=exe)])
        identity = identify(head, size, tail)
        media = identity.media
        if media is None:
            if kind in SCAN_KINDS and identity.stl is not None:
                raise refused(name, identity.stl.reasons)
            raise refused(name, [reason(Rule.UNRECOGNISED)])
        allowed = allowed_types(kind)
        if media not in allowed:
            want = " or ".join(sorted(t.value for t in allowed))
            raise refused(
                name,
                [
                    reason(Rule.WRONG_TYPE, media=media.value, kind=kind.value, allowed=want),
                    *_polyglot_reasons(media, identity.also),
                ],
            )
        return media, identity.also

    def _check(
        self, path: str, *, name: str, size: int, media: MediaType, decode: bool
    ) -> tuple[checks.Findings, MeshReport | None]:
        found = checks.Findings()
        mesh: MeshReport | None = None
        if media is MediaType.STL:
            mesh = self._check_stl(path, name=name, size=size, found=found)
        elif media in IMAGES:
            check = checks.check_png if media is MediaType.PNG else checks.check_jpeg
            geometry = check(path, self.limits, found)
            if geometry is not None and not found:
                if not photos.pillow_available():
                    found.refuse(Rule.EXTRA_MISSING, "images", extra="images")
                elif decode:
                    for why in photos.decode_problems(path, media, self.limits):
                        found.add(why)
        elif media is MediaType.PDF:
            checks.check_pdf(path, self.limits, found)
        elif media is MediaType.ZIP:
            checks.check_zip(path, size, self.limits, found)
        elif media is MediaType.TAR:
            checks.check_tar(path, self.limits, found)
        elif media is MediaType.GZIP:
            checks.check_gzip(path, size, self.limits, found)
        return found, mesh

    def _check_stl(
        self, path: str, *, name: str, size: int, found: checks.Findings
    ) -> MeshReport | None:
        analyzer = self.stl
        if analyzer is None:
            found.refuse(Rule.EXTRA_MISSING, "stl", extra="stl")
            return None
        try:
            mesh, warnings = analyzer.analyze(path, size, "")
        except RejectedFileError as e:  # relabel: the analyzer saw the spool file's name
            raise refused(name, e.reasons) from None
        for warning in warnings:
            found.warn(warning)
        return mesh


def _default_stl_analyzer() -> MeshAnalyzer | None:
    try:
        from aligner_core.files.stl import StlAnalyzer
    except ImportError:
        return None
    return StlAnalyzer()
