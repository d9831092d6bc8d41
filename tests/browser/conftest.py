"""Fixtures of the browser tests: the portal on a free loopback port, Debian's Chromium.

Outside CI a missing Chromium, Playwright or STL samples skip the tests with the reason;
under CI (``ALIGNER_CORE_CI=1``) they fail them.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ALIGNER_CORE_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Where the tests leave their screenshots (git-ignored).
SCREENSHOTS = ROOT / "build" / "screenshots"


def missing(what: str) -> None:
    """Skip with the reason; under CI, fail instead."""
    if os.environ.get("ALIGNER_CORE_CI"):
        pytest.fail(f"{what} (required under ALIGNER_CORE_CI)", pytrace=False)
    pytest.skip(what)


def samples_dir() -> Path:
    """``../shared/data/stl-samples`` beside the checkout (or beside a directory above it)."""
    for parent in ROOT.parents:
        candidate = parent / "shared" / "data" / "stl-samples"
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared" / "data" / "stl-samples"


@pytest.fixture(scope="session")
def samples() -> Path:
    found = samples_dir()
    if not (found / "binary").is_dir():
        missing(f"the shared STL samples are missing: {found}")
    return found


@dataclass
class Portal:
    """The running portal: its address and the library core behind it."""

    url: str
    core: Any
    admin: str = "admin"


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """The portal over SQLite in a temporary directory, served by uvicorn in a thread.

    A network exists (reference code ``SMILE-LAB``) with its admin, a planner and a
    production account; doctors register through the pages.
    """
    try:
        import uvicorn

        sys.path.insert(0, str(ROOT))
        from examples.portal.app import create_app
    except ImportError as e:
        missing(f"the portal's packages are missing ({e}): pip install -e '.[portal]'")
    from aligner_core.domain.accounts import Role
    from aligner_core.testing.factories import registration
    from aligner_core.testing.smtp_server import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    db = tmp_path_factory.mktemp("portal") / "lab.db"
    app = create_app(f"sqlite:///{db}", portal_url=base + "/")
    core = app.state.core
    _, admin = core.create_network("Smile Lab", "SMILE-LAB", registration("admin"))
    for role, name in ((Role.PLANNER, "planner"), (Role.PRODUCTION, "production")):
        account = core.register(registration(name, reference_code="SMILE-LAB"), role)
        core.activate(admin.account_id, account.account_id)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the portal did not start")
        time.sleep(0.05)
    yield Portal(base, core)
    server.should_exit = True
    thread.join(timeout=10)
    core.shutdown()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).is_file() or shutil.which(CHROMIUM) is None:
        missing(f"Chromium is missing at {CHROMIUM}: apt-get install chromium chromium-driver")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is missing: pip install -e '.[portal]'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
