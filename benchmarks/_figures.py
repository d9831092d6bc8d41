"""What the storage benchmarks measure on any SQL storage, against floors measured in the same run.

``bench_storage.py`` (SQLite) and ``bench_postgres.py`` supply a fresh storage and
their floors (raw inserts or ``COPY``, an unindexed scan, a raw insert-and-commit);
this module builds the cases, takes the timings and prints the ratios:

- dashboard counts (``count_by_status`` of a network) vs an unindexed scan of the
  JSON documents (target <= 1/1000 at 1M cases);
- page 1 vs page 5,000 by cursor (the deepest page below 5,000 at smaller sizes)
  of a network's case list (target: about 1x);
- bulk import (``import_rows``, documents already encoded) vs the raw floor
  (target <= 1.5x on SQLite, <= 2x on PostgreSQL);
- one saved command (``core.comment``: reads, versioned update, outbox, commit) vs
  one raw insert-and-commit of the same document (target <= 15x);
- a name-prefix search vs the unindexed scan.

Timings are best-of-N (medians for single commands) on a shared, noisy machine.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol
from uuid import UUID

import attrs

from aligner_core.domain.cases import CaseStatus
from aligner_core.domain.queries import CaseFilter, Scope
from aligner_core.serialization import make_converter
from aligner_core.storage.sql.columns import CaseRow, case_row
from aligner_core.storage.sql.storage import SqlStorage
from aligner_core.testing.contracts.storage import Population, enrol, population

SYLLABLES = ["an", "ber", "ca", "dö", "el", "fi", "gar", "ho", "is", "jo", "ka", "lü", "mi", "no",
             "ør", "pa", "qui", "ro", "sa", "ti", "ul", "ve", "wi", "xa", "yo", "zé"]  # fmt: skip
#: every status a case takes without more data (a hold or a records request)
STATUSES = [s for s in CaseStatus if s.value not in ("on_hold", "awaiting_records")]
DEEP_PAGE = 5_000
PREFIX = "Jane Kalü"

Rows = list[tuple[CaseRow, str]]


class Floors(Protocol):
    """What a database is compared with; every method returns seconds (or a query to time)."""

    def raw_import(self, rows: Rows) -> float:
        """Insert the same documents with the driver alone, in one transaction."""
        ...

    def scans(self, storage: SqlStorage, network: UUID) -> tuple[Callable[[], object], ...]:
        """Queries over an unindexed copy of the documents: counts of a network, a prefix search."""
        ...

    def raw_commits(self, doc: str, times: int) -> list[float]:
        """``times`` raw insert-and-commits of ``doc`` with the driver alone."""
        ...


def best(fn: Callable[[], object], repeat: int) -> float:
    """The best wall time of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def label(n: int) -> str:
    return f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"


def documents(n: int, seed: int = 1) -> tuple[Rows, Population]:
    """``n`` case rows and JSON documents: one template evolved with new ids, names, statuses."""
    rnd = random.Random(seed)
    pop = population(1, seed)
    template = attrs.evolve(pop.cases[0], collaborators=(), status=CaseStatus.DRAFT, hold=None)
    template = attrs.evolve(template, patient=attrs.evolve(template.patient, first_name="Jane"))
    doctors = pop.doctors
    dumps = make_converter().document_dumps
    out = []
    for i in range(n):
        owner = doctors[i % len(doctors)]
        name = "".join(rnd.choice(SYLLABLES) for _ in range(rnd.randint(2, 4))).capitalize()
        created = template.created_at.replace(microsecond=0) + timedelta(
            minutes=rnd.randrange(0, 525_600)
        )
        status = rnd.choice(STATUSES)
        case = attrs.evolve(
            template,
            case_id=UUID(int=rnd.getrandbits(122) | (4 << 76)),
            number=1000 + i,
            owner_id=owner.account_id,
            network_id=owner.network_id,
            patient=attrs.evolve(template.patient, last_name=name),
            status=status,
            accepted_at=None if status in (CaseStatus.DRAFT, CaseStatus.DELETED) else created,
            created_at=created,
            updated_at=created + timedelta(minutes=rnd.randrange(0, 100_000)),
        )
        out.append((case_row(case), dumps(case)))
    return out, pop


def _with_cast(storage: SqlStorage, pop: Population) -> None:
    with storage.unit_of_work() as uow:
        enrol(uow, pop)
        uow.commit()


def run(
    n: int, fresh: Callable[[str], SqlStorage], floors: Floors, repeat: int
) -> dict[str, float]:
    """Every figure at ``n`` cases: ratios and the times behind them."""
    name = label(n)
    started = time.perf_counter()
    rows, pop = documents(n)
    print(f"[{name}] {n} case documents in {time.perf_counter() - started:.1f} s", flush=True)
    imports = 1 if n >= 1_000_000 else repeat
    raw_t = best(lambda: floors.raw_import(rows), imports)
    stores: list[SqlStorage] = []

    def adapter_import() -> None:
        stores.append(fresh(f"{name}-{len(stores)}"))
        _with_cast(stores[-1], pop)
        stores[-1].import_rows(rows)

    imp_t = best(adapter_import, imports)
    storage = stores.pop()
    for s in stores:
        s.close()
    print(f"[{name}] bulk import {imp_t:.2f} s, raw floor {raw_t:.2f} s", flush=True)

    network = pop.networks[0].network_id
    scope = Scope(network_id=network)
    count_scan, prefix_scan = floors.scans(storage, network)
    fast = max(5, repeat * 5)

    def dashboard() -> None:
        with storage.unit_of_work() as uow:
            uow.cases.count_by_status(scope)

    def search() -> None:
        with storage.unit_of_work() as uow:
            uow.cases.list(scope, CaseFilter(patient_name=PREFIX))

    dash_t, scan_t = best(dashboard, fast), best(count_scan, repeat)
    search_t, search_scan_t = best(search, fast), best(prefix_scan, repeat)
    first_t, deep_t, deep = pages(storage, scope, fast)
    print(f"[{name}] dashboard {dash_t * 1e3:.3f} ms (scan {scan_t * 1e3:.1f} ms); page 1 "
          f"{first_t * 1e3:.2f} ms, page {deep} {deep_t * 1e3:.2f} ms", flush=True)  # fmt: skip
    command_t, commit_t = one_command(storage, floors, name)
    storage.close()
    return {
        "import": imp_t / raw_t, "import_s": imp_t, "raw_import_s": raw_t,
        "dashboard": dash_t / scan_t, "dashboard_s": dash_t, "scan_s": scan_t,
        "search": search_t / search_scan_t, "search_s": search_t, "search_scan_s": search_scan_t,
        "pages": deep_t / first_t, "first_s": first_t, "deep_s": deep_t, "deep": deep,
        "command": command_t / commit_t, "command_s": command_t, "commit_s": commit_t,
    }  # fmt: skip


def pages(storage: SqlStorage, scope: Scope, repeat: int) -> tuple[float, float, int]:
    """Page 1 and the deepest page up to 5,000, reached by walking the cursors."""
    query = CaseFilter()
    cursor: str | None = None
    page = 1
    with storage.unit_of_work() as uow:
        while page < DEEP_PAGE:
            following = uow.cases.list(scope, attrs.evolve(query, after=cursor)).next_cursor
            if following is None:
                break
            cursor, page = following, page + 1

    def first() -> None:
        with storage.unit_of_work() as uow:
            uow.cases.list(scope, query)

    def deep() -> None:
        with storage.unit_of_work() as uow:
            uow.cases.list(scope, attrs.evolve(query, after=cursor))

    return best(first, repeat), best(deep, repeat), page


def one_command(storage: SqlStorage, floors: Floors, name: str) -> tuple[float, float]:
    """Median time of ``core.comment`` on a full database vs one raw insert-and-commit."""
    from aligner_core.bootstrap import connect
    from aligner_core.clock import SystemClock
    from aligner_core.ids import RandomIds
    from aligner_core.testing.factories import set_up_lab

    core = connect(storage=storage, clock=SystemClock(), ids=RandomIds())
    lab = set_up_lab(core, code=f"BENCH-{name.upper()}")
    case_id = lab.ready_case()
    core.submit(lab.doctor, case_id)
    command = []
    for i in range(60):
        start = time.perf_counter()
        core.comment(lab.planner, case_id, f"note {i}")
        command.append(time.perf_counter() - start)
    doc = storage.converter.document_dumps(core.get_case(lab.doctor, case_id).case)
    return statistics.median(command), statistics.median(floors.raw_commits(doc, 60))


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def report(database: str, results: dict[int, dict[str, Any]], import_target: float) -> None:
    """The ratios per size, each with its target."""
    print()
    for n, r in results.items():
        k = label(n)
        print(f"{database} {k}:")
        target = "target <= 1/1000 at 1M)"
        if n >= 1_000_000:
            target = f"target <= 1/1000) {verdict(r['dashboard'] <= 0.001)}"
        times = f"{r['dashboard_s'] * 1e3:.3f} ms vs {r['scan_s'] * 1e3:.1f} ms"
        print(f"  dashboard counts: {r['dashboard']:.5f} of an unindexed scan ({times}; {target}")
        print(f"  page {r['deep']:.0f} by cursor: {r['pages']:.2f}x page 1 "
              f"({r['deep_s'] * 1e3:.2f} ms vs {r['first_s'] * 1e3:.2f} ms; target about 1x) "
              f"{verdict(r['pages'] <= 1.5)}")  # fmt: skip
        print(f"  bulk import: {r['import']:.2f}x the raw floor "
              f"({r['import_s']:.2f} s vs {r['raw_import_s']:.2f} s; target <= {import_target}x) "
              f"{verdict(r['import'] <= import_target)}")  # fmt: skip
        print(f"  one saved command (core.comment): {r['command']:.1f}x one raw insert-and-commit "
              f"({r['command_s'] * 1e3:.2f} ms vs {r['commit_s'] * 1e3:.3f} ms; target <= 15x) "
              f"{verdict(r['command'] <= 15)}")  # fmt: skip
        print(f"  name-prefix search: {r['search']:.4f} of an unindexed scan "
              f"({r['search_s'] * 1e3:.2f} ms vs {r['search_scan_s'] * 1e3:.1f} ms)")  # fmt: skip
