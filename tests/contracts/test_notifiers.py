"""The Notifier contract, joined by the in-memory notifier and by SMTP against a real aiosmtpd."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from email.message import EmailMessage

import pytest

from aligner_core.errors import TemporaryDeliveryError
from aligner_core.notifications.notifiers import MemoryNotifier
from aligner_core.notifications.smtp import SmtpNotifier
from aligner_core.ports import Notifier
from aligner_core.testing.contracts.notifiers import (
    LocalSmtpServer,
    NotifierContract,
    free_port,
    sample_message,
)


class TestMemoryNotifier(NotifierContract):
    @pytest.fixture
    def notifier(self) -> MemoryNotifier:
        return MemoryNotifier()

    @pytest.fixture
    def received(self, notifier: MemoryNotifier) -> Callable[[], list[EmailMessage]]:
        return lambda: list(notifier.messages)

    @pytest.fixture
    def failing_notifier(self) -> Notifier:
        notifier = MemoryNotifier()
        notifier.fail_next(TemporaryDeliveryError("simulated outage"))
        return notifier


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[LocalSmtpServer]:
    with LocalSmtpServer() as server:
        yield server


class TestSmtpNotifier(NotifierContract):
    @pytest.fixture
    def notifier(self, smtp_server: LocalSmtpServer) -> SmtpNotifier:
        return SmtpNotifier(smtp_server.host, smtp_server.port, timeout=5.0)

    @pytest.fixture
    def received(self, smtp_server: LocalSmtpServer) -> Callable[[], list[EmailMessage]]:
        return lambda: smtp_server.messages

    @pytest.fixture
    def failing_notifier(self) -> Notifier:
        return SmtpNotifier("127.0.0.1", free_port(), timeout=1.0)

    @pytest.fixture
    def unconfirming(self) -> Iterator[tuple[Notifier, Callable[[], list[EmailMessage]]]]:
        with LocalSmtpServer() as server:
            server.drop_after_data = True
            yield SmtpNotifier(server.host, server.port, timeout=2.0), lambda: server.messages


class TestSmtpNotifierInASession(TestSmtpNotifier):
    """The same contract when one connection is reused for every send."""

    @pytest.fixture
    def notifier(self, smtp_server: LocalSmtpServer) -> Iterator[SmtpNotifier]:
        notifier = SmtpNotifier(smtp_server.host, smtp_server.port, timeout=5.0)
        with notifier.session():
            yield notifier

    @pytest.fixture
    def unconfirming(self) -> Iterator[tuple[Notifier, Callable[[], list[EmailMessage]]]]:
        with LocalSmtpServer() as server:
            notifier = SmtpNotifier(server.host, server.port, timeout=0.3)
            with notifier.session():
                notifier.send(sample_message(1))  # the session's connection is in use
                server.data_delay = 1.0  # from now on the answer comes after the timeout
                yield notifier, lambda: server.messages[1:]
