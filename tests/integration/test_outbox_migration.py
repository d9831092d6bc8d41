"""Schema versions 3 to 6 on a version 2 database: the outbox's new columns, and entries the old
policy gave up on after temporary failures moved to ``stalled`` (permanent failures stay dead).
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from aligner_core.domain.outbox import DeliveryState, OutboxEntry
from aligner_core.serialization import make_converter
from aligner_core.storage import sqlite as sqlite_module
from aligner_core.storage.sql.columns import encode_time
from aligner_core.storage.sqlite import APPLICATION_ID, DB_SCHEMA_VERSION, SqliteStorage
from aligner_core.testing.contracts.storage import T0, account, network, outbox_entry

DSN = os.environ.get("ALIGNER_CORE_TEST_POSTGRES_DSN")


def _old_entries() -> dict[str, OutboxEntry]:
    """What a version 2 outbox may hold: waiting, given up after retries, refused, sent."""
    doctor = account(network(), "doc")
    made = {n: outbox_entry(doctor, at=T0 + timedelta(seconds=i)) for i, n in enumerate("wgps")}
    return {
        "waiting": attrs.evolve(made["w"], attempts=2, last_error="421 later"),
        "gave_up": attrs.evolve(
            made["g"],
            state=DeliveryState.DEAD,
            attempts=8,
            last_error="gave up after 8 attempts: TemporaryDeliveryError: no notifier configured",
        ),
        "refused": attrs.evolve(
            made["p"], state=DeliveryState.DEAD, attempts=1, last_error="permanent failure: 550"
        ),
        "sent": attrs.evolve(made["s"], state=DeliveryState.SENT, attempts=0, sent_at=T0),
    }


def _row(e: OutboxEntry) -> tuple[Any, ...]:
    """The row as version 2 wrote it: its document without the fields version 4 added."""
    doc = json.loads(make_converter().document_dumps(e))
    for new in ("lease_token", "failing_since", "unconfirmed_sends"):
        del doc[new]
    sent = None if e.sent_at is None else encode_time(e.sent_at)
    return (
        str(e.entry_id), e.state.value, encode_time(e.next_attempt_at), None,
        encode_time(e.created_at), json.dumps(doc), e.attempts, e.last_error, sent,
    )  # fmt: skip


def _check_migrated(storage: Any, old: dict[str, OutboxEntry]) -> None:
    with storage.unit_of_work() as uow:
        for name, entry in old.items():
            expected = entry
            if name == "gave_up":
                expected = attrs.evolve(entry, state=DeliveryState.STALLED)
            assert uow.outbox.get(entry.entry_id) == expected, name
        assert [e.entry_id for e in uow.outbox.stalled()] == [old["gave_up"].entry_id]
        assert [e.entry_id for e in uow.outbox.dead()] == [old["refused"].entry_id]
        # the new columns work: a fenced save of a claimed entry
        (claimed,) = uow.outbox.claim(T0 + timedelta(hours=1), T0 + timedelta(hours=2), 1)
        assert claimed.entry_id == old["waiting"].entry_id and claimed.lease_token is not None
        uow.outbox.save(claimed.unconfirmed(T0, "no answer", T0), token=claimed.lease_token)
        uow.commit()
    with storage.unit_of_work() as uow:
        assert uow.outbox.get(old["waiting"].entry_id).unconfirmed_sends == 1


def test_a_version_2_sqlite_outbox_is_migrated(tmp_path: Path) -> None:
    db = tmp_path / "v2.sqlite"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(f"PRAGMA page_size = {sqlite_module.PAGE_SIZE}")
    conn.execute("PRAGMA journal_mode = WAL")
    for migration in sqlite_module._MIGRATIONS[:2]:
        for statement in migration:
            conn.execute(statement)
    conn.execute("INSERT INTO meta VALUES ('link_secret', ?)", (b"s" * 32,))
    old = _old_entries()
    conn.executemany(
        "INSERT INTO outbox (entry_id, state, next_attempt_at, lease_until, created_at, doc, "
        "attempts, last_error, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [_row(e) for e in old.values()],
    )
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 2")
    conn.close()
    storage = SqliteStorage(db)
    try:
        _check_migrated(storage, old)
        version = storage._conn().execute("PRAGMA user_version").fetchone()[0]
        assert version == DB_SCHEMA_VERSION == 7
    finally:
        storage.close()


@pytest.fixture
def pg_schema() -> Iterator[str]:
    if not DSN:
        pytest.skip("ALIGNER_CORE_TEST_POSTGRES_DSN is not set: PostgreSQL tests skipped")
    psycopg = pytest.importorskip("psycopg")
    name = f"aligner_test_{os.getpid()}_{secrets.token_hex(4)}_outbox_v2"
    yield name
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.mark.postgres
def test_a_version_2_postgres_outbox_is_migrated(pg_schema: str) -> None:
    import psycopg

    from aligner_core.storage import postgres as pg

    assert DSN is not None
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{pg_schema}"')
        conn.execute(f'SET search_path TO "{pg_schema}"')
        conn.execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for version in (1, 2):
            for statement in pg._MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
        old = _old_entries()
        for e in old.values():
            conn.execute(
                "INSERT INTO outbox (entry_id, state, next_attempt_at, lease_until, created_at, "
                "doc, attempts, last_error, sent_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                _row(e),
            )
    storage = pg.PostgresStorage(DSN, schema=pg_schema)
    try:
        _check_migrated(storage, old)
    finally:
        storage.close()
