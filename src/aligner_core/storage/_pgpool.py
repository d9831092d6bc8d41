"""A small PostgreSQL connection pool whose every wait ends by the caller's deadline (private).

Why not ``psycopg_pool``: it does check a pooled connection before handing it
out, but after a failed check it sleeps with exponential backoff (1 s, 2 s, 4 s,
...) before it tries the next one. When the server has closed every connection
(a restart, a failover, ``pg_terminate_backend``) the first command after it
stalls for seconds or fails with ``PoolTimeout``; and it reconnects in
background threads with backoff growing to minutes, so commands go on failing
for a while after the server is back. Here:

- an idle connection is checked (one round trip) before use; a broken one is
  closed and the next tried at once;
- a connection that is missing is opened in the calling thread, bounded by the
  caller's deadline; a server that refuses connections (down, starting up) is
  tried again every few tenths of a second until then, so a command issued
  during a restart succeeds as soon as the server is back, or fails at its
  deadline;
- a connection handed back broken, or inside a transaction it cannot leave, is
  closed; at most ``max_size`` connections are open; nothing runs in the
  background.

Errors are the driver's (``psycopg.Error``) or :class:`StorageError`; the dialect
maps the former at its boundary.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from aligner_core.errors import StorageError

__all__ = ["ConnectionPool"]

Conn = psycopg.Connection[tuple[Any, ...]]

#: First and longest pause between attempts to reach a server that refuses connections.
_RETRY_FIRST, _RETRY_MOST = 0.05, 0.25


def _refused(error: psycopg.Error) -> bool:
    """A server that is not there (yet): no SQLSTATE at all, or 'cannot connect now' (57P03)."""
    return error.sqlstate is None or error.sqlstate == "57P03"


def _idle(conn: Conn) -> bool:
    """Outside any transaction (what a pooled connection must be)."""
    return conn.info.transaction_status == TransactionStatus.IDLE


class ConnectionPool:
    """At most ``max_size`` connections made by ``connect(timeout)``, checked before use.

    ``timeout`` is the default deadline of ``getconn`` (seconds). The methods the
    storage uses have ``psycopg_pool``'s names: ``open``, ``getconn``, ``putconn``,
    ``connection``, ``close``.
    """

    def __init__(
        self, connect: Callable[[float], Conn], *, min_size: int, max_size: int, timeout: float
    ) -> None:
        self._connect = connect
        self.timeout = timeout
        self._min_size = min_size
        self._max_size = max(max_size, min_size, 1)
        self._idle: list[Conn] = []  # the most recently used last: it is taken first
        self._open = 0  # idle, handed out, or being opened
        self._cond = threading.Condition()
        self._closed = False

    def open(self, wait: bool = True, timeout: float | None = None) -> None:
        """Open ``min_size`` connections now (so the server is reachable), within ``timeout``."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        made = [self.getconn(max(deadline - time.monotonic(), 0.0)) for _ in range(self._min_size)]
        for conn in made:
            self.putconn(conn)

    def getconn(self, timeout: float | None = None) -> Conn:
        """A working connection within ``timeout`` seconds (default: the pool's), or an error."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            conn = self._take(timeout, deadline)
            if conn is None:
                return self._new(deadline)
            try:
                conn.execute("")  # one round trip: is the server still there?
            except psycopg.Error:
                self._discard(conn)
                continue
            return conn

    def putconn(self, conn: Conn) -> None:
        """Hand a connection back; a broken one, or one stuck in a transaction, is closed."""
        usable = not conn.closed and not conn.broken
        if usable and not _idle(conn):
            try:
                conn.rollback()
            except psycopg.Error:
                usable = False
            usable = usable and _idle(conn)
        with self._cond:
            keep = usable and not self._closed
            if keep:
                self._idle.append(conn)
                self._cond.notify()
        if not keep:
            self._discard(conn)

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[Conn]:
        """A connection for the ``with`` block, handed back after it."""
        conn = self.getconn(timeout)
        try:
            yield conn
        finally:
            self.putconn(conn)

    def close(self) -> None:
        """Close the idle connections now and every other one when it is handed back."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            self._cond.notify_all()
        for conn in idle:
            conn.close()

    # ------------------------------------------------------------------ inside
    def _take(self, timeout: float, deadline: float) -> Conn | None:
        """An idle connection, or None with a slot reserved to open one; waits for either."""
        with self._cond:
            while True:
                if self._closed:
                    raise StorageError("storage is closed")
                if self._idle:
                    return self._idle.pop()
                if self._open < self._max_size:
                    self._open += 1
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StorageError(
                        f"no PostgreSQL connection free within {timeout:g} s "
                        f"(all {self._max_size} in use)"
                    )
                self._cond.wait(remaining)

    def _new(self, deadline: float) -> Conn:
        """Open a connection in the reserved slot, trying a refusing server until ``deadline``."""
        pause = _RETRY_FIRST
        try:
            while True:
                try:
                    return self._connect(max(deadline - time.monotonic(), 0.0))
                except psycopg.Error as error:
                    left = deadline - time.monotonic()
                    if not _refused(error) or left <= pause:
                        raise
                time.sleep(pause)
                pause = min(pause * 2, _RETRY_MOST)
        except BaseException:
            self._release()
            raise

    def _discard(self, conn: Conn) -> None:
        try:
            conn.close()
        finally:
            self._release()

    def _release(self) -> None:
        with self._cond:
            self._open -= 1
            self._cond.notify()
