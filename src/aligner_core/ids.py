"""Identifiers: random UUIDs, and a deterministic sequence for tests (the ``IdGenerator`` port)."""

from __future__ import annotations

import itertools
import threading
import uuid
from uuid import UUID

__all__ = ["RandomIds", "SequentialIds"]


class RandomIds:
    """Random (version 4) UUIDs."""

    def new_id(self) -> UUID:
        return uuid.uuid4()


class SequentialIds:
    """Deterministic UUIDs: the same sequence for the same ``seed``."""

    def __init__(self, seed: int = 0) -> None:
        self._counter = itertools.count(1)
        self._seed = seed
        self._lock = threading.Lock()

    def new_id(self) -> UUID:
        with self._lock:
            n = next(self._counter)
        return UUID(int=(self._seed << 64) | n, version=4)
