"""Direct manufacturing: the lab makes aligners from the doctor's own files, no plan.

draft -> in production -> shipped. Accepts STL, zip, tar, png, jpg and pdf,
each checked by content; a PDF named ``.stl`` is refused with the reason.
"""

from __future__ import annotations

import io
import sys
import zipfile

import aligner_core
from aligner_core.domain.cases import CaseKind
from aligner_core.domain.records import FileKind
from aligner_core.errors import RejectedFileError
from aligner_core.testing.factories import arch_stl, patient_details, set_up_lab


def main() -> int:
    core = aligner_core.connect("memory://")
    lab = set_up_lab(core, "DM-LAB")
    case = core.create_case(lab.doctor, CaseKind.DIRECT_MANUFACTURING, patient_details("Manu"))
    print(f"{case.reference}: {case.kind.value} draft")

    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        for step in range(1, 4):
            archive.writestr(f"steps/upper_{step:02d}.stl", arch_stl(rows=4, columns=8))
    core.attach_file(lab.doctor, case.case_id, FileKind.OTHER, bundle.getvalue(), "steps.zip")
    print("attached steps.zip (3 models)")

    try:
        core.attach_file(
            lab.doctor, case.case_id, FileKind.OTHER, b"%PDF-1.7\n%\xe2\xe3\n", "model.stl"
        )
    except RejectedFileError as e:
        print(f"refused {e.name!r}: {'; '.join(e.reasons)}")

    core.confirm(lab.doctor, case.case_id, complete=True, privacy=True)
    case = core.submit(lab.doctor, case.case_id)
    print(f"{case.reference}: submitted -> {case.status.value} (no plan for direct manufacturing)")
    case = core.ship(
        lab.production, case.case_id, carrier="UPS", tracking_number="1Z999AA10123456784"
    )
    print(f"{case.reference}: {case.status.value} with {case.shipments[-1].carrier}")
    for entry in core.get_case(lab.doctor, case.case_id).timeline:
        print(f"  {entry.action:<10} {entry.to_status.value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
