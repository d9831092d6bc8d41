"""The composition root: ``connect(url, **options)`` wires storage and the other ports.

Storage URLs:

- ``memory://`` -- in-memory; deterministic clock and ids by default (for test suites);
- ``sqlite:///cases.db`` (relative) or ``sqlite:////srv/lab/cases.db`` (absolute, four
  slashes, as in SQLAlchemy) -- the embedded default; blobs in ``cases.db.blobs/`` beside it;
- ``postgresql://...`` -- a shared database; blobs in ``blob_root`` (default ``./aligner-blobs``).

Every option is listed in :data:`OPTIONS` (and in the README); an unknown one is a
``ValidationError``. Adapters are built here, never at import time.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from aligner_core.errors import StorageError, ValidationError
from aligner_core.links import Links
from aligner_core.ports import BlobStore, Clock, FileScanner, IdGenerator, Intake, Notifier, Storage
from aligner_core.service.core import Collector, Core
from aligner_core.service.deps import Deps
from aligner_core.service.sharing import LinkKeys

__all__ = ["OPTIONS", "Core", "connect"]

#: Every keyword ``connect`` takes, with what it is for.
OPTIONS: Final[Mapping[str, str]] = {
    "storage": "a ready Storage instead of one built from the URL",
    "clock": "the Clock (default: the system clock; memory:// a manual one)",
    "ids": "the IdGenerator (default: random UUIDs; memory:// sequential ones)",
    "blobs": "the BlobStore (default: files beside the database; memory:// in memory)",
    "blob_root": "where the default file-system blob store keeps files",
    "scanner": "the FileScanner that checks uploads (default: ContentScanner)",
    "notifier": "where e-mails go (default: none, they wait; memory:// records them)",
    "spool_dir": "where uploads are streamed to before they are checked",
    "gc_grace": "age (timedelta) after which spool files and unreferenced blobs are garbage",
    "gc_on_open": "collect garbage when connecting (default True for SQLite and PostgreSQL)",
    "max_upload_bytes": "the largest upload of any kind (bytes; each kind has its own limit)",
    "link_secret": "keys signing share links, newest first (default: $ALIGNER_CORE_LINK_SECRETS, "
    "else a key file beside the database, never the database itself)",
    "portal_url": "the portal's address (default https://portal.example/)",
    "base_url": "the same as portal_url (older name)",
    "case_url": "URL template of a case page with {number} (default {portal_url}cases/{number})",
    "share_url": "URL template of a share link with {token} (default {portal_url}share/{token})",
    "sender": "the From address of e-mails",
    "templates": "e-mail Templates overriding the defaults",
    "max_attempts": "attempts after which the dispatcher stops retrying an e-mail (it stalls)",
    "retry_period": "how long the dispatcher retries an e-mail before it stalls (default 7 days)",
    "default_reference_code": "the network a registration without a code joins",
    "turnaround_table": "business days per (stage, design), replacing the defaults",
    "message_id_domain": "the domain of e-mail Message-IDs",
    "synchronous": "SQLite: NORMAL or FULL",
    "busy_timeout": "SQLite: seconds a writer waits for another",
    "schema": "PostgreSQL: the schema holding the tables (default aligner_core)",
    "min_size": "PostgreSQL: the smallest pool",
    "max_size": "PostgreSQL: the largest pool",
    "timeout": "PostgreSQL: seconds to connect or wait for a pooled connection",
}


def _intake(scanner: FileScanner, spool_dir: str | None) -> Intake:
    """Uploads taken in by the files package, spooled beside the blob store where it has one."""
    from aligner_core.files.intake import receive

    return functools.partial(receive, scanner=scanner, spool_dir=spool_dir)


def _collector(storage: Storage, blobs: BlobStore, spool_dir: str | None) -> Collector:
    """Garbage collection over this storage's referenced files and this spool directory."""
    from aligner_core.files.gc import collect_garbage

    def referenced() -> set[str]:
        with storage.unit_of_work() as uow:
            return uow.cases.file_digests()

    def collect(grace: timedelta) -> object:
        return collect_garbage(blobs, referenced, spool_dir, grace)

    return collect


def _default_scanner(options: dict[str, Any]) -> FileScanner:
    from aligner_core.files.limits import Limits
    from aligner_core.files.scanner import ContentScanner

    largest = options.pop("max_upload_bytes", None)
    if largest is None:
        return ContentScanner()
    return ContentScanner(limits=Limits().capped(int(largest)))


def _null_notifier() -> Notifier:
    from aligner_core.notifications.notifiers import NullNotifier

    return NullNotifier()


def _sqlite_path(url: str) -> str:
    parts = urlsplit(url)
    path = unquote(parts.netloc + parts.path)
    if url.startswith("sqlite:////"):
        path = "/" + path.lstrip("/")  # sqlite:////abs.db -> /abs.db
    elif url.startswith("sqlite:///"):
        path = path[1:] if path.startswith("/") else path  # sqlite:///relative.db
    if not path:
        raise ValidationError.of("sqlite_path_needed", "$.url")
    return path


def connect(url: str = "memory://", **options: Any) -> Core:
    """Build a fully wired core from a storage URL (see the module docstring and ``OPTIONS``)."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValidationError.of(
            "unknown_option", "$.options", option=", ".join(unknown), options=", ".join(OPTIONS)
        )
    scheme = urlsplit(url).scheme.lower() if isinstance(url, str) else ""
    clock: Clock | None = options.pop("clock", None)
    ids: IdGenerator | None = options.pop("ids", None)
    blobs: BlobStore | None = options.pop("blobs", None)
    notifier: Notifier | None = options.pop("notifier", None)
    storage: Storage | None = options.pop("storage", None)
    blob_root = options.pop("blob_root", None)
    key_file: str | None = None
    if storage is not None or scheme == "memory":
        from aligner_core.clock import ManualClock
        from aligner_core.files.blobs import MemoryBlobStore
        from aligner_core.ids import SequentialIds
        from aligner_core.notifications.notifiers import MemoryNotifier
        from aligner_core.storage.memory import MemoryStorage

        storage = storage or MemoryStorage()
        if scheme == "memory":
            clock = clock or ManualClock()
            ids = ids or SequentialIds()
            notifier = notifier or MemoryNotifier()
        blobs = blobs or MemoryBlobStore()
    elif scheme == "sqlite":
        from aligner_core.files.blobs import FileSystemBlobStore
        from aligner_core.storage.sqlite import SqliteStorage

        path = _sqlite_path(url)
        storage = SqliteStorage(path, **_take(options, "synchronous", "busy_timeout"))
        blobs = blobs or FileSystemBlobStore(blob_root or f"{path}.blobs")
        key_file = f"{path}.key"
    elif scheme in ("postgresql", "postgres"):
        from aligner_core.files.blobs import FileSystemBlobStore
        from aligner_core.storage.postgres import PostgresStorage

        storage = PostgresStorage(
            url, **_take(options, "schema", "min_size", "max_size", "timeout")
        )
        root = blob_root or os.path.abspath("aligner-blobs")
        blobs = blobs or FileSystemBlobStore(root)
        key_file = os.path.join(root, ".link-key")
    else:
        raise ValidationError.of("unknown_url_scheme", "$.url")
    if clock is None or ids is None:
        from aligner_core.clock import SystemClock
        from aligner_core.ids import RandomIds

        clock = clock or SystemClock()
        ids = ids or RandomIds()
    portal = options.pop("portal_url", None) or options.pop("base_url", None)
    links = Links(
        portal=portal or Links().portal,
        case=options.pop("case_url", None) or "",
        share=options.pop("share_url", None) or "",
    )
    options.pop("base_url", None)
    grace = options.pop("gc_grace", None)
    gc_grace: timedelta = timedelta(hours=1) if grace is None else grace
    gc_on_open = bool(options.pop("gc_on_open", scheme != "memory" and key_file is not None))
    scanner = options.pop("scanner", None) or _default_scanner(options)
    options.pop("max_upload_bytes", None)
    spool_dir = options.pop("spool_dir", None) or getattr(blobs, "incoming", None)
    deps = Deps(
        storage=storage,
        clock=clock,
        ids=ids,
        blobs=blobs,
        scanner=scanner,
        intake=_intake(scanner, spool_dir),
        link_keys=_link_keys(options.pop("link_secret", None), key_file),
        links=links,
        **_take(options, "default_reference_code", "turnaround_table", "message_id_domain"),
    )
    dispatch = _take(options, "sender", "templates", "max_attempts", "retry_period")
    collect = _collector(storage, blobs, spool_dir)
    core = Core(
        deps,
        notifier=notifier or _null_notifier(),
        dispatch_options=dispatch,
        collector=collect,
        gc_grace=gc_grace,
    )
    if gc_on_open:
        core.collect_garbage()  # what a crash left behind: spool files, unreferenced blobs
    return core


LINK_SECRETS_ENV: Final = "ALIGNER_CORE_LINK_SECRETS"


def _link_keys(given: Any, key_file: str | None) -> LinkKeys:
    """Share-link keys from configuration: the option, the environment, or a key file.

    Never from the database: a key stored beside the data would sign links for
    whoever can read the data. The key file (``cases.db.key``) is made once, 0600.
    """
    if given:
        return LinkKeys.parse(given)
    from_env = os.environ.get(LINK_SECRETS_ENV, "")
    if from_env.strip():
        return LinkKeys.parse([k.strip() for k in from_env.split(",") if k.strip()])
    if key_file is None:  # memory:// or a ready storage: keys for this process only
        return LinkKeys((os.urandom(32),))
    try:
        with open(key_file, "rb") as existing:
            return LinkKeys((existing.read(),))
    except FileNotFoundError:
        pass
    except OSError as e:
        raise StorageError(f"cannot read the link key file: {e.strerror}") from e
    key = os.urandom(32)
    try:
        os.makedirs(os.path.dirname(os.path.abspath(key_file)), exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        with open(key_file, "rb") as existing:
            return LinkKeys((existing.read(),))
    except OSError as e:
        raise StorageError(f"cannot write the link key file: {e.strerror}") from e
    with os.fdopen(fd, "wb") as made:
        made.write(key)
        made.flush()
        os.fsync(made.fileno())
    return LinkKeys((key,))


def _take(options: dict[str, Any], *names: str) -> dict[str, Any]:
    return {n: options.pop(n) for n in names if n in options}
