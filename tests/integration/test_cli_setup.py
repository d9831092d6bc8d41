"""``aligner-core init`` and ``aligner-core dispatch`` as a lab runs them: in a subprocess."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import pytest

import aligner_core
from aligner_core.testing.factories import registration
from aligner_core.testing.smtp_server import LocalSmtpServer

INIT = ["--name", "Smile Lab", "--reference-code", "SMILE-LAB"]
ADMIN = ["--admin-email", "admin@lab.example", "--admin-username", "admin"]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aligner_core", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'lab.db'}"


def test_init_creates_the_network_and_its_active_admin(url: str) -> None:
    done = cli("init", "--url", url, *INIT, *ADMIN)
    assert done.returncode == 0, done.stderr
    assert "reference code: SMILE-LAB" in done.stdout
    admin_id = UUID(re.search(r"admin id:\s+(\S+)", done.stdout).group(1))  # type: ignore[union-attr]
    with aligner_core.connect(url) as core:
        admin = core.find_account("admin")
        assert admin.account_id == admin_id and admin.is_active
        assert admin.role is aligner_core.Role.ADMIN
        assert [a.account_id for a in core.network_admins("SMILE-LAB")] == [admin_id]


def test_init_refuses_a_taken_code_and_bad_options_without_a_traceback(url: str) -> None:
    assert cli("init", "--url", url, *INIT, *ADMIN).returncode == 0
    again = cli(
        "init", "--url", url, *INIT, "--admin-email", "b@lab.example", "--admin-username", "b"
    )
    assert again.returncode == 2 and "reference code is taken" in again.stderr
    bad = cli("init", "--url", url, *INIT, "--admin-email", "nope", "--admin-username", "x!")
    assert bad.returncode == 2
    assert "$.email" in bad.stderr and "$.username" in bad.stderr
    assert "Traceback" not in again.stderr + bad.stderr


def _activated_account(url: str) -> None:
    """A registration activated by the admin: an e-mail waits in the outbox."""
    with aligner_core.connect(url) as core:
        admin = core.find_account("admin")
        doctor = core.register(registration("dana", reference_code="SMILE-LAB"))
        core.activate(admin.account_id, doctor.account_id)


def test_dispatch_once_sends_what_is_due(url: str) -> None:
    assert cli("init", "--url", url, *INIT, *ADMIN).returncode == 0
    _activated_account(url)
    with LocalSmtpServer() as smtp:
        done = cli(
            "dispatch", "--url", url, "--once", "--smtp-host", smtp.host,
            "--smtp-port", str(smtp.port), "--smtp-security", "none",
            "--sender", "lab@lab.example",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert smtp.messages and all(m["From"] == "lab@lab.example" for m in smtp.messages)
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"round 1: [1-9]\d* sent, 0 to retry, 0 given up \(\d+ claimed\)", lines[0])
    assert lines[-1].startswith("done after ")
    again = cli("dispatch", "--url", url, "--smtp-host", "127.0.0.1", "--smtp-port", "9")
    assert again.returncode == 0 and again.stdout.startswith("round 1: 0 sent")


def test_dispatch_logs_in_with_the_password_from_the_environment(url: str) -> None:
    assert cli("init", "--url", url, *INIT, *ADMIN).returncode == 0
    _activated_account(url)
    with LocalSmtpServer() as smtp:
        # this server offers no AUTH: the login fails, the message waits for a retry
        done = cli(
            "dispatch", "--url", url, "--smtp-host", smtp.host, "--smtp-port", str(smtp.port),
            "--smtp-user", "lab", "--smtp-password-env", "LAB_PW", env={"LAB_PW": "secret"},
        )  # fmt: skip
        assert not smtp.messages
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("round 1: 0 sent, 1 to retry, 0 given up")
    assert "Traceback" not in done.stderr


def test_dispatch_refuses_a_missing_password_variable(url: str) -> None:
    done = cli(
        "dispatch", "--url", url, "--smtp-host", "127.0.0.1", "--smtp-user", "lab",
        "--smtp-password-env", "ALIGNER_CORE_NO_SUCH_VARIABLE",
    )  # fmt: skip
    assert done.returncode == 2
    assert "ALIGNER_CORE_NO_SUCH_VARIABLE" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_dispatch_forever_stops_cleanly_on_a_signal(url: str, signum: int) -> None:
    assert cli("init", "--url", url, *INIT, *ADMIN).returncode == 0
    _activated_account(url)
    with LocalSmtpServer() as smtp:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "aligner_core", "dispatch", "--url", url, "--forever",
                "--interval", "0.2", "--smtp-host", smtp.host, "--smtp-port", str(smtp.port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not smtp.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # an idle round or two
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert out.splitlines()[0].startswith("round 1: ")
    assert out.splitlines()[-1].startswith("stopped after ")
    assert smtp.messages
