"""Four processes hammer 50 cases on one PostgreSQL schema; three dispatchers drain the outbox.

What it shows (the issue's acceptance criteria for the PostgreSQL adapter):

- every lost race surfaces as ``ConcurrencyConflictError`` (any other
  exception fails the test);
- no lost update: each successful command appended exactly one history entry
  and bumped the version by one (``Service._act``), so for every case
  ``version - initial version == history entries added``, and the sum over all
  cases equals the successes the workers counted; every successful comment is
  on its case;
- every outbox entry is sent by one of three concurrent dispatcher processes
  exactly once (``FOR UPDATE SKIP LOCKED`` claims with leases).

Workers are ``spawn``-ed processes, each with its own ``connect(dsn, schema=...)``.
Hold/release of a case is done only by the worker that "owns" it (so the status
it reads is the status it acts on); comments by doctors and planners go to
every case from every worker, racing with each other and with holds.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import secrets
import time
from collections import Counter
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

DSN = os.environ.get("ALIGNER_CORE_TEST_POSTGRES_DSN")
if not DSN:
    pytest.skip(
        "ALIGNER_CORE_TEST_POSTGRES_DSN is not set: PostgreSQL tests skipped",
        allow_module_level=True,
    )

psycopg = pytest.importorskip("psycopg")
from psycopg import sql  # noqa: E402

from aligner_core.bootstrap import Core, connect  # noqa: E402
from aligner_core.domain.cases import CaseStatus  # noqa: E402
from aligner_core.errors import ConcurrencyConflictError  # noqa: E402
from aligner_core.files.blobs import MemoryBlobStore  # noqa: E402
from aligner_core.testing.contracts.storage import case as make_case  # noqa: E402
from aligner_core.testing.factories import Lab  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CASES = 50
WORKERS = 4
DISPATCHERS = 3
HAMMER_SECONDS = 8.0


def _core(dsn: str, schema: str, **options: Any) -> Core:
    """A worker's core; the link key is given, so no key file lands in the working directory."""
    memory = {"blobs": MemoryBlobStore(), "link_secret": b"hammer-link-key!" * 2}
    return connect(dsn, schema=schema, max_size=2, **memory, **options)


def _hammer(
    dsn: str, schema: str, me: int, case_ids: list[str], cast: dict[str, str], seed: int
) -> dict[str, int]:
    """One worker: random commands on random cases until the time is up; the counts."""
    rnd = random.Random(seed)
    ids = [UUID(c) for c in case_ids]
    doctor, planner = UUID(cast["doctor"]), UUID(cast["planner"])
    counts: Counter[str] = Counter()
    core = _core(dsn, schema)
    try:
        deadline = time.monotonic() + HAMMER_SECONDS
        while time.monotonic() < deadline:
            index = rnd.randrange(len(ids))
            case_id = ids[index]
            try:
                if index % WORKERS == me and rnd.random() < 0.4:
                    # only this worker changes this case's status: what it reads holds
                    with core.storage.unit_of_work() as uow:
                        status = uow.cases.get(case_id).status
                    if status is CaseStatus.ON_HOLD:
                        core.release(planner, case_id)
                        counts["release"] += 1
                    else:
                        core.hold(planner, case_id, f"waiting for the doctor ({me})")
                        counts["hold"] += 1
                else:
                    author = doctor if rnd.random() < 0.5 else planner
                    core.comment(author, case_id, f"worker {me} says {rnd.random():.6f}")
                    counts["comment"] += 1
            except ConcurrencyConflictError:
                counts["conflict"] += 1
    finally:
        core.storage.close()
    return dict(counts)


class _FileNotifier:
    """Appends each message's Message-ID to a per-process file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def send(self, message: EmailMessage) -> None:
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(f"{message['Message-ID']}\n")


def _dispatch(dsn: str, schema: str, path: str) -> dict[str, int]:
    core = _core(dsn, schema, notifier=_FileNotifier(path))
    try:
        dispatcher = core.dispatcher(lease=timedelta(minutes=10), batch_size=10)
        report = dispatcher.run_until_idle(max_rounds=100_000)
    finally:
        core.storage.close()
    return {"claimed": report.claimed, "sent": report.sent, "unmarked": report.unmarked}


def _drop(schema: str) -> None:
    assert DSN is not None
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def test_four_hammering_processes_lose_nothing_and_three_dispatchers_send_once(
    tmp_path: Path,
) -> None:
    assert DSN is not None
    schema = f"aligner_test_{os.getpid()}_{secrets.token_hex(4)}_hammer"
    try:
        core = _core(DSN, schema)
        try:
            lab = Lab(core)
            with core.storage.unit_of_work() as uow:
                doctor = uow.accounts.get(lab.doctor)
                cases = [
                    make_case(uow.cases.next_number(), doctor, status=CaseStatus.IN_PLANNING)
                    for _ in range(CASES)
                ]
                for c in cases:
                    uow.cases.add(c)
                uow.commit()
            initial = {c.case_id: (c.version, len(c.history), len(c.comments)) for c in cases}
        finally:
            core.storage.close()

        spawn = multiprocessing.get_context("spawn")
        case_ids = [str(c.case_id) for c in cases]
        cast = {"doctor": str(lab.doctor), "planner": str(lab.planner)}
        with spawn.Pool(WORKERS) as pool:
            results = pool.starmap(
                _hammer,
                [(DSN, schema, me, case_ids, cast, 1000 + me) for me in range(WORKERS)],
            )
        totals: Counter[str] = Counter()
        for counts in results:
            totals.update(counts)
        successes = totals["comment"] + totals["hold"] + totals["release"]
        assert successes > 100, totals
        assert totals["conflict"] > 0, f"no conflict surfaced; the test raced nothing: {totals}"

        core = _core(DSN, schema)
        try:
            with core.storage.unit_of_work() as uow:
                final = {case_id: uow.cases.get(case_id) for case_id in initial}
                pending = len(uow.outbox.pending())
            bumped = 0
            comments = 0
            for case_id, after in final.items():
                version0, history0, comments0 = initial[case_id]
                added = after.history[history0:]
                assert after.version - version0 == len(added), (case_id, after.version)
                assert {h.action for h in added} <= {"comment", "hold", "release"}
                assert len(after.comments) - comments0 == sum(h.action == "comment" for h in added)
                bumped += after.version - version0
                comments += len(after.comments) - comments0
            assert bumped == successes, (bumped, totals)
            assert comments == totals["comment"]
        finally:
            core.storage.close()
        assert pending > 0

        paths = [str(tmp_path / f"sent-{i}.txt") for i in range(DISPATCHERS)]
        with spawn.Pool(DISPATCHERS) as pool:
            reports = pool.starmap(_dispatch, [(DSN, schema, p) for p in paths])
        sent_ids: list[str] = []
        for p in paths:
            if os.path.exists(p):
                sent_ids.extend(Path(p).read_text(encoding="utf-8").split())
        core = _core(DSN, schema)
        try:
            with core.storage.unit_of_work() as uow:
                assert uow.outbox.pending() == []
                assert uow.outbox.dead() == []
                expected = sorted(e.message_id for e in uow.outbox.sent())
        finally:
            core.storage.close()
        duplicates = [m for m, n in Counter(sent_ids).items() if n > 1]
        assert duplicates == []
        assert sorted(sent_ids) == expected
        assert len(expected) == pending
        assert sum(r["sent"] for r in reports) == pending
        assert sum(r["unmarked"] for r in reports) == 0
        assert sum(1 for r in reports if r["sent"]) >= 2, reports  # the work was shared
        print(f"hammer: {dict(totals)}; dispatchers: {reports}")  # shown with -s
    finally:
        _drop(schema)
