"""What the attack run found, replayed against aiosmtpd with a simulated clock, on memory,
SQLite and PostgreSQL storage: nothing lost by time, and duplicates bounded.

- the server down for 2 simulated hours, then up: every message delivered once;
- a 5xx, then the server fixed and the dead entries requeued: every message delivered;
- no answer after the message (the server answers after the client's timeout, or drops
  the connection): at most one duplicate per message, with the same Message-ID;
- sends slower than the lease, two dispatchers racing: no duplicate;
- no notifier: nothing attempted, nothing dead after a simulated week; delivered once
  a notifier is configured.
"""

from __future__ import annotations

import os
import random
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

import aligner_core
from aligner_core.bootstrap import Core
from aligner_core.clock import ManualClock
from aligner_core.domain.events import DomainEvent, EventType
from aligner_core.domain.outbox import DeliveryState, OutboxEntry
from aligner_core.notifications.dispatcher import Dispatcher
from aligner_core.notifications.notifiers import NullNotifier
from aligner_core.notifications.smtp import SmtpNotifier
from aligner_core.ports import Notifier
from aligner_core.storage.memory import MemoryStorage
from aligner_core.testing.smtp_server import LocalSmtpServer, free_port

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DSN = os.environ.get("ALIGNER_CORE_TEST_POSTGRES_DSN")


class Lab:
    """One database (memory, SQLite or PostgreSQL), a simulated clock, cores on both."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind, self.tmp_path = kind, tmp_path
        self.clock = ManualClock(START, tick=timedelta(0))
        self.memory = MemoryStorage() if kind == "memory" else None
        self.schema = f"aligner_test_{os.getpid()}_{secrets.token_hex(4)}_delivery"
        self.url = {
            "memory": "memory://",
            "sqlite": f"sqlite:///{tmp_path / 'lab.db'}",
            "postgres": DSN or "",
        }[kind]
        self.cores: list[Core] = []

    def core(self, notifier: Notifier | None = None) -> Core:
        options: dict[str, Any] = {"clock": self.clock}
        if notifier is not None:
            options["notifier"] = notifier
        if self.memory is not None:
            options.update(storage=self.memory, notifier=notifier or NullNotifier())
        if self.kind == "postgres":
            options.update(schema=self.schema, blob_root=str(self.tmp_path / "blobs"))
        made = aligner_core.connect(self.url, **options)
        self.cores.append(made)
        return made

    def close(self) -> None:
        for core in self.cores:
            core.shutdown()
        if self.kind == "postgres":
            import psycopg

            assert DSN is not None
            with psycopg.connect(DSN, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def lab(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Lab]:
    if request.param == "postgres" and not DSN:
        pytest.skip("ALIGNER_CORE_TEST_POSTGRES_DSN is not set: PostgreSQL tests skipped")
    made = Lab(request.param, tmp_path)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def server() -> Iterator[LocalSmtpServer]:
    with LocalSmtpServer() as running:
        yield running


def queue(core: Core, count: int) -> list[str]:
    """``count`` notifications queued now; their Message-IDs."""
    now = core.clock.now()
    ids = []
    with core.storage.unit_of_work() as uow:
        for i in range(count):
            entry_id = uuid4()
            event = DomainEvent(
                type=EventType.CASE_SUBMITTED,
                at=now,
                actor_id=uuid4(),
                network_id=uuid4(),
                case_id=uuid4(),
                case_number=1000 + i,
            )
            uow.outbox.add(
                OutboxEntry(
                    entry_id=entry_id,
                    event=event,
                    recipient_id=uuid4(),
                    recipient_email=f"planner{i}@example.org",
                    language="en",
                    created_at=now,
                    next_attempt_at=now,
                    message_id=f"<{entry_id}@delivery.aligner-core>",
                )
            )
            ids.append(f"<{entry_id}@delivery.aligner-core>")
        uow.commit()
    return ids


def dispatcher(core: Core, **options: Any) -> Dispatcher:
    return core.dispatcher(rng=random.Random(11), **options)


def smtp(port: int, timeout: float = 5.0) -> SmtpNotifier:
    return SmtpNotifier("127.0.0.1", port, timeout=timeout)


def outbox(core: Core) -> dict[DeliveryState, int]:
    return core.dispatcher().counts()


def received(server: LocalSmtpServer) -> Counter[str]:
    return Counter(str(m["Message-ID"]) for m in server.messages)


def rounds(
    d: Dispatcher, clock: ManualClock, every: timedelta, until: Callable[[], bool], most: int
) -> int:
    """Dispatch rounds ``every`` simulated interval until ``until()``; how many ran."""
    for n in range(1, most + 1):
        d.run_until_idle()
        if until():
            return n
        clock.advance(every)
    raise AssertionError(f"not done after {most} rounds")


# ---------------------------------------------------------------------- lost by time
def test_a_server_down_for_two_hours_then_up_gets_every_message_once(lab: Lab) -> None:
    port = free_port()
    core = lab.core(smtp(port, timeout=2.0))
    ids = queue(core, 13)
    d = dispatcher(core)
    for _ in range(120):  # two simulated hours, a round a minute, nobody listening
        d.run_until_idle()
        lab.clock.advance(timedelta(minutes=1))
    waiting = core.dispatcher().entries(DeliveryState.PENDING)
    assert outbox(core) == {DeliveryState.PENDING: 13}, "nothing given up, nothing stalled"
    assert min(e.attempts for e in waiting) >= 5  # really retried meanwhile
    with LocalSmtpServer(port) as server:
        done = rounds(
            d, lab.clock, timedelta(minutes=1), lambda: outbox(core) == {DeliveryState.SENT: 13},
            most=8 * 60,
        )  # fmt: skip
        assert received(server) == Counter(ids)  # every one, once
    # the first entry due after the outage gets through and brings every waiting one along
    assert done <= 60


def test_a_5xx_then_fixed_and_requeued_delivers_everything(
    lab: Lab, server: LocalSmtpServer
) -> None:
    core = lab.core(smtp(server.port))
    ids = queue(core, 6)
    d = dispatcher(core)
    server.data_reply = "550 5.7.1 message refused by policy"
    assert d.run_until_idle().dead == 6
    dead = d.entries(DeliveryState.DEAD)
    assert all("550 5.7.1" in (e.last_error or "") for e in dead)
    server.data_reply = None  # the lab fixes its relay
    lab.clock.advance(timedelta(days=3))
    assert sorted(map(str, d.requeue(e.entry_id for e in dead))) == sorted(
        str(e.entry_id) for e in dead
    )
    assert d.run_until_idle().sent == 6
    assert received(server) == Counter(ids)
    assert outbox(core) == {DeliveryState.SENT: 6}


# ---------------------------------------------------------------------- doubled
@pytest.mark.parametrize("answer", ["late", "dropped"])
@pytest.mark.parametrize("then", ["recovers", "stays"])
def test_an_unanswered_message_is_resent_at_most_once_with_its_message_id(
    lab: Lab, server: LocalSmtpServer, answer: str, then: str
) -> None:
    core = lab.core(smtp(server.port, timeout=0.3))
    ids = queue(core, 4)
    d = dispatcher(core)
    if answer == "late":
        server.data_delay = 1.0  # the answer comes after the client's 0.3 s timeout
    else:
        server.drop_after_data = True
    first = d.run_until_idle()
    assert (first.unconfirmed, first.retried, first.sent) == (4, 4, 0)
    assert received(server) == Counter(ids)  # the server has every message already
    assert {e.unconfirmed_sends for e in d.entries(DeliveryState.PENDING)} == {1}
    if then == "recovers":
        server.data_delay, server.drop_after_data = 0.0, False
    rounds(d, lab.clock, timedelta(minutes=1), lambda: outbox(core) == {DeliveryState.SENT: 4}, 30)
    counts = received(server)
    assert set(counts) == set(ids) and max(counts.values()) <= 2  # one duplicate at most
    assert counts == Counter(ids * 2)  # here every message was resent once
    for entry in d.entries(DeliveryState.SENT):
        expected = 1 if then == "recovers" else 2
        assert entry.unconfirmed_sends == expected
        assert (entry.last_error is None) == (then == "recovers")
    lab.clock.advance(timedelta(days=1))
    assert d.run_until_idle().claimed == 0  # and never again


class _SlowSends:
    """Each send takes two simulated minutes, one at a time across both racers.

    A lease must outlast one send plus what the racer sends before the mark is written:
    the shared clock also moves with the other thread's sends, so a racer descheduled
    between its send and its mark (a loaded machine) sees time pass. The test's lease
    is 15 minutes, seven of the racer's sends; each batch of ten (twenty minutes of its
    own sends) still outlives it.
    """

    def __init__(self, inner: SmtpNotifier, clock: ManualClock) -> None:
        self.inner, self.clock = inner, clock
        self._lock = threading.Lock()

    def send(self, message: EmailMessage) -> None:
        with self._lock:
            self.clock.advance(timedelta(minutes=2))
            self.inner.send(message)


def test_sends_slower_than_the_lease_with_two_dispatchers_racing_send_each_message_once(
    lab: Lab, server: LocalSmtpServer
) -> None:
    core = lab.core(smtp(server.port))
    ids = queue(core, 40)
    slow = _SlowSends(smtp(server.port), lab.clock)
    racers = [
        Dispatcher(
            core.storage, slow, clock=lab.clock, lease=timedelta(minutes=15), batch_size=10,
            rng=random.Random(i),
        )
        for i in range(2)
    ]  # fmt: skip
    reports = []
    start = threading.Barrier(2)

    def race(d: Dispatcher) -> None:
        start.wait()
        reports.append(d.run_until_idle())

    threads = [threading.Thread(target=race, args=(d,)) for d in racers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert received(server) == Counter(ids)  # no duplicate although every batch outlived its lease
    assert outbox(core) == {DeliveryState.SENT: 40}
    assert sum(r.sent for r in reports) == 40 and all(r.unmarked == 0 for r in reports)


# ---------------------------------------------------------------------- no notifier
def test_no_notifier_for_a_week_loses_nothing_and_a_notifier_then_sends_everything(
    lab: Lab, server: LocalSmtpServer
) -> None:
    held = lab.core()  # the SQLite and PostgreSQL default: no notifier
    ids = queue(held, 9)
    d = dispatcher(held)
    for _ in range(7 * 24):  # a simulated week, a round an hour
        assert d.run_until_idle().held == 9
        lab.clock.advance(timedelta(hours=1))
    assert outbox(held) == {DeliveryState.PENDING: 9}
    assert {(e.attempts, e.last_error) for e in d.entries(DeliveryState.PENDING)} == {(0, None)}
    configured = lab.core(smtp(server.port))
    assert dispatcher(configured).run_until_idle().sent == 9
    assert received(server) == Counter(ids)
