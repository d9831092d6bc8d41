"""Clocks: the real UTC clock and a deterministic one for tests and demos (the ``Clock`` port)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from aligner_core.errors import ValidationError

__all__ = ["ManualClock", "SystemClock"]


class SystemClock:
    """UTC wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A deterministic clock: starts at ``start``, moves ``tick`` per reading and on ``advance``."""

    def __init__(
        self,
        start: datetime = datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        tick: timedelta = timedelta(seconds=1),
    ) -> None:
        if start.utcoffset() is None:
            raise ValidationError.of("naive_datetime", "$.start", subject="clock")
        self._now = start
        self._tick = tick
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            current = self._now
            self._now += self._tick
            return current

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta
