"""The composition root: ``connect(url, **options)`` wires storage and the other ports.

Storage URLs:

- ``memory://`` -- in-memory; deterministic clock and ids by default (for test suites);
- ``sqlite:///cases.db`` (relative) or ``sqlite:////srv/lab/cases.db`` (absolute, four
  slashes, as in SQLAlchemy) -- the embedded default; blobs in ``cases.db.blobs/`` beside it;
- ``postgresql://...`` -- a shared database; blobs in ``blob_root`` (default ``./aligner-blobs``).

Any port can be replaced with a keyword option: ``clock=``, ``ids=``, ``blobs=``,
``scanner=``, ``notifier=``; ``base_url=`` and ``sender=`` are the dispatcher's
defaults for links and the From address. Adapters are built here, never at import time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from aligner_core.errors import ValidationError

if TYPE_CHECKING:
    from aligner_core.notifications.dispatcher import Dispatcher
from aligner_core.ports import BlobStore, Clock, FileScanner, IdGenerator, Notifier, Storage
from aligner_core.service.core import Service, SpooledFile

__all__ = ["Core", "connect"]


class Core(Service):
    """A wired core: the service plus the adapters it was built with."""

    def __init__(
        self,
        storage: Storage,
        *,
        notifier: Notifier,
        dispatch_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(storage, **kwargs)
        self.notifier = notifier
        self.dispatch_options = dict(dispatch_options or {})

    def dispatcher(self, **options: Any) -> Dispatcher:
        """The outbox dispatcher for this core's storage and notifier.

        Options given to ``connect`` (``base_url``, ``sender``) are the defaults here.
        """
        from aligner_core.notifications.dispatcher import Dispatcher

        merged = {**self.dispatch_options, **options}
        return Dispatcher(self.storage, self.notifier, clock=self.clock, **merged)

    def shutdown(self) -> None:
        """Close the storage (``close`` is the case command that ends a treatment)."""
        self.storage.close()

    def __enter__(self) -> Core:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def _spooler(directory: str | None) -> Any:
    from aligner_core.files.intake import spool

    def run(source: IO[bytes] | Iterable[bytes], max_bytes: int) -> SpooledFile:
        return spool(source, max_bytes=max_bytes, directory=directory)  # type: ignore[return-value]

    return run


def _default_scanner() -> FileScanner:
    from aligner_core.files.content import ContentScanner

    return ContentScanner()


def _null_notifier() -> Notifier:
    from aligner_core.notifications.notifiers import NullNotifier

    return NullNotifier()


def connect(url: str = "memory://", **options: Any) -> Core:
    """Build a fully wired core from a storage URL (see the module docstring)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    clock: Clock | None = options.pop("clock", None)
    ids: IdGenerator | None = options.pop("ids", None)
    blobs: BlobStore | None = options.pop("blobs", None)
    scanner: FileScanner | None = options.pop("scanner", None)
    notifier: Notifier | None = options.pop("notifier", None)
    spool_dir: str | None = options.pop("spool_dir", None)
    storage: Storage
    if scheme == "memory":
        from aligner_core.clock import ManualClock
        from aligner_core.files.blobs import MemoryBlobStore
        from aligner_core.ids import SequentialIds
        from aligner_core.notifications.notifiers import MemoryNotifier
        from aligner_core.storage.memory import MemoryStorage

        storage = MemoryStorage()
        clock = clock or ManualClock()
        ids = ids or SequentialIds()
        blobs = blobs or MemoryBlobStore()
        notifier = notifier or MemoryNotifier()
    elif scheme == "sqlite":
        from aligner_core.files.blobs import FileSystemBlobStore
        from aligner_core.storage.sqlite import SqliteStorage

        path = unquote(parts.path)
        if parts.netloc:
            path = unquote(parts.netloc + parts.path)
        if (
            path.startswith("/")
            and url.startswith("sqlite:///")
            and not url.startswith("sqlite:////")
        ):
            path = path[1:]  # sqlite:///relative.db -> relative.db ; sqlite:////abs.db -> /abs.db
        if not path:
            raise ValidationError.single("sqlite URL needs a path: sqlite:///cases.db", "$.url")
        storage = SqliteStorage(path, **_take(options, "synchronous", "busy_timeout"))
        blobs = blobs or FileSystemBlobStore(options.pop("blob_root", f"{path}.blobs"))
    elif scheme in ("postgresql", "postgres"):
        from aligner_core.files.blobs import FileSystemBlobStore
        from aligner_core.storage.postgres import PostgresStorage

        storage = PostgresStorage(
            url, **_take(options, "schema", "min_size", "max_size", "timeout")
        )
        blobs = blobs or FileSystemBlobStore(
            options.pop("blob_root", os.path.abspath("aligner-blobs"))
        )
    else:
        raise ValidationError.single(
            f"unknown storage URL scheme {scheme!r} (memory, sqlite, postgresql)", "$.url"
        )
    if clock is None or ids is None:
        from aligner_core.clock import SystemClock
        from aligner_core.ids import RandomIds

        clock = clock or SystemClock()
        ids = ids or RandomIds()
    secret = options.pop("link_secret", None) or storage.link_secret()
    dispatch = _take(options, "base_url", "sender", "templates", "max_attempts")
    return Core(
        storage,
        notifier=notifier or _null_notifier(),
        dispatch_options=dispatch,
        clock=clock,
        ids=ids,
        blobs=blobs,
        scanner=scanner or _default_scanner(),
        spooler=_spooler(spool_dir),
        link_secret=secret,
        **options,
    )


def _take(options: dict[str, Any], *names: str) -> dict[str, Any]:
    return {n: options.pop(n) for n in names if n in options}
