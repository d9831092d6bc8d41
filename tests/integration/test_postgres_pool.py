"""The PostgreSQL pool when the server goes away: every command succeeds or fails with a
``StorageError`` within the configured timeout, and the pool recovers without a stall.

Two ways to lose the server without disturbing anyone else on it: the server
terminates this storage's connections (``pg_terminate_backend`` on the backends of
this test's ``application_name``), and a TCP proxy between the pool and the server
that drops every connection and refuses new ones for a while (a restart). Each test
measures the time of the command that matters and prints it in its assertion message.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest

DSN = os.environ.get("ALIGNER_CORE_TEST_POSTGRES_DSN")
if not DSN:
    pytest.skip(
        "ALIGNER_CORE_TEST_POSTGRES_DSN is not set: PostgreSQL tests skipped",
        allow_module_level=True,
    )

psycopg = pytest.importorskip("psycopg")
from psycopg.conninfo import conninfo_to_dict, make_conninfo  # noqa: E402

from aligner_core.errors import StorageError  # noqa: E402
from aligner_core.storage.postgres import PostgresStorage  # noqa: E402

pytestmark = pytest.mark.postgres

_RUN = f"aligner_test_{os.getpid()}_{secrets.token_hex(4)}_pool"


def _command(storage: PostgresStorage) -> int:
    """One short command: a case number (a read and a write on the server)."""
    with storage.unit_of_work() as uow:
        return uow.cases.next_number()


def _timed(what: Callable[[], Any]) -> tuple[float, Any]:
    began = time.monotonic()
    try:
        result: Any = what()
    except Exception as exc:  # the test looks at what came out
        result = exc
    return time.monotonic() - began, result


@pytest.fixture
def name() -> Iterator[str]:
    """This test's schema and application_name; the schema is dropped after."""
    made = f"{_RUN}_{secrets.token_hex(3)}"
    yield made
    assert DSN is not None
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{made}" CASCADE')


@pytest.fixture
def open_storage(name: str) -> Iterator[Callable[..., PostgresStorage]]:
    opened: list[PostgresStorage] = []

    def open_(dsn: str | None = None, **options: Any) -> PostgresStorage:
        assert DSN is not None
        conninfo = make_conninfo(dsn or DSN, application_name=name)
        storage = PostgresStorage(conninfo, schema=name, **options)
        opened.append(storage)
        return storage

    yield open_
    for storage in opened:
        storage.close()


def _terminate(name: str) -> int:
    """End every server process of this test's storages; how many."""
    assert DSN is not None
    with psycopg.connect(DSN, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchone()
    return int(row[0]) if row else 0


def test_connections_the_server_terminated_are_replaced_without_a_stall(
    open_storage: Callable[..., PostgresStorage], name: str
) -> None:
    storage = open_storage(min_size=4, max_size=4, timeout=5.0)
    with ThreadPoolExecutor(4) as pool:  # four connections in the pool, all used once
        assert len(set(pool.map(lambda _: _command(storage), range(8)))) == 8
    assert _terminate(name) == 4
    took, result = _timed(lambda: _command(storage))
    print(f"first command after the server terminated 4 pooled connections: {took:.3f} s")
    assert isinstance(result, int), result
    assert took < 1.0, f"the first command took {took:.3f} s (timeout 5 s)"
    _terminate(name)
    with ThreadPoolExecutor(4) as pool:  # and four at once
        timings = list(pool.map(lambda _: _timed(lambda: _command(storage)), range(4)))
    slowest = max(t for t, _ in timings)
    assert all(isinstance(r, int) for _, r in timings), timings
    assert slowest < 1.0, f"four concurrent commands, the slowest took {slowest:.3f} s"


def test_a_connection_terminated_while_handed_out_fails_that_command_only(
    open_storage: Callable[..., PostgresStorage], name: str
) -> None:
    storage = open_storage(max_size=2, timeout=5.0)
    uow = storage.unit_of_work()
    with uow:
        uow.cases.next_number()
        _terminate(name)
        took, result = _timed(uow.cases.next_number)
    assert type(result) is StorageError, repr(result)  # not a driver error, not a PoolTimeout
    assert isinstance(result.__cause__, psycopg.OperationalError)
    took, after = _timed(lambda: _command(storage))
    assert isinstance(after, int), after
    assert took < 1.0, f"the next command took {took:.3f} s"


def test_waiting_for_a_busy_pool_ends_by_the_timeout_with_a_storage_error(
    open_storage: Callable[..., PostgresStorage],
) -> None:
    storage = open_storage(max_size=1, timeout=0.5)
    with storage.unit_of_work() as holder:
        holder.cases.next_number()  # holds the only connection
        took, result = _timed(lambda: _command(storage))
    assert type(result) is StorageError and "no PostgreSQL connection free" in str(result)
    assert 0.45 <= took < 1.5, f"the wait took {took:.3f} s (timeout 0.5 s)"
    assert isinstance(_command(storage), int)  # handed back: usable again


# ---------------------------------------------------------------------- a restart, by proxy
class Proxy:
    """TCP between the pool and PostgreSQL; ``down()`` drops every connection and refuses
    new ones (the server is restarting), ``up()`` listens again on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.up()

    def up(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        listener, self._listener = self._listener, None
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in [listener, *sockets] if listener else sockets:
            with contextlib.suppress(OSError):  # wakes a thread blocked on it (close does not)
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    assert DSN is not None
    params = conninfo_to_dict(DSN)
    parts = urlsplit(DSN)
    host = str(params.get("host") or parts.hostname or "127.0.0.1")
    made = Proxy(host, int(params.get("port") or parts.port or 5432))
    yield made
    made.down()


def _through(proxy: Proxy) -> str:
    assert DSN is not None
    return make_conninfo(DSN, host="127.0.0.1", port=str(proxy.port))


def test_during_a_restart_a_command_fails_within_the_timeout_and_after_it_succeeds_at_once(
    open_storage: Callable[..., PostgresStorage], proxy: Proxy
) -> None:
    storage = open_storage(_through(proxy), min_size=2, max_size=4, timeout=2.0)
    assert isinstance(_command(storage), int)
    proxy.down()
    took, result = _timed(lambda: _command(storage))
    print(f"a command while the server is down: {type(result).__name__} after {took:.3f} s")
    assert type(result) is StorageError, repr(result)  # no PoolTimeout, no driver exception
    assert took < 2.0 + 0.5, f"the command failed after {took:.3f} s (timeout 2 s)"
    proxy.up()
    took, result = _timed(lambda: _command(storage))
    print(f"the first command once the server is back: {took:.3f} s")
    assert isinstance(result, int), result
    assert took < 0.5, f"the first command after the restart took {took:.3f} s"


def test_a_command_issued_during_a_short_restart_succeeds_when_the_server_is_back(
    open_storage: Callable[..., PostgresStorage], proxy: Proxy
) -> None:
    storage = open_storage(_through(proxy), min_size=2, max_size=4, timeout=5.0)
    assert isinstance(_command(storage), int)
    proxy.down()
    back = threading.Timer(1.0, proxy.up)
    back.start()
    try:
        took, result = _timed(lambda: _command(storage))
    finally:
        back.join()
    print(f"a command issued during a 1 s restart: {took:.3f} s")
    assert isinstance(result, int), result
    assert 0.9 <= took < 2.0, f"the command took {took:.3f} s (server back after 1 s)"
