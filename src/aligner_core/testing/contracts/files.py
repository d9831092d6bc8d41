"""Contract tests for the file ports: ``BlobStore`` and ``FileScanner``.

A test module joins a contract by subclassing it and providing the fixture::

    class TestMemoryBlobs(BlobStoreContract):
        @pytest.fixture
        def blob_store(self) -> BlobStore:
            return MemoryBlobStore()

The builders below (``binary_stl_bytes``, ``png_bytes``, ...) make small valid
files without any third-party library; other tests use them too.
"""

from __future__ import annotations

import hashlib
import io
import struct
import time
import zipfile
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest

from aligner_core.domain.records import FileKind, MediaType
from aligner_core.errors import NotFoundError, RejectedFileError, ValidationError
from aligner_core.ports import BlobStore, FileScanner

__all__ = [
    "TETRAHEDRON",
    "BlobStoreContract",
    "FileScannerContract",
    "GeneratedStream",
    "ascii_stl_bytes",
    "binary_stl_bytes",
    "jpeg_bytes",
    "pdf_bytes",
    "png_bytes",
    "zip_bytes",
]

Triangle = tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]

TETRAHEDRON: tuple[Triangle, ...] = (
    ((0.0, 0.0, 0.0), (0.0, 40.0, 0.0), (50.0, 0.0, 0.0)),
    ((0.0, 0.0, 0.0), (50.0, 0.0, 0.0), (0.0, 0.0, 20.0)),
    ((0.0, 0.0, 0.0), (0.0, 0.0, 20.0), (0.0, 40.0, 0.0)),
    ((50.0, 0.0, 0.0), (0.0, 40.0, 0.0), (0.0, 0.0, 20.0)),
)
"""A closed, consistently wound tetrahedron of arch-like size (mm)."""


def binary_stl_bytes(
    triangles: tuple[Triangle, ...] = TETRAHEDRON,
    *,
    header: bytes = b"aligner-core test",
    count: int | None = None,
) -> bytes:
    """A binary STL; ``count`` overrides the header's triangle count (for broken files)."""
    out = io.BytesIO()
    out.write(header[:80].ljust(80, b" "))
    out.write(struct.pack("<I", len(triangles) if count is None else count))
    for tri in triangles:
        out.write(struct.pack("<3f", 0.0, 0.0, 0.0))
        for vertex in tri:
            out.write(struct.pack("<3f", *vertex))
        out.write(b"\x00\x00")
    return out.getvalue()


def ascii_stl_bytes(triangles: tuple[Triangle, ...] = TETRAHEDRON, name: str = "test") -> bytes:
    """An ASCII STL with zero normals."""
    lines = [f"solid {name}"]
    for tri in triangles:
        lines += ["  facet normal 0 0 0", "    outer loop"]
        lines += [f"      vertex {x!r} {y!r} {z!r}" for x, y, z in tri]
        lines += ["    endloop", "  endfacet"]
    lines.append(f"endsolid {name}")
    return ("\n".join(lines) + "\n").encode()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A valid grey PNG of ``width`` x ``height`` pixels.

    Up to 16 megapixels every row is there (Pillow decodes it); larger sizes
    hold only the first 64 rows, enough for header checks (never decoded).
    """
    rows = height if width * height <= 1 << 24 else min(height, 64)
    compressor = zlib.compressobj()
    row = b"\x00" + b"\x80" * width
    idat = b"".join(compressor.compress(row) for _ in range(rows)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_bytes(width: int = 8, height: int = 8) -> bytes:
    """A valid grey baseline JPEG of ``width`` x ``height`` pixels (SOI ... EOI).

    One-code Huffman tables make every 8 x 8 block two zero bits, so a real,
    decodable image stays tiny. Above a million blocks (8k x 8k) only the
    headers are real and the scan is a stub, enough for header checks.
    """
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    dqt = b"\x00" + b"\x01" * 64
    sof = struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"
    one_code = bytes([1] + [0] * 15) + b"\x00"  # a single 1-bit code for symbol 0
    dht = b"\x00" + one_code + b"\x10" + one_code  # DC: difference 0; AC: end of block
    sos = b"\x01\x01\x00\x00\x3f\x00"
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    if blocks <= 1 << 20:
        bits = 2 * blocks
        pad = (8 - bits % 8) % 8
        scan = b"\x00" * ((bits + pad) // 8 - 1) + bytes([(1 << pad) - 1]) if bits else b""
    else:
        scan = b"\x00" * 16
    return (
        b"\xff\xd8"
        + _jpeg_segment(0xE0, app0)
        + _jpeg_segment(0xDB, dqt)
        + _jpeg_segment(0xC0, sof)
        + _jpeg_segment(0xC4, dht)
        + _jpeg_segment(0xDA, sos)
        + scan
        + b"\xff\xd9"
    )


def pdf_bytes(*objects: bytes) -> bytes:
    """A minimal valid one-page PDF (with its cross-reference table).

    ``objects`` replace the default catalog, pages and page (object numbers
    from 1; object 1 is the catalog).
    """
    body = objects or (
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << >> >>",
    )
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(body, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, obj))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(body) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(body) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def zip_bytes(entries: dict[str, bytes] | None = None) -> bytes:
    """A deflated zip of ``entries`` (by default a small report and an STL)."""
    if entries is None:
        entries = {"notes/report.txt": b"hello\n" * 50, "upper.stl": binary_stl_bytes()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return out.getvalue()


class GeneratedStream(io.RawIOBase):
    """A read-only stream of ``size`` deterministic bytes made on the fly (never held whole)."""

    def __init__(self, size: int, seed: int = 0) -> None:
        self._left = size
        self._counter = seed
        self._pending = b""

    def readable(self) -> bool:
        return True

    def _block(self) -> bytes:
        self._counter += 1
        return hashlib.sha512(self._counter.to_bytes(8, "little")).digest() * 1024

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._left)
        filled = 0
        while filled < want:
            if not self._pending:
                self._pending = self._block()
            take = min(want - filled, len(self._pending))
            view[filled : filled + take] = self._pending[:take]
            self._pending = self._pending[take:]
            filled += take
        self._left -= filled
        return filled


def _sha256_of(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


class BlobStoreContract:
    """What every ``BlobStore`` does; needs a ``blob_store`` fixture (an empty store)."""

    def test_put_then_open_returns_the_content(self, blob_store: BlobStore) -> None:
        data = b"scan bytes " * 100
        sha = blob_store.put(io.BytesIO(data))
        assert sha == hashlib.sha256(data).hexdigest()
        with blob_store.open(sha) as fh:
            assert fh.read() == data

    def test_put_with_the_right_sha256(self, blob_store: BlobStore) -> None:
        data = b"photo"
        sha = hashlib.sha256(data).hexdigest()
        assert blob_store.put(io.BytesIO(data), sha) == sha
        assert blob_store.exists(sha)

    def test_put_is_idempotent(self, blob_store: BlobStore) -> None:
        data = b"same content"
        first = blob_store.put(io.BytesIO(data))
        second = blob_store.put(io.BytesIO(data), first)
        assert first == second
        with blob_store.open(first) as fh:
            assert fh.read() == data

    def test_empty_content(self, blob_store: BlobStore) -> None:
        sha = blob_store.put(io.BytesIO(b""))
        assert sha == hashlib.sha256(b"").hexdigest()
        with blob_store.open(sha) as fh:
            assert fh.read() == b""

    def test_sha256_mismatch_is_refused_and_nothing_kept(self, blob_store: BlobStore) -> None:
        wrong = hashlib.sha256(b"other").hexdigest()
        with pytest.raises(ValidationError):
            blob_store.put(io.BytesIO(b"content"), wrong)
        assert not blob_store.exists(wrong)
        assert not blob_store.exists(hashlib.sha256(b"content").hexdigest())

    def test_mismatch_against_existing_blob_is_refused(self, blob_store: BlobStore) -> None:
        sha = blob_store.put(io.BytesIO(b"original"))
        with pytest.raises(ValidationError):
            blob_store.put(io.BytesIO(b"forged"), sha)
        with blob_store.open(sha) as fh:
            assert fh.read() == b"original"

    @pytest.mark.parametrize("bad", ["", "abc", "A" * 64, "g" * 64, "0" * 63, "../" + "0" * 61])
    def test_malformed_sha256_is_a_validation_error(self, blob_store: BlobStore, bad: str) -> None:
        with pytest.raises(ValidationError):
            blob_store.open(bad)
        with pytest.raises(ValidationError):
            blob_store.exists(bad)
        with pytest.raises(ValidationError):
            blob_store.put(io.BytesIO(b"x"), bad)

    def test_missing_blob_is_not_found(self, blob_store: BlobStore) -> None:
        sha = hashlib.sha256(b"never stored").hexdigest()
        assert not blob_store.exists(sha)
        with pytest.raises(NotFoundError) as info:
            blob_store.open(sha)
        assert info.value.kind == "blob"
        assert info.value.key == sha

    def test_delete(self, blob_store: BlobStore) -> None:
        sha = blob_store.put(io.BytesIO(b"to delete"))
        assert blob_store.exists(sha)
        blob_store.delete(sha)
        assert not blob_store.exists(sha)
        with pytest.raises(NotFoundError):
            blob_store.open(sha)
        blob_store.delete(sha)  # deleting again does nothing

    def test_distinct_contents_are_kept_apart(self, blob_store: BlobStore) -> None:
        shas = [blob_store.put(io.BytesIO(bytes([i]) * (i + 1))) for i in range(10)]
        assert len(set(shas)) == 10
        for i, sha in enumerate(shas):
            with blob_store.open(sha) as fh:
                assert fh.read() == bytes([i]) * (i + 1)

    def test_large_streamed_put(self, blob_store: BlobStore) -> None:
        size = 20 * 1024 * 1024 + 123
        expected = _sha256_of(io.BufferedReader(GeneratedStream(size, seed=7)))
        sha = blob_store.put(io.BufferedReader(GeneratedStream(size, seed=7)), expected)
        assert sha == expected
        with blob_store.open(sha) as fh:
            assert _sha256_of(fh) == expected

    # --- put_file: a file whose sha256 the caller computed, taken over once --------------

    def test_put_file_takes_the_file_over(self, blob_store: BlobStore, tmp_path: Path) -> None:
        data = b"spooled scan " * 1000
        path = tmp_path / "upload-1.part"
        path.write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        assert blob_store.put_file(path, sha) == sha
        assert not path.exists()
        assert blob_store.exists(sha)
        with blob_store.open(sha) as fh:
            assert fh.read() == data

    def test_put_file_does_not_hash_again(
        self, blob_store: BlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        data = b"hashed once, while spooling"
        path = tmp_path / "upload-2.part"
        path.write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        made: list[int] = []
        real = hashlib.sha256

        def counting(*args: Any, **kwargs: Any) -> Any:
            made.append(1)
            return real(*args, **kwargs)

        monkeypatch.setattr(hashlib, "sha256", counting)
        blob_store.put_file(path, sha)
        monkeypatch.undo()
        assert made == []

    def test_put_file_of_stored_content(self, blob_store: BlobStore, tmp_path: Path) -> None:
        data = b"uploaded twice"
        sha = blob_store.put(io.BytesIO(data))
        path = tmp_path / "upload-3.part"
        path.write_bytes(data)
        assert blob_store.put_file(path, sha) == sha
        assert not path.exists()
        with blob_store.open(sha) as fh:
            assert fh.read() == data

    def test_put_file_large(self, blob_store: BlobStore, tmp_path: Path) -> None:
        size = 20 * 1024 * 1024 + 5
        path = tmp_path / "upload-4.part"
        with open(path, "wb") as out:
            source = io.BufferedReader(GeneratedStream(size, seed=3))
            while chunk := source.read(1 << 20):
                out.write(chunk)
        expected = _sha256_of(io.BufferedReader(GeneratedStream(size, seed=3)))
        blob_store.put_file(path, expected)
        with blob_store.open(expected) as fh:
            assert _sha256_of(fh) == expected

    @pytest.mark.parametrize("bad", ["", "A" * 64, "../" + "0" * 61])
    def test_put_file_malformed_sha256(
        self, blob_store: BlobStore, tmp_path: Path, bad: str
    ) -> None:
        path = tmp_path / "upload-5.part"
        path.write_bytes(b"x")
        with pytest.raises(ValidationError):
            blob_store.put_file(path, bad)

    # --- listing and ageing, for garbage collection ------------------------------------------

    def test_list_blobs(self, blob_store: BlobStore) -> None:
        assert list(blob_store.list_blobs()) == []
        before = datetime.now(UTC) - timedelta(seconds=5)
        shas = {blob_store.put(io.BytesIO(bytes([i]) * 10)) for i in range(3)}
        after = datetime.now(UTC) + timedelta(seconds=5)
        listed = dict(blob_store.list_blobs())
        assert set(listed) == shas
        for stored_at in listed.values():
            assert stored_at.tzinfo is not None
            assert before <= stored_at <= after
        blob_store.delete(next(iter(shas)))
        assert len(list(blob_store.list_blobs())) == 2

    def test_delete_says_whether_it_removed(self, blob_store: BlobStore) -> None:
        sha = blob_store.put(io.BytesIO(b"once"))
        assert blob_store.delete(sha) is True
        assert blob_store.delete(sha) is False

    def test_delete_only_when_stored_before(self, blob_store: BlobStore) -> None:
        sha = blob_store.put(io.BytesIO(b"aged"))
        (stored_at,) = (at for s, at in blob_store.list_blobs() if s == sha)
        assert blob_store.delete(sha, stored_before=stored_at) is False
        assert blob_store.exists(sha)
        assert blob_store.delete(sha, stored_before=stored_at + timedelta(seconds=1)) is True
        assert not blob_store.exists(sha)

    @pytest.mark.parametrize("how", ["put", "put_file"])
    def test_storing_again_refreshes_the_age(
        self, blob_store: BlobStore, tmp_path: Path, how: str
    ) -> None:
        """A garbage collector must never remove content that an upload just stored again."""
        data = b"stored again later"
        sha = blob_store.put(io.BytesIO(data))
        (first,) = (at for s, at in blob_store.list_blobs() if s == sha)
        time.sleep(0.05)
        if how == "put":
            blob_store.put(io.BytesIO(data), sha)
        else:
            path = tmp_path / "upload-6.part"
            path.write_bytes(data)
            blob_store.put_file(path, sha)
        (second,) = (at for s, at in blob_store.list_blobs() if s == sha)
        assert second > first
        assert blob_store.delete(sha, stored_before=first + timedelta(milliseconds=1)) is False


class FileScannerContract:
    """What every ``FileScanner`` does; needs a ``file_scanner`` fixture."""

    @pytest.fixture
    def write(self, tmp_path: Path) -> Iterator[Any]:
        def write(name: str, data: bytes) -> Path:
            path = tmp_path / name
            path.write_bytes(data)
            return path

        yield write

    def test_binary_stl_scan(self, file_scanner: FileScanner, write: Any) -> None:
        data = binary_stl_bytes()
        report = file_scanner.scan(
            write("upper.stl", data), name="upper.stl", kind=FileKind.UPPER_SCAN
        )
        assert report.media_type is MediaType.STL
        assert report.size == len(data)
        assert report.sha256 == hashlib.sha256(data).hexdigest()
        assert report.mesh is not None
        assert report.mesh.format == "binary"
        assert report.mesh.triangles == 4
        assert report.mesh.vertices == 4
        assert report.mesh.is_closed

    def test_ascii_stl_scan(self, file_scanner: FileScanner, write: Any) -> None:
        report = file_scanner.scan(
            write("lower.stl", ascii_stl_bytes()), name="lower.stl", kind=FileKind.LOWER_SCAN
        )
        assert report.media_type is MediaType.STL
        assert report.mesh is not None
        assert report.mesh.format == "ascii"
        assert report.mesh.triangles == 4

    @pytest.mark.parametrize(
        ("name", "data", "kind", "media"),
        [
            ("smile.png", png_bytes(), FileKind.PHOTO_FRONTAL_BITE, MediaType.PNG),
            ("smile.jpg", jpeg_bytes(), FileKind.PHOTO_EXTRAORAL, MediaType.JPEG),
            ("opg.pdf", pdf_bytes(), FileKind.RADIOGRAPH, MediaType.PDF),
            ("opg.png", png_bytes(), FileKind.RADIOGRAPH, MediaType.PNG),
            ("all.zip", zip_bytes(), FileKind.OTHER, MediaType.ZIP),
            ("notes.pdf", pdf_bytes(), FileKind.OTHER, MediaType.PDF),
        ],
    )
    def test_accepted_types(
        self,
        file_scanner: FileScanner,
        write: Any,
        name: str,
        data: bytes,
        kind: FileKind,
        media: MediaType,
    ) -> None:
        report = file_scanner.scan(write(name, data), name=name, kind=kind)
        assert report.media_type is media
        assert report.size == len(data)
        assert report.sha256 == hashlib.sha256(data).hexdigest()

    def test_pdf_named_stl_is_refused_as_a_scan(
        self, file_scanner: FileScanner, write: Any
    ) -> None:
        with pytest.raises(RejectedFileError) as info:
            file_scanner.scan(
                write("upper.stl", pdf_bytes()), name="upper.stl", kind=FileKind.UPPER_SCAN
            )
        assert info.value.name == "upper.stl"
        assert any("application/pdf" in r for r in info.value.reasons)

    def test_photo_must_be_an_image(self, file_scanner: FileScanner, write: Any) -> None:
        with pytest.raises(RejectedFileError):
            file_scanner.scan(
                write("x.png", pdf_bytes()), name="x.png", kind=FileKind.PHOTO_EXTRAORAL
            )

    def test_empty_file_is_refused(self, file_scanner: FileScanner, write: Any) -> None:
        with pytest.raises(RejectedFileError) as info:
            file_scanner.scan(write("empty.stl", b""), name="empty.stl", kind=FileKind.UPPER_SCAN)
        assert any("empty" in r for r in info.value.reasons)

    def test_elf_binary_is_refused(self, file_scanner: FileScanner, write: Any) -> None:
        elf = b"\x7fELF\x02\x01\x01" + b"\x00" * 200
        with pytest.raises(RejectedFileError) as info:
            file_scanner.scan(write("tool.pdf", elf), name="tool.pdf", kind=FileKind.OTHER)
        assert any("executable" in r for r in info.value.reasons)

    def test_a_given_sha256_is_reported_not_recomputed(
        self, file_scanner: FileScanner, write: Any
    ) -> None:
        claimed = "ab" * 32
        report = file_scanner.scan(
            write("notes.pdf", pdf_bytes()), name="notes.pdf", kind=FileKind.OTHER, sha256=claimed
        )
        assert report.sha256 == claimed

    def test_an_stl_that_is_also_a_pdf_is_refused(
        self, file_scanner: FileScanner, write: Any
    ) -> None:
        polyglot = binary_stl_bytes(header=b"%PDF-1.7 and a mesh")
        for kind in (FileKind.RADIOGRAPH, FileKind.UPPER_SCAN, FileKind.OTHER):
            with pytest.raises(RejectedFileError):
                file_scanner.scan(write("x.bin", polyglot), name="x.bin", kind=kind)

    def test_the_message_never_repeats_the_name(
        self, file_scanner: FileScanner, write: Any
    ) -> None:
        name = "Jane Doe born 1970 upper.stl"
        with pytest.raises(RejectedFileError) as info:
            file_scanner.scan(write("u.stl", pdf_bytes()), name=name, kind=FileKind.UPPER_SCAN)
        assert info.value.name == name
        assert "Jane" not in str(info.value)
        assert not any("Jane" in r for r in info.value.reasons)
