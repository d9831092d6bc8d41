"""E-mail notifications end to end: a local SMTP server, a case lifecycle, the dispatcher.

Starts an aiosmtpd server on 127.0.0.1 (a free port), wires a memory core to it
with the SMTP notifier, runs a short lifecycle (accounts, draft, scans, submit,
plan, comments both ways, approval, shipping), sends the outbox, and prints
every e-mail the server received: headers and the plain-text part. The patient
appears nowhere in them; the case number identifies the case.

    python examples/email_notifications.py
"""

from __future__ import annotations

import aligner_core
from aligner_core.bootstrap import Core
from aligner_core.notifications.smtp import SmtpNotifier
from aligner_core.testing.factories import plan_summary, set_up_lab
from aligner_core.testing.smtp_server import LocalSmtpServer


def main() -> int:
    with LocalSmtpServer() as server:
        notifier = SmtpNotifier(server.host, server.port, timeout=5.0)
        with aligner_core.connect("memory://", notifier=notifier) as core:
            return run(core, server)


def run(core: Core, server: LocalSmtpServer) -> int:
    """The lifecycle, the dispatch, and the print-out; 0 when every e-mail arrived clean."""
    lab = set_up_lab(core)  # registers and activates a doctor, a planner, production
    case_id = lab.ready_case(last_name="Mustermann")  # draft, both scans, confirmations
    core.submit(lab.doctor, case_id)
    core.comment(lab.doctor, case_id, "Patient wants the upper arch first.")
    core.upload_plan(lab.planner, case_id, plan_summary())
    core.comment(lab.planner, case_id, "Plan 1 is up, please review.")
    core.accept_plan(lab.doctor, case_id, 1)
    core.ship(lab.production, case_id, carrier="DHL", tracking_number="JD014600003")

    dispatcher = core.dispatcher(base_url="https://portal.example", sender="lab@example.org")
    totals = dispatcher.run_until_idle()
    print(f"dispatcher: {totals.sent} sent, {totals.retried} retried, {totals.dead} dead\n")
    for message in server.messages:
        for header in ("Message-ID", "From", "To", "Subject", "Date"):
            print(f"{header}: {message[header]}")
        text = message.get_body(preferencelist=("plain",))
        print()
        print(text.get_content().rstrip() if text is not None else "(no text part)")  # type: ignore[attr-defined]
        print("=" * 72)
    leaked = any("Mustermann" in m.as_string() for m in server.messages)
    print(f"{len(server.messages)} e-mails received; patient name in any: {leaked}")
    return 1 if leaked or totals.sent != len(server.messages) else 0


if __name__ == "__main__":
    raise SystemExit(main())
