"""Taking uploads in: safe file names and streaming to a temporary file (stdlib only).

An upload is never held in memory: :func:`spool` copies it in 1 MiB chunks to a
temporary file, hashing and counting as it goes, and stops reading as soon as
the size limit is passed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import IO, Final, Self

from aligner_core.errors import RejectedFileError

__all__ = ["CHUNK_SIZE", "SpooledUpload", "spool"]

CHUNK_SIZE: Final = 1024 * 1024


class SpooledUpload:
    """An upload written to a temporary file: its ``path``, ``size`` and ``sha256``.

    A context manager: the temporary file is deleted on exit (or by ``delete()``).
    """

    def __init__(self, path: str, size: int, sha256: str) -> None:
        self.path = path
        self.size = size
        self.sha256 = sha256

    def open(self) -> IO[bytes]:
        """Open the spooled content for reading."""
        return open(self.path, "rb")

    def delete(self) -> None:
        """Remove the temporary file (idempotent)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.delete()

    def __repr__(self) -> str:
        return f"SpooledUpload({self.path!r}, size={self.size}, sha256={self.sha256!r})"


def _chunks(source: IO[bytes] | Iterable[bytes], max_bytes: int) -> Iterator[bytes]:
    """Chunks of the source; from a file object never more than ``max_bytes + 1`` in all."""
    read = getattr(source, "read", None)
    if read is None:
        for chunk in source:
            yield bytes(chunk)
        return
    budget = max_bytes + 1
    while budget > 0:
        chunk = read(min(CHUNK_SIZE, budget))
        if not chunk:
            return
        budget -= len(chunk)
        yield chunk


def spool(
    source: IO[bytes] | Iterable[bytes],
    *,
    max_bytes: int,
    directory: str | os.PathLike[str] | None = None,
    name: str = "upload",
) -> SpooledUpload:
    """Stream ``source`` to a temporary file, computing size and sha256 on the way.

    Raises ``RejectedFileError(name, ["larger than N bytes"])`` as soon as more
    than ``max_bytes`` arrive, without reading further; the partial file is removed.
    """
    digest = hashlib.sha256()
    size = 0
    tmp = tempfile.NamedTemporaryFile(  # noqa: SIM115 - handed to SpooledUpload
        prefix="upload-", suffix=".part", dir=directory, delete=False
    )
    try:
        with tmp:
            for chunk in _chunks(source, max_bytes):
                size += len(chunk)
                if size > max_bytes:
                    raise RejectedFileError(name, [f"larger than {max_bytes} bytes"])
                digest.update(chunk)
                tmp.write(chunk)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp.name)
        raise
    return SpooledUpload(tmp.name, size, digest.hexdigest())
