"""Type by content: the one STL rule, polyglot detection, reason codes, missing extras."""

from __future__ import annotations

import builtins
import io
import pickle
import struct
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from aligner_core.domain.records import FileKind, MediaType
from aligner_core.errors import RejectedFileError
from aligner_core.files import stl
from aligner_core.files.checks import PDF_EXTRA_MISSING, Findings, check_jpeg, check_pdf
from aligner_core.files.limits import Limits
from aligner_core.files.photos import IMAGES_EXTRA_MISSING
from aligner_core.files.reasons import Reason, Rule, reason, refused
from aligner_core.files.scanner import ContentScanner
from aligner_core.files.sniff import identify, is_tar_header, stl_format
from aligner_core.testing.contracts.files import (
    ascii_stl_bytes,
    binary_stl_bytes,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
    zip_bytes,
)


def test_there_is_one_stl_rule() -> None:
    assert stl.detect_format is stl_format
    data = binary_stl_bytes()
    assert stl_format(data, len(data)).format == "binary"
    assert identify(data, len(data)).stl == stl_format(data, len(data))


@pytest.mark.parametrize(
    ("data", "media"),
    [
        (png_bytes(), MediaType.PNG),
        (jpeg_bytes(), MediaType.JPEG),
        (pdf_bytes(), MediaType.PDF),
        (zip_bytes(), MediaType.ZIP),
        (binary_stl_bytes(), MediaType.STL),
        (ascii_stl_bytes(), MediaType.STL),
        (b"\x1f\x8b\x08\x00" + b"\0" * 20, MediaType.GZIP),
    ],
)
def test_single_formats_are_not_polyglots(data: bytes, media: MediaType) -> None:
    identity = identify(data[:4096], len(data), data[-65557:])
    assert identity.media is media
    assert identity.also == ()


@pytest.mark.parametrize(
    ("data", "media", "also"),
    [
        (binary_stl_bytes(header=b"%PDF-1.7"), MediaType.PDF, "binary STL"),
        (binary_stl_bytes(header=b"PK\x03\x04"), MediaType.ZIP, "binary STL"),
        (binary_stl_bytes() + b"PK\x05\x06" + b"\0" * 18, MediaType.STL, "ZIP archive"),
        (png_bytes() + b"PK\x05\x06" + b"\0" * 18, MediaType.PNG, "ZIP archive"),
        (b"\xff\xd8\xff\xfe\x00\x0a%PDF-1.4" + jpeg_bytes()[2:], MediaType.JPEG, "PDF"),
        (ascii_stl_bytes(name="<html>"), MediaType.STL, "HTML"),
    ],
)
def test_polyglots(data: bytes, media: MediaType, also: str) -> None:
    identity = identify(data[:4096], len(data), data[-65557:])
    assert identity.media is media
    assert identity.polyglot
    assert any(also in a for a in identity.also), identity.also


def test_a_zip_directory_must_reach_the_end_to_count() -> None:
    """Four bytes that look like a ZIP record inside mesh data are no polyglot."""
    data = bytearray(binary_stl_bytes())
    data[100:104] = b"PK\x05\x06"
    assert identify(bytes(data[:4096]), len(data), bytes(data)).also == ()


def test_archives_may_hold_pdfs_near_their_start() -> None:
    """A zip or tar whose first member is a PDF is not a PDF polyglot."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tf:
        info = tarfile.TarInfo("referral.pdf")
        info.size = len(pdf_bytes())
        tf.addfile(info, io.BytesIO(pdf_bytes()))
    data = out.getvalue()
    assert identify(data[:4096], len(data), data).media is MediaType.TAR
    assert identify(data[:4096], len(data), data).also == ()


def test_tar_needs_a_valid_checksum() -> None:
    header = bytearray(512)
    header[257:262] = b"ustar"
    assert not is_tar_header(bytes(header))
    header[148:156] = b"%06o\0 " % (sum(header) + 8 * 32)
    assert is_tar_header(bytes(header))
    header[0] = 1
    assert not is_tar_header(bytes(header))


def test_reasons_are_strings_with_codes() -> None:
    found = reason(Rule.PDF_JAVASCRIPT)
    assert isinstance(found, Reason)
    assert found == "PDF contains JavaScript"
    assert found.code == "pdf.javascript"
    assert found.kind == "input"
    copy = pickle.loads(pickle.dumps(found))
    assert (copy, copy.code, copy.params, copy.kind) == (found, found.code, {}, "input")
    sized = reason(Rule.TOO_LARGE, "of_kind", limit=100, kind="upper_scan")
    assert sized == "larger than the limit of 100 bytes for upper_scan files"
    assert sized.params == {"limit": 100, "kind": "upper_scan", "problem": "of_kind"}
    assert pickle.loads(pickle.dumps(sized)).params == sized.params


def test_refused_keeps_the_name_out_of_the_message() -> None:
    error = refused("Jane Doe.stl", [reason(Rule.EMPTY)])
    assert isinstance(error, RejectedFileError)
    assert error.name == "Jane Doe.stl"
    assert str(error) == "file rejected: empty file"
    assert "Jane" not in repr(error)


def _without(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    real_import = builtins.__import__

    def blocked(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".", maxsplit=1)[0] in modules:
            raise ImportError(f"no module named {name!r}")
        return real_import(name, *args, **kwargs)

    for loaded in list(sys.modules):
        if loaded.split(".")[0] in modules:
            monkeypatch.delitem(sys.modules, loaded)
    monkeypatch.setattr(builtins, "__import__", blocked)


@pytest.mark.parametrize(
    ("module", "name", "data", "kind", "reason"),
    [
        ("PIL", "a.png", png_bytes(), FileKind.PHOTO_EXTRAORAL, IMAGES_EXTRA_MISSING),
        ("PIL", "a.jpg", jpeg_bytes(), FileKind.RADIOGRAPH, IMAGES_EXTRA_MISSING),
        ("pikepdf", "a.pdf", pdf_bytes(), FileKind.RADIOGRAPH, PDF_EXTRA_MISSING),
    ],
)
def test_without_the_extra_the_file_is_refused_naming_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    module: str,
    name: str,
    data: bytes,
    kind: FileKind,
    reason: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    scanner = ContentScanner()
    _without(monkeypatch, module)
    with pytest.raises(RejectedFileError) as info:
        scanner.scan(path, name=name, kind=kind)
    assert info.value.reasons == (reason,)
    assert info.value.reasons[0].code == "extra.missing"  # type: ignore[attr-defined]
    assert f"aligner-core[{'images' if module == 'PIL' else 'pdf'}]" in reason


def test_png_chunk_lengths_are_walked_not_trusted(tmp_path: Path) -> None:
    png = png_bytes()
    at = png.index(b"IDAT") - 4
    broken = png[:at] + struct.pack(">I", 0x7FFFFFF0) + png[at + 4 :]
    path = tmp_path / "a.png"
    path.write_bytes(broken)
    with pytest.raises(RejectedFileError) as info:
        ContentScanner().scan(path, name="a.png", kind=FileKind.PHOTO_EXTRAORAL)
    assert info.value.reasons[0].code == "image.malformed"  # type: ignore[attr-defined]


def test_jpeg_stuffing_is_scanned_at_c_speed(tmp_path: Path) -> None:
    """Entropy data of stuffed 0xFF bytes is searched by one regex, not byte by byte."""
    data = jpeg_bytes()[:-2] + b"\xff\x00" * (4 * 1024 * 1024) + b"\xff\xd9"
    path = tmp_path / "stuffed.jpg"
    path.write_bytes(data)
    found = Findings()
    assert check_jpeg(str(path), Limits(), found) is not None
    assert not found


def test_pdf_object_cap(tmp_path: Path) -> None:
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    path = tmp_path / "many.pdf"
    path.write_bytes(pdf_bytes(*objects, *[b"<< /N %d >>" % i for i in range(50)]))
    found = Findings()
    check_pdf(str(path), Limits(pdf_objects=20), found)
    assert [r.code for r in found.reasons] == ["pdf.too_complex"]
