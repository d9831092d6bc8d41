"""The type of a file by its content: one rule per format, used everywhere (stdlib only).

:func:`identify` looks at the first 4 KiB, the size and the last 64 KiB and
names the type together with every other format the same bytes would also be
read as (a polyglot). :func:`stl_format` is the one STL rule: the scanner, the
STL analyzer and the CLI all ask it.
"""

from __future__ import annotations

import os
import struct
from typing import IO, Final

import attrs

from aligner_core.domain.records import MediaType
from aligner_core.errors import Reason
from aligner_core.files.reasons import Rule, reason

__all__ = [
    "HEAD_SIZE",
    "STL_HEADER_SIZE",
    "STL_TRIANGLE_SIZE",
    "TAIL_SIZE",
    "Identity",
    "StlFormat",
    "executable_kind",
    "identify",
    "read_ends",
    "sniff",
    "sniff_file",
    "stl_format",
]

HEAD_SIZE: Final = 4096
"""Bytes read from the start of a file to decide its type."""
TAIL_SIZE: Final = 22 + 65535
"""Bytes read from the end: a ZIP end-of-directory record with the longest comment."""
STL_HEADER_SIZE: Final = 84
"""80-byte header plus the little-endian uint32 triangle count."""
STL_TRIANGLE_SIZE: Final = 50
"""Normal, three vertices (12 float32) and a uint16 attribute."""
STL_TRAILING_BYTES: Final = 128
"""Bytes after the last binary triangle tolerated by default (some exporters pad)."""
_PDF_HEADER_WINDOW: Final = 1024  # readers accept %PDF- anywhere in the first 1 KiB

# Bytes that never occur in an ASCII STL (binary float data nearly always has some).
_CONTROL_BYTES: Final = bytes([*range(9), 11, 12, *range(14, 32), 127])

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
_MAGIC: Final = (
    (b"\x89PNG\r\n\x1a\n", MediaType.PNG),
    (b"\xff\xd8\xff", MediaType.JPEG),
    (b"%PDF-", MediaType.PDF),
    (b"PK\x03\x04", MediaType.ZIP),
    (b"PK\x05\x06", MediaType.ZIP),
    (b"\x1f\x8b\x08", MediaType.GZIP),
)
_OTHER_COMPRESSION: Final = (
    (b"PK\x07\x08", "zip"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
_MARKUP: Final = (b"<script", b"<html", b"<!doctype html", b"<iframe")
_ARCHIVES: Final = frozenset({MediaType.ZIP, MediaType.TAR, MediaType.GZIP})


def executable_kind(head: bytes) -> str | None:
    """What kind of executable the first bytes show, or ``None``."""
    for magic, what in _EXECUTABLES:
        if head.startswith(magic):
            return what
    return None


def archive_kind(head: bytes) -> str | None:
    """Which archive or compression format the first bytes show (zip, tar, gzip, 7z, ...)."""
    for magic, media in _MAGIC:
        if media in _ARCHIVES and head.startswith(magic):
            return "zip" if media is MediaType.ZIP else "gzip"
    for magic, what in _OTHER_COMPRESSION:
        if head.startswith(magic):
            return what
    if is_tar_header(head):
        return "tar"
    return None


def is_tar_header(head: bytes) -> bool:
    """A POSIX or GNU tar header: ``ustar`` at offset 257 and a correct checksum."""
    if len(head) < 512 or head[257:262] != b"ustar":
        return False
    field = head[148:156].replace(b"\x00", b" ").strip()
    try:
        stored = int(field, 8)
    except ValueError:
        return False
    block = head[:512]
    computed = sum(block[:148]) + 8 * 0x20 + sum(block[156:])
    return stored == computed


@attrs.frozen
class StlFormat:
    """What the first bytes and the size say about a file: binary or ASCII STL, and why not."""

    format: str | None
    """``"binary"``, ``"ascii"`` or ``None`` when neither fits (see ``reasons``)."""
    triangles: int = 0
    """The binary header's triangle count (0 for ASCII)."""
    trailing_bytes: int = 0
    reasons: tuple[Reason, ...] = ()
    """Why not (``stl.invalid`` reasons), when ``format`` is ``None``."""


def _looks_like_text(sample: bytes) -> bool:
    return len(sample.translate(None, _CONTROL_BYTES)) == len(sample)


def _is_utf8_text(sample: bytes) -> bool:
    if not _looks_like_text(sample):
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as e:  # a character cut at the end of the sample is fine
        return e.start >= len(sample) - 3 and e.reason == "unexpected end of data"
    return True


def stl_format(
    head: bytes, size: int, *, max_trailing_bytes: int = STL_TRAILING_BYTES
) -> StlFormat:
    """Decide binary or ASCII STL from the first bytes (up to 4 KiB) and the file size.

    ASCII: starts with ``solid`` and holds no control bytes. Binary: the size
    is ``84 + 50 x count`` (plus at most ``max_trailing_bytes``). A binary file
    may start with ``solid``; a binary header never looks like text (below
    16.7M triangles the count's high byte is 0). Nothing is read here.
    """
    if size == 0:
        return StlFormat(None, reasons=(reason(Rule.STL_INVALID, "empty"),))
    is_solid = head.lstrip()[:5].lower() == b"solid"
    if is_solid and _looks_like_text(head[:HEAD_SIZE]):
        return StlFormat("ascii")
    if size < STL_HEADER_SIZE or len(head) < STL_HEADER_SIZE:
        return StlFormat(
            None,
            reasons=(reason(Rule.STL_INVALID, "short", size=size, header=STL_HEADER_SIZE),),
        )
    count = int.from_bytes(head[80:84], "little")
    expected = STL_HEADER_SIZE + STL_TRIANGLE_SIZE * count
    if not is_solid and size != expected and _is_utf8_text(head[:HEAD_SIZE]):
        return StlFormat(None, reasons=(reason(Rule.STL_INVALID, "text"),))
    if count == 0:
        return StlFormat(None, reasons=(reason(Rule.STL_INVALID, "zero_count"),))
    if size < expected:
        return StlFormat(
            None,
            triangles=count,
            reasons=(
                reason(Rule.STL_INVALID, "truncated", count=count, expected=expected, size=size),
            ),
        )
    trailing = size - expected
    if trailing > max_trailing_bytes:
        return StlFormat(
            None,
            triangles=count,
            reasons=(
                reason(
                    Rule.STL_INVALID,
                    "size" if is_solid else "size_not_solid",
                    count=count,
                    expected=expected,
                    size=size,
                    trailing=trailing,
                ),
            ),
        )
    return StlFormat("binary", triangles=count, trailing_bytes=trailing)


def _magic_type(head: bytes) -> MediaType | None:
    for magic, media in _MAGIC:
        if head.startswith(magic):
            return media
    if is_tar_header(head):
        return MediaType.TAR
    return None


def _zip_directory_at_end(tail: bytes, size: int) -> bool:
    """A ZIP end-of-central-directory record whose comment ends exactly at the end of the file.

    ZIP readers look for it there, so such a file opens as a ZIP archive.
    """
    base = size - len(tail)
    pos = tail.rfind(b"PK\x05\x06")
    while pos >= 0:
        if len(tail) - pos >= 22:
            (comment,) = struct.unpack("<H", tail[pos + 20 : pos + 22])
            (cd_size, cd_offset) = struct.unpack("<II", tail[pos + 12 : pos + 20])
            end = base + pos + 22 + comment
            if end == size and cd_offset + cd_size <= base + pos:
                return True
        pos = tail.rfind(b"PK\x05\x06", 0, pos)
    return False


@attrs.frozen
class Identity:
    """The type the content shows and the other formats the same bytes also are."""

    media: MediaType | None
    """The accepted type by content, or ``None`` (unrecognised)."""
    also: tuple[str, ...] = ()
    """Other formats the bytes would be read as: non-empty means a polyglot."""
    stl: StlFormat | None = None
    """The STL rule's verdict (its reasons explain why a file is not an STL)."""

    @property
    def polyglot(self) -> bool:
        return bool(self.also)


def identify(head: bytes, size: int, tail: bytes = b"") -> Identity:
    """The content type of a file from its first bytes, its size and its last bytes.

    ``head`` is the first :data:`HEAD_SIZE` bytes, ``tail`` the last
    :data:`TAIL_SIZE` (or fewer; without it appended ZIP directories go
    unnoticed). Check :func:`executable_kind` first.
    """
    magic = _magic_type(head)
    stl = stl_format(head, size)
    found: list[str] = []
    if magic is not None:
        found.append(magic.value)
    if stl.format is not None:
        found.append(f"{stl.format} STL")
    media = magic if magic is not None else (MediaType.STL if stl.format else None)
    if media is None:
        return Identity(None, stl=stl)
    if magic is not MediaType.TAR and is_tar_header(head):
        found.append("tar archive")
    if magic not in _ARCHIVES:
        pdf_at = head.find(b"%PDF-", 0, _PDF_HEADER_WINDOW)
        if magic is not MediaType.PDF and pdf_at >= 0:
            found.append("PDF (a PDF header in the first 1 KiB)")
        lowered = head[:_PDF_HEADER_WINDOW].lower()
        if any(tag in lowered for tag in _MARKUP):
            found.append("HTML (markup in the first 1 KiB)")
    if magic is not MediaType.ZIP and tail and _zip_directory_at_end(tail, size):
        found.append("ZIP archive (a ZIP directory at the end)")
    return Identity(media, also=tuple(found[1:]), stl=stl)


def sniff(head: bytes, size: int) -> MediaType | None:
    """The content type from the first bytes (at least 512 for tar) and the file size.

    ``None`` when no accepted type matches (check :func:`executable_kind` first).
    """
    return identify(head, size).media


def read_ends(fh: IO[bytes], size: int) -> tuple[bytes, bytes]:
    """The first :data:`HEAD_SIZE` and the last :data:`TAIL_SIZE` bytes of an open binary file."""
    fh.seek(0)
    head = fh.read(HEAD_SIZE)
    if size <= len(head):
        return head, head
    fh.seek(max(0, size - TAIL_SIZE))
    return head, fh.read(TAIL_SIZE)


def sniff_file(path: str | os.PathLike[str]) -> MediaType | None:
    """:func:`identify` on a file (``None`` also for executables and polyglots)."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        head, tail = read_ends(fh, size)
    if executable_kind(head):
        return None
    identity = identify(head, size, tail)
    return None if identity.polyglot else identity.media
