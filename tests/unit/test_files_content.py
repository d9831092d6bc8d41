"""ContentScanner: type sniffing, kind fit, size limits, images, PDFs, archives."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from aligner_core.domain.records import FileKind, MediaType
from aligner_core.errors import RejectedFileError, StorageError
from aligner_core.files.limits import Limits
from aligner_core.files.scanner import STL_EXTRA_MISSING, ContentScanner, allowed_types
from aligner_core.files.sniff import executable_kind, sniff, sniff_file
from aligner_core.files.stl import StlAnalyzer
from aligner_core.ports import FileScanner
from aligner_core.testing.contracts.files import (
    FileScannerContract,
    ascii_stl_bytes,
    binary_stl_bytes,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
    zip_bytes,
)


class TestContentScanner(FileScannerContract):
    @pytest.fixture
    def file_scanner(self) -> FileScanner:
        return ContentScanner(stl=StlAnalyzer())


class TestContentScannerAutoloadsStl(FileScannerContract):
    @pytest.fixture
    def file_scanner(self) -> FileScanner:
        return ContentScanner()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _refused(scanner: ContentScanner, path: Path, kind: FileKind = FileKind.OTHER) -> list[str]:
    with pytest.raises(RejectedFileError) as info:
        scanner.scan(path, name=path.name, kind=kind)
    return list(info.value.reasons)


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                tf.addfile(info)
    return out.getvalue()


def _file(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


@pytest.fixture
def scanner() -> ContentScanner:
    return ContentScanner()


@pytest.mark.parametrize(
    ("data", "media"),
    [
        (png_bytes(), MediaType.PNG),
        (jpeg_bytes(), MediaType.JPEG),
        (pdf_bytes(), MediaType.PDF),
        (zip_bytes(), MediaType.ZIP),
        (_tar([(_file("a.txt"), b"hi")]), MediaType.TAR),
        (binary_stl_bytes(), MediaType.STL),
        (binary_stl_bytes(header=b"solid but binary"), MediaType.STL),
        (ascii_stl_bytes(), MediaType.STL),
        (b"hello world", None),
        (b"", None),
    ],
)
def test_sniff(data: bytes, media: MediaType | None) -> None:
    assert sniff(data[:4096], len(data)) is media


@pytest.mark.parametrize(
    "head",
    [b"\x7fELF\x02", b"MZ\x90\x00", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!/bin/sh\n"],
)
def test_executables_are_recognised(head: bytes) -> None:
    assert executable_kind(head) is not None


def test_sniff_file_ignores_the_name(tmp_path: Path) -> None:
    assert sniff_file(_write(tmp_path, "photo.stl", png_bytes())) is MediaType.PNG
    assert sniff_file(_write(tmp_path, "x.pdf", b"\x7fELF" + b"\0" * 100)) is None


def test_the_former_module_still_exports_the_scanner() -> None:
    from aligner_core.files import content

    assert content.ContentScanner is ContentScanner
    assert content.sniff is sniff


def test_allowed_types() -> None:
    assert allowed_types(FileKind.UPPER_SCAN) == {MediaType.STL}
    assert allowed_types(FileKind.PHOTO_LEFT_LATERAL) == {MediaType.PNG, MediaType.JPEG}
    assert MediaType.PDF in allowed_types(FileKind.RADIOGRAPH)
    assert allowed_types(FileKind.OTHER) == set(MediaType)


def test_stl_report_and_sha(tmp_path: Path, scanner: ContentScanner) -> None:
    data = binary_stl_bytes()
    report = scanner.scan(_write(tmp_path, "u.bin", data), name="u.bin", kind=FileKind.UPPER_SCAN)
    assert report.sha256 == hashlib.sha256(data).hexdigest()
    assert report.mesh is not None and report.mesh.plausibility.value == "plausible"


def test_stl_other_kind_is_analyzed_too(tmp_path: Path, scanner: ContentScanner) -> None:
    report = scanner.scan(
        _write(tmp_path, "a.stl", ascii_stl_bytes()), name="a.stl", kind=FileKind.OTHER
    )
    assert report.mesh is not None


def test_stl_without_extra_is_refused(tmp_path: Path) -> None:
    scanner = ContentScanner(autoload_stl=False)
    reasons = _refused(scanner, _write(tmp_path, "u.stl", binary_stl_bytes()), FileKind.UPPER_SCAN)
    assert reasons == [STL_EXTRA_MISSING]


def test_stl_reasons_carry_the_upload_name(tmp_path: Path, scanner: ContentScanner) -> None:
    path = _write(tmp_path, "tmp-123.part", binary_stl_bytes(count=1000))
    with pytest.raises(RejectedFileError) as info:
        scanner.scan(path, name="upper.stl", kind=FileKind.UPPER_SCAN)
    assert info.value.name == "upper.stl"
    assert "truncated" in info.value.reasons[0]


def test_unknown_content_for_other_kind(tmp_path: Path, scanner: ContentScanner) -> None:
    reasons = _refused(scanner, _write(tmp_path, "notes.txt", b"just text\n"))
    assert "unrecognised content" in reasons[0]


def test_text_named_stl_for_a_scan_gets_the_stl_reason(
    tmp_path: Path, scanner: ContentScanner
) -> None:
    reasons = _refused(scanner, _write(tmp_path, "u.stl", b"just text\n" * 20), FileKind.UPPER_SCAN)
    assert reasons == ["not an STL file: text that does not start with 'solid'"]


def test_kind_mismatch(tmp_path: Path, scanner: ContentScanner) -> None:
    reasons = _refused(
        scanner, _write(tmp_path, "p.jpg", binary_stl_bytes()), FileKind.PHOTO_EXTRAORAL
    )
    assert "model/stl" in reasons[0] and "image/jpeg or image/png" in reasons[0]


def test_pdf_named_stl_is_refused_even_as_other_document(
    tmp_path: Path, scanner: ContentScanner
) -> None:
    path = _write(tmp_path, "x.stl", pdf_bytes())
    reasons = _refused(scanner, path, FileKind.OTHER)
    assert any("ends in 'stl' but the content is application/pdf" in r for r in reasons)


def test_image_extension_mismatch_is_only_a_warning(
    tmp_path: Path, scanner: ContentScanner
) -> None:
    path = _write(tmp_path, "x.jpg", png_bytes(4, 4))
    report = scanner.scan(path, name="x.jpg", kind=FileKind.PHOTO_FRONTAL_BITE)
    assert report.media_type is MediaType.PNG
    assert any("'jpg'" in w for w in report.warnings)


def test_size_limits_per_kind(tmp_path: Path) -> None:
    scanner = ContentScanner(Limits(photo_bytes=50, scan_bytes=10_000))
    path = _write(tmp_path, "p.png", png_bytes(40, 40))
    reasons = _refused(scanner, path, FileKind.PHOTO_UPPER_OCCLUSAL)
    assert "larger than the limit of 50 bytes" in reasons[0]
    assert scanner.scan(path, name="p.png", kind=FileKind.OTHER).media_type is MediaType.PNG


def test_image_pixel_limit(tmp_path: Path) -> None:
    scanner = ContentScanner(Limits(image_pixels=1000))
    assert "above the limit" in _refused(scanner, _write(tmp_path, "a.png", png_bytes(100, 100)))[0]
    assert (
        "above the limit" in _refused(scanner, _write(tmp_path, "a.jpg", jpeg_bytes(100, 100)))[0]
    )


def test_png_with_zero_size(tmp_path: Path, scanner: ContentScanner) -> None:
    assert "no pixels" in _refused(scanner, _write(tmp_path, "a.png", png_bytes(0, 5)))[0]


def test_jpeg_without_frame(tmp_path: Path, scanner: ContentScanner) -> None:
    assert "frame header" in _refused(scanner, _write(tmp_path, "a.jpg", b"\xff\xd8\xff\xd9"))[0]


def test_pdf_active_content_and_missing_eof_are_refused(
    tmp_path: Path, scanner: ContentScanner
) -> None:
    """Formerly two warnings; a PDF that runs JavaScript or is cut short is now refused."""
    data = b"%PDF-1.7\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\n"
    reasons = _refused(scanner, _write(tmp_path, "a.pdf", data), FileKind.RADIOGRAPH)
    assert any("%%EOF" in r for r in reasons)
    assert any("JavaScript" in r for r in reasons)


def test_missing_file_is_a_storage_error(tmp_path: Path, scanner: ContentScanner) -> None:
    with pytest.raises(StorageError):
        scanner.scan(tmp_path / "nope", name="nope", kind=FileKind.OTHER)


def test_directory_is_refused(tmp_path: Path, scanner: ContentScanner) -> None:
    assert _refused(scanner, tmp_path) == ["not a regular file"]


# --- zip -----------------------------------------------------------------------------------


def test_zip_report_counts_entries(tmp_path: Path, scanner: ContentScanner) -> None:
    report = scanner.scan(_write(tmp_path, "a.zip", zip_bytes()), name="a.zip", kind=FileKind.OTHER)
    assert report.archive_entries == 2


def test_zip_collects_every_reason(tmp_path: Path, scanner: ContentScanner) -> None:
    data = zip_bytes(
        {"../evil.txt": b"x", "/etc/passwd": b"x", "inner.zip": zip_bytes(), "run.exe": b"x"}
    )
    reasons = _refused(scanner, _write(tmp_path, "a.zip", data))
    text = "\n".join(reasons)
    assert "'..'" in text
    assert "absolute path" in text
    assert "nested archive" in text
    assert "executable" in text


def test_zip_nested_archive_by_content(tmp_path: Path, scanner: ContentScanner) -> None:
    data = zip_bytes({"scan.dat": zip_bytes(), "tool.dat": b"\x7fELF" + b"\0" * 64})
    text = "\n".join(_refused(scanner, _write(tmp_path, "a.zip", data)))
    assert "nested zip archive" in text
    assert "ELF" in text


def test_zip_entry_limit(tmp_path: Path) -> None:
    scanner = ContentScanner(Limits(archive_entries=3))
    data = zip_bytes({f"f{i}.txt": b"x" for i in range(5)})
    assert "5 entries (at most 3)" in _refused(scanner, _write(tmp_path, "a.zip", data))[0]


def test_zip_uncompressed_limit(tmp_path: Path) -> None:
    scanner = ContentScanner(Limits(archive_uncompressed_bytes=1000))
    data = zip_bytes({"a.txt": bytes(range(256)) * 8})
    assert "uncompress" in _refused(scanner, _write(tmp_path, "a.zip", data))[0]


def test_zip_ratio_limit(tmp_path: Path, scanner: ContentScanner) -> None:
    data = zip_bytes({"zeros.bin": b"\0" * (8 * 1024 * 1024)})
    assert any("zip bomb" in r for r in _refused(scanner, _write(tmp_path, "a.zip", data)))


def test_zip_symlink_and_encrypted_flags(tmp_path: Path, scanner: ContentScanner) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        link = zipfile.ZipInfo("link")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
    raw = bytearray(out.getvalue())
    text = "\n".join(_refused(scanner, _write(tmp_path, "a.zip", bytes(raw))))
    assert "symbolic link" in text


def test_zip_corrupt_data(tmp_path: Path, scanner: ContentScanner) -> None:
    data = bytearray(zip_bytes({"a.txt": b"hello " * 1000}))
    data[40:60] = b"\xff" * 20  # inside the compressed data of the only entry
    text = "\n".join(_refused(scanner, _write(tmp_path, "a.zip", bytes(data))))
    assert "cannot be decompressed" in text or "corrupt" in text


def test_empty_zip(tmp_path: Path, scanner: ContentScanner) -> None:
    assert "empty zip" in _refused(scanner, _write(tmp_path, "a.zip", zip_bytes({})))[0]


# --- tar -----------------------------------------------------------------------------------


def test_tar_report(tmp_path: Path, scanner: ContentScanner) -> None:
    data = _tar([(_file("a/b.txt"), b"hello"), (_file("c.stl"), binary_stl_bytes())])
    report = scanner.scan(_write(tmp_path, "a.tar", data), name="a.tar", kind=FileKind.OTHER)
    assert report.media_type is MediaType.TAR
    assert report.archive_entries == 2


def test_tar_collects_every_reason(tmp_path: Path, scanner: ContentScanner) -> None:
    link = _file("link")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    hard = _file("hard")
    hard.type = tarfile.LNKTYPE
    hard.linkname = "a.txt"
    dev = _file("dev")
    dev.type = tarfile.CHRTYPE
    fifo = _file("fifo")
    fifo.type = tarfile.FIFOTYPE
    data = _tar(
        [
            (_file("../up.txt"), b"x"),
            (_file("/abs.txt"), b"x"),
            (link, None),
            (hard, None),
            (dev, None),
            (fifo, None),
            (_file("inner.dat"), zip_bytes()),
            (_file("tool.bin"), b"MZ" + b"\0" * 100),
        ]
    )
    text = "\n".join(_refused(scanner, _write(tmp_path, "a.tar", data)))
    for needle in (
        "'..'",
        "absolute",
        "entry 3 is a link",  # the link targets are no longer quoted: they come from the file
        "entry 4 is a link",
        "device",
        "nested zip",
        "Windows",
    ):
        assert needle in text, needle
    assert "/etc/passwd" not in text and "a.txt" not in text


def test_tar_entry_limit(tmp_path: Path) -> None:
    scanner = ContentScanner(Limits(archive_entries=3))
    data = _tar([(_file(f"f{i}"), b"x") for i in range(10)])
    assert "more than 3 entries" in _refused(scanner, _write(tmp_path, "a.tar", data))[0]


def test_tar_size_limit(tmp_path: Path) -> None:
    scanner = ContentScanner(Limits(archive_uncompressed_bytes=100))
    data = _tar([(_file("big"), b"x" * 1000)])
    assert "holds 1000 bytes" in _refused(scanner, _write(tmp_path, "a.tar", data))[0]


def test_truncated_tar(tmp_path: Path, scanner: ContentScanner) -> None:
    data = _tar([(_file("big"), b"x" * 5000)])[:2048]
    assert "corrupt tar" in _refused(scanner, _write(tmp_path, "a.tar", data))[0]
