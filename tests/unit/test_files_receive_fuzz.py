"""receive() of arbitrary bytes raises nothing but RejectedFileError, and leaves no spool file."""

from __future__ import annotations

import gzip
import io
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aligner_core.domain.records import FileKind
from aligner_core.errors import RejectedFileError
from aligner_core.files.blobs import MemoryBlobStore
from aligner_core.files.intake import receive
from aligner_core.files.limits import Limits
from aligner_core.files.scanner import ContentScanner
from aligner_core.testing.contracts.files import (
    ascii_stl_bytes,
    binary_stl_bytes,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
    zip_bytes,
)


def _tar_gz() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tf:
        info = tarfile.TarInfo("a.txt")
        info.size = 5
        tf.addfile(info, io.BytesIO(b"hello"))
    return gzip.compress(out.getvalue())


VALID = [
    binary_stl_bytes(),
    ascii_stl_bytes(),
    png_bytes(16, 8),
    jpeg_bytes(16, 8),
    pdf_bytes(),
    zip_bytes(),
    _tar_gz(),
]
MAGIC = [
    b"",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"%PDF-1.7\n",
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"\x1f\x8b\x08",
    b"solid ",
    b"binary stl".ljust(80, b" "),
]


@st.composite
def uploads(draw: st.DrawFn) -> bytes:
    """Random bytes, magic numbers followed by noise, or valid files with bytes flipped or cut."""
    how = draw(st.sampled_from(["noise", "magic", "mutated", "cut"]))
    if how == "noise":
        return draw(st.binary(max_size=2048))
    if how == "magic":
        return draw(st.sampled_from(MAGIC)) + draw(st.binary(max_size=2048))
    data = bytearray(draw(st.sampled_from(VALID)))
    if how == "cut":
        return bytes(data[: draw(st.integers(0, len(data)))])
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    return bytes(data)


@pytest.fixture(scope="module")
def spool_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-spool-") as path:
        yield Path(path)


@pytest.fixture(scope="module")
def scanner() -> ContentScanner:
    return ContentScanner(Limits(scan_bytes=1 << 20, other_bytes=1 << 20, archive_entries=50))


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=uploads(), kind=st.sampled_from(FileKind), chunked=st.booleans())
def test_receive_raises_only_rejected_file_error(
    spool_dir: Path, scanner: ContentScanner, data: bytes, kind: FileKind, chunked: bool
) -> None:
    source = [data[i : i + 97] for i in range(0, len(data), 97)] if chunked else data
    try:
        with receive(
            source, name="upload", kind=kind, scanner=scanner, spool_dir=spool_dir
        ) as received:
            received.store(MemoryBlobStore())
            assert received.report.size > 0
    except RejectedFileError as e:
        assert e.reasons
        assert all(getattr(r, "code", None) for r in e.reasons)
    assert list(spool_dir.iterdir()) == []


def _zip_needing_version(major: int, minor: int) -> bytes:
    """A small valid zip whose central directory says extracting needs ``major.minor``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("notes/report.txt", "hello")
    data = bytearray(buffer.getvalue())
    central = data.index(b"PK\x01\x02")
    data[central + 6] = major * 10 + minor  # "version needed to extract"
    return bytes(data)


def test_a_zip_of_a_version_python_cannot_read_is_refused_as_corrupt(
    spool_dir: Path, scanner: ContentScanner
) -> None:
    # found by the fuzz test above: zipfile raised NotImplementedError("zip file version 6.4")
    with (
        pytest.raises(RejectedFileError) as info,
        receive(
            _zip_needing_version(6, 4),
            name="upload.zip",
            kind=FileKind.OTHER,
            scanner=scanner,
            spool_dir=spool_dir,
        ),
    ):
        pass
    assert [r.code for r in info.value.reasons] == ["archive.corrupt"]
    assert list(spool_dir.iterdir()) == []
