"""``aligner-core dispatch``: send the outbox's e-mails over SMTP, once or until stopped.

Each round claims one batch of due messages and prints what became of them. With
``--once`` (the default) rounds run until nothing is due; with ``--forever`` an idle
round waits ``--interval`` seconds before the next. Ctrl-C or SIGTERM stop it after
the round in progress: it exits with code 0 and a summary line, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from aligner_core.notifications.dispatcher import DispatchReport

__all__ = ["add_arguments", "run_dispatch"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="storage URL, e.g. sqlite:///lab.db")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="until nothing is due (the default)")
    mode.add_argument("--forever", action="store_true", help="until Ctrl-C or SIGTERM")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between idle rounds")
    parser.add_argument("--smtp-host", required=True)
    parser.add_argument("--smtp-port", type=int, default=None, help="default 25, 587 or 465")
    parser.add_argument("--smtp-security", choices=("none", "starttls", "tls"), default="none")
    parser.add_argument("--smtp-user", default=None)
    parser.add_argument(
        "--smtp-password-env", metavar="VAR", help="the environment variable with the password"
    )
    parser.add_argument("--sender", default=None, help="the From address")
    parser.add_argument("--portal-url", default=None, help="the portal's address in links")


_PORTS = {"none": 25, "starttls": 587, "tls": 465}


def _line(label: str, r: DispatchReport) -> str:
    return f"{label}: {r.sent} sent, {r.retried} to retry, {r.dead} given up ({r.claimed} claimed)"


def run_dispatch(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Send due e-mails in rounds, a progress line each; 0 when stopped or done."""
    from aligner_core.bootstrap import connect
    from aligner_core.errors import ValidationError
    from aligner_core.notifications.dispatcher import DispatchReport
    from aligner_core.notifications.smtp import SmtpNotifier

    password = None
    if args.smtp_password_env:
        password = os.environ.get(args.smtp_password_env)
        if password is None:
            raise ValidationError.of("required", f"$.environ.{args.smtp_password_env}")
    notifier = SmtpNotifier(
        args.smtp_host,
        args.smtp_port or _PORTS[args.smtp_security],
        security=args.smtp_security,
        username=args.smtp_user,
        password=password,
    )
    options = {k: v for k, v in (("sender", args.sender), ("portal_url", args.portal_url)) if v}
    stop = threading.Event()

    def stopping(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, stopping) for s in (signal.SIGINT, signal.SIGTERM)}
    total, rounds = DispatchReport(), 0
    try:
        with connect(args.url, notifier=notifier, **options) as core:
            dispatcher = core.dispatcher()
            while not stop.is_set():
                report = dispatcher.run_once()
                rounds += 1
                total += report
                print(_line(f"round {rounds}", report), file=out, flush=True)
                if report.claimed:
                    continue
                if not args.forever or stop.wait(args.interval):
                    break
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    how = "stopped" if stop.is_set() else "done"
    print(_line(f"{how} after {rounds} rounds", total), file=out, flush=True)
    return 0
