"""``aligner-core outbox``: look into the e-mail outbox of a database and repair it.

::

    aligner-core outbox list --url URL [--state STATE] [--limit N]
    aligner-core outbox show ID --url URL
    aligner-core outbox retry [ID...] --url URL
    aligner-core outbox requeue ID... --url URL

``list`` counts the entries per state and lists those needing attention (dead and
stalled ones, or the ``--state`` asked for). ``show`` prints one entry. ``retry``
makes stalled entries, and pending ones waiting for their next attempt, due now
with a fresh retry period (all of them, or the IDs given); ``requeue`` does the
same for dead entries, counting attempts from zero. Nothing is sent here: the
next ``aligner-core dispatch`` round sends what became due. The exit status is 0,
1 when an ID given was not changed, 2 on an error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TextIO
from uuid import UUID

if TYPE_CHECKING:
    from aligner_core.notifications.dispatcher import Dispatcher
    from aligner_core.notifications.outbox import OutboxEntry

__all__ = ["add_arguments", "run_outbox"]

_STATES = ("pending", "stalled", "dead", "sent")
_ERROR_WIDTH = 90


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``outbox`` subcommands, on the parser ``aligner-core`` made for it."""
    url = argparse.ArgumentParser(add_help=False)
    url.add_argument("--url", required=True, help="storage URL, e.g. sqlite:///lab.db")
    actions = parser.add_subparsers(dest="outbox_action", required=True)
    listing = actions.add_parser("list", parents=[url], help="counts, and entries needing care")
    listing.add_argument(
        "--state", choices=_STATES, help="list this state (default: dead, stalled)"
    )
    listing.add_argument("--limit", type=int, default=50, help="entries per state (default 50)")
    show = actions.add_parser("show", parents=[url], help="one entry in full")
    show.add_argument("id")
    retry = actions.add_parser("retry", parents=[url], help="stalled or waiting entries due now")
    retry.add_argument("ids", nargs="*", metavar="ID", help="only these (default: all)")
    requeue = actions.add_parser("requeue", parents=[url], help="dead entries due now")
    requeue.add_argument("ids", nargs="+", metavar="ID")
    parser.set_defaults(run=run_outbox)


def run_outbox(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run one ``outbox`` subcommand against the database at ``args.url`` (prints to ``out``,
    standard output by default)."""
    from aligner_core.bootstrap import connect

    out = out or sys.stdout

    ids = _ids(getattr(args, "ids", None) or ([args.id] if getattr(args, "id", None) else []))
    _check_exists(args.url)
    with connect(args.url) as core:
        dispatcher = core.dispatcher()
        action = args.outbox_action
        if action == "list":
            return _list(dispatcher, args.state, args.limit, out)
        if action == "show":
            _show(dispatcher.entry(ids[0]), out)
            return 0
        if action == "retry":
            done = dispatcher.retry(ids or None)
            return _changed("due again", "not stalled or waiting, or being sent", ids, done, out)
        done = dispatcher.requeue(ids)
        return _changed("requeued", "not dead", ids, done, out)


def _ids(texts: Sequence[str]) -> list[UUID]:
    from aligner_core.errors import ValidationError

    found = []
    for i, text in enumerate(texts):
        try:
            found.append(UUID(text))
        except ValueError:
            raise ValidationError.of("invalid_uuid", f"$.ids[{i}]") from None
    return found


def _check_exists(url: str) -> None:
    """An SQLite URL names a database that exists (these commands never make one)."""
    import os

    from aligner_core.bootstrap import _sqlite_path
    from aligner_core.errors import ValidationError

    if url.lower().startswith("sqlite:") and not os.path.exists(_sqlite_path(url)):
        raise ValidationError.of("database_missing", "$.url")


def _when(at: datetime | None) -> str:
    return "-" if at is None else at.strftime("%Y-%m-%d %H:%M:%SZ")


def _line(entry: OutboxEntry) -> str:
    from aligner_core.notifications.outbox import DeliveryState

    number = entry.event.case_number
    error = (entry.last_error or "").replace("\n", " ")
    if len(error) > _ERROR_WIDTH:
        error = error[: _ERROR_WIDTH - 3] + "..."
    when = {
        DeliveryState.PENDING: f"next {_when(entry.next_attempt_at)}",
        DeliveryState.STALLED: f"probe {_when(entry.next_attempt_at)}",
        DeliveryState.SENT: f"sent {_when(entry.sent_at)}",
    }.get(entry.state, f"made {_when(entry.created_at)}")
    tries = f"{entry.attempts} attempt{'' if entry.attempts == 1 else 's'}"
    case = f"case {number if number is not None else '-'}"
    return (
        f"  {entry.entry_id}  {entry.event.type.value:<22} {case:<11} {tries:>11}  {when}  {error}"
    )


def _list(dispatcher: Dispatcher, state: str | None, limit: int, out: TextIO) -> int:
    from aligner_core.notifications.outbox import DeliveryState

    counts = dispatcher.counts()
    summary = ", ".join(f"{counts.get(DeliveryState(s), 0)} {s}" for s in _STATES)
    print(f"outbox: {summary}", file=out)
    for name in (state,) if state else ("dead", "stalled"):
        listed = dispatcher.entries(DeliveryState(name), limit=limit)
        total = counts.get(DeliveryState(name), 0)
        shown = f"{len(listed)} of {total}" if len(listed) < total else f"{total}"
        print(f"{name} ({shown}):", file=out)
        for entry in listed:
            print(_line(entry), file=out)
    return 0


def _show(entry: OutboxEntry, out: TextIO) -> None:
    fields = [
        ("entry", str(entry.entry_id)),
        ("state", entry.state.value),
        ("event", entry.event.type.value),
        ("case", "-" if entry.event.case_number is None else str(entry.event.case_number)),
        ("recipient", f"{entry.recipient_email} (account {entry.recipient_id})"),
        ("language", entry.language),
        ("message id", entry.message_id),
        ("created", _when(entry.created_at)),
        ("attempts", str(entry.attempts)),
        ("next attempt", _when(entry.next_attempt_at)),
        ("failing since", _when(entry.failing_since)),
        ("unconfirmed sends", str(entry.unconfirmed_sends)),
        ("sent", _when(entry.sent_at)),
        ("leased until", _when(entry.lease_until)),
        ("last error", entry.last_error or "-"),
    ]
    for label, value in fields:
        print(f"{label + ':':<19}{value}", file=out)


def _changed(verb: str, why_not: str, asked: list[UUID], done: Sequence[UUID], out: TextIO) -> int:
    for entry_id in done:
        print(f"{verb}: {entry_id}", file=out)
    missed = [i for i in asked if i not in set(done)]
    for entry_id in missed:
        print(f"unchanged ({why_not}): {entry_id}", file=out)
    print(f"{len(done)} {verb}", file=out)
    return 1 if missed else 0
