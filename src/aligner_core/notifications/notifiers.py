"""Notifiers without a mail server: one that records messages, one that holds them back."""

from __future__ import annotations

import threading
from email.message import EmailMessage

from aligner_core.errors import TemporaryDeliveryError

__all__ = ["MemoryNotifier", "NullNotifier"]


class MemoryNotifier:
    """Records every message it is given; portal test suites read ``messages``.

    ``fail_next(error)`` makes the next sends raise, to test retries.
    """

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._failures: list[Exception] = []
        self._lock = threading.Lock()

    def fail_next(self, *errors: Exception) -> None:
        with self._lock:
            self._failures.extend(errors)

    def send(self, message: EmailMessage) -> None:
        with self._lock:
            if self._failures:
                raise self._failures.pop(0)
            self.messages.append(message)


class NullNotifier:
    """No notifier configured: messages wait in the outbox, unattempted.

    ``holds_messages`` tells the dispatcher to leave the outbox alone (no attempt is
    spent, nothing stalls or dies), so every message goes out once a real notifier
    is configured. Called anyway, ``send`` fails temporarily.

    .. versionchanged:: 0.2 ``holds_messages``: the dispatcher no longer burns attempts.
    """

    holds_messages = True

    def send(self, message: EmailMessage) -> None:
        raise TemporaryDeliveryError("no notifier configured")
