"""Silicone impressions by post (ClearCorrect PVS, the Aligner Portal's impressions), end to end.

The doctor chooses impressions by post, records the parcel (carrier and tracking
number stand in for the scans) and submits; the lab marks the impressions received,
attaches the scans it digitised and sends the case on to planning. The planner
finds the bite unusable and asks for new records: the case waits on the doctor,
the lab's turnaround paused, until the upload resumes it. Prints the timeline.
"""

from __future__ import annotations

import sys
from datetime import timedelta

import aligner_core
from aligner_core import CaseKind, FileKind, ImpressionType
from aligner_core.cli.demo import print_timeline
from aligner_core.domain.events import EventType
from aligner_core.testing.factories import arch_stl, patient_details, plan_summary, set_up_lab


def main() -> int:
    core = aligner_core.connect("memory://")
    lab = set_up_lab(core, "SMILE-LAB")
    names = {lab.doctor: "doctor", lab.planner: "planner", lab.production: "production"}

    def later(hours: int) -> None:  # the in-memory core runs on a manual clock
        advance = getattr(core.clock, "advance", None)
        if advance is not None:
            advance(timedelta(hours=hours))

    def told(event: EventType) -> list[str]:
        with core.storage.unit_of_work() as uow:
            entries = [e for e in uow.outbox.pending() if e.event.type is event]
        return sorted({names.get(e.recipient_id, "lab") for e in entries})

    case = core.create_case(
        lab.doctor,
        CaseKind.TREATMENT,
        patient_details("Post"),
        impression_type=ImpressionType.SILICONE_IMPRESSION,
        name="PVS impressions",
    )
    case_id = case.case_id
    core.confirm(lab.doctor, case_id, complete=True, privacy=True)
    reasons = core.blockers(lab.doctor, case_id, "submit")
    print(f"before the parcel is recorded, submit is blocked: {list(reasons)}")
    core.ship_impressions(lab.doctor, case_id, carrier="UPS", tracking_number="1Z999AA10123")
    case = core.submit(lab.doctor, case_id)
    print(f"submitted: {case.status.value}, no lab deadline yet: {case.deadline is None}")

    later(48)
    core.receive_impressions(lab.production, case_id)
    print(f"impressions received; the doctor is told: {told(EventType.IMPRESSIONS_RECEIVED)}")
    later(3)
    scan = arch_stl()
    core.attach_file(lab.production, case_id, FileKind.UPPER_SCAN, scan, "upper-digitised.stl")
    core.attach_file(lab.production, case_id, FileKind.LOWER_SCAN, scan, "lower-digitised.stl")
    case = core.complete_digitising(lab.production, case_id)
    assert case.deadline is not None
    print(f"digitised: {case.status.value}, planning due {case.deadline.due}")

    later(24)
    case = core.request_records(
        lab.planner, case_id, [FileKind.BITE_SCAN], "The bite registration is missing."
    )
    assert case.deadline is not None
    print(f"records requested: {case.status.value}, deadline paused: {case.deadline.paused_since}")
    later(24 * 3)
    case = core.attach_file(lab.doctor, case_id, FileKind.BITE_SCAN, scan, "bite.stl")
    assert case.deadline is not None
    print(f"bite uploaded: back to {case.status.value}, planning now due {case.deadline.due}")
    print(f"the lab is told the records are in: {told(EventType.RECORDS_RECEIVED)}")

    later(24)
    core.upload_plan(lab.planner, case_id, plan_summary(18, 16))
    later(24)
    core.accept_plan(lab.doctor, case_id, 1)
    later(72)
    core.ship(lab.production, case_id, carrier="DHL", tracking_number="JD0142")

    print()
    print_timeline(core, lab.doctor, case_id, print, names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
