"""What the service is built with: the ports and the settings, wired once by ``connect``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO, Protocol

import attrs

from aligner_core.domain.deadlines import Stage
from aligner_core.domain.prescriptions import Design
from aligner_core.links import Links
from aligner_core.ports import BlobStore, Clock, FileScanner, IdGenerator, Storage

__all__ = ["Deps", "Links", "SpooledFile", "Spooler"]


class SpooledFile(Protocol):
    """An upload streamed to a local temporary file, with its digest; deleted on exit."""

    path: str
    size: int
    sha256: str

    def __enter__(self) -> SpooledFile: ...

    def __exit__(self, *exc: object) -> None: ...


Spooler = Callable[[IO[bytes] | Iterable[bytes], int], SpooledFile]
"""Streams an upload to disk, refusing it past ``max_bytes`` (``RejectedFileError``)."""


@attrs.frozen
class Deps:
    """The ports and settings every command and query reads (built by ``connect``)."""

    storage: Storage
    clock: Clock
    ids: IdGenerator
    blobs: BlobStore
    scanner: FileScanner
    spooler: Spooler
    link_secret: bytes
    links: Links = attrs.field(factory=Links)
    max_upload_bytes: int = 2 * 1024**3
    default_reference_code: str | None = None
    turnaround_table: dict[tuple[Stage, Design], int] | None = None
    message_id_domain: str = "aligner-core.invalid"
