"""Contract tests for the ``Notifier`` port, and a local SMTP server to run them against.

A test module joins the contract by subclassing it and providing two fixtures
(and optionally a third)::

    class TestMemoryNotifier(NotifierContract):
        @pytest.fixture
        def notifier(self) -> MemoryNotifier:
            return MemoryNotifier()

        @pytest.fixture
        def received(self, notifier: MemoryNotifier) -> Callable[[], list[EmailMessage]]:
            return lambda: list(notifier.messages)

        @pytest.fixture
        def failing_notifier(self) -> Notifier:  # optional: one that cannot deliver
            ...

        @pytest.fixture  # optional: one whose server takes a message but never says so
        def unconfirming(self) -> tuple[Notifier, Callable[[], list[EmailMessage]]]:
            ...

:class:`LocalSmtpServer` runs an ``aiosmtpd`` server on loopback (``aiosmtpd``
is a test dependency, imported only when a server starts) that records what it
receives and can be told to answer with an error; :class:`SilentServer`
accepts connections and never answers, to test timeouts. Portal test suites may
reuse both.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from uuid import UUID, uuid4

import pytest

from aligner_core.domain.events import DomainEvent, EventType
from aligner_core.errors import (
    AmbiguousDeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from aligner_core.notifications.messages import render
from aligner_core.notifications.outbox import OutboxEntry
from aligner_core.ports import Notifier
from aligner_core.testing.smtp_server import LocalSmtpServer, SilentServer, free_port

__all__ = [
    "LocalSmtpServer",
    "NotifierContract",
    "SilentServer",
    "free_port",
    "sample_message",
]

Received = Callable[[], list[EmailMessage]]


def sample_message(
    number: int = 4711,
    *,
    to: str = "doctor@example.org",
    event: EventType = EventType.PLAN_UPLOADED,
    data: dict[str, str] | None = None,
) -> EmailMessage:
    """A rendered notification (text and HTML parts, a unique Message-ID)."""
    now = datetime.now(UTC)
    entry_id = uuid4()
    entry = OutboxEntry(
        entry_id=entry_id,
        event=DomainEvent(
            type=event,
            at=now,
            actor_id=UUID(int=1),
            network_id=UUID(int=2),
            case_id=UUID(int=3),
            case_number=number,
            data=data if data is not None else {"plan_version": "2"},
        ),
        recipient_id=UUID(int=4),
        recipient_email=to,
        language="en",
        created_at=now,
        next_attempt_at=now,
        message_id=f"<{entry_id}@contract.aligner-core>",
    )
    return render(entry, base_url="https://portal.example", sender="no-reply@example.org")


def _parts(message: EmailMessage) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            found[part.get_content_type()] = str(part.get_content())
    return found


class NotifierContract:
    """What every ``Notifier`` adapter must do (see the module docstring for joining)."""

    @pytest.fixture
    def failing_notifier(self) -> Notifier:
        pytest.skip("this adapter provides no failing_notifier fixture")

    @pytest.fixture
    def unconfirming(self) -> tuple[Notifier, Received]:
        pytest.skip("this adapter provides no unconfirming fixture")

    def test_a_sent_message_arrives_with_both_parts_and_its_message_id(
        self, notifier: Notifier, received: Received
    ) -> None:
        message = sample_message(101)
        assert notifier.send(message) is None  # type: ignore[func-returns-value]
        got = [m for m in received() if m["Message-ID"] == message["Message-ID"]]
        assert len(got) == 1
        arrived = got[0]
        assert arrived["To"] == "doctor@example.org"
        assert "101" in str(arrived["Subject"])
        parts = _parts(arrived)
        assert set(parts) == {"text/plain", "text/html"}
        assert "https://portal.example/cases/101" in parts["text/plain"]
        assert 'href="https://portal.example/cases/101"' in parts["text/html"]

    def test_every_message_arrives_once(self, notifier: Notifier, received: Received) -> None:
        messages = [sample_message(200 + i, to=f"user{i}@example.org") for i in range(5)]
        for message in messages:
            notifier.send(message)
        ids = [m["Message-ID"] for m in received()]
        for message in messages:
            assert ids.count(message["Message-ID"]) == 1

    def test_non_ascii_text_survives(self, notifier: Notifier, received: Received) -> None:
        message = sample_message(
            300,
            event=EventType.CASE_SHIPPED,
            data={"carrier": "Deutsche Post Zustellung für Zahnärzte", "tracking_number": "ÄÖ-1"},
        )
        notifier.send(message)
        (arrived,) = [m for m in received() if m["Message-ID"] == message["Message-ID"]]
        assert "Zahnärzte" in _parts(arrived)["text/plain"]
        assert "ÄÖ-1" in _parts(arrived)["text/html"]

    def test_send_leaves_the_message_as_it_was(self, notifier: Notifier) -> None:
        message = sample_message(400)
        before = message.as_bytes()
        notifier.send(message)
        assert message.as_bytes() == before

    def test_a_failing_notifier_raises_only_delivery_errors(
        self, failing_notifier: Notifier
    ) -> None:
        with pytest.raises((TemporaryDeliveryError, PermanentDeliveryError)):
            failing_notifier.send(sample_message(500))

    def test_a_message_taken_without_an_answer_is_an_ambiguous_delivery(
        self, unconfirming: tuple[Notifier, Received]
    ) -> None:
        """The server has the message but never confirmed it: ``AmbiguousDeliveryError`` (a
        temporary error the dispatcher resends once), and the notifier never sent it twice."""
        notifier, arrived = unconfirming
        message = sample_message(600)
        with pytest.raises(AmbiguousDeliveryError):
            notifier.send(message)
        assert [m["Message-ID"] for m in arrived()] == [message["Message-ID"]]
