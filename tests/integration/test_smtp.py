"""The SMTP notifier and the dispatcher against a real aiosmtpd server on loopback."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

import aligner_core
from aligner_core.bootstrap import Core
from aligner_core.clock import ManualClock
from aligner_core.errors import (
    AmbiguousDeliveryError,
    PermanentDeliveryError,
    ServerUnavailableError,
    TemporaryDeliveryError,
)
from aligner_core.notifications.dispatcher import Dispatcher, dead_letters
from aligner_core.notifications.outbox import OutboxEntry
from aligner_core.notifications.smtp import SmtpNotifier
from aligner_core.testing.contracts.notifiers import (
    LocalSmtpServer,
    SilentServer,
    free_port,
    sample_message,
)
from aligner_core.testing.factories import set_up_lab


@pytest.fixture
def server() -> Iterator[LocalSmtpServer]:
    with LocalSmtpServer() as running:
        yield running


def lab_core(port: int, timeout: float = 5.0) -> Core:
    """A memory core whose three activation e-mails wait in the outbox."""
    core = aligner_core.connect(
        "memory://",
        notifier=SmtpNotifier("127.0.0.1", port, timeout=timeout),
        clock=ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), tick=timedelta(0)),
    )
    set_up_lab(core)
    return core


def dispatcher(core: Core) -> Dispatcher:
    return Dispatcher(core.storage, core.notifier, clock=core.clock, rng=random.Random(3))


def pending(core: Core) -> list[OutboxEntry]:
    with core.storage.unit_of_work() as uow:
        return list(uow.outbox.pending())


def advance(core: Core, delta: timedelta) -> None:
    core.clock.advance(delta)  # type: ignore[attr-defined]


def test_delivery_with_both_parts(server: LocalSmtpServer) -> None:
    core = lab_core(server.port)
    queued = {e.message_id: e.recipient_email for e in pending(core)}
    assert dispatcher(core).run_until_idle().sent == 3
    assert {m["Message-ID"]: m["To"] for m in server.messages} == queued
    for message in server.messages:
        types = [p.get_content_type() for p in message.walk()]
        assert types == ["multipart/alternative", "text/plain", "text/html"]
    assert sorted(rcpt for _, (rcpt,) in server.envelopes) == sorted(queued.values())


def test_envelope_sender_is_used_for_the_bounce_address(server: LocalSmtpServer) -> None:
    notifier = SmtpNotifier("127.0.0.1", server.port, envelope_sender="bounces@lab.example")
    notifier.send(sample_message())
    assert server.envelopes[-1][0] == "bounces@lab.example"


def test_server_down_then_up_loses_nothing() -> None:
    port = free_port()
    core = lab_core(port)
    first = dispatcher(core).run_once()
    assert first.retried == 3 and first.sent == 0
    assert all("connection" in (e.last_error or "").lower() for e in pending(core))
    with LocalSmtpServer(port) as server:
        advance(core, timedelta(minutes=1))
        assert dispatcher(core).run_until_idle().sent == 3
        assert len(server.messages) == 3
    assert pending(core) == [] and dead_letters(core.storage) == []


def test_a_451_reply_is_retried(server: LocalSmtpServer) -> None:
    core = lab_core(server.port)
    server.rcpt_reply = "451 4.3.0 mailbox busy, try again later"
    report = dispatcher(core).run_once()
    assert report.retried == 3
    assert all("451" in (e.last_error or "") for e in pending(core))
    server.rcpt_reply = None
    advance(core, timedelta(minutes=1))
    assert dispatcher(core).run_until_idle().sent == 3
    assert len(server.messages) == 3


def test_a_550_reply_is_dead_with_the_reason(server: LocalSmtpServer) -> None:
    core = lab_core(server.port)
    server.data_reply = "550 5.7.1 message refused"
    assert dispatcher(core).run_once().dead == 3
    dead = dead_letters(core.storage)
    assert len(dead) == 3
    assert all("550" in (e.last_error or "") and "refused" in (e.last_error or "") for e in dead)
    assert server.messages == [] and pending(core) == []


def test_a_550_recipient_refusal_is_permanent_and_the_session_goes_on(
    server: LocalSmtpServer,
) -> None:
    notifier = SmtpNotifier("127.0.0.1", server.port)
    with notifier.session():
        server.rcpt_reply = "550 5.1.1 no such user"
        with pytest.raises(PermanentDeliveryError, match="550"):
            notifier.send(sample_message(1))
        server.rcpt_reply = None
        notifier.send(sample_message(2))
    assert len(server.messages) == 1


def test_a_server_that_never_answers_times_out_and_is_retried() -> None:
    with SilentServer() as silent:
        core = lab_core(silent.port, timeout=0.5)
        report = dispatcher(core).run_once()
    assert report.retried == 3
    assert all("did not answer" in (e.last_error or "") for e in pending(core))


def test_a_session_reconnects_after_the_server_restarts() -> None:
    port = free_port()
    notifier = SmtpNotifier("127.0.0.1", port, timeout=2.0)
    with notifier.session():
        with LocalSmtpServer(port) as server:
            notifier.send(sample_message(1))
            assert len(server.messages) == 1
        with LocalSmtpServer(port) as again:
            notifier.send(sample_message(2))  # the old connection is gone: a fresh one
            assert len(again.messages) == 1


def test_refused_connection_is_temporary_and_names_the_server_unavailable() -> None:
    with pytest.raises(ServerUnavailableError):
        SmtpNotifier("127.0.0.1", free_port(), timeout=1.0).send(sample_message())


def test_a_server_that_never_greets_is_unavailable_not_ambiguous() -> None:
    with SilentServer() as silent, pytest.raises(ServerUnavailableError):
        SmtpNotifier("127.0.0.1", silent.port, timeout=0.3).send(sample_message())


@pytest.mark.parametrize("reply", ["451 4.3.0 try again later", "554 5.7.1 rejected"])
def test_an_answer_to_the_message_is_never_ambiguous(server: LocalSmtpServer, reply: str) -> None:
    server.data_reply = reply
    with pytest.raises((TemporaryDeliveryError, PermanentDeliveryError)) as caught:
        SmtpNotifier("127.0.0.1", server.port, timeout=2.0).send(sample_message())
    assert not isinstance(caught.value, AmbiguousDeliveryError | ServerUnavailableError)
    assert reply.split(maxsplit=1)[0] in str(caught.value)


@pytest.mark.parametrize("how", ["late", "dropped"])
def test_no_answer_after_the_message_is_ambiguous_and_never_resent_by_a_session(
    server: LocalSmtpServer, how: str
) -> None:
    notifier = SmtpNotifier("127.0.0.1", server.port, timeout=0.3)
    with notifier.session():
        notifier.send(sample_message(1))  # a reused connection would be retried once
        server.data_delay, server.drop_after_data = (1.0, False) if how == "late" else (0, True)
        with pytest.raises(AmbiguousDeliveryError, match="did not confirm"):
            notifier.send(sample_message(2))
        server.data_delay, server.drop_after_data = 0, False
        notifier.send(sample_message(3))  # the session goes on with a fresh connection
    numbers = [m["Message-ID"] for m in server.messages]
    assert len(numbers) == len(set(numbers)) == 3  # message 2 arrived, once


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        SmtpNotifier("localhost", security="ssl")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SmtpNotifier("localhost", username="only-a-user")
