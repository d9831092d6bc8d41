"""``aligner-core gc``: stale spool files go, recent ones stay, no database is made."""

from __future__ import annotations

import argparse
import io
import os
import time
from pathlib import Path

import pytest

from aligner_core import connect
from aligner_core.cli import main
from aligner_core.cli.gc import add_arguments, run_gc
from aligner_core.files.intake import SPOOL_PREFIX, SPOOL_SUFFIX


def _spool_file(directory: Path, name: str, age_hours: float) -> Path:
    path = directory / f"{SPOOL_PREFIX}{name}{SPOOL_SUFFIX}"
    path.write_bytes(b"x" * 100)
    then = time.time() - age_hours * 3600
    os.utime(path, (then, then))
    return path


def test_gc_removes_stale_spool_files_and_keeps_recent_ones(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    connect(url, spool_dir=str(spool), gc_on_open=False).shutdown()
    stale = _spool_file(spool, "stale", 30)
    recent = _spool_file(spool, "recent", 0.1)
    args = _parse(["--url", url, "--spool-dir", str(spool), "--grace-hours", "1"])
    out = io.StringIO()
    assert run_gc(args, out) == 0
    assert not stale.exists() and recent.exists()
    assert out.getvalue().startswith("gc: spool: 1 file(s), 100 bytes removed")


def test_gc_never_makes_a_database_and_refuses_a_negative_grace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.db"
    assert main(["gc", "--url", f"sqlite:///{missing}"]) == 2
    assert not missing.exists()
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    connect(url).shutdown()
    assert main(["gc", "--url", url, "--grace-hours", "-1"]) == 2
    assert "must be at least 0 @ $.grace_hours" in capsys.readouterr().err


def _parse(argv: list[str]) -> argparse.Namespace:

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)
