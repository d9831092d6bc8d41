"""A corpus of bad files: each refused with RejectedFileError and the expected reason.

Never a crash, never a hang, never a read of a claimed size into memory: the
"2 GB" files are sparse (``truncate``), so nothing big touches the disk.
"""

from __future__ import annotations

import io
import math
import struct
import tarfile
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from aligner_core.domain.records import FileKind
from aligner_core.errors import RejectedFileError
from aligner_core.files.content import ContentScanner, Limits
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
