"""Upload intake: file name sanitising and streaming to a temporary file."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aligner_core.domain.records import MAX_NAME_LENGTH, sanitize_filename
from aligner_core.errors import RejectedFileError
from aligner_core.files.intake import SpooledUpload, spool
from aligner_core.testing.contracts.files import GeneratedStream


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("upper.stl", "upper.stl"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\dr\\scan lower.STL", "scan lower.STL"),
        ("/abs/path/photo.jpg", "photo.jpg"),
        ("bad\x00name\x1f.png", "bad_name_.png"),
        ('a<b>c:d"e|f?g*h.pdf', "a_b_c_d_e_f_g_h.pdf"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("com1.stl", "_com1.stl"),
        ("  spaced   out  .stl", "spaced out .stl"),
        ("...", "file"),
        ("", "file"),
        ("/", "file"),
        ("..", "file"),
        ("name.", "name"),
        ("right\u202eto-left.stl", "right_to-left.stl"),
        ("Zürich.stl", "Zürich.stl"),
    ],
)
def test_sanitize_filename(raw: str, clean: str) -> None:
    assert sanitize_filename(raw) == clean


def test_long_names_keep_their_extension() -> None:
    name = sanitize_filename("x" * 500 + ".stl")
    assert len(name) == MAX_NAME_LENGTH
    assert name.endswith(".stl")


@given(st.text(max_size=300))
def test_sanitize_is_never_empty_nor_a_path(raw: str) -> None:
    name = sanitize_filename(raw)
    assert name
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert name not in (".", "..")
    assert len(name) <= MAX_NAME_LENGTH
    assert sanitize_filename(name) == name


def test_spool_from_file_object(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)
    with spool(io.BytesIO(data), max_bytes=len(data), directory=tmp_path) as up:
        assert isinstance(up, SpooledUpload)
        assert up.size == len(data)
        assert up.sha256 == hashlib.sha256(data).hexdigest()
        assert Path(up.path).read_bytes() == data
        with up.open() as fh:
            assert fh.read(4) == data[:4]
        path = up.path
    assert not os.path.exists(path)


def test_spool_from_iterable(tmp_path: Path) -> None:
    chunks = [b"abc", b"", b"def" * 1000]
    with spool(iter(chunks), max_bytes=10_000, directory=tmp_path) as up:
        assert up.size == 3003
        assert up.sha256 == hashlib.sha256(b"".join(chunks)).hexdigest()


def test_spool_empty(tmp_path: Path) -> None:
    with spool(io.BytesIO(b""), max_bytes=10, directory=tmp_path) as up:
        assert up.size == 0
        assert up.sha256 == hashlib.sha256(b"").hexdigest()


def test_spool_exactly_at_the_limit(tmp_path: Path) -> None:
    with spool(io.BytesIO(b"x" * 100), max_bytes=100, directory=tmp_path) as up:
        assert up.size == 100


class CountingStream(io.RawIOBase):
    """An endless stream that counts what was read from it."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = len(buffer)
        buffer[:n] = b"\xab" * n
        self.read_bytes += n
        return n


def test_spool_stops_reading_past_the_limit(tmp_path: Path) -> None:
    source = CountingStream()
    with pytest.raises(RejectedFileError) as info:
        spool(source, max_bytes=5 * 1024 * 1024 + 3, directory=tmp_path, name="huge.stl")
    assert info.value.name == "huge.stl"
    assert info.value.reasons == (f"larger than {5 * 1024 * 1024 + 3} bytes",)
    assert source.read_bytes <= 5 * 1024 * 1024 + 4
    assert list(tmp_path.iterdir()) == []


def test_spool_stops_pulling_from_a_generator(tmp_path: Path) -> None:
    pulled = 0

    def endless() -> Iterator[bytes]:
        nonlocal pulled
        while True:
            pulled += 1
            yield b"y" * 1000

    with pytest.raises(RejectedFileError):
        spool(endless(), max_bytes=10_500, directory=tmp_path)
    assert pulled == 11
    assert list(tmp_path.iterdir()) == []


def test_spool_a_large_upload_in_bounded_memory(tmp_path: Path) -> None:
    import tracemalloc

    size = 64 * 1024 * 1024
    tracemalloc.start()
    try:
        with spool(
            io.BufferedReader(GeneratedStream(size)), max_bytes=size, directory=tmp_path
        ) as up:
            assert up.size == size
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024


def test_spool_removes_the_file_when_the_source_fails(tmp_path: Path) -> None:
    def failing() -> Iterator[bytes]:
        yield b"partial"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        spool(failing(), max_bytes=100, directory=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_delete_is_idempotent(tmp_path: Path) -> None:
    up = spool(io.BytesIO(b"x"), max_bytes=10, directory=tmp_path)
    up.delete()
    up.delete()
    assert "SpooledUpload(" in repr(up)
