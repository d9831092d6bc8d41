"""What every store's unit of work and outbox share: the ``with`` protocol, the state reads."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Self

from aligner_core.errors import StorageError
from aligner_core.notifications.outbox import DeliveryState, OutboxEntry

__all__ = ["OutboxReads", "UnitOfWorkBase"]


class UnitOfWorkBase:
    """The ``with`` protocol of every unit of work: leaving without ``commit`` rolls back.

    Subclasses provide ``_begin`` (fresh repositories), ``_write`` (store the
    buffered writes, all or nothing) and ``_end`` (release what the unit holds).
    """

    _done = False

    def _begin(self) -> None:
        raise NotImplementedError

    def _write(self) -> None:
        raise NotImplementedError

    def _end(self) -> None:
        """Release connections (nothing to release by default)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._done:
                self.rollback()
        finally:
            self._end()

    def rollback(self) -> None:
        """Forget every queued write (nothing was written yet)."""
        self._begin()
        self._done = True
        self._end()

    def commit(self) -> None:
        """Write all or nothing; raises ``ConcurrencyConflictError``, ``StorageError``, ..."""
        if self._done:
            raise StorageError("this unit of work has already ended")
        self._write()
        self._done = True
        self._end()


class OutboxReads:
    """``dead``, ``pending`` and ``sent`` over a store's ``_in_state`` (oldest first)."""

    def _in_state(self, state: DeliveryState) -> Sequence[OutboxEntry]:
        raise NotImplementedError

    def dead(self) -> Sequence[OutboxEntry]:
        return self._in_state(DeliveryState.DEAD)

    def pending(self) -> Sequence[OutboxEntry]:
        return self._in_state(DeliveryState.PENDING)

    def sent(self) -> Sequence[OutboxEntry]:
        return self._in_state(DeliveryState.SENT)
