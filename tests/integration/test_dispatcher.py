"""The outbox dispatcher over memory storage: sent, retried with jittered backoff for a
retry period, stalled and woken, dead and requeued, held without a notifier, fenced by
lease tokens, resent once after an unconfirmed send."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

import aligner_core
from aligner_core.clock import ManualClock
from aligner_core.domain.events import DomainEvent, EventType
from aligner_core.errors import (
    AmbiguousDeliveryError,
    NotFoundError,
    PermanentDeliveryError,
    ServerUnavailableError,
    StorageError,
    TemporaryDeliveryError,
)
from aligner_core.notifications.dispatcher import Dispatcher, DispatchReport, dead_letters
from aligner_core.notifications.notifiers import MemoryNotifier, NullNotifier
from aligner_core.notifications.outbox import DeliveryState, OutboxEntry
from aligner_core.storage.memory import MemoryStorage
from aligner_core.testing.factories import plan_summary, set_up_lab

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def queue(
    storage: MemoryStorage, count: int, at: datetime = START, first: int = 0
) -> list[OutboxEntry]:
    entries = []
    with storage.unit_of_work() as uow:
        for i in range(first, first + count):
            entry_id = UUID(int=10_000 + i, version=4)
            entry = OutboxEntry(
                entry_id=entry_id,
                event=DomainEvent(
                    type=EventType.CASE_SUBMITTED,
                    at=at,
                    actor_id=UUID(int=1),
                    network_id=UUID(int=2),
                    case_id=UUID(int=3),
                    case_number=100 + i,
                ),
                recipient_id=UUID(int=4),
                recipient_email=f"planner{i}@example.org",
                language="en",
                created_at=at,
                next_attempt_at=at,
                message_id=f"<{entry_id}@aligner-core>",
            )
            uow.outbox.add(entry)
            entries.append(entry)
        uow.commit()
    return entries


def state(storage: MemoryStorage, entry_id: UUID) -> OutboxEntry:
    with storage.unit_of_work() as uow:
        return uow.outbox.get(entry_id)


@pytest.fixture
def storage() -> MemoryStorage:
    return MemoryStorage()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START, tick=timedelta(0))


@pytest.fixture
def notifier() -> MemoryNotifier:
    return MemoryNotifier()


def make(
    storage: MemoryStorage, notifier: object, clock: ManualClock, **options: object
) -> Dispatcher:
    return Dispatcher(storage, notifier, clock=clock, rng=random.Random(7), **options)  # type: ignore[arg-type]


def test_a_lifecycle_is_sent_with_the_message_ids_fixed_at_queue_time() -> None:
    core = aligner_core.connect("memory://")
    lab = set_up_lab(core)
    case_id = lab.ready_case()
    core.submit(lab.doctor, case_id)
    core.upload_plan(lab.planner, case_id, plan_summary())
    core.comment(lab.doctor, case_id, "looks good")
    with core.storage.unit_of_work() as uow:
        queued = {e.message_id for e in uow.outbox.pending()}
    report = Dispatcher(core.storage, core.notifier, clock=core.clock).run_until_idle()
    assert report.sent == len(queued) and report.retried == report.dead == 0
    assert {m["Message-ID"] for m in core.notifier.messages} == queued  # type: ignore[attr-defined]
    with core.storage.unit_of_work() as uow:
        assert uow.outbox.pending() == []
        assert {e.message_id for e in uow.outbox.sent()} == queued


def test_the_core_builds_a_dispatcher_for_its_storage_and_notifier() -> None:
    core = aligner_core.connect("memory://")
    set_up_lab(core)
    assert core.dispatcher(batch_size=2).run_until_idle().sent == 3  # three activations


def test_a_temporary_failure_is_retried_after_a_jittered_backoff(
    storage: MemoryStorage, clock: ManualClock, notifier: MemoryNotifier
) -> None:
    (entry,) = queue(storage, 1)
    notifier.fail_next(TemporaryDeliveryError("451 try later"))
    dispatcher = make(storage, notifier, clock, base_delay=timedelta(seconds=30))
    assert dispatcher.run_once() == DispatchReport(claimed=1, retried=1)
    after = state(storage, entry.entry_id)
    assert after.state is DeliveryState.PENDING and after.attempts == 1
    assert "451 try later" in (after.last_error or "")
    assert START < after.next_attempt_at <= START + timedelta(seconds=30)
    assert dispatcher.run_once().claimed == 0  # not due yet
    clock.advance(timedelta(seconds=30))
    assert dispatcher.run_once() == DispatchReport(claimed=1, sent=1)
    assert [m["Message-ID"] for m in notifier.messages] == [entry.message_id]


@given(attempts=st.integers(1, 30), seed=st.integers(0, 2**32))
def test_backoff_stays_within_its_exponential_cap(attempts: int, seed: int) -> None:
    dispatcher = Dispatcher(
        MemoryStorage(),
        MemoryNotifier(),
        clock=ManualClock(),
        base_delay=timedelta(seconds=30),
        max_delay=timedelta(hours=6),
        rng=random.Random(seed),
    )
    cap = min(timedelta(hours=6), timedelta(seconds=30) * 2 ** (attempts - 1))
    assert dispatcher.backoff_cap(attempts) == cap
    assert timedelta(seconds=1) <= dispatcher.backoff(attempts) <= cap


def test_backoff_is_jittered() -> None:
    dispatcher = Dispatcher(MemoryStorage(), MemoryNotifier(), clock=ManualClock())
    delays = {dispatcher.backoff(5) for _ in range(50)}
    assert len(delays) > 40  # spread out, so failing entries do not retry in lockstep


def test_max_attempts_stalls_an_entry_with_the_reason_instead_of_killing_it(
    storage: MemoryStorage, clock: ManualClock, notifier: MemoryNotifier
) -> None:
    (entry,) = queue(storage, 1)
    notifier.fail_next(*(TemporaryDeliveryError("421 busy") for _ in range(3)))
    dispatcher = make(storage, notifier, clock, max_attempts=3)
    reports = []
    for _ in range(3):
        reports.append(dispatcher.run_once())
        clock.advance(timedelta(hours=7))
    assert [r.retried for r in reports] == [1, 1, 0] and reports[-1].stalled == 1
    assert dead_letters(storage) == []
    stalled = state(storage, entry.entry_id)
    assert (stalled.state, stalled.attempts, stalled.last_error) == (
        DeliveryState.STALLED, 3, "TemporaryDeliveryError: 421 busy",
    )  # fmt: skip
    assert notifier.messages == []
    assert dispatcher.run_once() == DispatchReport(claimed=1, sent=1)  # probed 6 h later
    assert [m["Message-ID"] for m in notifier.messages] == [entry.message_id]


def test_a_permanent_failure_is_dead_at_once(
    storage: MemoryStorage, clock: ManualClock, notifier: MemoryNotifier
) -> None:
    first, second = queue(storage, 2)
    notifier.fail_next(PermanentDeliveryError("550 no such user"))
    report = make(storage, notifier, clock).run_once()
    assert report == DispatchReport(claimed=2, sent=1, dead=1)
    (dead,) = dead_letters(storage)
    assert dead.entry_id == first.entry_id and dead.attempts == 1
    assert "550 no such user" in (dead.last_error or "")
    assert state(storage, second.entry_id).state is DeliveryState.SENT


def test_an_unexpected_notifier_error_is_retried_not_raised(
    storage: MemoryStorage, clock: ManualClock, notifier: MemoryNotifier
) -> None:
    (entry,) = queue(storage, 1)
    notifier.fail_next(RuntimeError("driver bug"))
    assert make(storage, notifier, clock).run_once().retried == 1
    assert "unexpected notifier error" in (state(storage, entry.entry_id).last_error or "")


def test_a_rendering_failure_kills_only_that_entry(
    storage: MemoryStorage, clock: ManualClock, notifier: MemoryNotifier
) -> None:
    bad, good = queue(storage, 2)
    dispatcher = make(storage, notifier, clock)
    original = dispatcher.render

    def render(entry: OutboxEntry) -> EmailMessage:
        if entry.entry_id == bad.entry_id:
            raise KeyError("template broke")
        return original(entry)

    dispatcher.render = render  # type: ignore[method-assign]
    assert dispatcher.run_once() == DispatchReport(claimed=2, sent=1, dead=1)
    (dead,) = dead_letters(storage)
    assert dead.entry_id == bad.entry_id and "rendering failed" in (dead.last_error or "")
    assert [m["Message-ID"] for m in notifier.messages] == [good.message_id]


class Crash(BaseException):
    """The process dies (not an Exception: nothing may catch it)."""


def test_a_crash_between_send_and_mark_resends_with_the_same_message_id(
    storage: MemoryStorage, clock: ManualClock
) -> None:
    (entry,) = queue(storage, 1)
    sent: list[EmailMessage] = []

    class SendsThenDies:
        crashed = False

        def send(self, message: EmailMessage) -> None:
            sent.append(message)
            if not self.crashed:
                self.crashed = True
                raise Crash

    notifier = SendsThenDies()
    dispatcher = make(storage, notifier, clock, lease=timedelta(minutes=5))
    with pytest.raises(Crash):
        dispatcher.run_once()
    assert state(storage, entry.entry_id).state is DeliveryState.PENDING  # not lost
    assert make(storage, notifier, clock).run_once().claimed == 0  # still leased
    clock.advance(timedelta(minutes=5))
    assert make(storage, notifier, clock).run_once().sent == 1
    assert [m["Message-ID"] for m in sent] == [entry.message_id, entry.message_id]
    assert state(storage, entry.entry_id).state is DeliveryState.SENT


def test_a_storage_failure_when_marking_leaves_the_entry_to_its_lease(
    storage: MemoryStorage, clock: ManualClock, notifier: MemoryNotifier
) -> None:
    (entry,) = queue(storage, 1)

    class FlakyStorage:
        def __init__(self) -> None:
            self.units = 0

        def unit_of_work(self) -> object:
            self.units += 1
            if self.units == 3:  # claim, renew, then the unit of work that marks it sent
                raise StorageError("database went away")
            return storage.unit_of_work()

    report = Dispatcher(FlakyStorage(), notifier, clock=clock).run_once()  # type: ignore[arg-type]
    assert report == DispatchReport(claimed=1, unmarked=1)
    clock.advance(timedelta(minutes=5))
    assert make(storage, notifier, clock).run_once().sent == 1
    assert [m["Message-ID"] for m in notifier.messages] == [entry.message_id] * 2


def test_two_dispatchers_never_send_one_entry_at_the_same_time(
    storage: MemoryStorage, clock: ManualClock
) -> None:
    entries = queue(storage, 120)
    lock = threading.Lock()
    in_flight: set[str] = set()
    overlaps: list[str] = []
    sent: Counter[str] = Counter()

    class SlowNotifier:
        def send(self, message: EmailMessage) -> None:
            key = str(message["Message-ID"])
            with lock:
                if key in in_flight:
                    overlaps.append(key)
                in_flight.add(key)
            time.sleep(0.0005)
            with lock:
                in_flight.discard(key)
                sent[key] += 1

    reports: list[DispatchReport] = []
    together = threading.Barrier(2)

    def work() -> None:
        together.wait()
        reports.append(make(storage, SlowNotifier(), clock, batch_size=7).run_until_idle())

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
    assert sent == Counter({e.message_id: 1 for e in entries})
    assert sum(r.sent for r in reports) == 120
    assert all(r.sent > 0 for r in reports)  # both took part


def test_invalid_settings_are_refused(storage: MemoryStorage, clock: ManualClock) -> None:
    with pytest.raises(ValueError):
        make(storage, MemoryNotifier(), clock, max_attempts=0)
    with pytest.raises(ValueError):
        make(storage, MemoryNotifier(), clock, base_delay=timedelta(hours=7))


# ---------------------------------------------------------------------- never dropped by time
def test_temporary_failures_are_retried_for_the_retry_period_then_stall(
    storage: MemoryStorage, clock: ManualClock
) -> None:
    (entry,) = queue(storage, 1)

    class Down:
        def send(self, message: EmailMessage) -> None:
            raise TemporaryDeliveryError("connection refused")

    dispatcher = make(storage, Down(), clock, retry_period=timedelta(days=7))
    attempts_at = []
    while state(storage, entry.entry_id).state is DeliveryState.PENDING:
        if dispatcher.run_once().claimed:
            attempts_at.append(clock.now())
        clock.advance(timedelta(minutes=10))
    stalled = state(storage, entry.entry_id)
    assert stalled.state is DeliveryState.STALLED and dead_letters(storage) == []
    assert stalled.failing_since == START
    assert timedelta(days=7) <= attempts_at[-1] - START < timedelta(days=7, hours=7)
    gaps = [b - a for a, b in itertools.pairwise(attempts_at)]
    assert max(gaps) <= timedelta(hours=6, minutes=10)  # capped backoff
    assert stalled.attempts == len(attempts_at)
    assert stalled.next_attempt_at == attempts_at[-1] + timedelta(hours=6)  # its probe


def test_a_delivery_makes_stalled_entries_due_with_a_fresh_retry_period(
    storage: MemoryStorage, clock: ManualClock, notifier: MemoryNotifier
) -> None:
    stuck, fresh = queue(storage, 2)
    notifier.fail_next(TemporaryDeliveryError("421 busy"), TemporaryDeliveryError("421 busy"))
    dispatcher = make(storage, notifier, clock, max_attempts=1)
    assert dispatcher.run_once().stalled == 2
    clock.advance(timedelta(minutes=1))
    newer = queue(storage, 1, at=clock.now(), first=2)  # something new arrives, goes through
    report = dispatcher.run_once()
    assert (report.sent, report.woken) == (1, 2)
    for entry in (stuck, fresh):
        woken = state(storage, entry.entry_id)
        assert (woken.state, woken.failing_since, woken.attempts) == (
            DeliveryState.PENDING, None, 1,
        )  # fmt: skip
    assert dispatcher.run_once().sent == 2
    assert sorted(m["Message-ID"] for m in notifier.messages) == sorted(
        e.message_id for e in (stuck, fresh, *newer)
    )


def test_a_stalled_entry_is_probed_once_per_max_delay(
    storage: MemoryStorage, clock: ManualClock, notifier: MemoryNotifier
) -> None:
    (entry,) = queue(storage, 1)
    notifier.fail_next(*(TemporaryDeliveryError("421 busy") for _ in range(3)))
    dispatcher = make(storage, notifier, clock, max_attempts=1, max_delay=timedelta(hours=6))
    assert dispatcher.run_once().stalled == 1
    probes = 0
    for _ in range(6 * 24):  # a day in 10-minute rounds
        clock.advance(timedelta(minutes=10))
        report = dispatcher.run_once()
        probes += report.claimed
        if report.sent:
            break
    assert probes == 3 and report.sent == 1  # two failed probes, then through
    assert state(storage, entry.entry_id).state is DeliveryState.SENT


def test_no_notifier_holds_the_outbox_for_a_week_then_a_notifier_sends_it(
    storage: MemoryStorage, clock: ManualClock
) -> None:
    entries = queue(storage, 5)
    held = make(storage, NullNotifier(), clock)
    for _ in range(7 * 24):
        assert held.run_once() == DispatchReport(held=5)
        clock.advance(timedelta(hours=1))
    with storage.unit_of_work() as uow:
        waiting = uow.outbox.pending()
        assert uow.outbox.counts() == {DeliveryState.PENDING: 5}
    assert {(e.attempts, e.last_error, e.lease_until) for e in waiting} == {(0, None, None)}
    notifier = MemoryNotifier()
    assert make(storage, notifier, clock).run_until_idle().sent == 5
    assert sorted(m["Message-ID"] for m in notifier.messages) == sorted(
        e.message_id for e in entries
    )


def test_the_default_sqlite_core_holds_its_outbox_without_a_notifier(tmp_path: Path) -> None:
    clock = ManualClock(START, tick=timedelta(0))
    core = aligner_core.connect(f"sqlite:///{tmp_path / 'lab.db'}", clock=clock)
    try:
        set_up_lab(core)
        for _ in range(7):
            assert core.dispatcher().run_until_idle().held == 3
            clock.advance(timedelta(days=1))
        assert core.dispatcher().counts() == {DeliveryState.PENDING: 3}
    finally:
        core.shutdown()


# ---------------------------------------------------------------------- fenced leases
class _Interleaved:
    """Sends slower than the lease: each send moves the clock on by ``step``, and send
    number ``at_send`` lets another dispatcher run a round in the middle of it."""

    def __init__(self, clock: ManualClock, step: timedelta, at_send: int = 1) -> None:
        self.clock, self.step, self.at_send = clock, step, at_send
        self.sent: list[str] = []
        self.meanwhile: list[Dispatcher] = []

    def send(self, message: EmailMessage) -> None:
        self.clock.advance(self.step)
        if self.meanwhile and len(self.sent) + 1 == self.at_send:
            self.meanwhile.pop().run_once()
        self.sent.append(str(message["Message-ID"]))


def test_a_batch_outliving_its_lease_sends_nothing_another_dispatcher_took(
    storage: MemoryStorage, clock: ManualClock
) -> None:
    entries = queue(storage, 4)
    sends = _Interleaved(clock, timedelta(minutes=3), at_send=2)
    first = make(storage, sends, clock, lease=timedelta(minutes=5), batch_size=4)
    second = make(storage, sends, clock, lease=timedelta(minutes=5), batch_size=4)
    sends.meanwhile.append(second)  # runs 6 minutes in, during the first's second send
    report = first.run_once()
    assert sorted(sends.sent) == sorted(e.message_id for e in entries)  # once each
    assert report == DispatchReport(claimed=4, sent=2, fenced=2)  # the second sent two
    with storage.unit_of_work() as uow:
        assert len(uow.outbox.sent()) == 4


def test_a_send_outliving_its_lease_cannot_overwrite_the_next_holders_result(
    storage: MemoryStorage, clock: ManualClock
) -> None:
    (entry,) = queue(storage, 1)
    sends = _Interleaved(clock, timedelta(minutes=6))  # one send longer than the lease
    first = make(storage, sends, clock, lease=timedelta(minutes=5))
    second = make(storage, MemoryNotifier(), clock, lease=timedelta(minutes=5))
    sends.meanwhile.append(second)
    report = first.run_once()
    assert report == DispatchReport(claimed=1, fenced=1)  # its result was not recorded
    after = state(storage, entry.entry_id)
    assert after.state is DeliveryState.SENT and after.lease_token is None
    assert sends.sent == [entry.message_id]  # the second sent it too: at-least-once


# ---------------------------------------------------------------------- unconfirmed sends
def test_an_unconfirmed_send_is_resent_once_then_counted_as_sent(
    storage: MemoryStorage, clock: ManualClock, notifier: MemoryNotifier
) -> None:
    first, second = queue(storage, 2)
    notifier.fail_next(
        AmbiguousDeliveryError("no answer"),  # first entry, first send
        AmbiguousDeliveryError("no answer"),  # second entry, first send
    )
    dispatcher = make(storage, notifier, clock)
    assert dispatcher.run_once() == DispatchReport(claimed=2, retried=2, unconfirmed=2)
    for entry in (first, second):
        pending = state(storage, entry.entry_id)
        assert (pending.unconfirmed_sends, pending.state) == (1, DeliveryState.PENDING)
        assert "AmbiguousDeliveryError" in (pending.last_error or "")
    # the resends go out in the order of their next attempts: the first of them fails again
    first, second = sorted(
        (first, second), key=lambda e: state(storage, e.entry_id).next_attempt_at
    )
    notifier.fail_next(AmbiguousDeliveryError("no answer again"))
    clock.advance(timedelta(minutes=1))
    assert dispatcher.run_once() == DispatchReport(claimed=2, sent=2, unconfirmed=1)
    counted = state(storage, first.entry_id)
    assert (counted.state, counted.unconfirmed_sends) == (DeliveryState.SENT, 2)
    assert "counted as sent" in (counted.last_error or "")
    confirmed = state(storage, second.entry_id)
    assert (confirmed.state, confirmed.unconfirmed_sends, confirmed.last_error) == (
        DeliveryState.SENT, 1, None,
    )  # fmt: skip


# ---------------------------------------------------------------------- operators
def test_operators_list_inspect_retry_and_requeue(
    storage: MemoryStorage, clock: ManualClock, notifier: MemoryNotifier
) -> None:
    refused, busy, fine = queue(storage, 3)
    notifier.fail_next(PermanentDeliveryError("550 no such user"), TemporaryDeliveryError("421"))
    dispatcher = make(storage, notifier, clock)
    assert dispatcher.run_once() == DispatchReport(claimed=3, sent=1, retried=1, dead=1)
    assert dispatcher.counts() == {
        DeliveryState.DEAD: 1, DeliveryState.PENDING: 1, DeliveryState.SENT: 1,
    }  # fmt: skip
    assert [e.entry_id for e in dispatcher.entries()] == [refused.entry_id]
    assert [e.entry_id for e in dispatcher.entries(DeliveryState.SENT)] == [fine.entry_id]
    assert "550" in (dispatcher.entry(refused.entry_id).last_error or "")
    assert dispatcher.retry() == [busy.entry_id]  # due now instead of after its backoff
    assert dispatcher.requeue([refused.entry_id, busy.entry_id]) == [refused.entry_id]
    assert dispatcher.run_once() == DispatchReport(claimed=2, sent=2)
    assert dispatcher.counts() == {DeliveryState.SENT: 3}
    with pytest.raises(NotFoundError):
        dispatcher.entry(UUID(int=1))


def test_the_first_delivery_after_an_outage_makes_every_waiting_entry_due(
    storage: MemoryStorage, clock: ManualClock, notifier: MemoryNotifier
) -> None:
    entries = queue(storage, 4)
    notifier.fail_next(*(ServerUnavailableError("connection refused") for _ in range(4)))
    dispatcher = make(storage, notifier, clock, base_delay=timedelta(minutes=10))
    assert dispatcher.run_once() == DispatchReport(claimed=4, retried=4, unreachable=4)
    newer = queue(storage, 1, at=clock.now(), first=4)  # due now; the others a while later
    assert dispatcher.run_once() == DispatchReport(claimed=1, sent=1, woken=4)
    assert dispatcher.run_once() == DispatchReport(claimed=4, sent=4)
    assert len(notifier.messages) == 5 and {e.message_id for e in [*entries, *newer]} == {
        m["Message-ID"] for m in notifier.messages
    }


def test_a_refusal_by_a_reachable_server_keeps_its_backoff_after_a_delivery(
    storage: MemoryStorage, clock: ManualClock, notifier: MemoryNotifier
) -> None:
    (busy,) = queue(storage, 1)
    notifier.fail_next(TemporaryDeliveryError("452 4.2.2 mailbox full"))
    dispatcher = make(storage, notifier, clock, base_delay=timedelta(minutes=10))
    assert dispatcher.run_once() == DispatchReport(claimed=1, retried=1)
    clock.advance(timedelta(seconds=1))
    queue(storage, 1, at=clock.now(), first=1)
    assert dispatcher.run_once() == DispatchReport(claimed=1, sent=1)  # nothing woken
    assert state(storage, busy.entry_id).next_attempt_at > clock.now()
