"""Several processes on one SQLite file: no lost update, nothing partial after SIGKILL."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import attrs
import pytest

from aligner_core.domain.cases import CaseStatus
from aligner_core.errors import ConcurrencyConflictError
from aligner_core.storage.sqlite import SqliteStorage

pytestmark = pytest.mark.slow

SPAWN = multiprocessing.get_context("spawn")


def _update_once(path: str, case_id: str, start: Any, results: Any) -> None:
    """Child: read the case, wait for the sibling, then try to write the next version."""
    storage = SqliteStorage(path, busy_timeout=10)
    with storage.unit_of_work() as uow:
        current = uow.cases.get(UUID(case_id))
        start.wait()
        try:
            uow.cases.update(
                attrs.evolve(current, status=CaseStatus.CANCELLED, version=current.version + 1)
            )
            uow.commit()
            results.put("committed")
        except ConcurrencyConflictError:
            results.put("conflict")
    storage.close()


def _comment_forever(path: str, planner: str, case_ids: list[str], ready: Any) -> None:
    """Child: comment on cases in a loop until killed (each comment queues outbox entries)."""
    from aligner_core.bootstrap import connect

    core = connect("sqlite:///" + path)
    n = 0
    while True:
        core.comment(UUID(planner), UUID(case_ids[n % len(case_ids)]), f"note {n}")
        n += 1
        if n == 20:
            ready.set()


def _relative(path: Path) -> str:
    # bootstrap reads sqlite:///x as the relative path x; pass an absolute one as ////abs
    return "/" + str(path) if str(path).startswith("/") else str(path)


def _lab(path: Path, cases: int) -> tuple[Any, list[UUID]]:
    from aligner_core.bootstrap import connect
    from aligner_core.testing.factories import set_up_lab

    core = connect("sqlite:///" + _relative(path))
    lab = set_up_lab(core)
    ids = []
    for _ in range(cases):
        case_id = lab.ready_case()
        core.submit(lab.doctor, case_id)
        ids.append(case_id)
    return (core, lab), ids


def test_two_processes_updating_one_case_one_commits_one_conflicts(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    (core, lab), (case_id,) = _lab(path, 1)
    before = core.get_case(lab.doctor, case_id).case
    start, results = SPAWN.Barrier(2), SPAWN.Queue()
    workers = [
        SPAWN.Process(target=_update_once, args=(str(path), str(case_id), start, results))
        for _ in range(2)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    assert sorted(results.get(timeout=5) for _ in workers) == ["committed", "conflict"]
    storage = SqliteStorage(path)
    with storage.unit_of_work() as uow:
        after = uow.cases.get(case_id)
    assert after.version == before.version + 1 and after.status is CaseStatus.CANCELLED
    assert after.history == before.history
    storage.close()
    core.shutdown()


def test_a_writer_killed_mid_loop_leaves_nothing_partial_and_no_lost_outbox_entry(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cases.db"
    (core, lab), case_ids = _lab(path, 3)
    versions = {c: core.get_case(lab.doctor, c).case.version for c in case_ids}
    core.shutdown()
    ready = SPAWN.Event()
    writer = SPAWN.Process(
        target=_comment_forever,
        args=(_relative(path), str(lab.planner), [str(c) for c in case_ids], ready),
    )
    writer.start()
    assert ready.wait(60), "the writer never got going"
    time.sleep(0.3)
    assert writer.pid is not None
    os.kill(writer.pid, signal.SIGKILL)
    writer.join(10)
    assert writer.exitcode == -signal.SIGKILL

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    storage = SqliteStorage(path)
    total_comments = 0
    with storage.unit_of_work() as uow:
        pending = uow.outbox.pending()
        notified = {e.event.get("comment") for e in pending if e.recipient_id == lab.doctor}
        for case_id in case_ids:
            stored = uow.cases.get(case_id)
            added = len(stored.comments)
            total_comments += added
            # one version and one history line per committed comment, nothing half-written
            assert stored.version == versions[case_id] + added
            assert sum(1 for h in stored.history if h.action == "comment") == added
            for note in stored.comments:
                assert str(note.comment_id) in notified, "a committed comment lost its outbox entry"
    assert total_comments >= 20
    storage.close()
