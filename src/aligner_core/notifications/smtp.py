"""The SMTP notifier: sends rendered e-mails with the standard library's ``smtplib``.

Why it looks like this:

- The :class:`~aligner_core.ports.Notifier` port promises exactly two errors,
  so every ``smtplib``/socket/TLS failure is translated here: a 4xx reply, a
  dropped or refused connection, a timeout -> :class:`TemporaryDeliveryError`
  (:class:`ServerUnavailableError` when the server could not be talked to at all);
  a 5xx reply to the message (sender, recipient, data) ->
  :class:`PermanentDeliveryError`. Failures while *connecting* (greeting,
  STARTTLS, login) are always temporary: they are about the server or the
  configuration, not about this message, and giving up on every queued message
  because a password expired would lose mail.
- Connecting costs several round trips (and a TLS handshake), so
  :meth:`SmtpNotifier.session` keeps one connection open for a batch; the
  dispatcher uses it automatically. A reused connection the server has closed
  is reopened once before a send is reported as failed. Outside a session each
  ``send`` uses its own connection.
- A send whose whole message went out but whose reply never came (a timeout
  waiting for the answer to the data, or the connection dropped then) may have
  been delivered: it raises :class:`AmbiguousDeliveryError`, and is never
  retried on a fresh connection here (the dispatcher resends it at most once).
- Error texts carry the SMTP code and the server's reply, never the message.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from email.message import EmailMessage
from typing import TYPE_CHECKING, Literal

from aligner_core.errors import (
    AmbiguousDeliveryError,
    NotificationError,
    PermanentDeliveryError,
    ServerUnavailableError,
    TemporaryDeliveryError,
    ValidationError,
)

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

__all__ = ["Security", "SmtpNotifier"]

Security = Literal["none", "starttls", "tls"]

_MAX_TEXT = 300


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}"[:_MAX_TEXT]


def _timed_out(exc: BaseException) -> bool:
    """A timeout, also when ``smtplib`` reports it as a disconnection ("timed out")."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return True
    return isinstance(exc, smtplib.SMTPServerDisconnected) and (
        isinstance(exc.__context__, TimeoutError | socket.timeout) or "timed out" in str(exc)
    )


def _by_code(code: int, message: bytes | str, what: str) -> NotificationError:
    reply = _reply(code, message)
    if 500 <= code <= 599:
        return PermanentDeliveryError(f"SMTP {what} refused: {reply}")
    return TemporaryDeliveryError(f"SMTP {what} failed: {reply}")


def _delivery_error(exc: BaseException) -> NotificationError:
    """Map one ``smtplib``/socket error raised while sending a message to a delivery error."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        replies = "; ".join(_reply(c, m) for c, m in exc.recipients.values())[:_MAX_TEXT]
        if codes and all(500 <= c <= 599 for c in codes):
            return PermanentDeliveryError(f"SMTP recipient refused: {replies}")
        return TemporaryDeliveryError(f"SMTP recipient deferred: {replies}")
    if _timed_out(exc):
        return TemporaryDeliveryError("SMTP server did not answer in time")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TemporaryDeliveryError("SMTP server disconnected")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _by_code(exc.smtp_code, exc.smtp_error, "sender")
    if isinstance(exc, smtplib.SMTPDataError):
        return _by_code(exc.smtp_code, exc.smtp_error, "data")
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, exc.smtp_error, "command")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentDeliveryError(f"SMTP server cannot take this message: {exc}"[:_MAX_TEXT])
    if isinstance(exc, OSError | smtplib.SMTPException):
        return TemporaryDeliveryError(f"SMTP connection failed: {type(exc).__name__}")
    if isinstance(exc, ValueError | UnicodeError):
        return PermanentDeliveryError(f"message cannot be sent by SMTP: {type(exc).__name__}")
    return TemporaryDeliveryError(f"unexpected SMTP failure: {type(exc).__name__}")


class _Tracking(smtplib.SMTP):
    """Knows whether the whole message went out in the last ``DATA``: after that, a missing
    reply means the server may have accepted it."""

    message_sent = False
    _data_sends = -1  # -1: outside data(); then the sends inside it (command, message)

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        self.message_sent, self._data_sends = False, 0
        try:
            return super().data(msg)
        finally:
            self._data_sends = -1

    def send(self, s: ReadableBuffer | str) -> None:
        super().send(s)
        if self._data_sends >= 0:
            self._data_sends += 1
            self.message_sent = self._data_sends >= 2


class _TrackingSSL(_Tracking, smtplib.SMTP_SSL):
    """Implicit TLS, tracked the same way."""


def _unconfirmed(connection: smtplib.SMTP, exc: BaseException) -> AmbiguousDeliveryError | None:
    """The error of a send that may have been delivered: the message went out, no reply came."""
    if not getattr(connection, "message_sent", False):
        return None
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 400:
        return None  # a real answer: the server refused or deferred it
    why = "timed out" if _timed_out(exc) else "the connection dropped"
    return AmbiguousDeliveryError(f"SMTP server did not confirm the message ({why})")


class _ConnectionLost(ServerUnavailableError):
    """The connection broke mid-send (not a reply from the server): worth one fresh connection."""


def _connect_error(exc: BaseException) -> ServerUnavailableError:
    """Connecting, STARTTLS and login failures: always temporary (see the module docstring)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return ServerUnavailableError(
            f"SMTP connection refused: {_reply(exc.smtp_code, exc.smtp_error)}"
        )
    if _timed_out(exc):
        return ServerUnavailableError("SMTP server did not answer in time")
    return ServerUnavailableError(f"SMTP connection failed: {type(exc).__name__}")


class SmtpNotifier:
    """A :class:`~aligner_core.ports.Notifier` over SMTP (plain, STARTTLS or implicit TLS).

    ``envelope_sender`` is the bounce address (``MAIL FROM``); by default the
    message's ``From``. ``ssl_context`` defaults to
    :func:`ssl.create_default_context` (certificate and host name checked).
    Safe to share between threads: sessions are per thread.
    """

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        security: Security = "none",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        envelope_sender: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        if security not in ("none", "starttls", "tls"):
            raise ValidationError.of("not_one_of", "$.security", choices="none, starttls, tls")
        if (username is None) != (password is None):
            raise ValidationError.of("credentials_pair", "$.username")
        if timeout <= 0:
            raise ValidationError.of("positive", "$.timeout")
        self.host = host
        self.port = port
        self.security: Security = security
        self.username = username
        self._password = password
        self.timeout = timeout
        self.envelope_sender = envelope_sender
        self._ssl_context = ssl_context
        self.local_hostname = local_hostname
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"SmtpNotifier({self.host!r}, {self.port}, security={self.security!r})"

    # ------------------------------------------------------------------ connections
    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _open(self) -> smtplib.SMTP:
        connection: smtplib.SMTP | None = None
        try:
            if self.security == "tls":
                connection = _TrackingSSL(
                    self.host,
                    self.port,
                    local_hostname=self.local_hostname,
                    timeout=self.timeout,
                    context=self._context(),
                )
            else:
                connection = _Tracking(
                    self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
                )
            if self.security == "starttls":
                connection.ehlo()
                connection.starttls(context=self._context())
                connection.ehlo()
            if self.username is not None and self._password is not None:
                connection.login(self.username, self._password)
        except Exception as exc:
            if connection is not None:
                _close(connection)
            raise _connect_error(exc) from None
        return connection

    @property
    def _held(self) -> smtplib.SMTP | None:
        return getattr(self._local, "connection", None)

    @_held.setter
    def _held(self, connection: smtplib.SMTP | None) -> None:
        self._local.connection = connection

    @contextmanager
    def session(self) -> Iterator[SmtpNotifier]:
        """Reuse one connection for the sends of this block (in this thread).

        The connection is opened by the first send and closed (``QUIT``) at the
        end; sessions nest.
        """
        depth: int = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        try:
            yield self
        finally:
            self._local.depth = depth
            if depth == 0 and self._held is not None:
                connection, self._held = self._held, None
                _close(connection, polite=True)

    # ------------------------------------------------------------------ sending
    def send(self, message: EmailMessage) -> None:
        """Send one message; raises only the two delivery errors of the port (and their
        kinds: :class:`ServerUnavailableError`, :class:`AmbiguousDeliveryError`)."""
        try:
            self._send(message)
        except _ConnectionLost as lost:
            raise ServerUnavailableError(str(lost)) from None

    def _send(self, message: EmailMessage) -> None:
        in_session = getattr(self._local, "depth", 0) > 0
        if not in_session:
            connection = self._open()
            try:
                self._transmit(connection, message)
            finally:
                _close(connection, polite=True)
            return
        reused = self._held is not None
        if self._held is None:
            self._held = self._open()
        try:
            self._transmit(self._held, message)
        except AmbiguousDeliveryError:
            self._drop()  # never resent here: the server may have it
            raise
        except _ConnectionLost:
            self._drop()
            if not reused:
                raise
            # the server may have closed an idle connection: one fresh try
            self._held = self._open()
            try:
                self._transmit(self._held, message)
            except (_ConnectionLost, AmbiguousDeliveryError):
                self._drop()
                raise

    def _drop(self) -> None:
        if self._held is not None:
            connection, self._held = self._held, None
            _close(connection)

    def _transmit(self, connection: smtplib.SMTP, message: EmailMessage) -> None:
        if isinstance(connection, _Tracking):
            connection.message_sent = False  # of this message, not the last one
        try:
            connection.send_message(message, from_addr=self.envelope_sender)
        except Exception as exc:
            if (unconfirmed := _unconfirmed(connection, exc)) is not None:
                raise unconfirmed from None
            error = _delivery_error(exc)
            if isinstance(exc, smtplib.SMTPServerDisconnected) or (
                isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)
            ):
                raise _ConnectionLost(str(error)) from None
            raise error from None


def _close(connection: smtplib.SMTP, *, polite: bool = False) -> None:
    """Close without raising: QUIT when asked and possible, then the socket."""
    if polite:
        with suppress(Exception):
            connection.quit()
    with suppress(Exception):
        connection.close()
