"""Per-format checks: PNG and JPEG structure, PDF active content, ZIP, TAR and gzip archives.

Each ``check_*`` function looks at one file already typed by
:mod:`~aligner_core.files.sniff` and adds what it finds to a :class:`Findings`.
Nothing here raises for a bad file; parser failures become reasons. Reasons
name the rule and entry numbers, never names or text from the file.
"""

from __future__ import annotations

import contextlib
import gzip
import mmap
import re
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any, Final

import attrs

from aligner_core.codes import english
from aligner_core.files.limits import Limits, MiB
from aligner_core.files.reasons import Reason, Rule, reason
from aligner_core.files.sniff import HEAD_SIZE, archive_kind, executable_kind, is_tar_header

__all__ = [
    "PDF_EXTRA_MISSING",
    "Findings",
    "ImageGeometry",
    "check_gzip",
    "check_jpeg",
    "check_pdf",
    "check_png",
    "check_tar",
    "check_zip",
]

PDF_EXTRA_MISSING: Final = english("extra.missing", {"problem": "pdf", "extra": "pdf"})
_MAX_LISTED: Final = 20
_CHUNK: Final = MiB
_PADDING: Final = b"\x00\xff\r\n\t "


@attrs.define
class Findings:
    """Reasons to refuse (at most 20 listed, the rest counted), warnings and an entry count."""

    reasons: list[Reason] = attrs.Factory(list)
    warnings: list[str] = attrs.Factory(list)
    entries: int | None = None
    more: int = 0

    def refuse(self, rule: Rule, problem: str | None = None, **params: Any) -> None:
        """Add the reason ``rule`` (variant ``problem``) with its parameters."""
        self.add(reason(rule, problem, **params))

    def add(self, found: Reason) -> None:
        """Add a reason made elsewhere."""
        if len(self.reasons) < _MAX_LISTED:
            self.reasons.append(found)
        else:
            self.more += 1

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def __bool__(self) -> bool:
        """True when there is a reason to refuse."""
        return bool(self.reasons)

    def all_reasons(self) -> list[Reason]:
        more = [reason(Rule.MORE, count=self.more)] if self.more else []
        return self.reasons + more


@contextlib.contextmanager
def _mapped(path: str) -> Iterator[mmap.mmap]:
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
        yield m


def _trailing_is_padding(data: bytes | mmap.mmap, start: int, limits: Limits) -> bool:
    extra = len(data) - start
    return extra <= limits.image_trailing_bytes and not bytes(data[start:]).strip(_PADDING)


@attrs.frozen
class ImageGeometry:
    """Width and height read from an image's header."""

    width: int
    height: int


def _check_pixels(width: int, height: int, limits: Limits, found: Findings, what: str) -> bool:
    if width == 0 or height == 0:
        found.refuse(Rule.IMAGE_MALFORMED, "no_pixels", format=what, width=width, height=height)
        return False
    if width * height > limits.image_pixels:
        found.refuse(
            Rule.IMAGE_PIXELS, format=what, width=width, height=height, limit=limits.image_pixels
        )
        return False
    return True


# --- PNG -------------------------------------------------------------------------------------

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_PNG_MAX_CHUNKS: Final = 100_000


def check_png(path: str, limits: Limits, found: Findings) -> ImageGeometry | None:
    """IHDR first, chunk structure up to IEND, pixel count, nothing after IEND, not animated."""
    with _mapped(path) as m:
        if len(m) < 33 or m[12:16] != b"IHDR" or m[8:12] != b"\x00\x00\x00\x0d":
            found.refuse(Rule.IMAGE_MALFORMED, "png_header")
            return None
        width, height = struct.unpack(">II", m[16:24])
        if not _check_pixels(width, height, limits, found, "PNG"):
            return None
        pos = len(_PNG_SIGNATURE)
        for _ in range(_PNG_MAX_CHUNKS):
            if pos + 12 > len(m):
                found.refuse(Rule.IMAGE_MALFORMED, "png_no_iend")
                return None
            (length,) = struct.unpack(">I", m[pos : pos + 4])
            kind = bytes(m[pos + 4 : pos + 8])
            if length > 0x7FFFFFFF or not kind.isalpha():
                found.refuse(Rule.IMAGE_MALFORMED, "png_chunks")
                return None
            if kind == b"acTL":
                found.refuse(Rule.IMAGE_ANIMATED, "png")
            pos += 12 + length
            if kind == b"IEND":
                break
        else:
            found.refuse(Rule.IMAGE_MALFORMED, "png_too_many_chunks", max=_PNG_MAX_CHUNKS)
            return None
        if pos > len(m):
            found.refuse(Rule.IMAGE_MALFORMED, "png_iend_cut")
            return None
        if not _trailing_is_padding(m, pos, limits):
            found.refuse(Rule.IMAGE_TRAILING, "png", count=len(m) - pos)
    return ImageGeometry(width, height)


# --- JPEG ------------------------------------------------------------------------------------

_SOF_MARKERS: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_MAX_SEGMENTS: Final = 100_000


# In entropy-coded data 0xFF is followed by 0x00 (a stuffed byte), a restart marker
# (0xD0-0xD7) or more 0xFF fill bytes; anything else after the last 0xFF is a marker.
_JPEG_MARKER: Final = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _entropy_end(m: mmap.mmap, pos: int) -> int:
    """Where the entropy-coded data starting at ``pos`` ends (at the next real marker)."""
    found = _JPEG_MARKER.search(m, pos)
    return found.start() if found else len(m)


def check_jpeg(path: str, limits: Limits, found: Findings) -> ImageGeometry | None:
    """Segments, frame header, pixel count, scans up to EOI, nothing after EOI."""
    geometry: ImageGeometry | None = None
    with _mapped(path) as m:
        size = len(m)
        pos = 2
        end: int | None = None
        for _ in range(_JPEG_MAX_SEGMENTS):
            while pos < size and m[pos] == 0xFF and pos + 1 < size and m[pos + 1] == 0xFF:
                pos += 1  # fill bytes
            if pos + 2 > size or m[pos] != 0xFF:
                break
            code = m[pos + 1]
            if code == 0xD9:
                end = pos + 2
                break
            if code == 0x01 or 0xD0 <= code <= 0xD7:
                pos += 2
                continue
            if pos + 4 > size:
                break
            (length,) = struct.unpack(">H", m[pos + 2 : pos + 4])
            if length < 2 or pos + 2 + length > size:
                break
            if code in _SOF_MARKERS and geometry is None:
                if length < 7:
                    break
                height, width = struct.unpack(">HH", m[pos + 5 : pos + 9])
                if not _check_pixels(width, height, limits, found, "JPEG"):
                    return None
                geometry = ImageGeometry(width, height)
            pos += 2 + length
            if code == 0xDA:
                if geometry is None:
                    break
                pos = _entropy_end(m, pos)
        if geometry is None:
            found.refuse(Rule.IMAGE_MALFORMED, "jpeg_no_frame")
            return None
        if end is None:
            found.refuse(Rule.IMAGE_MALFORMED, "jpeg_no_eoi")
            return None
        if not _trailing_is_padding(m, end, limits):
            found.refuse(Rule.IMAGE_TRAILING, "jpeg", count=size - end)
    return geometry


# --- PDF -------------------------------------------------------------------------------------

# Raw names that are refused wherever they occur (also in objects no cross-reference
# table points to, which another reader might still find). Too long to occur by chance.
_PDF_RAW: Final = (
    (b"/JavaScript", Rule.PDF_JAVASCRIPT),
    (b"/Launch", Rule.PDF_LAUNCH),
    (b"/EmbeddedFile", Rule.PDF_EMBEDDED_FILE),
    (b"/RichMedia", Rule.PDF_RICH_MEDIA),
)
_PDF_ACTIONS: Final = {
    "/JavaScript": Rule.PDF_JAVASCRIPT,
    "/Launch": Rule.PDF_LAUNCH,
    "/RichMediaExecute": Rule.PDF_RICH_MEDIA,
}
_PDF_OTHER_ACTIONS: Final = frozenset(
    {
        "/ImportData",
        "/SubmitForm",
        "/ResetForm",
        "/GoToE",
        "/GoToR",
        "/Rendition",
        "/Sound",
        "/Movie",
        "/Hide",
        "/SetOCGState",
        "/Trans",
        "/GoTo3DView",
    }
)
_PDF_KEYS: Final = {
    "/JS": Rule.PDF_JAVASCRIPT,
    "/JavaScript": Rule.PDF_JAVASCRIPT,
    "/Launch": Rule.PDF_LAUNCH,
    "/AA": Rule.PDF_ADDITIONAL_ACTIONS,
    "/EmbeddedFiles": Rule.PDF_EMBEDDED_FILE,
    "/EF": Rule.PDF_EMBEDDED_FILE,
    "/XFA": Rule.PDF_XFA,
    "/RichMediaContent": Rule.PDF_RICH_MEDIA,
    "/RichMediaSettings": Rule.PDF_RICH_MEDIA,
}
_PDF_SUBTYPES: Final = {
    "/FileAttachment": Rule.PDF_EMBEDDED_FILE,
    "/RichMedia": Rule.PDF_RICH_MEDIA,
    "/Screen": Rule.PDF_RICH_MEDIA,
    "/Movie": Rule.PDF_RICH_MEDIA,
    "/Sound": Rule.PDF_RICH_MEDIA,
    "/3D": Rule.PDF_RICH_MEDIA,
}
_PDF_MAX_DEPTH: Final = 64


def _pdf_tail(m: mmap.mmap, found: Findings) -> None:
    tail = bytes(m[max(0, len(m) - 1024) :])
    at = tail.rfind(b"%%EOF")
    if at < 0:
        found.refuse(Rule.PDF_MALFORMED, "no_eof")
    elif tail[at + 5 :].strip(b"\x00\r\n\t\f ") != b"":
        found.refuse(Rule.PDF_TRAILING)


def check_pdf(path: str, limits: Limits, found: Findings) -> None:
    """End marker, raw active-content names, then a full parse with pikepdf (extra ``pdf``)."""
    with _mapped(path) as m:
        _pdf_tail(m, found)
        seen: set[Rule] = set()
        for token, rule in _PDF_RAW:
            if rule not in seen and m.find(token) >= 0:
                seen.add(rule)
                found.refuse(rule)
    if found:
        return
    try:
        import pikepdf  # noqa: F401 - the optional extra
    except ImportError:
        found.refuse(Rule.EXTRA_MISSING, "pdf", extra="pdf")
        return
    _parse_pdf(path, limits, found)


def _parse_pdf(path: str, limits: Limits, found: Findings) -> None:
    import pikepdf

    try:
        pdf = pikepdf.Pdf.open(path, attempt_recovery=False)
    except pikepdf.PasswordError:
        found.refuse(Rule.PDF_ENCRYPTED)
        return
    except Exception:  # qpdf's messages quote the file: name the rule only
        found.refuse(Rule.PDF_MALFORMED)
        return
    rules: dict[Rule, Reason] = {}
    with pdf:
        if pdf.is_encrypted:
            found.refuse(Rule.PDF_ENCRYPTED)
            return
        try:
            objects = pdf.objects
            if len(objects) > limits.pdf_objects:
                found.refuse(Rule.PDF_TOO_COMPLEX, count=len(objects), max=limits.pdf_objects)
                return
            for obj in objects:
                _walk_pdf(obj, rules)
            damaged = bool(pdf.get_warnings())
        except RecursionError:
            found.refuse(Rule.PDF_MALFORMED, "nested")
            return
        except Exception:
            found.refuse(Rule.PDF_MALFORMED, "objects")
            return
    for why in rules.values():
        found.add(why)
    if damaged:
        found.refuse(Rule.PDF_MALFORMED, "repaired")


def _note(rules: dict[Rule, Reason], rule: Rule, problem: str | None = None, **params: Any) -> None:
    """Keep the first reason found for each rule."""
    if rule not in rules:
        rules[rule] = reason(rule, problem, **params)


def _walk_pdf(root: object, rules: dict[Rule, Reason]) -> None:
    """Look at every key and name of an object's dictionaries and arrays (never stream data).

    Names come decoded from the parser (``/J#61vaScript`` is ``/JavaScript``) and
    objects packed in object streams are listed like any other. Indirect
    children are skipped: every indirect object is walked on its own.
    """
    import pikepdf

    kinds = pikepdf.ObjectType
    dictionary, stream, array, name = kinds.dictionary, kinds.stream, kinds.array, kinds.name_
    pending: list[tuple[pikepdf.Object, int]] = [(root, 0)]  # type: ignore[list-item]
    while pending:
        obj, depth = pending.pop()
        if depth > _PDF_MAX_DEPTH:
            raise RecursionError
        code = obj._type_code
        if code is array:
            pending.extend(
                (item, depth + 1)
                for item in obj
                if getattr(item, "_type_code", None) in (dictionary, array) and not item.is_indirect
            )
            continue
        if code is not dictionary and code is not stream:
            continue
        for key, value in obj.items():
            hit = _PDF_KEYS.get(key)
            if hit:
                _note(rules, hit)
            kind = getattr(value, "_type_code", None)  # numbers and booleans come as Python values
            if kind is name:
                _check_pdf_name(key, str(value), rules)
            elif kind is dictionary or kind is array:
                if key == "/OpenAction" and kind is dictionary:
                    action = value.get("/S")
                    if action is None or str(action) != "/GoTo":
                        _note(rules, Rule.PDF_OPEN_ACTION)
                if not value.is_indirect:
                    pending.append((value, depth + 1))
            elif kind is stream and key == "/OpenAction":
                _note(rules, Rule.PDF_OPEN_ACTION)


def _check_pdf_name(key: str, name: str, rules: dict[Rule, Reason]) -> None:
    if key == "/S":
        if name in _PDF_ACTIONS:
            _note(rules, _PDF_ACTIONS[name])
        elif name in _PDF_OTHER_ACTIONS:  # a name from this fixed list, never the file's text
            _note(rules, Rule.PDF_ACTION, action=name[1:])
    elif key == "/Subtype" and name in _PDF_SUBTYPES:
        _note(rules, _PDF_SUBTYPES[name])
    elif key == "/Type" and name == "/EmbeddedFile":
        _note(rules, Rule.PDF_EMBEDDED_FILE)


# --- archives --------------------------------------------------------------------------------

_ARCHIVE_SUFFIXES: Final = (
    ".zip", ".tar", ".gz", ".tgz", ".bz2", ".tbz", ".xz", ".txz", ".7z", ".rar", ".zst",
)  # fmt: skip
_EXECUTABLE_SUFFIXES: Final = (
    ".exe", ".dll", ".com", ".scr", ".msi", ".bat", ".cmd", ".ps1", ".vbs", ".sh", ".jar",
    ".app", ".so", ".dylib",
)  # fmt: skip


def _unsafe_path(name: str) -> str | None:
    """Why an archive member name is unsafe to extract (the variant of the rule), or ``None``."""
    if "\x00" in name:
        return "nul"
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        return "absolute"
    if ".." in norm.split("/"):
        return "dotdot"
    return None


def _check_member_name(number: int, name: str, found: Findings) -> None:
    unsafe = _unsafe_path(name)
    if unsafe:
        found.refuse(Rule.ARCHIVE_PATH, unsafe, entry=number)
    lower = name.lower().rstrip("/")
    if lower.endswith(_ARCHIVE_SUFFIXES):
        found.refuse(Rule.ARCHIVE_NESTED, "name", entry=number)
    elif lower.endswith(_EXECUTABLE_SUFFIXES):
        found.refuse(Rule.ARCHIVE_EXECUTABLE, "name", entry=number)


def _check_member_content(number: int, head: bytes, found: Findings) -> None:
    nested = archive_kind(head)
    if nested:
        found.refuse(Rule.ARCHIVE_NESTED, entry=number, format=nested)
        return
    exe = executable_kind(head)
    if exe:
        found.refuse(Rule.ARCHIVE_EXECUTABLE, entry=number, executable=exe)


def _zip_entry_count(m: mmap.mmap) -> int | None:
    """The entry count from the end-of-central-directory record (zip64 aware), or None."""
    start = max(0, len(m) - (22 + 65535))
    pos = m.rfind(b"PK\x05\x06", start)
    if pos < 0 or len(m) - pos < 22:
        return None
    (count,) = struct.unpack("<H", m[pos + 10 : pos + 12])
    if count == 0xFFFF and pos >= 20 and m[pos - 20 : pos - 16] == b"PK\x06\x07":
        (offset,) = struct.unpack("<Q", m[pos - 12 : pos - 4])
        record = m[offset : offset + 56]
        if record[:4] == b"PK\x06\x06" and len(record) == 56:
            (count,) = struct.unpack("<Q", record[32:40])
    return int(count)


def check_zip(path: str, size: int, limits: Limits, found: Findings) -> None:
    """Entry count, names, links, declared and actual sizes, ratios, nested content."""
    with _mapped(path) as m:
        declared_count = _zip_entry_count(m)
    if declared_count is None:
        found.refuse(Rule.ARCHIVE_CORRUPT, "zip_end")
        return
    if declared_count > limits.archive_entries:
        found.refuse(
            Rule.ARCHIVE_ENTRIES, format="zip", count=declared_count, max=limits.archive_entries
        )
        found.entries = declared_count
        return
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            found.entries = len(infos)
            if not infos:
                found.refuse(Rule.ARCHIVE_EMPTY, format="zip")
                return
            if len(infos) > limits.archive_entries:
                found.refuse(
                    Rule.ARCHIVE_ENTRIES, format="zip", count=len(infos), max=limits.archive_entries
                )
                return
            declared = 0
            for number, info in enumerate(infos, 1):
                declared += info.file_size
                _check_member_name(number, info.filename, found)
                if stat.S_ISLNK(info.external_attr >> 16):
                    found.refuse(Rule.ARCHIVE_LINK, "symbolic", entry=number)
                if info.flag_bits & 0x1:
                    found.refuse(Rule.ARCHIVE_ENCRYPTED, entry=number)
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > MiB and ratio > limits.archive_ratio:
                    found.refuse(
                        Rule.ARCHIVE_BOMB,
                        "entry",
                        entry=number,
                        ratio=round(ratio),
                        max=f"{limits.archive_ratio:g}",
                    )
            if declared > limits.archive_uncompressed_bytes:
                found.refuse(
                    Rule.ARCHIVE_TOO_LARGE,
                    format="zip",
                    size=declared,
                    max=limits.archive_uncompressed_bytes,
                )
            if declared > MiB and declared > limits.archive_ratio * size:
                found.refuse(
                    Rule.ARCHIVE_BOMB,
                    format="zip",
                    ratio=round(declared / size),
                    max=f"{limits.archive_ratio:g}",
                )
            if not found:
                _read_zip_entries(zf, infos, limits, found)
    except (
        zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError,
        NotImplementedError,  # a zip version zipfile does not read (6.4: strong encryption)
    ):  # fmt: skip
        found.refuse(Rule.ARCHIVE_CORRUPT, "zip")


def _read_zip_entries(
    zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: Limits, found: Findings
) -> None:
    """Decompress every entry streaming, capped at the uncompressed-size limit."""
    budget = limits.archive_uncompressed_bytes
    for number, info in enumerate(infos, 1):
        if info.is_dir():
            continue
        try:
            with zf.open(info) as member:
                head = member.read(HEAD_SIZE)
                _check_member_content(number, head, found)
                budget -= len(head)
                while budget >= 0 and (chunk := member.read(min(_CHUNK, budget + 1))):
                    budget -= len(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
            found.refuse(Rule.ARCHIVE_CORRUPT, "entry", entry=number)
            continue
        if budget < 0:
            found.refuse(
                Rule.ARCHIVE_TOO_LARGE, "read", format="zip", max=limits.archive_uncompressed_bytes
            )
            return


def check_tar(path: str, limits: Limits, found: Findings) -> None:
    """Walk the tar headers one by one (stopping past the entry limit); peek at each file."""
    try:
        with tarfile.open(path, mode="r:") as tf:
            _walk_tar(tf, limits, found, "tar")
    except (tarfile.TarError, EOFError, OSError, ValueError, UnicodeError):
        found.refuse(Rule.ARCHIVE_CORRUPT, "tar")


def _walk_tar(tf: tarfile.TarFile, limits: Limits, found: Findings, what: str) -> None:
    count = 0
    total = 0
    while (member := tf.next()) is not None:
        count += 1
        if count > limits.archive_entries:
            found.refuse(Rule.ARCHIVE_ENTRIES, "more", format=what, max=limits.archive_entries)
            found.entries = count
            return
        _check_member_name(count, member.name, found)
        if member.issym() or member.islnk():
            found.refuse(Rule.ARCHIVE_LINK, entry=count)
        elif member.ischr() or member.isblk() or member.isfifo():
            found.refuse(Rule.ARCHIVE_SPECIAL, "device", entry=count)
        elif member.issparse():
            found.refuse(Rule.ARCHIVE_SPECIAL, "sparse", entry=count)
        elif member.isreg():
            total += member.size
            extracted = tf.extractfile(member)
            if extracted is not None:
                _check_member_content(count, extracted.read(HEAD_SIZE), found)
        elif not member.isdir():
            found.refuse(Rule.ARCHIVE_SPECIAL, entry=count)
        kept = getattr(tf, "members", None)
        if isinstance(kept, list):
            kept.clear()  # tarfile keeps every header it read; a bomb has millions
    found.entries = count
    if count == 0:
        found.refuse(Rule.ARCHIVE_EMPTY, format=what)
    if total > limits.archive_uncompressed_bytes:
        found.refuse(
            Rule.ARCHIVE_TOO_LARGE,
            "held",
            format=what,
            size=total,
            max=limits.archive_uncompressed_bytes,
        )


class _Bomb(Exception):
    """Raised by :class:`_Capped` when a stream inflates past its caps."""


class _Capped:
    """A read-only stream over a decompressor that stops past a size or ratio cap."""

    def __init__(self, raw: gzip.GzipFile, compressed: int, limits: Limits) -> None:
        self._raw = raw
        self.total = 0
        self.cap = min(
            limits.archive_uncompressed_bytes, max(MiB, int(limits.archive_ratio * compressed))
        )

    def read(self, n: int = -1) -> bytes:
        want = _CHUNK if n is None or n < 0 else n
        data = self._raw.read(min(want, self.cap + 1 - self.total))
        self.total += len(data)
        if self.total > self.cap:
            raise _Bomb
        return data

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass


def check_gzip(path: str, size: int, limits: Limits, found: Findings) -> None:
    """A ``.tar.gz`` (tar checks on the stream) or one gzipped file; capped decompression."""
    try:
        with gzip.open(path, "rb") as peek:
            head = peek.read(HEAD_SIZE)
        with gzip.open(path, "rb") as raw:
            capped = _Capped(raw, size, limits)
            if is_tar_header(head):
                with tarfile.open(fileobj=capped, mode="r|") as tf:  # type: ignore[call-overload]
                    _walk_tar(tf, limits, found, "tar.gz")
            else:
                found.entries = 1
                _check_member_content(1, head, found)
            capped.drain()  # the gzip CRC is checked at the end of the stream
    except _Bomb:
        found.refuse(
            Rule.ARCHIVE_BOMB,
            "gzip",
            cap=capped.cap,
            max=f"{limits.archive_ratio:g}",
            limit=limits.archive_uncompressed_bytes,
        )
    except (gzip.BadGzipFile, tarfile.TarError, EOFError, OSError, zlib.error, ValueError):
        found.refuse(Rule.ARCHIVE_CORRUPT, "gzip")
