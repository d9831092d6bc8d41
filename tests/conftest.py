"""Session checks shared by every test module."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Machines here are small and shared: time is no property of this code, so no deadlines.
settings.register_profile("aligner", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("aligner")

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "stl-samples"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under CI (ALIGNER_CORE_CI=1) what a test needs must be there: fail, never skip.

    PostgreSQL must answer at ALIGNER_CORE_TEST_POSTGRES_DSN and the shared STL
    samples must sit beside the checkout.
    """
    if not os.environ.get("ALIGNER_CORE_CI"):
        return
    if not SAMPLES.is_dir():
        pytest.exit(f"the shared STL samples are missing: {SAMPLES}", 1)
    dsn = os.environ.get("ALIGNER_CORE_TEST_POSTGRES_DSN")
    if not dsn:
        pytest.exit("ALIGNER_CORE_TEST_POSTGRES_DSN must be set under CI", 1)
    try:
        import psycopg

        psycopg.connect(dsn, connect_timeout=5).close()
    except Exception as e:  # any failure here means the run cannot be trusted
        pytest.exit(f"PostgreSQL at {dsn} is unreachable: {e}", 1)
