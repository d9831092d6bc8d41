"""What every store's unit of work and outbox share: the ``with`` protocol, the state reads."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Self

from aligner_core.errors import StorageError, ValidationError
from aligner_core.notifications.outbox import DeliveryState, OutboxEntry
from aligner_core.storage._pending import check_count, check_text

__all__ = [
    "CLAIMABLE",
    "DELIVERY_FIELDS",
    "OutboxReads",
    "UnitOfWorkBase",
    "check_claimable",
    "check_delivery",
]


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


#: The states ``claim`` hands out: pending entries, and stalled ones for a probe.
CLAIMABLE = (DeliveryState.PENDING, DeliveryState.STALLED)


#: What ``OutboxRepository.save`` stores of an entry (the queued document never changes).
DELIVERY_FIELDS = (
    "state",
    "attempts",
    "last_error",
    "sent_at",
    "next_attempt_at",
    "failing_since",
    "unconfirmed_sends",
)


def check_claimable(state: DeliveryState) -> DeliveryState:
    """``state`` when entries in it can be claimed, else ``ValidationError``."""
    if state not in CLAIMABLE:
        raise ValidationError.of("not_one_of", "$.state", choices="pending, stalled")
    return DeliveryState(state)


def check_delivery(entry: OutboxEntry) -> None:
    """What every store refuses in a saved delivery state (counts beyond 64 bits, bad text)."""
    check_count(entry.attempts, "$.attempts")
    check_count(entry.unconfirmed_sends, "$.unconfirmed_sends")
    check_text(entry.last_error, "$.last_error")


class OutboxReads:
    """``entries`` (oldest first), ``dead``, ``pending``, ``sent`` and ``stalled`` over a
    store's ``_in_state``."""

    def _in_state(self, state: DeliveryState, limit: int | None) -> Sequence[OutboxEntry]:
        raise NotImplementedError

    def entries(self, state: DeliveryState, *, limit: int | None = None) -> Sequence[OutboxEntry]:
        if limit is not None:
            check_count(limit, "$.limit")
        return self._in_state(DeliveryState(state), limit)

    def dead(self) -> Sequence[OutboxEntry]:
        return self._in_state(DeliveryState.DEAD, None)

    def pending(self) -> Sequence[OutboxEntry]:
        return self._in_state(DeliveryState.PENDING, None)

    def sent(self) -> Sequence[OutboxEntry]:
        return self._in_state(DeliveryState.SENT, None)

    def stalled(self) -> Sequence[OutboxEntry]:
        return self._in_state(DeliveryState.STALLED, None)
