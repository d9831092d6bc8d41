"""``aligner-core outbox list|show|retry|requeue`` on a SQLite database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import aligner_core
from aligner_core.cli import main
from aligner_core.clock import ManualClock
from aligner_core.domain.outbox import DeliveryState
from aligner_core.errors import PermanentDeliveryError, TemporaryDeliveryError
from aligner_core.notifications.notifiers import MemoryNotifier
from aligner_core.testing.factories import set_up_lab

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A lab whose three activation e-mails failed: one dead (550), two stalled (421)."""
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    clock = ManualClock(START, tick=timedelta(0))
    notifier = MemoryNotifier()
    notifier.fail_next(
        PermanentDeliveryError("550 5.1.1 no such user"),
        TemporaryDeliveryError("421"),
        TemporaryDeliveryError("421"),
    )
    with aligner_core.connect(url, notifier=notifier, clock=clock, max_attempts=1) as core:
        set_up_lab(core)
        assert core.dispatcher().run_once().stalled == 2
    return url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["outbox", *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def entries(url: str, state: DeliveryState) -> list[str]:
    with aligner_core.connect(url) as core:
        return [str(e.entry_id) for e in core.dispatcher().entries(state)]


def test_list_counts_every_state_and_shows_dead_and_stalled_entries(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (dead,), (stalled, _) = entries(url, DeliveryState.DEAD), entries(url, DeliveryState.STALLED)
    code, out = run(capsys, "list", "--url", url)
    assert code == 0
    assert out.splitlines()[0] == "outbox: 0 pending, 2 stalled, 1 dead, 0 sent"
    assert f"  {dead}  account_activated" in out and "550 5.1.1 no such user" in out
    assert f"  {stalled}  account_activated" in out and "probe 2026-01-05 15:00:00Z" in out
    assert "@" not in out.replace("@example", "")  # no addresses in the list
    code, out = run(capsys, "list", "--url", url, "--state", "stalled", "--limit", "1")
    assert code == 0 and "stalled (1 of 2):" in out and "dead (" not in out


def test_show_prints_one_entry_in_full(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    (dead,) = entries(url, DeliveryState.DEAD)
    code, out = run(capsys, "show", dead, "--url", url)
    assert code == 0
    lines = dict(line.split(":", 1) for line in out.splitlines())
    assert lines["state"].strip() == "dead" and lines["attempts"].strip() == "1"
    assert "550 5.1.1 no such user" in lines["last error"]
    assert lines["message id"].strip().endswith(">")


def test_requeue_and_retry_make_entries_due_and_say_which(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (dead,), stalled = entries(url, DeliveryState.DEAD), entries(url, DeliveryState.STALLED)
    code, out = run(capsys, "requeue", dead, stalled[0], "--url", url)
    assert code == 1  # the stalled one is not dead
    assert f"requeued: {dead}" in out and f"unchanged (not dead): {stalled[0]}" in out
    code, out = run(capsys, "retry", stalled[1], "--url", url)
    assert code == 0 and out.splitlines() == [f"due again: {stalled[1]}", "1 due again"]
    code, out = run(capsys, "retry", "--url", url)  # all the others
    assert code == 0 and out.splitlines() == [f"due again: {stalled[0]}", "1 due again"]
    assert sorted(entries(url, DeliveryState.PENDING)) == sorted([dead, *stalled])
    code, out = run(capsys, "retry", dead, "--url", url)  # pending, due already: due now
    assert code == 0 and f"due again: {dead}" in out
    notifier = MemoryNotifier()
    with aligner_core.connect(url, notifier=notifier) as core:  # the next dispatch sends them
        assert core.dispatcher().run_until_idle().sent == 3
    assert len(notifier.messages) == 3


def test_refusals_exit_with_2_and_a_coded_message(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "show", "not-an-id", "--url", url)
    assert code == 2 and "must be an identifier (UUID) @ $.ids[0]" in out
    code, out = run(capsys, "show", "00000000-0000-4000-8000-000000000001", "--url", url)
    assert code == 2 and "not found" in out
    missing = f"sqlite:///{tmp_path / 'nowhere.db'}"
    code, out = run(capsys, "list", "--url", missing)
    assert code == 2 and "no database there" in out
    assert not (tmp_path / "nowhere.db").exists()
    with pytest.raises(SystemExit):
        main(["outbox", "requeue", "--url", url])  # requeue needs IDs
