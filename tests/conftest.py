"""Session checks shared by every test module."""

from __future__ import annotations

import os

import pytest


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under CI (ALIGNER_CORE_REQUIRE_POSTGRES=1) a missing PostgreSQL fails the run."""
    if not os.environ.get("ALIGNER_CORE_REQUIRE_POSTGRES"):
        return
    dsn = os.environ.get("ALIGNER_CORE_TEST_POSTGRES_DSN")
    if not dsn:
        pytest.exit("ALIGNER_CORE_TEST_POSTGRES_DSN must be set when PostgreSQL is required", 1)
    try:
        import psycopg

        psycopg.connect(dsn, connect_timeout=5).close()
    except Exception as e:  # any failure here means the run cannot be trusted
        pytest.exit(f"PostgreSQL at {dsn} is unreachable: {e}", 1)
