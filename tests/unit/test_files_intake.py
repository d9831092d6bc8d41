"""Upload intake: file name sanitising, streaming to a spool file, and receive()."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aligner_core.domain.records import (
    MAX_NAME_LENGTH,
    FileKind,
    FileReport,
    MediaType,
    sanitize_filename,
)
from aligner_core.errors import RejectedFileError
from aligner_core.files.blobs import FileSystemBlobStore, FsspecBlobStore, MemoryBlobStore
from aligner_core.files.intake import SpooledUpload, default_spool_dir, receive, spool
from aligner_core.files.limits import Limits
from aligner_core.files.scanner import ContentScanner
from aligner_core.ports import BlobStore
from aligner_core.testing.contracts.files import (
    GeneratedStream,
    ascii_stl_bytes,
    binary_stl_bytes,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
)


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


# --- receive: spool once, check, sanitise, hand over once -------------------------------------

MiB = 1024 * 1024


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    path = tmp_path / "spool"
    path.mkdir()
    return path


@pytest.fixture
def scanner() -> ContentScanner:
    return ContentScanner()


def _left(spool_dir: Path) -> list[str]:
    return sorted(p.name for p in spool_dir.iterdir())


def test_receive_an_stl_and_store_it_by_renaming(tmp_path: Path, scanner: ContentScanner) -> None:
    store = FileSystemBlobStore(tmp_path / "blobs")
    data = binary_stl_bytes()
    with receive(
        io.BytesIO(data),
        name="../Jane Doe/upper.stl",
        kind=FileKind.UPPER_SCAN,
        scanner=scanner,
        spool_dir=store.incoming,
    ) as received:
        assert received.name == "upper.stl"
        report = received.report
        assert report.media_type is MediaType.STL
        assert (report.size, report.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        assert report.mesh is not None and report.mesh.triangles == 4
        assert report.original_sha256 is None and not report.sanitized
        with received.open() as fh:
            assert fh.read() == data
        inode = os.stat(received.path).st_ino
        assert received.store(store) == report.sha256
        assert received.store(store) == report.sha256  # once is enough
    assert os.stat(store.path_for(report.sha256)).st_ino == inode
    assert _left(Path(store.incoming)) == []


def test_receive_from_bytes_and_from_chunks(spool_dir: Path, scanner: ContentScanner) -> None:
    data = ascii_stl_bytes()
    for source in (data, [data[:10], b"", data[10:]], iter([data])):
        with receive(
            source, name="l.stl", kind=FileKind.LOWER_SCAN, scanner=scanner, spool_dir=spool_dir
        ) as received:
            assert received.report.sha256 == hashlib.sha256(data).hexdigest()
    assert _left(spool_dir) == []


class _CountingSha256:
    """Counts sha256 objects made and bytes fed to them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.made = 0
        self.fed = 0
        real = hashlib.sha256
        counter = self

        class Counting:
            def __init__(self, data: bytes = b"") -> None:
                counter.made += 1
                self._h = real()
                self.update(data)

            def update(self, data: bytes) -> None:
                counter.fed += len(data)
                self._h.update(data)

            def hexdigest(self) -> str:
                return self._h.hexdigest()

        monkeypatch.setattr(hashlib, "sha256", Counting)


def test_an_stl_upload_is_hashed_once_and_written_once(
    tmp_path: Path, scanner: ContentScanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileSystemBlobStore(tmp_path / "blobs")
    data = binary_stl_bytes() * 1  # a fresh object: the builders are not hashed here
    counting = _CountingSha256(monkeypatch)
    with receive(
        data, name="u.stl", kind=FileKind.UPPER_SCAN, scanner=scanner, spool_dir=store.incoming
    ) as received:
        received.store(store)
    monkeypatch.undo()
    assert (counting.made, counting.fed) == (1, len(data))
    assert Path(store.path_for(received.report.sha256)).read_bytes() == data


@pytest.mark.parametrize("store_kind", ["memory", "fsspec"])
def test_other_stores_take_the_spooled_file_without_hashing(
    tmp_path: Path, scanner: ContentScanner, monkeypatch: pytest.MonkeyPatch, store_kind: str
) -> None:
    store: BlobStore = (
        MemoryBlobStore()
        if store_kind == "memory"
        else FsspecBlobStore("file", str(tmp_path / "blobs"))
    )
    data = binary_stl_bytes()
    counting = _CountingSha256(monkeypatch)
    with receive(
        data, name="u.stl", kind=FileKind.UPPER_SCAN, scanner=scanner, spool_dir=tmp_path
    ) as received:
        received.store(store)
    monkeypatch.undo()
    assert counting.made == 1
    with store.open(received.report.sha256) as fh:
        assert fh.read() == data


def test_a_photo_is_hashed_once_more_for_its_reencoding(
    spool_dir: Path, scanner: ContentScanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = png_bytes(32, 16)
    counting = _CountingSha256(monkeypatch)
    with (
        receive(
            data, name="p.png", kind=FileKind.PHOTO_EXTRAORAL, scanner=scanner, spool_dir=spool_dir
        ) as received,
        received.open() as fh,
    ):
        kept = fh.read()
    monkeypatch.undo()
    assert counting.made == 2  # the upload while spooling, the re-encoded bytes while writing
    assert counting.fed == len(data) + len(kept)
    report = received.report
    assert (report.size, report.sha256) == (len(kept), hashlib.sha256(kept).hexdigest())
    assert (report.original_size, report.original_sha256) == (
        len(data),
        hashlib.sha256(data).hexdigest(),
    )
    assert report.sanitized
    assert _left(spool_dir) == []


def test_300_mib_to_a_50_mib_photo_slot_stops_at_the_limit(
    spool_dir: Path, scanner: ContentScanner
) -> None:
    pulled = 0

    def upload() -> Iterator[bytes]:
        nonlocal pulled
        chunk = b"\xff" * MiB
        for _ in range(300):
            pulled += len(chunk)
            yield chunk

    with (
        pytest.raises(RejectedFileError) as info,
        receive(
            upload(),
            name="Jane Doe smile.jpg",
            kind=FileKind.PHOTO_FRONTAL_BITE,
            scanner=scanner,
            spool_dir=spool_dir,
        ),
    ):
        pytest.fail("an oversized upload is never received")
    assert pulled == 51 * MiB  # 50 MiB and the chunk that went past the limit
    assert [getattr(r, "code", None) for r in info.value.reasons] == ["file.too_large"]
    assert "52428800 bytes" in info.value.reasons[0]
    assert "Jane" not in str(info.value)
    assert _left(spool_dir) == []


def test_a_stream_is_read_one_byte_past_the_limit_only(
    spool_dir: Path, scanner: ContentScanner
) -> None:
    source = CountingStream()
    with (
        pytest.raises(RejectedFileError),
        receive(
            source,
            name="x.png",
            kind=FileKind.PHOTO_EXTRAORAL,
            scanner=scanner,
            spool_dir=spool_dir,
            limits=Limits(photo_bytes=3 * MiB + 7),
        ),
    ):
        pass
    assert source.read_bytes == 3 * MiB + 8
    assert _left(spool_dir) == []


def test_bytes_over_the_limit_are_not_written(spool_dir: Path, scanner: ContentScanner) -> None:
    with (
        pytest.raises(RejectedFileError),
        receive(
            b"x" * 101,
            name="x",
            kind=FileKind.OTHER,
            scanner=scanner,
            spool_dir=spool_dir,
            limits=Limits(other_bytes=100),
        ),
    ):
        pass
    assert _left(spool_dir) == []


def test_limits_come_from_the_scanner_by_default(spool_dir: Path) -> None:
    scanner = ContentScanner(Limits(scan_bytes=100))
    with (
        pytest.raises(RejectedFileError) as info,
        receive(
            binary_stl_bytes(),
            name="u.stl",
            kind=FileKind.UPPER_SCAN,
            scanner=scanner,
            spool_dir=spool_dir,
        ),
    ):
        pass
    assert "limit of 100 bytes" in info.value.reasons[0]


def test_refused_upload_leaves_no_spool_file(spool_dir: Path, scanner: ContentScanner) -> None:
    with (
        pytest.raises(RejectedFileError) as info,
        receive(
            pdf_bytes(),
            name="Jane.stl",
            kind=FileKind.UPPER_SCAN,
            scanner=scanner,
            spool_dir=spool_dir,
        ),
    ):
        pass
    assert info.value.name == "Jane.stl"
    assert "Jane" not in str(info.value)
    assert _left(spool_dir) == []


def test_spool_files_go_when_the_block_fails(spool_dir: Path, scanner: ContentScanner) -> None:
    with (
        pytest.raises(KeyError),
        receive(
            png_bytes(), name="p.png", kind=FileKind.OTHER, scanner=scanner, spool_dir=spool_dir
        ) as received,
    ):
        assert Path(received.path).exists()
        raise KeyError("the case commit failed")
    assert _left(spool_dir) == []


def test_a_scanner_without_decode_option_works_too(spool_dir: Path) -> None:
    class Plain:
        def __init__(self) -> None:
            self.inner = ContentScanner()
            self.digests: list[str | None] = []

        def scan(
            self,
            path: str | os.PathLike[str],
            *,
            name: str,
            kind: FileKind,
            sha256: str | None = None,
        ) -> FileReport:
            self.digests.append(sha256)
            return self.inner.scan(path, name=name, kind=kind, sha256=sha256)

    plain = Plain()
    with receive(
        jpeg_bytes(),
        name="a.jpg",
        kind=FileKind.PHOTO_EXTRAORAL,
        scanner=plain,
        spool_dir=spool_dir,
    ) as received:
        assert received.report.media_type is MediaType.JPEG
    assert plain.digests == [hashlib.sha256(jpeg_bytes()).hexdigest()]


def test_default_spool_dir_is_private() -> None:
    path = default_spool_dir()
    assert os.path.isdir(path)
    if os.name == "posix":
        assert os.stat(path).st_mode & 0o077 == 0
    assert default_spool_dir() == path
