"""Documents already parsed, by id and version: the SQL stores read a case once per version.

A stored version never changes (every write is ``... WHERE version = expected``
and moves the version on), so a parsed document found here under the version
the database reports is that document. Reads ask the database for the version
and get the document only when the memo lacks it. Bounded, shared by threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from aligner_core.serialization import Converter
from aligner_core.storage.sql.dialect import Session

__all__ = ["Memo"]


class _Versioned(Protocol):
    @property
    def version(self) -> int: ...


T = TypeVar("T", bound=_Versioned)


class Memo(Generic[T]):
    """At most ``size`` parsed documents of type ``cl``, each with a value derived from it."""

    def __init__(self, converter: Converter, cl: type[T], size: int) -> None:
        self._converter = converter
        self._cl = cl
        self._size = size
        self._items: OrderedDict[UUID, tuple[T, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def fetch(self, session: Session, table: str, column: str, key: UUID) -> T | None:
        """The current document of ``key`` (by ``column`` of ``table``), or None if there is none.

        One statement; the database sends the document only when the memo lacks its version.
        """
        with self._lock:
            found = self._items.get(key)
        rows = session.fetch(
            f"SELECT version, CASE WHEN version = ? THEN NULL ELSE doc END FROM {table} "
            f"WHERE {column} = ?",
            (found[0].version if found else 0, str(key)),
        )
        return self.load(key, rows[0][0], rows[0][1]) if rows else None

    def load(self, key: UUID, version: int, doc: str | None) -> T:
        """The document of ``key`` at ``version``: remembered, or parsed from ``doc``."""
        with self._lock:
            found = self._items.get(key)
        if found is not None and found[0].version == version:
            return found[0]
        if doc is None:  # pragma: no cover - the database said the memo was current
            raise LookupError(key)
        value = self._converter.document_loads(doc, self._cl)
        self.put(key, value)
        return value

    def remembered(self, key: UUID, value: T) -> Any:
        """What was stored with ``value`` by ``put`` (``None`` if another version is remembered)."""
        with self._lock:
            found = self._items.get(key)
        return found[1] if found is not None and found[0] is value else None

    def put(self, key: UUID, value: T, extra: Any = None) -> None:
        with self._lock:
            found = self._items.get(key)
            if found is not None and found[0].version > value.version:
                return  # another thread remembered a newer version
            self._items[key] = (value, extra)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
