"""PostgreSQL adapter benchmark: command throughput with 1, 2, 4 processes; bulk import vs raw COPY.

Measured in one run against the server named by ``ALIGNER_CORE_TEST_POSTGRES_DSN``
(prints a line and exits 0 when it is unset), in a schema of its own that is
dropped at the end. Figures are compared with each other, never with a fixed
time:

- *throughput*: service commands (comments by the doctor) per second with 1, 2
  and 4 worker processes, each on its own cases, so the figure is the adapter's
  cost and the server's parallelism rather than lost races;
- *bulk import*: ``PostgresStorage.import_cases`` (from ``Case`` objects, JSON
  encoding included) against raw psycopg ``COPY`` of the same JSON documents and
  columns (already encoded) into a table with the same indexes; target <= 2x.

Usage: ``python benchmarks/bench_postgres.py [--seconds 3] [--cases 20000]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import sys
import time
from uuid import UUID

DSN_VARIABLE = "ALIGNER_CORE_TEST_POSTGRES_DSN"


def _core(dsn: str, schema: str):  # type: ignore[no-untyped-def]
    from aligner_core.bootstrap import connect
    from aligner_core.files.blobs import MemoryBlobStore

    return connect(dsn, schema=schema, blobs=MemoryBlobStore(), max_size=2)


def _worker(
    dsn: str, schema: str, doctor: str, case_ids: list[str], seconds: float, start: object
) -> int:
    core = _core(dsn, schema)
    done = 0
    ids = [UUID(c) for c in case_ids]
    try:
        core.comment(UUID(doctor), ids[0], "warm-up")  # connected, imported, prepared
        start.wait()  # type: ignore[attr-defined]
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            core.comment(UUID(doctor), ids[done % len(ids)], f"benchmark comment {done}")
            done += 1
    finally:
        core.storage.close()
    return done


def throughput(dsn: str, schema: str, seconds: float) -> dict[int, float]:
    from aligner_core.domain.cases import CaseStatus
    from aligner_core.testing.contracts.storage import case as make_case
    from aligner_core.testing.factories import Lab

    core = _core(dsn, schema)
    try:
        lab = Lab(core, "BENCH-1")
        with core.storage.unit_of_work() as uow:
            doctor = uow.accounts.get(lab.doctor)
            # fresh cases for every run and worker: documents of the same size in each run
            cases = [
                make_case(uow.cases.next_number(), doctor, status=CaseStatus.IN_PLANNING)
                for _ in range(7 * 25)
            ]
            for c in cases:
                uow.cases.add(c)
            uow.commit()
    finally:
        core.storage.close()
    ids = iter(str(c.case_id) for c in cases)
    spawn = multiprocessing.get_context("spawn")
    rates: dict[int, float] = {}
    with spawn.Manager() as manager:
        for workers in (1, 2, 4):
            start = manager.Barrier(workers)
            jobs = [
                (dsn, schema, str(lab.doctor), [next(ids) for _ in range(25)], seconds, start)
                for _ in range(workers)
            ]
            with spawn.Pool(workers) as pool:
                done = pool.starmap(_worker, jobs)
            rates[workers] = sum(done) / seconds
    return rates


def bulk_import(dsn: str, schema: str, n: int) -> tuple[float, float]:
    import psycopg

    from aligner_core.storage.postgres import PostgresStorage
    from aligner_core.storage.sql.columns import case_row
    from aligner_core.testing.contracts.storage import population

    pop = population(n, seed=11, first_number=1_000_000)
    storage = PostgresStorage(dsn, schema=schema)
    try:
        with storage.unit_of_work() as uow:
            for net in pop.networks:
                uow.accounts.add_network(net)
            for doctor in pop.doctors:
                uow.accounts.add(doctor)
            uow.commit()
        started = time.perf_counter()
        storage.import_cases(pop.cases, batch=5000)
        adapter = time.perf_counter() - started
        # the raw baseline: the same JSON and columns, already encoded, COPYed into a twin table
        dumps = storage.converter.document_dumps
        rows = []
        for c in pop.cases:
            r = case_row(c)
            rows.append(
                (
                    r.case_id, r.number + n, r.version, r.status, r.kind, r.owner_id,
                    r.network_id, r.name_key, r.patient_name, r.created_at, r.updated_at,
                    r.accepted_at, dumps(c),
                )
            )  # fmt: skip
    finally:
        storage.close()
    with psycopg.connect(dsn) as conn:
        conn.execute(
            psycopg.sql.SQL("CREATE TABLE {}.raw_cases (LIKE {}.cases INCLUDING ALL)").format(
                psycopg.sql.Identifier(schema), psycopg.sql.Identifier(schema)
            )
        )
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur:
            copy_sql = psycopg.sql.SQL(
                "COPY {}.raw_cases (case_id, number, version, status, kind, owner_id, network_id,"
                " name_key, patient_name, created_at, updated_at, accepted_at, doc) FROM STDIN"
            ).format(psycopg.sql.Identifier(schema))
            for start in range(0, len(rows), 5000):
                with cur.copy(copy_sql) as copy:
                    for row in rows[start : start + 5000]:
                        copy.write_row(row)
                conn.commit()
        raw = time.perf_counter() - started
    return adapter, raw


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput run")
    parser.add_argument("--cases", type=int, default=20_000, help="cases to bulk-import")
    args = parser.parse_args()
    dsn = os.environ.get(DSN_VARIABLE)
    if not dsn:
        print(f"bench_postgres: {DSN_VARIABLE} is not set; PostgreSQL benchmark skipped")
        return 0
    import psycopg

    schema = f"aligner_bench_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        rates = throughput(dsn, schema, args.seconds)
        print("PostgreSQL command throughput (comment commands/s, one run):")
        for workers, rate in rates.items():
            print(
                f"  {workers} worker process{'es' if workers > 1 else '  '}: {rate:9.1f} /s"
                f"  (x{rate / rates[1]:.2f} of 1 process)"
            )
        adapter, raw = bulk_import(dsn, f"{schema}_import", args.cases)
        ratio = adapter / raw
        print(f"Bulk import of {args.cases} cases (same JSON documents and columns):")
        print(f"  PostgresStorage.import_cases: {adapter:7.3f} s  ({args.cases / adapter:9.0f}/s)")
        print(f"  raw psycopg COPY            : {raw:7.3f} s  ({args.cases / raw:9.0f}/s)")
        verdict = "OK" if ratio <= 2.0 else "ABOVE TARGET"
        print(f"  ratio adapter/raw: {ratio:.2f}x (target <= 2x): {verdict}")
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for name in (schema, f"{schema}_import"):
                conn.execute(
                    psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                        psycopg.sql.Identifier(name)
                    )
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
