"""A corpus of bad files: each refused with RejectedFileError and the expected reason.

Never a crash, never a hang, never a read of a claimed size into memory: the
"2 GB" files are sparse (``truncate``), so nothing big touches the disk. The
second half sends the corpus and a corpus of hostile files (polyglots, active
PDFs, photos carrying a patient's name in their metadata, bombs) through
``receive``: each is refused with its rule code, or kept sanitised.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import struct
import tarfile
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pikepdf
import pytest
from PIL import Image, ImageChops, ImageCms, PngImagePlugin
from PIL.TiffImagePlugin import IFDRational

from aligner_core.domain.records import FileKind, FileReport, MediaType
from aligner_core.errors import RejectedFileError
from aligner_core.files.blobs import MemoryBlobStore
from aligner_core.files.intake import receive
from aligner_core.files.limits import Limits
from aligner_core.files.scanner import ContentScanner
from aligner_core.files.stl import StlAnalyzer
from aligner_core.testing.contracts.files import (
    TETRAHEDRON,
    ascii_stl_bytes,
    binary_stl_bytes,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
    zip_bytes,
)

SCAN = FileKind.UPPER_SCAN
PHOTO = FileKind.PHOTO_FRONTAL_BITE
OTHER = FileKind.OTHER
TWO_GB = 2 * 1024**3
Maker = Callable[[Path], object]


def data(content: bytes) -> Maker:
    return lambda path: path.write_bytes(content)


def sparse(header: bytes, size: int) -> Maker:
    """A file of ``size`` bytes holding only ``header``: a hole, not 2 GB of disk."""

    def make(path: Path) -> None:
        with open(path, "wb") as f:
            f.write(header)
            f.truncate(size)

    return make


def stl_header(count: int, text: bytes = b"binary") -> bytes:
    return text.ljust(80, b" ") + struct.pack("<I", count)


def with_coordinate(value: float) -> bytes:
    tri = list(TETRAHEDRON)
    tri[1] = ((value, 0.0, 0.0), tri[1][1], tri[1][2])
    return binary_stl_bytes(tuple(tri))


def ascii_facet(*vertex_lines: str) -> bytes:
    body = "\n".join(f"vertex {v}" for v in vertex_lines)
    return (
        f"solid x\nfacet normal 0 0 0\nouter loop\n{body}\nendloop\nendfacet\nendsolid x\n".encode()
    )


def zipped(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, content in entries.items():
            zf.writestr(name, content)
    return out.getvalue()


def zip_symlink() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        info = zipfile.ZipInfo("evil-link")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    return out.getvalue()


def zip_patched(flags: int = 0, declared: int | None = None) -> bytes:
    """A zip whose central directory lies: extra flag bits or a huge uncompressed size."""
    raw = bytearray(zipped({"a.txt": b"hello" * 100}))
    local = raw.find(b"PK\x03\x04")
    central = raw.find(b"PK\x01\x02")
    if flags:
        for pos in (local + 6, central + 8):
            raw[pos : pos + 2] = struct.pack(
                "<H", struct.unpack("<H", raw[pos : pos + 2])[0] | flags
            )
    if declared is not None:
        raw[central + 24 : central + 28] = struct.pack("<I", declared)
    return bytes(raw)


def tarred(*members: tuple[str, bytes | None, bytes, str]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, content, kind, link in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = link
            if content is None:
                tf.addfile(info)
            else:
                info.size = len(content)
                tf.addfile(info, io.BytesIO(content))
    return out.getvalue()


TETRA = binary_stl_bytes()
REG = tarfile.REGTYPE

# (file name, kind, maker, expected substring of one reason)
CORPUS: list[tuple[str, FileKind, Maker, str]] = [
    # --- STL -------------------------------------------------------------------------------
    ("empty.stl", SCAN, data(b""), "empty file"),
    ("truncated.stl", SCAN, data(TETRA[:-10]), "truncated"),
    ("truncated-mid-header.stl", SCAN, data(TETRA[:60]), "shorter than the 84-byte"),
    ("count-larger.stl", SCAN, data(binary_stl_bytes(count=1000)), "claims 1000 triangles"),
    ("count-max.stl", SCAN, data(binary_stl_bytes(count=2**32 - 1)), "claims 4294967295 triangles"),
    ("count-max-header-only.stl", SCAN, data(stl_header(2**32 - 1)), "claims 4294967295 triangles"),
    (
        "count-max-solid.stl",
        SCAN,
        data(stl_header(2**32 - 1, b"solid x") + TETRA[84:]),
        "claims 4294967295",
    ),
    ("zero-triangles.stl", SCAN, data(stl_header(0)), "zero triangles"),
    ("zero-triangles-ascii.stl", SCAN, data(b"solid empty\nendsolid empty\n"), "zero triangles"),
    ("nul-bytes.stl", SCAN, data(b"\0" * 1000), "zero triangles"),
    ("too-long.stl", SCAN, data(TETRA + b"\1" * 1000), "not a binary STL"),
    (
        "nan.stl",
        SCAN,
        data(with_coordinate(math.nan)),
        "1 NaN or infinite coordinate value(s) in 1 of 4",
    ),
    ("inf.stl", SCAN, data(with_coordinate(math.inf)), "NaN or infinite"),
    ("nan-ascii.stl", SCAN, data(ascii_facet("nan 0 0", "1 0 0", "0 1 0")), "NaN or infinite"),
    ("all-nan.stl", SCAN, data(binary_stl_bytes((((math.nan,) * 3,) * 3,) * 3)), "27 NaN"),
    (
        "degenerate.stl",
        SCAN,
        data(binary_stl_bytes((((0, 0, 0), (1, 1, 1), (2, 2, 2)),) * 2)),
        "degenerate",
    ),
    ("zeros-sparse.stl", SCAN, sparse(stl_header(1000), 84 + 50 * 1000), "degenerate"),
    (
        "ascii-garbage.stl",
        SCAN,
        data(b"solid x\nthis is not a facet\nat all\n"),
        "ascii STL does not parse",
    ),
    ("ascii-truncated.stl", SCAN, data(ascii_stl_bytes()[:-120]), "ascii STL does not parse"),
    (
        "ascii-bad-number.stl",
        SCAN,
        data(ascii_facet("1 2 abc", "1 0 0", "0 1 0")),
        "ascii STL does not parse",
    ),
    (
        "ascii-two-values.stl",
        SCAN,
        data(ascii_facet("1 2", "1 0 0", "0 1 0")),
        "ascii STL does not parse",
    ),
    (
        "ascii-no-loop.stl",
        SCAN,
        data(b"solid x\nfacet normal 0 0 0\nvertex 1 2 3\nendsolid\n"),
        "does not parse",
    ),
    (
        "ascii-no-endsolid.stl",
        SCAN,
        data(ascii_stl_bytes().replace(b"endsolid test\n", b"")),
        "does not parse",
    ),
    (
        "ascii-blank-lines.stl",
        SCAN,
        data(b"solid x\n" + b"\r\n" * 2_000_000),
        "ascii STL does not parse",
    ),
    (
        "ascii-one-long-line.stl",
        SCAN,
        data(b"solid x " + b"y" * 4_000_000),
        "ascii STL does not parse",
    ),
    (
        "text.stl",
        SCAN,
        data(b"This is a text file, not a mesh.\n" * 10),
        "text that does not start with 'solid'",
    ),
    ("pdf.stl", SCAN, data(pdf_bytes()), "content is application/pdf"),
    ("png.stl", SCAN, data(png_bytes()), "content is image/png"),
    ("zip.stl", SCAN, data(zip_bytes()), "content is application/zip"),
    ("elf.stl", SCAN, data(b"\x7fELF\x02\x01\x01" + b"\0" * 300), "ELF"),
    ("script.stl", SCAN, data(b"#!/bin/sh\nrm -rf /\n"), "script"),
    (
        "sparse-2gb-count-fits.stl",
        SCAN,
        sparse(stl_header((TWO_GB - 84) // 50), 84 + 50 * ((TWO_GB - 84) // 50)),
        "larger than the limit",
    ),
    (
        "sparse-2gb-count-max.stl",
        SCAN,
        sparse(stl_header(2**32 - 1), TWO_GB),
        "larger than the limit",
    ),
    # --- images ----------------------------------------------------------------------------
    ("photo.png", PHOTO, data(pdf_bytes()), "content is application/pdf"),
    ("photo-stl.jpg", PHOTO, data(TETRA), "content is model/stl"),
    ("photo-text.jpg", PHOTO, data(b"hello\n"), "unrecognised content"),
    ("no-ihdr.png", PHOTO, data(b"\x89PNG\r\n\x1a\n" + b"\0" * 40), "IHDR"),
    ("huge.png", PHOTO, data(png_bytes(100_000, 100_000)), "above the limit"),
    ("truncated.jpg", PHOTO, data(b"\xff\xd8\xff\xe0\x00\x10JFIF"), "frame header"),
    ("huge.jpg", PHOTO, data(jpeg_bytes(65_535, 65_535)), "above the limit"),
    ("exe.jpg", PHOTO, data(b"MZ\x90\x00" + b"\0" * 200), "Windows"),
    ("macho.png", PHOTO, data(b"\xcf\xfa\xed\xfe" + b"\0" * 200), "Mach-O"),
    # --- archives and others ---------------------------------------------------------------
    ("bomb.zip", OTHER, data(zipped({"zeros.bin": b"\0" * (50 * 1024 * 1024)})), "zip bomb"),
    ("claims-3gb.zip", OTHER, data(zip_patched(declared=3 * 1024**3)), "would uncompress to"),
    ("dotdot.zip", OTHER, data(zipped({"../../etc/cron.d/x": b"x"})), "'..' component"),
    ("absolute.zip", OTHER, data(zipped({"/etc/passwd": b"x"})), "absolute path"),
    ("windows-absolute.zip", OTHER, data(zipped({"C:/Windows/evil.dll": b"x"})), "absolute path"),
    ("nested.zip", OTHER, data(zipped({"inner.zip": zip_bytes()})), "nested"),
    (
        "nested-by-content.zip",
        OTHER,
        data(zipped({"data.bin": b"\x1f\x8b\x08" + b"\0" * 50})),
        "nested gzip",
    ),
    ("exe-inside.zip", OTHER, data(zipped({"readme.txt": b"\x7fELF" + b"\0" * 100})), "ELF"),
    ("symlink.zip", OTHER, data(zip_symlink()), "symbolic link"),
    ("encrypted.zip", OTHER, data(zip_patched(flags=0x1)), "encrypted"),
    (
        "many-entries.zip",
        OTHER,
        data(zipped({f"f{i}.txt": b"" for i in range(101)})),
        "101 entries",
    ),
    ("truncated.zip", OTHER, data(zip_bytes()[:100]), "corrupt zip"),
    ("empty.zip", OTHER, data(zipped({})), "empty zip"),
    ("dotdot.tar", OTHER, data(tarred(("../x", b"x", REG, ""))), "'..' component"),
    ("symlink.tar", OTHER, data(tarred(("l", None, tarfile.SYMTYPE, "/etc/shadow"))), "is a link"),
    ("hardlink.tar", OTHER, data(tarred(("l", None, tarfile.LNKTYPE, "../../x"))), "is a link"),
    ("device.tar", OTHER, data(tarred(("sda", None, tarfile.BLKTYPE, ""))), "device"),
    (
        "nested.tar",
        OTHER,
        data(tarred(("in.tar", tarred(("a", b"a", REG, "")), REG, ""))),
        "nested",
    ),
    ("truncated.tar", OTHER, data(tarred(("big", b"x" * 5000, REG, ""))[:1500]), "corrupt tar"),
    ("gzip.gz", OTHER, data(b"\x1f\x8b\x08\x00" + b"\0" * 100), "corrupt gzip"),
    ("noise.bin", OTHER, data(bytes(range(256)) * 4), "unrecognised content"),
    ("empty.pdf", OTHER, data(b""), "empty file"),
]


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 40
    assert len({name for name, *_ in CORPUS}) == len(CORPUS)


@pytest.fixture(scope="module")
def scanner() -> ContentScanner:
    return ContentScanner(Limits(archive_entries=100), stl=StlAnalyzer())


@pytest.mark.parametrize(("name", "kind", "make", "expected"), CORPUS, ids=[c[0] for c in CORPUS])
def test_bad_file_is_refused(
    tmp_path: Path, scanner: ContentScanner, name: str, kind: FileKind, make: Maker, expected: str
) -> None:
    path = tmp_path / name
    make(path)
    started = time.perf_counter()
    tracemalloc.start()
    try:
        with pytest.raises(RejectedFileError) as info:
            scanner.scan(path, name=name, kind=kind)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.name == name
    assert any(expected in reason for reason in info.value.reasons), info.value.reasons
    assert time.perf_counter() - started < 20
    assert peak < 64 * 1024 * 1024, f"{peak} bytes allocated"


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (stl_header((TWO_GB - 84) // 50), 84 + 50 * ((TWO_GB - 84) // 50), "too many triangles"),
        (stl_header(2**32 - 1), TWO_GB, "claims 4294967295 triangles"),
        (stl_header(4), TWO_GB, "not a binary STL"),
        (stl_header(2**32 - 1, b"solid but binary"), TWO_GB, "claims 4294967295 triangles"),
    ],
)
def test_analyzer_never_reads_a_claimed_2gb(
    tmp_path: Path, header: bytes, size: int, expected: str
) -> None:
    """The analyzer alone (no size limit in front of it) refuses from the header and the size."""
    path = tmp_path / "huge.stl"
    sparse(header, size)(path)
    tracemalloc.start()
    try:
        with pytest.raises(RejectedFileError) as info:
            StlAnalyzer().analyze(path, size, "0" * 64)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert expected in info.value.reasons[0]
    assert peak < 1024 * 1024


def test_size_differing_from_the_upload_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.stl"
    path.write_bytes(TETRA)
    with pytest.raises(RejectedFileError) as info:
        StlAnalyzer().analyze(path, len(TETRA) + 1, "f" * 64)
    assert "expected" in info.value.reasons[0]


# =================================================================================================
# The same corpus, and a corpus of hostile files built with Pillow, pikepdf, zipfile, tarfile,
# gzip and struct, through receive(): each is refused with its rule code, or kept sanitised.
# =================================================================================================

SECRET = b"Jane Doe"
"""A patient's name hidden in metadata: it must never reach the kept bytes nor a message."""
NAME = "Jane Doe 1970-01-01"
"""Uploads are named after the patient; the name must never appear in a message."""
RADIOGRAPH = FileKind.RADIOGRAPH


@attrs.frozen
class Refused:
    code: str
    text: str = ""


@attrs.frozen
class Kept:
    """Accepted and sanitised: the kept image has ``size`` (orientation applied) and ``mode``."""

    size: tuple[int, int]
    mode: str | None = None
    check: Callable[[Image.Image], None] | None = None


def _jpeg(
    size: tuple[int, int] = (64, 48),
    mode: str = "RGB",
    image: Image.Image | None = None,
    **save: Any,
) -> bytes:
    image = image or Image.new(mode, size, "red" if mode == "RGB" else 128)
    out = io.BytesIO()
    image.save(out, "JPEG", **save)
    return out.getvalue()


def _png(
    size: tuple[int, int] = (64, 48),
    mode: str = "RGB",
    image: Image.Image | None = None,
    **save: Any,
) -> bytes:
    image = image or Image.new(mode, size, "red" if mode in ("RGB", "RGBA") else 1)
    out = io.BytesIO()
    image.save(out, "PNG", **save)
    return out.getvalue()


def _exif(orientation: int | None = None, gps: bool = True) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010E] = SECRET.decode()  # ImageDescription
    exif[0x013B] = SECRET.decode()  # Artist
    if orientation is not None:
        exif[0x0112] = orientation
    if gps:
        ifd = exif.get_ifd(0x8825)
        ifd[1] = "N"
        ifd[2] = (IFDRational(48), IFDRational(51), IFDRational(30))
        ifd[3] = "E"
        ifd[4] = (IFDRational(2), IFDRational(17), IFDRational(40))
    return exif


def _quadrant_image(size: tuple[int, int] = (64, 32)) -> Image.Image:
    """Red top-left quadrant on blue: orientation is visible in the pixels."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1] // 2))
    return image


def _red_at(corner: str) -> Callable[[Image.Image], None]:
    def check(image: Image.Image) -> None:
        w, h = image.size
        points = {"tl": (2, 2), "tr": (w - 3, 2), "bl": (2, h - 3), "br": (w - 3, h - 3)}
        red = {k: image.convert("RGB").getpixel(p)[0] > 200 for k, p in points.items()}  # type: ignore[index]
        assert red == {k: k == corner for k in points}, red

    return check


def _png_info(**texts: str) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    for key, value in texts.items():
        info.add_text(key, value)
    return info


def _insert_after_soi(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    segment = bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + segment + jpeg[2:]


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _png_with_chunk_before_idat(png: bytes, chunk: bytes) -> bytes:
    at = png.index(b"IDAT") - 4
    return png[:at] + chunk + png[at:]


def _apng() -> bytes:
    frames = [Image.new("RGB", (16, 16), c) for c in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:])
    return out.getvalue()


def _png_bomb(side: int = 10_000) -> bytes:
    """A real grey PNG of side x side zero pixels: 100 MB of pixels in some 100 KB."""
    compressor = zlib.compressobj(9)
    row = b"\0" * (side + 1)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def _corrupt_idat() -> bytes:
    png = bytearray(_png((32, 32)))
    at = png.index(b"IDAT")
    length = struct.unpack(">I", png[at - 4 : at])[0]
    png[at + 4 : at + 4 + length] = b"\xde\xad" * (length // 2) + b"\x00" * (length % 2)
    crc = zlib.crc32(bytes(png[at : at + 4 + length])) & 0xFFFFFFFF
    png[at + 4 + length : at + 8 + length] = struct.pack(">I", crc)
    return bytes(png)


def _bad_ihdr_crc() -> bytes:
    png = bytearray(_png((8, 8)))
    png[29:33] = b"\0\0\0\0"
    return bytes(png)


def _zip_with(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in entries.items():
            zf.writestr(name, content)
    return out.getvalue()


def _pdf(edit: Callable[[pikepdf.Pdf], None], **save: Any) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    edit(pdf)
    out = io.BytesIO()
    pdf.save(out, **save)
    return out.getvalue()


OBJSTM: dict[str, Any] = {
    "object_stream_mode": pikepdf.ObjectStreamMode.generate,
    "compress_streams": True,
}


def _action(pdf: pikepdf.Pdf, **entries: Any) -> pikepdf.Object:
    return pdf.make_indirect(pikepdf.Dictionary(**entries))


def _set_open_action(**entries: Any) -> Callable[[pikepdf.Pdf], None]:
    def edit(pdf: pikepdf.Pdf) -> None:
        pdf.Root.OpenAction = _action(pdf, **entries)

    return edit


def _page_aa(pdf: pikepdf.Pdf) -> None:
    pdf.pages[0].obj.AA = pikepdf.Dictionary(
        O=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("http://example.test"))
    )


def _attachment(pdf: pikepdf.Pdf) -> None:
    pdf.attachments["tool.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ" + b"\0" * 64)


def _xfa(pdf: pikepdf.Pdf) -> None:
    pdf.Root.AcroForm = pikepdf.Dictionary(
        Fields=pikepdf.Array(), XFA=pdf.make_stream(b"<xdp:xdp></xdp:xdp>")
    )


def _rich_media(pdf: pikepdf.Pdf) -> None:
    annot = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.RichMedia,
        Rect=pikepdf.Array([0, 0, 10, 10]),
    )
    pdf.pages[0].obj.Annots = pikepdf.Array([pdf.make_indirect(annot)])


def _names_javascript(pdf: pikepdf.Pdf) -> None:
    js = _action(pdf, S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
    pdf.Root.Names = pikepdf.Dictionary(
        JavaScript=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("a"), js]))
    )


def _link(action: str) -> Callable[[pikepdf.Pdf], None]:
    def edit(pdf: pikepdf.Pdf) -> None:
        annot = pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Link,
            Rect=pikepdf.Array([0, 0, 10, 10]),
            A=pikepdf.Dictionary(S=pikepdf.Name(action), F=pikepdf.String("http://evil.test")),
        )
        pdf.pages[0].obj.Annots = pikepdf.Array([pdf.make_indirect(annot)])

    return edit


HEX_ESCAPED_JS = pdf_bytes(
    b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << >> >>",
    b"<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>",
)
SERVICE_TEST_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _tar_gz(*members: tuple[str, bytes | None, bytes, str], count: int = 1) -> bytes:
    return gzip.compress(tarred(*members))


def _tar_gz_bomb(size: int = 48 * 1024 * 1024) -> bytes:
    raw = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9) as gz,
        tarfile.open(fileobj=gz, mode="w|") as tf,
    ):
        info = tarfile.TarInfo("zeros.bin")
        info.size = size
        tf.addfile(info, io.BytesIO(b"\0" * size))
    return raw.getvalue()


def _stl_with(header: bytes) -> bytes:
    return binary_stl_bytes(header=header)


EMPTY_ZIP = b"PK\x05\x06" + b"\0" * 18
HTML = b"<html><body><script>fetch('/api/cases')</script></body></html>"

# (name, kind, content maker, expectation)
HOSTILE: list[tuple[str, FileKind, Callable[[], bytes], Refused | Kept]] = [
    # --- photos stored sanitised --------------------------------------------------------------
    ("jpeg-exif-gps.jpg", PHOTO, lambda: _jpeg(exif=_exif()), Kept((64, 48), "RGB")),
    (
        "jpeg-orientation-6.jpg",
        PHOTO,
        lambda: _jpeg(image=_quadrant_image(), exif=_exif(6), quality=95),
        Kept((32, 64), "RGB", _red_at("tr")),
    ),
    (
        "jpeg-orientation-8.jpg",
        PHOTO,
        lambda: _jpeg(image=_quadrant_image(), exif=_exif(8), quality=95),
        Kept((32, 64), "RGB", _red_at("bl")),
    ),
    (
        "jpeg-orientation-3.jpg",
        PHOTO,
        lambda: _jpeg(image=_quadrant_image(), exif=_exif(3), quality=95),
        Kept((64, 32), "RGB", _red_at("br")),
    ),
    (
        "jpeg-xmp.jpg",
        PHOTO,
        lambda: _jpeg(xmp=b"<x:xmpmeta>" + SECRET + b"</x:xmpmeta>"),
        Kept((64, 48)),
    ),
    ("jpeg-comment.jpg", PHOTO, lambda: _jpeg(comment=SECRET), Kept((64, 48))),
    (
        "jpeg-icc.jpg",
        PHOTO,
        lambda: _jpeg(
            icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
        ),
        Kept((64, 48)),
    ),
    (
        "jpeg-photoshop-iptc.jpg",
        PHOTO,
        lambda: _insert_after_soi(_jpeg(), 0xED, b"Photoshop 3.0\x00" + b"8BIM" + SECRET),
        Kept((64, 48)),
    ),
    ("jpeg-cmyk.jpg", PHOTO, lambda: _jpeg(mode="CMYK", exif=_exif()), Kept((64, 48), "RGB")),
    (
        "jpeg-grey-radiograph.jpg",
        RADIOGRAPH,
        lambda: _jpeg(mode="L", exif=_exif()),
        Kept((64, 48), "L"),
    ),
    (
        "jpeg-padded.jpg",
        PHOTO,
        lambda: _jpeg(exif=_exif()) + b"\0" * 32,
        Kept((64, 48)),
    ),
    (
        "png-text.png",
        PHOTO,
        lambda: _png(pnginfo=_png_info(Patient=SECRET.decode())),
        Kept((64, 48)),
    ),
    (
        "png-itxt.png",
        PHOTO,
        lambda: _png(pnginfo=_itxt("Comment", SECRET.decode())),
        Kept((64, 48)),
    ),
    (
        "png-ztxt.png",
        PHOTO,
        lambda: _png(pnginfo=_ztxt("Author", SECRET.decode())),
        Kept((64, 48)),
    ),
    ("png-exif-gps.png", PHOTO, lambda: _png(exif=_exif()), Kept((64, 48))),
    (
        "png-exif-orientation-6.png",
        PHOTO,
        lambda: _png(image=_quadrant_image(), exif=_exif(6)),
        Kept((32, 64), "RGB", _red_at("tr")),
    ),
    (
        "png-icc.png",
        PHOTO,
        lambda: _png(
            icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
        ),
        Kept((64, 48)),
    ),
    (
        "png-xmp.png",
        PHOTO,
        lambda: _png(pnginfo=_itxt("XML:com.adobe.xmp", "<x:xmpmeta>Jane Doe</x:xmpmeta>")),
        Kept((64, 48)),
    ),
    (
        "png-16bit-radiograph.png",
        RADIOGRAPH,
        lambda: _png(
            image=Image.new("I;16", (40, 30), 40_000), pnginfo=_png_info(Patient="Jane Doe")
        ),
        Kept((40, 30), None, lambda im: _is_16_bit(im)),
    ),
    (
        "png-palette-transparency.png",
        PHOTO,
        lambda: _png(image=_palette_image(), transparency=0, pnginfo=_png_info(Name="Jane Doe")),
        Kept((20, 10), "P", lambda im: _keeps_transparency(im)),
    ),
    (
        "png-rgba-time.png",
        PHOTO,
        lambda: _png_with_chunk_before_idat(
            _png(mode="RGBA", pnginfo=_png_info(Title="Jane Doe")),
            _png_chunk(b"tIME", struct.pack(">HBBBBB", 2024, 1, 2, 3, 4, 5)),
        ),
        Kept((64, 48), "RGBA"),
    ),
    ("png-named-jpg.jpg", PHOTO, lambda: _png(pnginfo=_png_info(A="Jane Doe")), Kept((64, 48))),
    # --- images refused -------------------------------------------------------------------------
    (
        "jpeg-zip-exe.jpg",
        PHOTO,
        lambda: _jpeg() + _zip_with({"tool.exe": b"MZ" + b"\0" * 100}),
        Refused("image.trailing_data", "after the JPEG end-of-image marker"),
    ),
    (
        "png-script.png",
        PHOTO,
        lambda: _png() + b"<script>alert(1)</script>",
        Refused("image.trailing_data", "IEND"),
    ),
    ("jpeg-html.jpg", PHOTO, lambda: _jpeg() + HTML, Refused("image.trailing_data")),
    ("png-ten-bytes-after.png", PHOTO, lambda: _png() + b"x" * 10, Refused("image.trailing_data")),
    ("jpeg-two-images-mpo.jpg", PHOTO, lambda: _jpeg() + _jpeg(), Refused("image.trailing_data")),
    ("png-bomb.png", PHOTO, _png_bomb, Refused("image.pixels", "above the limit")),
    ("png-corrupt-idat.png", PHOTO, _corrupt_idat, Refused("image.undecodable", "does not decode")),
    ("png-bad-ihdr-crc.png", PHOTO, _bad_ihdr_crc, Refused("image.undecodable")),
    (
        "jpeg-cut-in-scan.jpg",
        PHOTO,
        lambda: _jpeg(image=_quadrant_image((256, 256)))[:-200],
        Refused("image.malformed", "no end-of-image marker"),
    ),
    ("png-no-iend.png", PHOTO, lambda: _png()[:-12], Refused("image.malformed", "IEND")),
    ("apng.png", PHOTO, _apng, Refused("image.animated")),
    ("gif.jpg", PHOTO, lambda: _gif(), Refused("content.unrecognised")),
    ("webp.jpg", PHOTO, lambda: _webp(), Refused("content.unrecognised")),
    (
        "svg-script.png",
        PHOTO,
        lambda: b"<svg xmlns='http://www.w3.org/2000/svg'>" + HTML + b"</svg>",
        Refused("content.unrecognised"),
    ),
    (
        "png-pdf-header-in-text.png",
        PHOTO,
        lambda: _png(pnginfo=_png_info(C="%PDF-1.4 1 0 obj")),
        Refused("content.polyglot", "PDF"),
    ),
    (
        "jpeg-html-comment.jpg",
        PHOTO,
        lambda: _jpeg(comment=b"<html><script>alert(1)</script>"),
        Refused("content.polyglot", "HTML"),
    ),
    # --- PDFs -----------------------------------------------------------------------------------
    (
        "pdf-openaction-js.pdf",
        RADIOGRAPH,
        lambda: _pdf(
            _set_open_action(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
        ),
        Refused("pdf.javascript"),
    ),
    ("pdf-hex-escaped-js.pdf", RADIOGRAPH, lambda: HEX_ESCAPED_JS, Refused("pdf.javascript")),
    (
        "pdf-js-in-object-stream.pdf",
        RADIOGRAPH,
        lambda: _pdf(
            _set_open_action(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")), **OBJSTM
        ),
        Refused("pdf.javascript"),
    ),
    (
        "pdf-launch.pdf",
        OTHER,
        lambda: _pdf(_set_open_action(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe"))),
        Refused("pdf.launch"),
    ),
    (
        "pdf-launch-in-object-stream.pdf",
        OTHER,
        lambda: _pdf(
            _set_open_action(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe")), **OBJSTM
        ),
        Refused("pdf.launch"),
    ),
    (
        "pdf-additional-actions.pdf",
        OTHER,
        lambda: _pdf(_page_aa),
        Refused("pdf.additional_actions"),
    ),
    ("pdf-embedded-exe.pdf", OTHER, lambda: _pdf(_attachment), Refused("pdf.embedded_file")),
    (
        "pdf-embedded-in-object-stream.pdf",
        OTHER,
        lambda: _pdf(_attachment, **OBJSTM),
        Refused("pdf.embedded_file"),
    ),
    ("pdf-xfa.pdf", OTHER, lambda: _pdf(_xfa), Refused("pdf.xfa")),
    ("pdf-rich-media.pdf", OTHER, lambda: _pdf(_rich_media), Refused("pdf.rich_media")),
    (
        "pdf-rich-media-objstm.pdf",
        OTHER,
        lambda: _pdf(_rich_media, **OBJSTM),
        Refused("pdf.rich_media"),
    ),
    (
        "pdf-open-uri.pdf",
        OTHER,
        lambda: _pdf(_set_open_action(S=pikepdf.Name.URI, URI=pikepdf.String("http://evil.test"))),
        Refused("pdf.open_action"),
    ),
    ("pdf-names-javascript.pdf", OTHER, lambda: _pdf(_names_javascript), Refused("pdf.javascript")),
    (
        "pdf-submit-form.pdf",
        OTHER,
        lambda: _pdf(_link("/SubmitForm"), **OBJSTM),
        Refused("pdf.action", "SubmitForm"),
    ),
    (
        "pdf-remote-goto.pdf",
        OTHER,
        lambda: _pdf(_link("/GoToR"), **OBJSTM),
        Refused("pdf.action", "GoToR"),
    ),
    (
        "pdf-encrypted.pdf",
        RADIOGRAPH,
        lambda: _pdf(lambda pdf: None, encryption=pikepdf.Encryption(owner="o", user="u")),
        Refused("pdf.encrypted"),
    ),
    (
        "pdf-encrypted-owner-only.pdf",
        RADIOGRAPH,
        lambda: _pdf(lambda pdf: None, encryption=pikepdf.Encryption(owner="o", user="")),
        Refused("pdf.encrypted"),
    ),
    (
        "pdf-garbage.pdf",
        OTHER,
        lambda: b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n",
        Refused("pdf.malformed"),
    ),
    ("pdf-no-xref.pdf", OTHER, lambda: SERVICE_TEST_PDF, Refused("pdf.malformed")),
    ("pdf-truncated.pdf", OTHER, lambda: pdf_bytes()[:-40], Refused("pdf.malformed", "%%EOF")),
    ("pdf-then-html.pdf", OTHER, lambda: pdf_bytes() + HTML, Refused("pdf.trailing_data")),
    (
        "pdf-then-zip.pdf",
        OTHER,
        lambda: pdf_bytes() + _zip_with({"a.exe": b"MZ"}),
        Refused("content.polyglot", "ZIP"),
    ),
    # --- STL polyglots ------------------------------------------------------------------------
    (
        "stl-pdf-radiograph.pdf",
        RADIOGRAPH,
        lambda: _stl_with(b"%PDF-1.7 mesh"),
        Refused("content.polyglot", "binary STL"),
    ),
    ("stl-pdf-header.stl", SCAN, lambda: _stl_with(b"%PDF-1.7 mesh"), Refused("content.polyglot")),
    (
        "stl-pdf-later-in-header.stl",
        SCAN,
        lambda: _stl_with(b"exported %PDF-1.7"),
        Refused("content.polyglot", "PDF"),
    ),
    (
        "stl-zip-header.stl",
        SCAN,
        lambda: _stl_with(b"PK\x03\x04 mesh"),
        Refused("content.polyglot", "zip"),
    ),
    (
        "stl-zip-appended.stl",
        SCAN,
        lambda: binary_stl_bytes() + EMPTY_ZIP,
        Refused("content.polyglot", "ZIP"),
    ),
    (
        "stl-png-header.stl",
        SCAN,
        lambda: _stl_with(b"\x89PNG\r\n\x1a\n mesh"),
        Refused("content.polyglot"),
    ),
    (
        "stl-html-name.stl",
        SCAN,
        lambda: ascii_stl_bytes(name="<script>alert(1)</script>"),
        Refused("content.polyglot", "HTML"),
    ),
    (
        "stl-gzip-header.stl",
        SCAN,
        lambda: _stl_with(b"\x1f\x8b\x08 mesh"),
        Refused("content.polyglot"),
    ),
    # --- gzip and .tar.gz -----------------------------------------------------------------------
    (
        "targz-dotdot.tar.gz",
        OTHER,
        lambda: _tar_gz(("../../etc/cron.d/x", b"x", REG, "")),
        Refused("archive.unsafe_path", "'..'"),
    ),
    (
        "targz-absolute.tar.gz",
        OTHER,
        lambda: _tar_gz(("/etc/passwd", b"x", REG, "")),
        Refused("archive.unsafe_path", "absolute"),
    ),
    (
        "targz-symlink.tar.gz",
        OTHER,
        lambda: _tar_gz(("l", None, tarfile.SYMTYPE, "/etc/shadow")),
        Refused("archive.link"),
    ),
    (
        "targz-device.tar.gz",
        OTHER,
        lambda: _tar_gz(("sda", None, tarfile.BLKTYPE, "")),
        Refused("archive.special_entry"),
    ),
    ("targz-bomb.tar.gz", OTHER, _tar_gz_bomb, Refused("archive.bomb", "gzip bomb")),
    (
        "targz-nested-zip.tar.gz",
        OTHER,
        lambda: _tar_gz(("a.bin", zip_bytes(), REG, "")),
        Refused("archive.nested", "nested zip"),
    ),
    (
        "targz-exe.tar.gz",
        OTHER,
        lambda: _tar_gz(("run", b"\x7fELF" + b"\0" * 64, REG, "")),
        Refused("archive.executable", "ELF"),
    ),
    (
        "targz-many.tar.gz",
        OTHER,
        lambda: gzip.compress(tarred(*[(f"f{i}", b"x", REG, "") for i in range(101)])),
        Refused("archive.too_many_entries"),
    ),
    (
        "gz-elf.gz",
        OTHER,
        lambda: gzip.compress(b"\x7fELF" + b"\0" * 300),
        Refused("archive.executable"),
    ),
    ("gz-zip.gz", OTHER, lambda: gzip.compress(zip_bytes()), Refused("archive.nested")),
    (
        "gz-truncated.gz",
        OTHER,
        lambda: gzip.compress(b"hello" * 1000)[:-30],
        Refused("archive.corrupt", "corrupt gzip"),
    ),
    (
        "gz-trailing-garbage.gz",
        OTHER,
        lambda: gzip.compress(b"hello") + b"garbage!",
        Refused("archive.corrupt"),
    ),
    (
        "gz-bomb.gz",
        OTHER,
        lambda: gzip.compress(b"\0" * (40 * 1024 * 1024), 9),
        Refused("archive.bomb"),
    ),
    (
        "targz-as-photo.jpg",
        PHOTO,
        lambda: _tar_gz(("a", b"a", REG, "")),
        Refused("content.wrong_type"),
    ),
]


def _itxt(key: str, value: str) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_itxt(key, value)
    return info


def _ztxt(key: str, value: str) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text(key, value, zip=True)
    return info


def _palette_image() -> Image.Image:
    image = Image.new("P", (20, 10), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (10, 0, 20, 10))
    return image


def _keeps_transparency(image: Image.Image) -> None:
    assert image.info.get("transparency") == 0
    assert image.getpixel((15, 5)) == 1


def _is_16_bit(image: Image.Image) -> None:
    assert image.mode in ("I;16", "I")
    assert image.getpixel((3, 3)) == 40_000


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (4, 4)).save(out, "GIF")
    return out.getvalue()


def _webp() -> bytes:
    return b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\0" * 32


def test_hostile_corpus_is_large_enough() -> None:
    assert len(HOSTILE) >= 40
    assert len({name for name, *_ in HOSTILE}) == len(HOSTILE)
    refused = [e for *_, e in HOSTILE if isinstance(e, Refused)]
    assert len(refused) >= 40


@pytest.fixture(scope="module")
def hostile_scanner() -> ContentScanner:
    return ContentScanner(Limits(archive_entries=100, scan_bytes=16 * 1024 * 1024))


def _jpeg_markers(data: bytes) -> list[int]:
    markers, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        code = data[pos + 1]
        markers.append(code)
        if code == 0xDA:
            break
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    return markers


def _png_chunks(data: bytes) -> list[bytes]:
    chunks, pos = [], 8
    while pos + 8 <= len(data):
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        chunks.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return chunks


def _assert_sanitised(original: bytes, kept: bytes, report: FileReport, expected: Kept) -> None:
    assert SECRET not in kept
    assert (report.size, report.sha256) == (len(kept), hashlib.sha256(kept).hexdigest())
    assert report.original_sha256 == hashlib.sha256(original).hexdigest()
    assert report.sanitized
    with Image.open(io.BytesIO(kept)) as image:
        image.load()
        assert image.format == ("PNG" if report.media_type is MediaType.PNG else "JPEG")
        assert image.size == expected.size
        if expected.mode:
            assert image.mode == expected.mode
        assert not set(image.info) & {"exif", "icc_profile", "comment", "xmp", "XML:com.adobe.xmp"}
        assert not image.getexif()
        if report.media_type is MediaType.PNG:
            assert set(_png_chunks(kept)) <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
            assert not getattr(image, "text", {})
            assert kept.endswith(b"IEND\xaeB`\x82")
        else:
            allowed = {0xE0, 0xDB, 0xC0, 0xC1, 0xC2, 0xC4, 0xDD, 0xDA}  # APP0 JFIF, tables, frame
            assert set(_jpeg_markers(kept)) <= allowed, _jpeg_markers(kept)
            assert kept.endswith(b"\xff\xd9")
        if expected.check:
            expected.check(image)


@pytest.mark.parametrize(("name", "kind", "make", "expected"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_file_is_refused_or_kept_sanitised(
    tmp_path: Path,
    hostile_scanner: ContentScanner,
    name: str,
    kind: FileKind,
    make: Callable[[], bytes],
    expected: Refused | Kept,
) -> None:
    original = make()
    upload = f"{NAME} {name}"
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    if isinstance(expected, Refused):
        with (
            pytest.raises(RejectedFileError) as info,
            receive(original, name=upload, kind=kind, scanner=hostile_scanner, spool_dir=spool_dir),
        ):
            pytest.fail("refused files are never received")
        reasons = info.value.reasons
        codes = [getattr(r, "code", None) for r in reasons]
        assert expected.code in codes, reasons
        assert any(expected.text in r for r in reasons if r.code == expected.code), reasons  # type: ignore[attr-defined]
        assert info.value.name == upload
        for text in (str(info.value), *reasons):
            assert "Jane" not in text and SECRET.decode() not in text
    else:
        with receive(
            original, name=upload, kind=kind, scanner=hostile_scanner, spool_dir=spool_dir
        ) as received:
            with received.open() as fh:
                kept = fh.read()
            store = MemoryBlobStore()
            received.store(store)
        _assert_sanitised(original, kept, received.report, expected)
        with store.open(received.report.sha256) as fh:
            assert fh.read() == kept
        assert all("Jane" not in w for w in received.report.warnings)
    assert list(spool_dir.iterdir()) == []


def test_sanitised_photos_say_what_was_removed(
    tmp_path: Path, hostile_scanner: ContentScanner
) -> None:
    data = _jpeg(image=_quadrant_image(), exif=_exif(6), comment=SECRET)
    with receive(
        data, name="smile.jpg", kind=PHOTO, scanner=hostile_scanner, spool_dir=tmp_path
    ) as received:
        warnings = received.report.warnings
    assert "metadata removed: EXIF (with GPS location), comment" in warnings
    assert "EXIF orientation applied to the pixels" in warnings


def test_reencoded_jpeg_keeps_its_quality(tmp_path: Path, hostile_scanner: ContentScanner) -> None:
    """The original quantisation tables are reused: the pixels barely move."""
    gradient = Image.linear_gradient("L").resize((256, 256)).convert("RGB")
    data = _jpeg(image=gradient, quality=90, exif=_exif())
    with (
        receive(
            data, name="g.jpg", kind=PHOTO, scanner=hostile_scanner, spool_dir=tmp_path
        ) as received,
        received.open() as fh,
    ):
        kept = fh.read()
    before = Image.open(io.BytesIO(data)).convert("L")
    after = Image.open(io.BytesIO(kept)).convert("L")
    _, difference = ImageChops.difference(before, after).getextrema()
    assert difference <= 4
    assert 0.5 < len(kept) / len(data) < 1.5


@pytest.mark.parametrize(("name", "kind", "make", "expected"), CORPUS, ids=[c[0] for c in CORPUS])
def test_earlier_corpus_is_refused_when_received(
    tmp_path: Path,
    hostile_scanner: ContentScanner,
    name: str,
    kind: FileKind,
    make: Maker,
    expected: str,
) -> None:
    path = tmp_path / name
    make(path)
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    with (
        pytest.raises(RejectedFileError) as info,
        open(path, "rb") as source,
        receive(source, name=name, kind=kind, scanner=hostile_scanner, spool_dir=spool_dir),
    ):
        pytest.fail("refused files are never received")
    assert any(expected in reason for reason in info.value.reasons), info.value.reasons
    assert all(getattr(r, "code", None) for r in info.value.reasons)
    assert list(spool_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "kind", "content"),
    [
        ("models.tar.gz", OTHER, lambda: _tar_gz(("a/upper.stl", binary_stl_bytes(), REG, ""))),
        ("upper.stl.gz", OTHER, lambda: gzip.compress(binary_stl_bytes())),
        ("goto.pdf", OTHER, lambda: _pdf(lambda pdf: _goto(pdf))),
        ("links.pdf", RADIOGRAPH, lambda: _pdf(_link("/URI"), **OBJSTM)),
        ("objstm.pdf", RADIOGRAPH, lambda: _pdf(lambda pdf: None, **OBJSTM)),
    ],
)
def test_safe_archives_and_pdfs_are_accepted(
    tmp_path: Path,
    hostile_scanner: ContentScanner,
    name: str,
    kind: FileKind,
    content: Callable[[], bytes],
) -> None:
    data = content()
    with receive(
        data, name=name, kind=kind, scanner=hostile_scanner, spool_dir=tmp_path
    ) as received:
        report = received.report
    assert report.sha256 == hashlib.sha256(data).hexdigest()  # kept as uploaded
    assert not report.sanitized


def _goto(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OpenAction = pikepdf.Array([pdf.pages[0].obj, pikepdf.Name.Fit])
