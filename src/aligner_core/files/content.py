"""Content checks for uploaded files: type by content, size limits, archives, executables.

:class:`ContentScanner` implements the ``FileScanner`` port. The type comes from
magic bytes (never from the name); the file is read in chunks (the sha256 is
computed streaming), archives are inspected from their directory and decompressed
streaming with a cap, and STL meshes are handed to an optional analyzer (the
``aligner-core[stl]`` extra). Every problem found is collected into one
:class:`~aligner_core.errors.RejectedFileError`.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterable
from typing import IO, Final, Protocol

import attrs

from aligner_core.domain.records import (
    PHOTO_KINDS,
    SCAN_KINDS,
    FileKind,
    FileReport,
    MediaType,
    MeshReport,
)
from aligner_core.errors import RejectedFileError, StorageError

__all__ = [
    "ContentScanner",
    "Limits",
    "MeshAnalyzer",
    "allowed_types",
    "executable_kind",
    "sniff",
    "sniff_file",
]

KiB: Final = 1024
MiB: Final = 1024 * KiB
GiB: Final = 1024 * MiB
_HEAD_SIZE: Final = 4096
_CHUNK: Final = MiB
_MAX_LISTED: Final = 20
STL_EXTRA_MISSING: Final = "STL analysis needs the aligner-core[stl] extra"


@attrs.frozen
class Limits:
    """Size limits per kind of file and for archive contents (bytes unless noted)."""

    scan_bytes: int = 512 * MiB
    photo_bytes: int = 50 * MiB
    radiograph_bytes: int = 100 * MiB
    other_bytes: int = 2 * GiB
    archive_entries: int = 10_000
    archive_uncompressed_bytes: int = 2 * GiB
    archive_ratio: float = 100.0
    """Largest uncompressed/compressed ratio of an archive and of any entry over 1 MiB."""
    image_pixels: int = 250_000_000
    """Largest width x height of a PNG or JPEG (a decompression bomb guard)."""

    def max_bytes(self, kind: FileKind) -> int:
        """The size limit for files of ``kind``."""
        if kind in SCAN_KINDS:
            return self.scan_bytes
        if kind in PHOTO_KINDS:
            return self.photo_bytes
        if kind is FileKind.RADIOGRAPH:
            return self.radiograph_bytes
        return self.other_bytes


class MeshAnalyzer(Protocol):
    """Measures an STL file (implemented by ``aligner_core.files.stl.StlAnalyzer``)."""

    def analyze(
        self, path: str | os.PathLike[str], size: int, sha256: str
    ) -> tuple[MeshReport, list[str]]: ...


_ALL_TYPES: Final = frozenset(MediaType)
_IMAGES: Final = frozenset({MediaType.PNG, MediaType.JPEG})


def allowed_types(kind: FileKind) -> frozenset[MediaType]:
    """Which content types fit a kind: scans STL, photos PNG/JPEG, radiographs also PDF."""
    if kind in SCAN_KINDS:
        return frozenset({MediaType.STL})
    if kind in PHOTO_KINDS:
        return _IMAGES
    if kind is FileKind.RADIOGRAPH:
        return _IMAGES | {MediaType.PDF}
    return _ALL_TYPES


_EXECUTABLES: Final = (
    (b"\x7fELF", "an ELF executable"),
    (b"MZ", "a Windows (PE/MZ) executable"),
    (b"\xfe\xed\xfa\xce", "a Mach-O executable"),
    (b"\xfe\xed\xfa\xcf", "a Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "a Mach-O universal binary or Java class"),
    (b"#!", "a script (#!)"),
    (b"\x00asm", "a WebAssembly module"),
)
_ARCHIVES: Final = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"PK\x07\x08", "zip"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
_ARCHIVE_SUFFIXES: Final = (
    ".zip", ".tar", ".gz", ".tgz", ".bz2", ".tbz", ".xz", ".txz", ".7z", ".rar", ".zst",
)  # fmt: skip
_EXECUTABLE_SUFFIXES: Final = (
    ".exe", ".dll", ".com", ".scr", ".msi", ".bat", ".cmd", ".ps1", ".vbs", ".sh", ".jar",
    ".app", ".so", ".dylib",
)  # fmt: skip
_STL_TRIANGLE: Final = 50
_STL_TRAILING: Final = 128
_CONTROL_BYTES: Final = bytes([*range(9), 11, 12, *range(14, 32), 127])


def executable_kind(head: bytes) -> str | None:
    """What kind of executable the first bytes show, or ``None``."""
    for magic, what in _EXECUTABLES:
        if head.startswith(magic):
            return what
    return None


def _nested_archive(head: bytes) -> str | None:
    for magic, what in _ARCHIVES:
        if head.startswith(magic):
            return what
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return None


def _looks_like_stl(head: bytes, size: int) -> bool:
    """ASCII (``solid`` and no control bytes) or binary (size = 84 + 50 x header count)."""
    if head.lstrip()[:5].lower() == b"solid" and len(head.translate(None, _CONTROL_BYTES)) == len(
        head
    ):
        return True
    if size < 84 or len(head) < 84:
        return False
    count = int.from_bytes(head[80:84], "little")
    expected = 84 + _STL_TRIANGLE * count
    return count > 0 and expected <= size <= expected + _STL_TRAILING


def sniff(head: bytes, size: int) -> MediaType | None:
    """The content type from the first bytes (at least 262 for tar) and the file size.

    ``None`` when no accepted type matches (check :func:`executable_kind` first).
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaType.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return MediaType.JPEG
    if head.startswith(b"%PDF-"):
        return MediaType.PDF
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return MediaType.ZIP
    if len(head) >= 262 and head[257:262] == b"ustar":
        return MediaType.TAR
    if _looks_like_stl(head, size):
        return MediaType.STL
    return None


def sniff_file(path: str | os.PathLike[str]) -> MediaType | None:
    """:func:`sniff` on a file's first 4 KiB (``None`` also for executables)."""
    with open(path, "rb") as fh:
        head = fh.read(_HEAD_SIZE)
        size = os.fstat(fh.fileno()).st_size
    if executable_kind(head):
        return None
    return sniff(head, size)


def _unsafe_path(name: str) -> str | None:
    """Why an archive member name is unsafe to extract, or ``None``."""
    if "\x00" in name:
        return "contains a NUL character"
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        return "is an absolute path"
    if ".." in norm.split("/"):
        return "contains a '..' component"
    return None


def _suffix_problem(name: str) -> str | None:
    lower = name.lower().rstrip("/")
    if lower.endswith(_ARCHIVE_SUFFIXES):
        return "is a nested archive (by its name)"
    if lower.endswith(_EXECUTABLE_SUFFIXES):
        return "is an executable (by its name)"
    return None


def _content_problem(head: bytes) -> str | None:
    nested = _nested_archive(head)
    if nested:
        return f"is a nested {nested} archive"
    exe = executable_kind(head)
    if exe:
        return f"is {exe}"
    return None


class _Reasons:
    """Collects reasons, listing at most 20 and counting the rest."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.more = 0

    def add(self, reason: str) -> None:
        if len(self.items) < _MAX_LISTED:
            self.items.append(reason)
        else:
            self.more += 1

    def __bool__(self) -> bool:
        return bool(self.items)

    def result(self) -> list[str]:
        return self.items + ([f"... and {self.more} more problem(s)"] if self.more else [])


class ContentScanner:
    """Checks an uploaded file by its content; implements the ``FileScanner`` port.

    ``stl`` measures STL meshes; when not given, ``StlAnalyzer`` from the
    ``stl`` extra is used if numpy-stl can be imported (``autoload_stl=False``
    turns that off), and otherwise STL files are refused.
    """

    def __init__(
        self,
        limits: Limits | None = None,
        stl: MeshAnalyzer | None = None,
        *,
        autoload_stl: bool = True,
    ) -> None:
        self.limits = limits or Limits()
        if stl is None and autoload_stl:
            stl = _default_stl_analyzer()
        self.stl = stl

    def scan(self, path: str | os.PathLike[str], *, name: str, kind: FileKind) -> FileReport:
        """Describe the file at ``path`` or raise ``RejectedFileError`` with every reason.

        Raises ``StorageError`` if the file cannot be read at all.
        """
        fspath = os.fspath(path)
        try:
            st = os.stat(fspath)
            if not stat.S_ISREG(st.st_mode):
                raise RejectedFileError(name, ["not a regular file"])
            size = st.st_size
            if size == 0:
                raise RejectedFileError(name, ["empty file"])
            limit = self.limits.max_bytes(kind)
            if size > limit:
                raise RejectedFileError(
                    name, [f"{size} bytes is larger than the limit of {limit} bytes for {kind}"]
                )
            with open(fspath, "rb") as fh:
                head = fh.read(_HEAD_SIZE)
            exe = executable_kind(head)
            if exe:
                raise RejectedFileError(name, [f"executable content refused: {exe}"])
            media = sniff(head, size)
            allowed = allowed_types(kind)
            if media is None:
                if MediaType.STL not in allowed or kind not in SCAN_KINDS:
                    raise RejectedFileError(
                        name, ["unrecognised content: not a PNG, JPEG, PDF, ZIP, TAR or STL file"]
                    )
                media = MediaType.STL  # let the STL analyzer say precisely what is wrong
            if media not in allowed:
                want = " or ".join(sorted(t.value for t in allowed))
                raise RejectedFileError(
                    name, [f"content is {media.value}, but a {kind.value} file must be {want}"]
                )
            return self._scan_type(fspath, name=name, size=size, head=head, media=media)
        except RejectedFileError:
            raise
        except OSError as e:
            raise StorageError(f"cannot read {name!r}: {e}") from e

    def _scan_type(
        self, path: str, *, name: str, size: int, head: bytes, media: MediaType
    ) -> FileReport:
        reasons = _Reasons()
        warnings: list[str] = []
        sha256, tokens = _digest(path, pdf=media is MediaType.PDF)
        mesh: MeshReport | None = None
        entries: int | None = None
        if media is MediaType.STL:
            if self.stl is None:
                reasons.add(STL_EXTRA_MISSING)
            else:
                try:
                    mesh, mesh_warnings = self.stl.analyze(path, size, sha256)
                except RejectedFileError as e:  # relabel: the analyzer saw a temporary name
                    raise RejectedFileError(name, e.reasons) from e
                warnings.extend(mesh_warnings)
        elif media is MediaType.PNG:
            _check_png(head, self.limits, reasons)
        elif media is MediaType.JPEG:
            _check_jpeg(path, self.limits, reasons)
        elif media is MediaType.PDF:
            _check_pdf(path, size, tokens, warnings)
        elif media is MediaType.ZIP:
            entries = _check_zip(path, size, self.limits, reasons)
        elif media is MediaType.TAR:
            entries = _check_tar(path, self.limits, reasons)
        mismatch = _extension_mismatch(name, media)
        if mismatch and {media, mismatch[0]} <= _IMAGES:
            warnings.append(mismatch[1])  # a PNG named .jpg is common and harmless
        elif mismatch:
            reasons.add(mismatch[1])
        if reasons:
            raise RejectedFileError(name, reasons.result())
        return FileReport(
            media_type=media,
            size=size,
            sha256=sha256,
            warnings=tuple(warnings),
            mesh=mesh,
            archive_entries=entries,
        )


def _default_stl_analyzer() -> MeshAnalyzer | None:
    try:
        from aligner_core.files.stl import StlAnalyzer
    except ImportError:
        return None
    return StlAnalyzer()


_EXTENSIONS: Final = {
    MediaType.STL: (".stl",),
    MediaType.PNG: (".png",),
    MediaType.JPEG: (".jpg", ".jpeg", ".jpe", ".jfif"),
    MediaType.PDF: (".pdf",),
    MediaType.ZIP: (".zip",),
    MediaType.TAR: (".tar",),
}


def _extension_mismatch(name: str, media: MediaType) -> tuple[MediaType, str] | None:
    """The type the name's extension claims and a note, when it differs from the content.

    A PDF named ``.stl`` is refused; a PNG named ``.jpg`` only gets a warning.
    """
    lower = name.lower()
    for other, suffixes in _EXTENSIONS.items():
        if other is not media and lower.endswith(suffixes):
            ext = lower.rsplit(".", 1)[-1]
            return other, f"the name ends in {ext!r} but the content is {media.value}"
    return None


_PDF_TOKENS: Final = (b"/JavaScript", b"/JS", b"/Launch", b"/EmbeddedFile", b"/OpenAction")


def _digest(path: str, *, pdf: bool) -> tuple[str, set[bytes]]:
    """sha256 in 1 MiB chunks; for PDFs also which active-content names occur."""
    digest = hashlib.sha256()
    found: set[bytes] = set()
    carry = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            if pdf:
                window = carry + chunk
                found.update(t for t in _PDF_TOKENS if t in window)
                carry = chunk[-16:]
    return digest.hexdigest(), found


def _check_png(head: bytes, limits: Limits, reasons: _Reasons) -> None:
    if len(head) < 24 or head[12:16] != b"IHDR" or head[8:12] != b"\x00\x00\x00\x0d":
        reasons.add("PNG without a valid IHDR header")
        return
    width, height = struct.unpack(">II", head[16:24])
    _check_pixels(width, height, limits, reasons, "PNG")


def _check_pixels(width: int, height: int, limits: Limits, reasons: _Reasons, what: str) -> None:
    if width == 0 or height == 0:
        reasons.add(f"{what} of {width} x {height} pixels has no pixels")
    elif width * height > limits.image_pixels:
        reasons.add(
            f"{what} of {width} x {height} pixels is above the limit of "
            f"{limits.image_pixels} pixels"
        )


_SOF_MARKERS: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _check_jpeg(path: str, limits: Limits, reasons: _Reasons) -> None:
    """Walk the JPEG segments (seeking, at most 1000) up to the frame header."""
    with open(path, "rb") as fh:
        fh.seek(2)
        for _ in range(1000):
            marker = fh.read(2)
            while marker[:1] == b"\xff" and marker[1:2] == b"\xff":  # fill bytes
                marker = marker[1:] + fh.read(1)
            if len(marker) < 2 or marker[0] != 0xFF:
                break
            code = marker[1]
            if code == 0x01 or 0xD0 <= code <= 0xD7:
                continue
            if code in (0xD9, 0xDA):
                break
            length_bytes = fh.read(2)
            if len(length_bytes) < 2:
                break
            (length,) = struct.unpack(">H", length_bytes)
            if length < 2:
                break
            if code in _SOF_MARKERS:
                frame = fh.read(5)
                if len(frame) < 5:
                    break
                _, height, width = struct.unpack(">BHH", frame)
                _check_pixels(width, height, limits, reasons, "JPEG")
                return
            fh.seek(length - 2, os.SEEK_CUR)
    reasons.add("JPEG without a frame header (truncated or not an image)")


def _check_pdf(path: str, size: int, tokens: set[bytes], warnings: list[str]) -> None:
    with open(path, "rb") as fh:
        fh.seek(max(0, size - 1024))
        tail = fh.read(1024)
    if b"%%EOF" not in tail:
        warnings.append("PDF has no %%EOF marker at its end (truncated?)")
    if tokens:
        names = ", ".join(sorted(t.decode() for t in tokens))
        warnings.append(f"PDF contains active content or attachments ({names})")


def _zip_entry_count(path: str, size: int) -> int | None:
    """The entry count from the end-of-central-directory record (zip64 aware), or None."""
    with open(path, "rb") as fh:
        start = max(0, size - (22 + 65535))
        fh.seek(start)
        tail = fh.read()
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or len(tail) - pos < 22:
        return None
    (count,) = struct.unpack("<H", tail[pos + 10 : pos + 12])
    if count == 0xFFFF and pos >= 20 and tail[pos - 20 : pos - 16] == b"PK\x06\x07":
        (offset,) = struct.unpack("<Q", tail[pos - 12 : pos - 4])
        with open(path, "rb") as fh:
            fh.seek(offset)
            record = fh.read(56)
        if record[:4] == b"PK\x06\x06" and len(record) == 56:
            (count,) = struct.unpack("<Q", record[32:40])
    return int(count)


def _check_zip(path: str, size: int, limits: Limits, reasons: _Reasons) -> int | None:
    """Entry count, names, links, declared and actual sizes, ratios, nested content."""
    declared_count = _zip_entry_count(path, size)
    if declared_count is None:
        reasons.add("corrupt zip: no end of central directory record")
        return None
    if declared_count > limits.archive_entries:
        reasons.add(f"zip has {declared_count} entries (at most {limits.archive_entries})")
        return declared_count
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if not infos:
                reasons.add("empty zip archive")
                return 0
            if len(infos) > limits.archive_entries:
                reasons.add(f"zip has {len(infos)} entries (at most {limits.archive_entries})")
                return len(infos)
            declared = 0
            for info in infos:
                declared += info.file_size
                _check_member_name(info.filename, reasons)
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    reasons.add(f"entry {info.filename!r} is a symbolic link")
                if info.flag_bits & 0x1:
                    reasons.add(f"entry {info.filename!r} is encrypted and cannot be checked")
                if info.file_size > MiB and info.file_size > limits.archive_ratio * max(
                    info.compress_size, 1
                ):
                    ratio = info.file_size / max(info.compress_size, 1)
                    reasons.add(
                        f"entry {info.filename!r} has a compression ratio of {ratio:.0f} "
                        f"(at most {limits.archive_ratio:g}): a zip bomb?"
                    )
            if declared > limits.archive_uncompressed_bytes:
                reasons.add(
                    f"zip would uncompress to {declared} bytes "
                    f"(at most {limits.archive_uncompressed_bytes})"
                )
            if declared > MiB and declared > limits.archive_ratio * size:
                reasons.add(
                    f"zip compression ratio {declared / size:.0f} is above "
                    f"{limits.archive_ratio:g}: a zip bomb?"
                )
            if reasons:
                return len(infos)
            _read_zip_entries(zf, infos, limits, reasons)
            return len(infos)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as e:
        reasons.add(f"corrupt zip: {e}")
        return None


def _read_zip_entries(
    zf: zipfile.ZipFile, infos: Iterable[zipfile.ZipInfo], limits: Limits, reasons: _Reasons
) -> None:
    """Decompress every entry streaming, capped at the uncompressed-size limit."""
    budget = limits.archive_uncompressed_bytes
    for info in infos:
        if info.is_dir():
            continue
        try:
            with zf.open(info) as member:
                head = member.read(_HEAD_SIZE)
                problem = _content_problem(head)
                if problem:
                    reasons.add(f"entry {info.filename!r} {problem}")
                budget -= len(head)
                while budget >= 0 and (chunk := member.read(min(_CHUNK, budget + 1))):
                    budget -= len(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as e:
            reasons.add(f"entry {info.filename!r} cannot be decompressed: {e}")
            continue
        if budget < 0:
            reasons.add(f"zip uncompresses to more than {limits.archive_uncompressed_bytes} bytes")
            return


def _check_member_name(name: str, reasons: _Reasons) -> None:
    unsafe = _unsafe_path(name)
    if unsafe:
        reasons.add(f"entry {name!r} {unsafe}")
    suffix = _suffix_problem(name)
    if suffix:
        reasons.add(f"entry {name!r} {suffix}")


def _check_tar(path: str, limits: Limits, reasons: _Reasons) -> int | None:
    """Walk the tar headers one by one (stopping past the entry limit); peek at each file."""
    count = 0
    total = 0
    try:
        with tarfile.open(path, mode="r:") as tf:
            while (member := tf.next()) is not None:
                count += 1
                if count > limits.archive_entries:
                    reasons.add(f"tar has more than {limits.archive_entries} entries")
                    return count
                _check_member_name(member.name, reasons)
                if member.issym() or member.islnk():
                    reasons.add(f"entry {member.name!r} is a link (to {member.linkname!r})")
                elif member.ischr() or member.isblk() or member.isfifo():
                    reasons.add(f"entry {member.name!r} is a device or fifo")
                elif member.issparse():
                    reasons.add(f"entry {member.name!r} is a sparse file")
                elif member.isreg():
                    total += member.size
                    extracted = tf.extractfile(member)
                    if extracted is not None:
                        problem = _content_problem(_read_head(extracted))
                        if problem:
                            reasons.add(f"entry {member.name!r} {problem}")
                elif not member.isdir():
                    reasons.add(f"entry {member.name!r} has an unsupported type")
                kept = getattr(tf, "members", None)
                if isinstance(kept, list):
                    kept.clear()  # tarfile keeps every header it read; a bomb has millions
    except (tarfile.TarError, EOFError, OSError, ValueError, UnicodeError) as e:
        reasons.add(f"corrupt tar: {e}")
        return None
    if count == 0:
        reasons.add("empty tar archive")
    if total > limits.archive_uncompressed_bytes:
        reasons.add(f"tar holds {total} bytes (at most {limits.archive_uncompressed_bytes})")
    return count


def _read_head(fh: IO[bytes]) -> bytes:
    return fh.read(_HEAD_SIZE)
