"""Uploads killed mid-way (SIGKILL, 30 times) leave nothing behind once the lab reopens.

A child process attaches large scans to draft cases on SQLite in a loop; the
test kills it at random moments, again and again. Reopening with a grace period
of zero then leaves no spool file and no blob that no case refers to (each of
which would hold patient scan data for ever).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

import aligner_core

pytestmark = pytest.mark.slow

CHILD = r"""
import sys
import aligner_core
from aligner_core import CaseKind, FileKind
from aligner_core.testing.factories import arch_stl, patient_details, set_up_lab

core = aligner_core.connect(f"sqlite:///{sys.argv[1]}", gc_on_open=False)
try:
    doctor = core.find_account("doctor-KILL").account_id  # set up by an earlier run
except aligner_core.NotFoundError:
    doctor = set_up_lab(core, "KILL").doctor
n = 0
while True:
    n += 1
    scan = arch_stl(120, 240 + n % 7)  # a few MB, different each time
    case = core.create_case(doctor, CaseKind.TREATMENT, patient_details())
    core.attach_file(doctor, case.case_id, FileKind.UPPER_SCAN, scan, "upper.stl")
    print("attached", n, flush=True)
"""


def test_thirty_kills_during_uploads_leave_no_spool_file_and_no_orphan_blob(
    tmp_path: Path,
) -> None:
    db = tmp_path / "kills.db"
    rng = random.Random(7)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for _ in range(30):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        time.sleep(rng.uniform(0.8, 2.5))  # start-up, then somewhere in an upload
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    spool = tmp_path / "kills.db.blobs" / ".incoming"

    def garbage(core: aligner_core.Core) -> tuple[list[Path], set[str], set[str]]:
        with core.storage.unit_of_work() as uow:
            referenced = uow.cases.file_digests()
        stored = {sha for sha, _ in core.blobs.list_blobs()}
        left = sorted(spool.glob("*")) if spool.exists() else []
        return left, stored - referenced, referenced

    look = aligner_core.connect(f"sqlite:///{db}", gc_on_open=False)
    left, orphans, _ = garbage(look)
    look.shutdown()
    assert left or orphans, "the kills left something to collect (else the test shows nothing)"

    core = aligner_core.connect(f"sqlite:///{db}", gc_grace=timedelta(0))  # collects at open
    try:
        left, orphans, referenced = garbage(core)
        assert (left, orphans) == ([], set())
        assert referenced, "some uploads finished between the kills"
        for sha in referenced:  # and nothing a case names was removed
            assert core.blobs.exists(sha)
    finally:
        core.shutdown()
