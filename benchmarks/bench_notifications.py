"""Dispatcher throughput against raw smtplib, on the same messages and the same local server.

The peer is the floor: one ``smtplib.SMTP`` connection sending the already
rendered messages back to back. The dispatcher does everything else on top
(claim in batches, render, send through ``SmtpNotifier`` sessions, mark each
entry sent in its own unit of work). Target: at most 1.5x the raw time.
Best of 3 rounds each.

    python benchmarks/bench_notifications.py [N]
"""

from __future__ import annotations

import smtplib
import sys
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from uuid import UUID

from aligner_core.clock import ManualClock
from aligner_core.domain.events import DomainEvent, EventType
from aligner_core.notifications.dispatcher import Dispatcher
from aligner_core.notifications.outbox import OutboxEntry
from aligner_core.notifications.smtp import SmtpNotifier
from aligner_core.storage.memory import MemoryStorage
from aligner_core.testing.smtp_server import LocalSmtpServer

TARGET = 1.5
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
EVENTS = (
    EventType.CASE_SUBMITTED,
    EventType.PLAN_UPLOADED,
    EventType.COMMENT_ADDED,
    EventType.CASE_SHIPPED,
)


def entries(n: int, round_no: int) -> list[OutboxEntry]:
    made = []
    for i in range(n):
        entry_id = UUID(int=(round_no << 32) | i, version=4)
        made.append(
            OutboxEntry(
                entry_id=entry_id,
                event=DomainEvent(
                    type=EVENTS[i % len(EVENTS)],
                    at=START,
                    actor_id=UUID(int=1),
                    network_id=UUID(int=2),
                    case_id=UUID(int=3),
                    case_number=1000 + i,
                    data={"plan_version": "1", "carrier": "DHL", "tracking_number": f"JD{i:08d}"},
                ),
                recipient_id=UUID(int=4),
                recipient_email=f"user{i}@example.org",
                language="en",
                created_at=START,
                next_attempt_at=START,
                message_id=f"<{entry_id}@bench.aligner-core>",
            )
        )
    return made


def time_dispatcher(server: LocalSmtpServer, n: int, round_no: int) -> float:
    storage = MemoryStorage()
    with storage.unit_of_work() as uow:
        for entry in entries(n, round_no):
            uow.outbox.add(entry)
        uow.commit()
    clock = ManualClock(START, tick=timedelta(0))
    dispatcher = Dispatcher(storage, SmtpNotifier(server.host, server.port), clock=clock)
    began = time.perf_counter()
    report = dispatcher.run_until_idle()
    elapsed = time.perf_counter() - began
    assert report.sent == n, report
    return elapsed


def time_raw(server: LocalSmtpServer, messages: list[EmailMessage]) -> float:
    began = time.perf_counter()
    with smtplib.SMTP(server.host, server.port) as connection:
        for message in messages:
            connection.send_message(message)
    return time.perf_counter() - began


def main(n: int = 500) -> int:
    with LocalSmtpServer() as server:
        renderer = Dispatcher(MemoryStorage(), SmtpNotifier(server.host), clock=ManualClock())
        messages = [renderer.render(e) for e in entries(n, 99)]
        time_raw(server, messages[:20])  # warm up both paths
        time_dispatcher(server, 20, 98)
        raw = min(time_raw(server, messages) for _ in range(3))
        ours = min(time_dispatcher(server, n, r) for r in range(3))
        received = len(server.messages)
    ratio = ours / raw
    verdict = "OK" if ratio <= TARGET else "SLOW"
    print(f"messages: {n} per run, best of 3 ({received} received in all)")
    print(f"raw smtplib: {n / raw:8.0f} messages/s ({raw * 1000:.0f} ms)")
    print(f"dispatcher:  {n / ours:8.0f} messages/s ({ours * 1000:.0f} ms)")
    print(f"dispatcher: {ratio:.2f}x raw smtplib (target <= {TARGET}x) {verdict}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
