"""The outbox dispatcher: sends due notifications, retries, and gives up visibly.

Why this shape (at-least-once, never lost, never doubled at the same time):

1. *Claim* due entries in one unit of work and commit: each gets a lease
   (``now + lease``), so another dispatcher on the same database skips it.
2. *Send* outside any transaction (an SMTP round trip must not hold a database
   transaction open).
3. *Mark* each result in its own unit of work: sent; rescheduled with
   exponential backoff and full jitter after a temporary failure; dead with
   the reason after a permanent failure, a rendering failure, or when the
   attempts are used up.

A crash between 2 and 3 leaves the entry leased; when the lease expires another
run claims and sends it again with the same ``Message-ID`` (fixed at queue
time), which lets mail systems de-duplicate. Only the
:class:`~aligner_core.ports.OutboxRepository` port is used, so every storage
adapter works. Log lines name entry ids and event types, never addresses or
patient data.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol, cast

import attrs

from aligner_core.errors import (
    AlignerError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    ValidationError,
)
from aligner_core.links import Links
from aligner_core.notifications.messages import Templates, render
from aligner_core.notifications.outbox import OutboxEntry
from aligner_core.ports import Clock, Notifier, OutboxRepository, Storage

__all__ = ["DispatchReport", "Dispatcher", "dead_letters"]

log = logging.getLogger(__name__)

_MAX_ERROR = 500


class _Sessions(Protocol):
    def session(self) -> ContextManager[object]: ...


@attrs.frozen
class DispatchReport:
    """What one or more rounds did: entries claimed, sent, rescheduled, given up, left unmarked."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    unmarked: int = 0

    def __add__(self, other: DispatchReport) -> DispatchReport:
        return DispatchReport(
            self.claimed + other.claimed,
            self.sent + other.sent,
            self.retried + other.retried,
            self.dead + other.dead,
            self.unmarked + other.unmarked,
        )


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".replace("\r", " ").replace("\n", " ")
    return text[:_MAX_ERROR]


class Dispatcher:
    """Sends the outbox of ``storage`` through ``notifier``; run it from a loop, a cron or a worker.

    ``rng`` (a :class:`random.Random`) makes the jitter reproducible in tests.
    """

    def __init__(
        self,
        storage: Storage,
        notifier: Notifier,
        *,
        clock: Clock,
        base_url: str | None = None,
        links: Links | None = None,
        templates: Templates | None = None,
        sender: str = "no-reply@aligner-core.invalid",
        max_attempts: int = 8,
        base_delay: timedelta = timedelta(seconds=30),
        max_delay: timedelta = timedelta(hours=6),
        lease: timedelta = timedelta(minutes=5),
        batch_size: int = 50,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1 or batch_size < 1:
            path = "$.max_attempts" if max_attempts < 1 else "$.batch_size"
            raise ValidationError.of("at_least", path, subject="dispatcher", min=1)
        if base_delay <= timedelta(0) or max_delay < base_delay or lease <= timedelta(0):
            raise ValidationError.of("dispatch_delays", subject="dispatcher")
        self.storage = storage
        self.notifier = notifier
        self.clock = clock
        self.links = links if base_url is None else Links(portal=base_url)
        self.templates = templates or Templates()
        self.sender = sender
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.lease = lease
        self.batch_size = batch_size
        self.rng = rng or random.Random()  # jitter, not secrets

    # ------------------------------------------------------------------ policy
    def backoff_cap(self, attempts: int) -> timedelta:
        """The longest wait after ``attempts`` failed attempts: base * 2**(attempts-1), capped."""
        exponent = min(max(attempts - 1, 0), 40)
        cap: timedelta = self.base_delay * (2**exponent)
        return min(self.max_delay, cap)

    def backoff(self, attempts: int) -> timedelta:
        """Full jitter: uniform in (0, cap], at least one second so a failing entry never spins."""
        cap = self.backoff_cap(attempts).total_seconds()
        return timedelta(seconds=max(min(1.0, cap), self.rng.uniform(0.0, cap)))

    def render(self, entry: OutboxEntry) -> EmailMessage:
        return render(entry, links=self.links, templates=self.templates, sender=self.sender)

    # ------------------------------------------------------------------ running
    def run_once(self) -> DispatchReport:
        """Claim one batch of due entries, send them, and record each outcome."""
        now = self.clock.now()
        with self.storage.unit_of_work() as uow:
            batch = list(uow.outbox.claim(now, now + self.lease, self.batch_size))
            uow.commit()
        if not batch:
            return DispatchReport()
        report = DispatchReport(claimed=len(batch))
        with self._session():
            for entry in batch:
                report += self._deliver(entry)
        return report

    def run_until_idle(self, max_rounds: int = 1000) -> DispatchReport:
        """Rounds of :meth:`run_once` until nothing is due (or ``max_rounds``); the totals."""
        total = DispatchReport()
        for _ in range(max_rounds):
            report = self.run_once()
            total += report
            if report.claimed == 0:
                break
        return total

    def _session(self) -> ContextManager[object]:
        """The notifier's connection-reusing session when it has one (see ``SmtpNotifier``)."""
        if callable(getattr(self.notifier, "session", None)):
            return _guarded(cast(_Sessions, self.notifier).session)
        return contextlib.nullcontext()

    def _deliver(self, entry: OutboxEntry) -> DispatchReport:
        attempt = entry.attempts + 1
        try:
            message = self.render(entry)
        except Exception as exc:  # a bad template or entry: only this one entry gives up
            reason = f"rendering failed: {_describe(exc)}"
            return self._mark(
                entry, "dead", lambda o, now: o.mark_dead(entry.entry_id, attempt, reason)
            )
        try:
            self.notifier.send(message)
        except PermanentDeliveryError as exc:
            reason = f"permanent failure: {_describe(exc)}"
            return self._mark(
                entry, "dead", lambda o, now: o.mark_dead(entry.entry_id, attempt, reason)
            )
        except Exception as exc:  # TemporaryDeliveryError, or anything unexpected: retry later
            error = _describe(exc)
            if not isinstance(exc, TemporaryDeliveryError):
                error = f"unexpected notifier error: {error}"
            if attempt >= self.max_attempts:
                reason = f"gave up after {attempt} attempts: {error}"
                return self._mark(
                    entry, "dead", lambda o, now: o.mark_dead(entry.entry_id, attempt, reason)
                )
            delay = self.backoff(attempt)
            return self._mark(
                entry,
                "retried",
                lambda o, now: o.reschedule(entry.entry_id, attempt, now + delay, error),
            )
        return self._mark(entry, "sent", lambda o, now: o.mark_sent(entry.entry_id, now))

    def _mark(
        self, entry: OutboxEntry, outcome: str, write: Callable[[OutboxRepository, datetime], None]
    ) -> DispatchReport:
        """Record one outcome in its own unit of work; on a storage failure the lease expires."""
        try:
            with self.storage.unit_of_work() as uow:
                write(uow.outbox, self.clock.now())
                uow.commit()
        except AlignerError as exc:
            log.warning(
                "outbox entry %s (%s): could not record %s, it will be retried after its lease: %s",
                entry.entry_id,
                entry.event.type.value,
                outcome,
                type(exc).__name__,
            )
            return DispatchReport(unmarked=1)
        if outcome != "sent":
            log.info("outbox entry %s (%s): %s", entry.entry_id, entry.event.type.value, outcome)
        return DispatchReport(**{outcome: 1})


@contextlib.contextmanager
def _guarded(open_session: Callable[[], ContextManager[object]]) -> Iterator[None]:
    """Use a notifier session, but never let opening or closing it fail a round.

    A session that cannot be opened is not an error here: each ``send`` then
    reports its own delivery error.
    """
    try:
        session = open_session()
        session.__enter__()
    except Exception:
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            session.__exit__(None, None, None)


def dead_letters(storage: Storage) -> list[OutboxEntry]:
    """Entries given up on, each with its ``last_error`` (the reason) and ``attempts``."""
    with storage.unit_of_work() as uow:
        return list(uow.outbox.dead())
