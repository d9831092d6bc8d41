"""Local SMTP peers for tests and examples (no pytest needed): a recording aiosmtpd
server on loopback (which can answer late, or not at all, after taking a message),
and a server that accepts connections and never answers.

``aiosmtpd`` is imported only when a server starts.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Self

__all__ = ["LocalSmtpServer", "SilentServer", "free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class _Recorder:
    """The aiosmtpd handler: records messages, or answers with a configured error reply."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.rcpt_reply: str | None = None
        self.data_reply: str | None = None
        self.data_delay = 0.0
        self.drop_after_data = False
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if self.rcpt_reply is not None:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply is not None:
            return self.data_reply
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw, policy=policy.default)
        with self._lock:
            self.messages.append(message)
            self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        if self.drop_after_data:  # kept, but the client never hears so
            server.transport.close()
        elif self.data_delay:  # kept, but the answer may come after the client gave up
            await asyncio.sleep(self.data_delay)
        return "250 Message accepted for delivery"


class LocalSmtpServer:
    """An ``aiosmtpd`` server on ``127.0.0.1`` that records what it receives.

    Use as a context manager, or ``start()``/``stop()`` (it can be restarted on
    the same port). Set ``rcpt_reply`` or ``data_reply`` (e.g. ``"451 try
    later"``) to answer with an error instead. To leave a client unsure whether
    its message arrived, set ``data_delay`` (seconds: the answer comes after the
    client's timeout) or ``drop_after_data`` (the connection closes instead of
    the answer); either way the message is kept.
    """

    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_port(host)
        self._recorder = _Recorder()
        self._controller: Any = None

    @property
    def messages(self) -> list[EmailMessage]:
        with self._recorder._lock:
            return list(self._recorder.messages)

    @property
    def envelopes(self) -> list[tuple[str, list[str]]]:
        with self._recorder._lock:
            return list(self._recorder.envelopes)

    @property
    def rcpt_reply(self) -> str | None:
        return self._recorder.rcpt_reply

    @rcpt_reply.setter
    def rcpt_reply(self, reply: str | None) -> None:
        self._recorder.rcpt_reply = reply

    @property
    def data_reply(self) -> str | None:
        return self._recorder.data_reply

    @data_reply.setter
    def data_reply(self, reply: str | None) -> None:
        self._recorder.data_reply = reply

    @property
    def data_delay(self) -> float:
        """Seconds to wait before answering a received message (0: at once)."""
        return self._recorder.data_delay

    @data_delay.setter
    def data_delay(self, seconds: float) -> None:
        self._recorder.data_delay = seconds

    @property
    def drop_after_data(self) -> bool:
        """Keep each message, then close the connection without answering."""
        return self._recorder.drop_after_data

    @drop_after_data.setter
    def drop_after_data(self, drop: bool) -> None:
        self._recorder.drop_after_data = drop

    def start(self) -> Self:
        from aiosmtpd.controller import Controller

        self._controller = Controller(
            self._recorder, hostname=self.host, port=self.port, ready_timeout=5.0
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class SilentServer:
    """Accepts TCP connections on loopback and never says a word (an SMTP server that hangs)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind((host, 0))
        self._socket.listen(16)
        self._socket.settimeout(0.1)
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                continue
            self._held.append(connection)  # keep it open, say nothing

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for connection in self._held:
            connection.close()
        self._socket.close()
