"""Lifecycle benchmark: the machine against plain floors measured in the same run.

    python benchmarks/bench_lifecycle.py [--cases N] [--lifecycles N]

Prints:

1. one lifecycle trigger (``lifecycle.fire`` on a prepared Attempt: UPLOAD_PLAN from
   in_planning, guards included) and the bare machine event trigger (no guards) vs a
   plain dict lookup ``TABLE_DICT[(status, action)]`` of the same transition
   (target <= 50x);
2. memory per live case: N cases made through the domain (the same Case objects the
   service makes, each fired through the lifecycle once) vs N bare
   ``attrs.define(slots=True)`` objects with the same fields and the same values
   (target <= 1.2x): the lifecycle attaches nothing per case;
3. full lifecycles per second through the service on the in-memory adapters
   (register + activate, draft, scans, confirm, submit, plan, accept, ship).

Timings are best-of-N in one run; each figure is printed with OK or MISSED.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import timeit
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from aligner_core import connect
from aligner_core.domain import lifecycle
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import Case, CaseKind, CaseStatus, HistoryEntry
from aligner_core.domain.patients import Gender, Patient
from aligner_core.domain.prescriptions import TreatmentRequest
from aligner_core.domain.records import Records
from aligner_core.testing.factories import (
    arch_stl,
    patient_details,
    plan_summary,
    registration,
    set_up_lab,
)

S = CaseStatus
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TABLE_DICT: dict[tuple[CaseStatus, Action], CaseStatus] = {
    (source, row.action): row.dest or source
    for row in lifecycle.TABLE
    if row.when is None and not row.kinds
    for source in row.sources
}


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def per_call(fn: Callable[[], Any], number: int, repeat: int = 7) -> float:
    """Best time of one call in seconds (best of ``repeat`` loops of ``number`` calls)."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


# -- 1. one trigger vs a dict lookup ---------------------------------------------------------
def case_in(status: CaseStatus, n: int = 0) -> Case:
    return Case(
        case_id=uuid.UUID(int=n + 1),
        number=100 + n,
        kind=CaseKind.TREATMENT,
        network_id=uuid.UUID(int=10**6),
        owner_id=uuid.UUID(int=10**6 + 1),
        patient=Patient(uuid.UUID(int=10**7 + n), f"Patient{n}", Gender.FEMALE, "Jane"),
        created_at=NOW,
        updated_at=NOW,
        status=status,
        request=TreatmentRequest(),
        records=Records(confirmed_complete=True, privacy_accepted=True),
        history=(HistoryEntry(NOW, uuid.UUID(int=10**6 + 1), "create", None, S.DRAFT),),
    )


def bench_trigger() -> bool:
    attempt = lifecycle.Attempt(
        case_in(S.IN_PLANNING), Action.UPLOAD_PLAN, {"plan": plan_summary()}
    )
    assert lifecycle.fire(attempt) is S.WAITING_FOR_APPROVAL
    event = lifecycle._machine().events[Action.UPLOAD_PLAN.value]
    holder_type = lifecycle._Holder

    def bare() -> Any:
        holder = holder_type(S.IN_PLANNING.value)
        event.trigger(holder, attempt=attempt)
        return holder.state

    key = (S.IN_PLANNING, Action.UPLOAD_PLAN)
    table = TABLE_DICT
    assert table[key] is S.WAITING_FOR_APPROVAL
    assert bare() == S.WAITING_FOR_APPROVAL.value

    def lookup() -> Any:
        return table[key]

    t_dict = per_call(lookup, 200_000)
    t_fire = per_call(lambda: lifecycle.fire(attempt), 5_000)
    t_bare = per_call(bare, 5_000)
    t_blockers = per_call(lambda: lifecycle.blockers(attempt), 20_000)
    ratio = t_fire / t_dict
    print("1. one lifecycle trigger (UPLOAD_PLAN from in_planning)")
    print(f"   dict lookup TABLE_DICT[(status, action)] {t_dict * 1e9:10.1f} ns")
    print(f"   lifecycle.blockers (table scan + guards) {t_blockers * 1e9:10.1f} ns")
    bare_ratio = t_bare / t_dict
    print(
        f"   machine event trigger, no guards        {t_bare * 1e9:10.1f} ns  ({bare_ratio:7.1f}x)"
    )
    print(f"   lifecycle.fire (guards + trigger)        {t_fire * 1e9:10.1f} ns  ({ratio:7.1f}x)")
    ok = ratio <= 50
    print(f"   fire / dict = {ratio:.1f}x (target <= 50x) {verdict(ok)}")
    return ok


# -- 2. memory per live case -----------------------------------------------------------------
Bare = attrs.make_class(
    "BareCase",
    {f.name: attrs.field() for f in attrs.fields(Case)},
    slots=True,
    frozen=False,
)


def _measure(build: Callable[[], list[Any]]) -> tuple[int, list[Any]]:
    gc.collect()
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    kept = build()
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - start
    tracemalloc.stop()
    return used, kept


def bench_memory(n: int) -> bool:
    actor = uuid.UUID(int=10**6 + 1)

    def domain_cases() -> list[Any]:
        out = []
        for i in range(n):
            case = case_in(S.DRAFT, i)
            attempt = lifecycle.Attempt(case, Action.DELETE)
            status = lifecycle.fire(attempt)
            entry = HistoryEntry(NOW, actor, "delete", S.DRAFT, status)
            out.append(attrs.evolve(case, status=status, history=(*case.history, entry), version=2))
        return out

    def bare_cases() -> list[Any]:
        out = []
        for i in range(n):
            case = case_in(S.DRAFT, i)
            status = TABLE_DICT[(S.DRAFT, Action.DELETE)]
            entry = HistoryEntry(NOW, actor, "delete", S.DRAFT, status)
            values = attrs.asdict(case, recurse=False)
            values.update(status=status, history=(*case.history, entry), version=2)
            out.append(Bare(**values))
        return out

    lifecycle._machine()  # built once, outside the measurement
    used_domain, kept_domain = _measure(domain_cases)
    del kept_domain
    used_bare, kept_bare = _measure(bare_cases)
    del kept_bare
    ratio = used_domain / used_bare
    print(f"2. memory per live case ({n} cases, each fired through the lifecycle once)")
    print(f"   domain Case + lifecycle  {used_domain / n:8.1f} B/case")
    print(f"   bare attrs slots object  {used_bare / n:8.1f} B/case")
    ok = ratio <= 1.2
    print(f"   ratio {ratio:.3f}x (target <= 1.2x) {verdict(ok)}")
    return ok


# -- 3. full lifecycles through the service ---------------------------------------------------
def bench_service(lifecycles: int) -> None:
    scan = arch_stl()

    def run() -> float:
        core = connect("memory://")
        lab = set_up_lab(core, "BENCH-1")
        start = time.perf_counter()
        for i in range(lifecycles):
            doctor = core.register(
                registration(f"bench-{i}-{uuid.uuid4().hex[:8]}", reference_code="BENCH-1")
            )
            core.activate(lab.admin, doctor.account_id)
            case = core.create_case(doctor.account_id, CaseKind.TREATMENT, patient_details(f"P{i}"))
            core.attach_file(doctor.account_id, case.case_id, _upper(), scan, "upper.stl")
            core.attach_file(doctor.account_id, case.case_id, _lower(), scan, "lower.stl")
            core.confirm(doctor.account_id, case.case_id, complete=True, privacy=True)
            core.submit(doctor.account_id, case.case_id)
            core.upload_plan(lab.planner, case.case_id, plan_summary())
            core.accept_plan(doctor.account_id, case.case_id, 1)
            done = core.ship(lab.production, case.case_id, carrier="DHL", tracking_number=str(i))
            assert done.status is S.SHIPPED
            core.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
        return time.perf_counter() - start

    elapsed = min(run() for _ in range(3))
    rate = lifecycles / elapsed
    print("3. full lifecycles through the service (memory://)")
    print("   register, activate, draft, 2 scans, confirm, submit, plan, accept, ship")
    each = elapsed / lifecycles * 1e3
    print(f"   {lifecycles} lifecycles in {elapsed:.3f} s: {rate:,.0f}/s ({each:.2f} ms each)")


def _upper() -> Any:
    from aligner_core.domain.records import FileKind

    return FileKind.UPPER_SCAN


def _lower() -> Any:
    from aligner_core.domain.records import FileKind

    return FileKind.LOWER_SCAN


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--lifecycles", type=int, default=200)
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}")
    trigger_ok = bench_trigger()
    memory_ok = bench_memory(args.cases)
    bench_service(args.lifecycles)
    print("summary:", "trigger", verdict(trigger_ok), "| memory", verdict(memory_ok))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
