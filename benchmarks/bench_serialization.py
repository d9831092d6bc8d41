"""Serialization benchmark: ``python benchmarks/bench_serialization.py`` (or ``nox -s bench``).

Builds one realistic treatment case (a plan version of 20 steps, 10 files, 30 history
entries, 10 comments) and prints three ratios, each best-of-N with ``timeit`` and all
measured in this one run:

* ``converter.dumps(case)`` against ``json.dumps`` of the same, prebuilt plain dict
  (target <= 2x): once re-saving the same case (the converter remembers UUID and
  datetime text, as when a case is saved after every command), and once "cold", each
  case new to the converter (printed for comparison, same target);
* ``converter.load(text, Case)`` (parse + structure + validate) against ``json.loads(text)``
  (target <= 5x);
* ``converter.structure(data, Case)`` against a hand-written constructor doing the same
  conversions (ISO datetimes, UUIDs, enums, teeth, nested models) (target <= 2x).

Timings are printed, never asserted; a missed target prints ``MISSED``.
"""

from __future__ import annotations

import argparse
import json
import sys
import timeit
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from aligner_core.domain.accounts import (
    CollaboratorGrant,
    CollaboratorPermission,
    GrantStatus,
)
from aligner_core.domain.cases import (
    Case,
    CaseKind,
    CaseStatus,
    Comment,
    Deadline,
    HistoryEntry,
    Hold,
    ShareLink,
    Shipment,
)
from aligner_core.domain.patients import Gender, Patient
from aligner_core.domain.plans import (
    IprContact,
    PlanStep,
    PlanSummary,
    PlanVersion,
)
from aligner_core.domain.prescriptions import (
    Adjustment,
    Approach,
    Arches,
    Choice,
    Dentition,
    Design,
    Pontic,
    Shade,
    TreatmentRequest,
    TreatmentScope,
    WearSchedule,
)
from aligner_core.domain.records import (
    ArchPlausibility,
    FileKind,
    FileRef,
    FileReport,
    ImpressionType,
    MediaType,
    MeshReport,
    Records,
)
from aligner_core.domain.teeth import Tooth, ToothChart, ToothMark, ToothState
from aligner_core.serialization import make_converter

START = datetime(2024, 3, 4, 9, 15, 30, 250000, tzinfo=UTC)
_ids = iter(UUID(int=n) for n in range(1, 100_000))


def realistic_case(start: datetime | None = None) -> Case:
    """A treatment case under way: 20 plan steps, 10 files, 30 history lines, 10 comments.

    ``start`` shifts every timestamp (for cases whose values are all new).
    """
    start = start or START
    doctor, planner = next(_ids), next(_ids)
    steps = []
    for n in range(1, 21):
        ipr = (IprContact(Tooth(13), Tooth(12), 0.2), IprContact(Tooth(42), Tooth(41), 0.1))
        steps.append(
            PlanStep(
                number=n,
                ipr=ipr if n in (3, 6) else (),
                attachments_placed=(Tooth(13), Tooth(23), Tooth(33), Tooth(43)) if n == 1 else (),
                attachments_removed=(Tooth(13), Tooth(23)) if n == 20 else (),
                checkpoint=n % 5 == 0,
                note="check tracking" if n % 5 == 0 else "",
            )
        )
    summary = PlanSummary(20, 18, 0.6, 4, WearSchedule.DAYS_14)
    plan = PlanVersion(
        1, start, planner, summary, tuple(steps), "https://sim.example.org/case/1", "First setup."
    )
    mesh = MeshReport(
        "binary",
        180_000,
        90_002,
        0,
        0,
        (-31.5, -2.0, 0.0),
        (31.5, 46.0, 18.2),
        (63.0, 48.0, 18.2),
        ArchPlausibility.PLAUSIBLE,
        5120.75,
        412,
        0,
        0,
    )
    kinds = (
        [FileKind.UPPER_SCAN, FileKind.LOWER_SCAN, FileKind.BITE_SCAN]
        + [k for k in FileKind if k.value.startswith("photo_")]
        + [FileKind.RADIOGRAPH]
    )
    files = tuple(
        FileRef(
            file_id=next(_ids),
            kind=kind,
            name=f"{kind.value}.{'stl' if 'scan' in kind.value else 'jpg'}",
            report=FileReport(
                MediaType.STL if "scan" in kind.value else MediaType.JPEG,
                4_800_000 + i,
                f"{i:02x}" * 32,
                ("open mesh",) if "scan" in kind.value else (),
                mesh if "scan" in kind.value else None,
            ),
            uploaded_at=start + timedelta(minutes=i),
            uploaded_by=doctor,
        )
        for i, kind in enumerate(kinds)
    )
    statuses = list(CaseStatus)
    history = tuple(
        HistoryEntry(
            start + timedelta(hours=i),
            doctor if i % 2 else planner,
            f"action_{i % 7}",
            statuses[i % 5] if i else None,
            statuses[(i + 1) % 5],
            {"note": f"entry {i}", "by": "portal"} if i % 3 == 0 else {},
        )
        for i in range(30)
    )
    comments = tuple(
        Comment(
            next(_ids),
            doctor if i % 2 else planner,
            start + timedelta(hours=i),
            f"Comment {i}: please check the O'Brien overjet — merci, Zoë.",
            from_lab=i % 2 == 0,
        )
        for i in range(10)
    )
    return Case(
        case_id=next(_ids),
        number=100_042,
        kind=CaseKind.TREATMENT,
        network_id=next(_ids),
        owner_id=doctor,
        patient=Patient(next(_ids), "O'Brien", Gender.FEMALE, "Zoë", date(1988, 7, 14), "IE"),
        created_at=start,
        updated_at=start + timedelta(days=9),
        status=CaseStatus.WAITING_FOR_APPROVAL,
        request=TreatmentRequest(
            instructions="Close the diastema, keep the molars.",
            pontics=(Pontic(Tooth(22), Shade.A2),),
            teeth_not_to_move=(Tooth(17), Tooth(27)),
            teeth_to_extract=(Tooth(18), Tooth(28)),
            chief_complaint="Gap between the front teeth.",
        ),
        chart=ToothChart.from_mapping(
            {16: ToothState.CROWN, 36: ToothState.IMPLANT, 22: "missing"}
        ),
        records=Records(ImpressionType.INTRAORAL_SCAN, files, True, True),
        plans=(plan,),
        comments=comments,
        shipments=(),
        collaborators=(
            CollaboratorGrant(
                next(_ids),
                doctor,
                start,
                (CollaboratorPermission.VIEW_SETUP,),
                GrantStatus.ACCEPTED,
            ),
        ),
        shares=(ShareLink(next(_ids), 1, doctor, start, start + timedelta(days=14)),),
        history=history,
        deadline=Deadline("review", date(2024, 3, 20)),
        assigned_to=planner,
        submitted_at=start + timedelta(hours=1),
        accepted_at=start + timedelta(hours=5),
        version=31,
    )


# -- the hand-written baseline: the same conversions a careful person would write ------------


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _opt(value: Any, fn: Callable[[Any], Any]) -> Any:
    return None if value is None else fn(value)


def _teeth(values: list[int]) -> tuple[Tooth, ...]:
    return tuple(Tooth(v) for v in values)


def _file(d: dict[str, Any]) -> FileRef:
    r = d["report"]
    m = r["mesh"]
    mesh = None
    if m is not None:
        mesh = MeshReport(
            m["format"],
            m["triangles"],
            m["vertices"],
            m["degenerate_triangles"],
            m["nonfinite_values"],
            tuple(m["bbox_min"]),
            tuple(m["bbox_max"]),
            tuple(m["size_mm"]),
            ArchPlausibility(m["plausibility"]),
            m["surface_area_mm2"],
            m["boundary_edges"],
            m["non_manifold_edges"],
            m["inconsistent_winding_edges"],
        )
    report = FileReport(
        MediaType(r["media_type"]),
        r["size"],
        r["sha256"],
        tuple(r["warnings"]),
        mesh,
        r["archive_entries"],
    )
    return FileRef(
        UUID(d["file_id"]),
        FileKind(d["kind"]),
        d["name"],
        report,
        _dt(d["uploaded_at"]),
        UUID(d["uploaded_by"]),
    )


def _step(d: dict[str, Any]) -> PlanStep:
    return PlanStep(
        d["number"],
        tuple(IprContact(Tooth(i["first"]), Tooth(i["second"]), i["amount_mm"]) for i in d["ipr"]),
        _teeth(d["attachments_placed"]),
        _teeth(d["attachments_removed"]),
        d["checkpoint"],
        d["note"],
    )


def _plan(d: dict[str, Any]) -> PlanVersion:
    s = d["summary"]
    summary = PlanSummary(
        s["upper_steps"],
        s["lower_steps"],
        s["total_ipr_mm"],
        s["attachment_count"],
        WearSchedule(s["wear_schedule"]),
    )
    return PlanVersion(
        d["number"],
        _dt(d["uploaded_at"]),
        UUID(d["uploaded_by"]),
        summary,
        tuple(_step(x) for x in d["steps"]),
        d["simulation_url"],
        d["notes"],
    )


def _request(d: dict[str, Any]) -> TreatmentRequest:
    return TreatmentRequest(
        Arches(d["arches"]),
        TreatmentScope(d["scope"]),
        Adjustment(d["overjet"]),
        Adjustment(d["overbite"]),
        Adjustment(d["midline"]),
        Choice(d["ipr"]),
        Choice(d["attachments"]),
        Design(d["design"]),
        d["instructions"],
        tuple(Pontic(Tooth(p["tooth"]), Shade(p["shade"])) for p in d["pontics"]),
        Dentition(d["dentition"]),
        Approach(d["approach"]),
        WearSchedule(d["wear_schedule"]),
        d["step_limit"],
        _teeth(d["teeth_not_to_move"]),
        _teeth(d["teeth_to_extract"]),
        _teeth(d["teeth_without_attachments"]),
        d["chief_complaint"],
    )


def hand_structure(d: dict[str, Any]) -> Case:
    """Build the case from its plain dict by hand (orders, holds and shipments as used here)."""
    p = d["patient"]
    rec = d["records"]
    return Case(
        case_id=UUID(d["case_id"]),
        number=d["number"],
        kind=CaseKind(d["kind"]),
        network_id=UUID(d["network_id"]),
        owner_id=UUID(d["owner_id"]),
        patient=Patient(
            UUID(p["patient_id"]),
            p["last_name"],
            Gender(p["gender"]),
            p["first_name"],
            _opt(p["date_of_birth"], date.fromisoformat),
            p["country"],
            p["email"],
        ),
        created_at=_dt(d["created_at"]),
        updated_at=_dt(d["updated_at"]),
        status=CaseStatus(d["status"]),
        request=_opt(d["request"], _request),
        chart=ToothChart(
            tuple(ToothMark(Tooth(m["tooth"]), ToothState(m["state"])) for m in d["chart"]["marks"])
        ),
        records=Records(
            _opt(rec["impression_type"], ImpressionType),
            tuple(_file(f) for f in rec["files"]),
            rec["confirmed_complete"],
            rec["privacy_accepted"],
        ),
        order=None,
        parent_id=_opt(d["parent_id"], UUID),
        plans=tuple(_plan(x) for x in d["plans"]),
        comments=tuple(
            Comment(
                UUID(c["comment_id"]), UUID(c["author_id"]), _dt(c["at"]), c["text"], c["from_lab"]
            )
            for c in d["comments"]
        ),
        shipments=tuple(
            Shipment(
                UUID(s["shipment_id"]),
                s["carrier"],
                s["tracking_number"],
                s["phase"],
                s["final"],
                _dt(s["shipped_at"]),
                _opt(s["delivered_at"], _dt),
            )
            for s in d["shipments"]
        ),
        collaborators=tuple(
            CollaboratorGrant(
                UUID(g["account_id"]),
                UUID(g["invited_by"]),
                _dt(g["invited_at"]),
                tuple(CollaboratorPermission(x) for x in g["permissions"]),
                GrantStatus(g["status"]),
            )
            for g in d["collaborators"]
        ),
        shares=tuple(
            ShareLink(
                UUID(s["share_id"]),
                s["plan_version"],
                UUID(s["created_by"]),
                _dt(s["created_at"]),
                _dt(s["expires_at"]),
                _opt(s["revoked_at"], _dt),
            )
            for s in d["shares"]
        ),
        history=tuple(
            HistoryEntry(
                _dt(h["at"]),
                UUID(h["actor_id"]),
                h["action"],
                _opt(h["from_status"], CaseStatus),
                CaseStatus(h["to_status"]),
                tuple((k, v) for k, v in h["details"]),
            )
            for h in d["history"]
        ),
        hold=_opt(
            d["hold"], lambda h: Hold(h["reason"], CaseStatus(h["left_status"]), _dt(h["since"]))
        ),
        deadline=_opt(
            d["deadline"],
            lambda x: Deadline(
                x["stage"],
                date.fromisoformat(x["due"]),
                _opt(x["paused_since"], date.fromisoformat),
            ),
        ),
        assigned_to=_opt(d["assigned_to"], UUID),
        submitted_at=_opt(d["submitted_at"], _dt),
        accepted_at=_opt(d["accepted_at"], _dt),
        version=d["version"],
    )


# -- measuring -----------------------------------------------------------------------------------


def best(fn: Callable[[], object], repeat: int) -> float:
    """Best seconds per call over ``repeat`` rounds of enough calls to take ~0.2 s each."""
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    number = max(1, number)
    return min(timer.repeat(repeat=repeat, number=number)) / number


def report(label: str, ours: float, base: float, against: str, target: float) -> bool:
    ratio = ours / base
    verdict = "OK" if ratio <= target else "MISSED"
    print(
        f"serialization {label}: {ratio:.1f}x {against} (target <= {target:g}x) {verdict}"
        f"   [{ours * 1e6:.0f} us vs {base * 1e6:.0f} us]"
    )
    return ratio <= target


def cold_dumps(repeat: int, cases: int = 20) -> tuple[float, float]:
    """Seconds per dumps of a case the converter has never seen (no remembered text)."""
    shift = iter(range(1, 1_000_000))
    rounds = [
        [realistic_case(START + timedelta(days=next(shift))) for _ in range(cases)]
        for _ in range(repeat)
    ]
    ours: list[float] = []
    base: list[float] = []
    for batch in rounds:
        other = make_converter()  # builds the floor's dicts without warming ``converter``
        data = [json.loads(other.dumps(c)) for c in batch]
        converter = make_converter()
        converter.dumps(realistic_case())  # hooks generated; these cases' values unseen
        start = timeit.default_timer()
        for case in batch:
            converter.dumps(case)
        ours.append((timeit.default_timer() - start) / cases)
        start = timeit.default_timer()
        for item in data:
            json.dumps(item, separators=(",", ":"), ensure_ascii=False)
        base.append((timeit.default_timer() - start) / cases)
    return min(ours), min(base)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=7, help="rounds per measurement (best is kept)"
    )
    args = parser.parse_args()

    converter = make_converter()
    case = realistic_case()
    text = converter.dumps(case)
    data = json.loads(text)  # the prebuilt plain dict (what dumps writes, as JSON types)
    assert converter.structure(data, Case) == case
    assert hand_structure(data) == case
    assert json.dumps(data, separators=(",", ":"), ensure_ascii=False) == text
    print(
        f"case: {len(case.plans[0].steps)} plan steps, {len(case.records.files)} files, "
        f"{len(case.history)} history entries, {len(case.comments)} comments; "
        f"{len(text.encode()):,} bytes of JSON"
    )

    dumps = best(lambda: converter.dumps(case), args.repeat)
    json_dumps = best(
        lambda: json.dumps(data, separators=(",", ":"), ensure_ascii=False), args.repeat
    )
    load = best(lambda: converter.load(text, Case), args.repeat)
    json_loads = best(lambda: json.loads(text), args.repeat)
    structure = best(lambda: converter.structure(data, Case), args.repeat)
    by_hand = best(lambda: hand_structure(data), args.repeat)

    cold, cold_base = cold_dumps(args.repeat)
    ok = [
        report("dumps", dumps, json_dumps, "json.dumps of the prebuilt dict", 2),
        report("dumps, cold", cold, cold_base, "json.dumps (every case new)", 2),
        report("load (json.loads + structure)", load, json_loads, "json.loads", 5),
        report("structure", structure, by_hand, "a hand-written constructor", 2),
    ]
    print("all targets met" if all(ok) else "some targets MISSED (timings only; not a failure)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
