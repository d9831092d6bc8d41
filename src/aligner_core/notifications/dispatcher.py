"""The outbox dispatcher: sends due notifications, retries, and never drops one by time.

One round claims a batch of due entries (each claim with its own lease token),
renews each entry's lease just before its send, sends it outside any
transaction, and saves the outcome fenced by the token. Temporary failures are
retried with capped, jittered backoff for ``retry_period`` (when the server was
unreachable, its first delivery makes every waiting entry due at once), then the
entry waits as ``stalled`` until a delivery succeeds, a probe gets through or an
operator retries it; permanent failures are ``dead`` until an operator requeues them. A
send whose answer never came is resent once. Why it looks like this, and how
duplicates are bounded: ``docs/notifications.md``.

Only the :class:`~aligner_core.ports.OutboxRepository` port is used, so every
storage adapter works. Log lines name entry ids and event types, never
addresses or patient data.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager as ContextManager
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol, cast
from uuid import UUID

import attrs

from aligner_core.errors import (
    AlignerError,
    AmbiguousDeliveryError,
    ConcurrencyConflictError,
    PermanentDeliveryError,
    ServerUnavailableError,
    TemporaryDeliveryError,
    ValidationError,
)
from aligner_core.links import Links
from aligner_core.notifications.messages import Templates, render
from aligner_core.notifications.outbox import DeliveryState, OutboxEntry
from aligner_core.ports import Clock, Notifier, Storage

__all__ = ["DispatchReport", "Dispatcher", "dead_letters"]

log = logging.getLogger(__name__)

_MAX_ERROR = 500


class _Sessions(Protocol):
    def session(self) -> ContextManager[object]: ...


@attrs.frozen
class DispatchReport:
    """What one or more rounds did, in entries.

    ``claimed`` (probes of stalled entries included), ``sent`` (confirmed, or counted as
    sent after a second unconfirmed send), ``retried`` (due again later), ``stalled``
    (retry period over), ``dead`` (given up), ``unconfirmed`` (sends without an answer),
    ``fenced`` (another dispatcher holds the entry now: not sent, or its result not
    recorded here), ``unmarked`` (the storage failed; the lease will expire),
    ``woken`` (entries made due by a delivery), ``held`` (no notifier: pending
    entries left alone), ``unreachable`` (sends that found no server to talk to).

    .. versionchanged:: 0.2 ``stalled``, ``unconfirmed``, ``fenced``, ``woken``, ``held``,
       ``unreachable``
    """

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    unmarked: int = 0
    stalled: int = 0
    unconfirmed: int = 0
    fenced: int = 0
    woken: int = 0
    held: int = 0
    unreachable: int = 0

    def __add__(self, other: DispatchReport) -> DispatchReport:
        mine, theirs = attrs.astuple(self), attrs.astuple(other)
        return DispatchReport(*(a + b for a, b in zip(mine, theirs, strict=True)))


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".replace("\r", " ").replace("\n", " ")
    return text[:_MAX_ERROR]


class Dispatcher:
    """Sends the outbox of ``storage`` through ``notifier``; run it from a loop, a cron or a worker.

    ``retry_period`` is how long temporary failures are retried (from the first one)
    before an entry stalls; ``max_attempts``, when given, stalls it earlier. Backoff
    after ``n`` failures is uniform in (0, ``base_delay * 2**(n-1)``], capped at
    ``max_delay``; a stalled entry is probed once per ``max_delay``. ``lease`` must
    outlast one send. A notifier with a true ``holds_messages`` attribute (the
    ``NullNotifier``) holds the outbox: nothing is claimed nor attempted. ``rng``
    (a :class:`random.Random`) makes the jitter reproducible in tests.

    .. versionchanged:: 0.2 ``retry_period``; ``max_attempts`` stalls instead of killing.
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
        retry_period: timedelta = timedelta(days=7),
        max_attempts: int | None = None,
        base_delay: timedelta = timedelta(seconds=30),
        max_delay: timedelta = timedelta(hours=6),
        lease: timedelta = timedelta(minutes=5),
        batch_size: int = 50,
        rng: random.Random | None = None,
    ) -> None:
        if (max_attempts is not None and max_attempts < 1) or batch_size < 1:
            path = "$.batch_size" if batch_size < 1 else "$.max_attempts"
            raise ValidationError.of("at_least", path, subject="dispatcher", min=1)
        if base_delay <= timedelta(0) or max_delay < base_delay or lease <= timedelta(0):
            raise ValidationError.of("dispatch_delays", subject="dispatcher")
        if retry_period <= timedelta(0):
            raise ValidationError.of("positive", "$.retry_period", subject="dispatcher")
        self.storage = storage
        self.notifier = notifier
        self.clock = clock
        self.links = links if base_url is None else Links(portal=base_url)
        self.templates = templates or Templates()
        self.sender = sender
        self.retry_period = retry_period
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.lease = lease
        self.batch_size = batch_size
        self.rng = rng or random.Random()  # jitter, not secrets
        self._told_held = False
        #: the last round with sends found no server (and none got through)
        self._server_down = False

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

    def gives_up_retrying(self, entry: OutboxEntry, now: datetime) -> bool:
        """Whether a temporary failure at ``now`` ends the entry's retry period (it stalls)."""
        if self.max_attempts is not None and entry.attempts + 1 >= self.max_attempts:
            return True
        return now - (entry.failing_since or now) >= self.retry_period

    def render(self, entry: OutboxEntry) -> EmailMessage:
        return render(entry, links=self.links, templates=self.templates, sender=self.sender)

    @property
    def holds(self) -> bool:
        """True when the notifier delivers nothing (no notifier configured): the outbox waits."""
        return bool(getattr(self.notifier, "holds_messages", False))

    # ------------------------------------------------------------------ running
    def run_once(self) -> DispatchReport:
        """Claim one batch of due entries (and a stalled one to probe), send them, record each.

        When a send succeeds, stalled entries are made due again for the next round; when
        it is the first since the server could not be reached, every waiting entry is.
        """
        if self.holds:
            return self._held()
        now = self.clock.now()
        with self.storage.unit_of_work() as uow:
            batch = list(uow.outbox.claim(now, now + self.lease, self.batch_size))
            if len(batch) < self.batch_size:  # room left: probe one stalled entry
                batch += uow.outbox.claim(now, now + self.lease, 1, state=DeliveryState.STALLED)
            uow.commit()
        if not batch:
            return DispatchReport()
        report = DispatchReport(claimed=len(batch))
        with self._session():
            for entry in batch:
                report += self._deliver(entry)
        if report.sent:
            report += self._wake(everything=self._server_down)
            self._server_down = False
        elif report.unreachable:
            self._server_down = True
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

    def _held(self) -> DispatchReport:
        with self.storage.unit_of_work() as uow:
            waiting = uow.outbox.counts().get(DeliveryState.PENDING, 0)
        if waiting and not self._told_held:
            self._told_held = True
            log.warning("no notifier configured: %d e-mails wait in the outbox", waiting)
        return DispatchReport(held=waiting)

    def _wake(self, *, everything: bool) -> DispatchReport:
        """A delivery got through: stalled entries are due again (each a fresh retry period);
        ``everything``: the server is back, so are the entries waiting for their backoff."""
        try:
            with self.storage.unit_of_work() as uow:
                woken = uow.outbox.retry(self.clock.now(), stalled_only=not everything)
        except AlignerError as exc:
            log.warning("could not make waiting outbox entries due: %s", type(exc).__name__)
            return DispatchReport()
        if woken:
            why = "the mail server is back" if everything else "a delivery succeeded"
            log.info("%s: %d waiting outbox entries are due again", why, len(woken))
        return DispatchReport(woken=len(woken))

    def _session(self) -> ContextManager[object]:
        """The notifier's connection-reusing session when it has one (see ``SmtpNotifier``)."""
        if callable(getattr(self.notifier, "session", None)):
            return _guarded(cast(_Sessions, self.notifier).session)
        return contextlib.nullcontext()

    def _deliver(self, entry: OutboxEntry) -> DispatchReport:
        try:
            message = self.render(entry)
        except Exception as exc:  # a bad template or entry: only this one entry gives up
            return self._save(entry, "dead", entry.given_up(f"rendering failed: {_describe(exc)}"))
        if (lost := self._renew(entry)) is not None:
            return lost
        try:
            self.notifier.send(message)
        except AmbiguousDeliveryError as exc:
            return self._unconfirmed(entry, _describe(exc))
        except PermanentDeliveryError as exc:
            reason = f"permanent failure: {_describe(exc)}"
            return self._save(entry, "dead", entry.given_up(reason))
        except Exception as exc:  # TemporaryDeliveryError, or anything unexpected: retry later
            error = _describe(exc)
            if not isinstance(exc, TemporaryDeliveryError):
                error = f"unexpected notifier error: {error}"
            unreachable = DispatchReport(unreachable=int(isinstance(exc, ServerUnavailableError)))
            return self._failed(entry, error) + unreachable
        return self._save(entry, "sent", entry.delivered(self.clock.now()))

    def _renew(self, entry: OutboxEntry) -> DispatchReport | None:
        """Extend the entry's lease before its send; a report when it must not be sent."""
        if entry.lease_token is None:  # an adapter without tokens: nothing to fence with
            return None
        try:
            with self.storage.unit_of_work() as uow:
                held = uow.outbox.renew(
                    entry.entry_id, entry.lease_token, self.clock.now() + self.lease
                )
        except AlignerError as exc:
            log.warning(
                "outbox entry %s (%s): could not renew its lease, not sent now: %s",
                entry.entry_id, entry.event.type.value, type(exc).__name__,
            )  # fmt: skip
            return DispatchReport(unmarked=1)
        if held:
            return None
        log.info(
            "outbox entry %s (%s): its lease passed to another dispatcher, not sent here",
            entry.entry_id, entry.event.type.value,
        )  # fmt: skip
        return DispatchReport(fenced=1)

    def _failed(self, entry: OutboxEntry, error: str) -> DispatchReport:
        now = self.clock.now()
        if self.gives_up_retrying(entry, now):
            stalled = entry.stalled(now, error, now + self.max_delay)
            return self._save(entry, "stalled", stalled)
        next_at = now + self.backoff(entry.attempts + 1)
        return self._save(entry, "retried", entry.deferred(now, error, next_at))

    def _unconfirmed(self, entry: OutboxEntry, error: str) -> DispatchReport:
        """No answer after the message: resend once (same Message-ID), then count it as sent."""
        now = self.clock.now()
        if entry.unconfirmed_sends >= 1:
            note = f"sent twice without a confirmation, counted as sent: {error}"[:_MAX_ERROR]
            done = attrs.evolve(entry.delivered(now, note), unconfirmed_sends=2)
            return self._save(entry, "sent", done) + DispatchReport(unconfirmed=1)
        resend = entry.unconfirmed(now, error, now + self.backoff(entry.attempts + 1))
        return self._save(entry, "retried", resend) + DispatchReport(unconfirmed=1)

    def _save(self, entry: OutboxEntry, outcome: str, after: OutboxEntry) -> DispatchReport:
        """Record one outcome in its own unit of work, fenced by the entry's lease token."""
        try:
            with self.storage.unit_of_work() as uow:
                uow.outbox.save(after, token=entry.lease_token)
                uow.commit()
        except ConcurrencyConflictError:
            log.warning(
                "outbox entry %s (%s): another dispatcher took it over before %s was recorded",
                entry.entry_id, entry.event.type.value, outcome,
            )  # fmt: skip
            return DispatchReport(fenced=1)
        except AlignerError as exc:
            log.warning(
                "outbox entry %s (%s): could not record %s, it will be retried after its lease: %s",
                entry.entry_id, entry.event.type.value, outcome, type(exc).__name__,
            )  # fmt: skip
            return DispatchReport(unmarked=1)
        if outcome != "sent":
            log.info("outbox entry %s (%s): %s", entry.entry_id, entry.event.type.value, outcome)
        return DispatchReport(**{outcome: 1})

    # ------------------------------------------------------------------ operators
    def counts(self) -> dict[DeliveryState, int]:
        """How many entries are in each state (states without entries are left out)."""
        with self.storage.unit_of_work() as uow:
            return dict(uow.outbox.counts())

    def entries(
        self, state: DeliveryState = DeliveryState.DEAD, *, limit: int | None = None
    ) -> list[OutboxEntry]:
        """The entries in ``state``, oldest first (dead ones by default)."""
        with self.storage.unit_of_work() as uow:
            return list(uow.outbox.entries(state, limit=limit))

    def entry(self, entry_id: UUID) -> OutboxEntry:
        """One entry with its delivery state (``NotFoundError``)."""
        with self.storage.unit_of_work() as uow:
            return uow.outbox.get(entry_id)

    def retry(self, entry_ids: Iterable[UUID] | None = None) -> list[UUID]:
        """Make stalled entries, and pending ones waiting for a retry, due now with a fresh
        retry period (all of them, or ``entry_ids``); the ids made due."""
        with self.storage.unit_of_work() as uow:
            return list(uow.outbox.retry(self.clock.now(), entry_ids))

    def requeue(self, entry_ids: Iterable[UUID]) -> list[UUID]:
        """Make dead entries due now, counting attempts from zero; the ids requeued."""
        with self.storage.unit_of_work() as uow:
            return list(uow.outbox.requeue(self.clock.now(), entry_ids))


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
