"""PostgreSQL storage benchmark: the adapter against floors measured in the same run.

    python benchmarks/bench_postgres.py [--big] [--sizes 10000 100000] [--seconds 3]

Against the server named by ``ALIGNER_CORE_TEST_POSTGRES_DSN`` (prints a line and
exits 0 when it is unset), in schemas of its own that are dropped at the end.
Prints the ratios of ``_figures.py`` for 10k and 100k cases (and 1M with
``--big``): dashboard counts vs an unindexed scan of the JSONB documents, page 1
vs page 5,000 by cursor, bulk import (``import_rows``) vs raw psycopg ``COPY`` of
the same documents and columns into a twin table with the same indexes (target
<= 2x), one saved command vs one raw insert-and-commit. Then command throughput
with 1, 2 and 4 worker processes, each on its own cases.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import sys
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import _figures
import psycopg
from psycopg import sql

from aligner_core.storage.postgres import PostgresStorage
from aligner_core.storage.sql.columns import CASE_COLUMNS

DSN_VARIABLE = "ALIGNER_CORE_TEST_POSTGRES_DSN"


class PostgresFloors:
    def __init__(self, dsn: str, schema: str) -> None:
        self.dsn = dsn
        self.schema = sql.Identifier(schema)
        self.template = PostgresStorage(dsn, schema=schema)  # the tables the floor copies
        self.template.close()

    def raw_import(self, rows: _figures.Rows) -> float:
        with psycopg.connect(self.dsn) as conn:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}.raw_cases").format(self.schema))
            conn.execute(
                sql.SQL("CREATE TABLE {0}.raw_cases (LIKE {0}.cases INCLUDING ALL)").format(
                    self.schema
                )
            )
            conn.commit()
            copy = sql.SQL("COPY {}.raw_cases ({}) FROM STDIN").format(
                self.schema, sql.SQL(", ").join(map(sql.Identifier, CASE_COLUMNS))
            )
            started = time.perf_counter()
            with conn.cursor() as cur, cur.copy(copy) as writer:
                for row, doc in rows:
                    writer.write_row(row.values(doc))
            conn.commit()
            return time.perf_counter() - started

    def scans(self, storage: Any, network: UUID) -> tuple[Callable[[], object], ...]:
        conn = psycopg.connect(self.dsn, autocommit=True)
        schema = sql.Identifier(storage.schema)
        conn.execute(sql.SQL("SET search_path TO {}").format(schema))
        conn.execute("CREATE TABLE scan AS SELECT doc FROM cases")  # the same JSON, no index
        conn.execute("ANALYZE scan")
        net, prefix = str(network), _figures.PREFIX.lower() + "%"

        def counts() -> object:
            return conn.execute(
                "SELECT doc->>'status' AS s, count(*) FROM scan WHERE doc->>'network_id' = %s "
                "AND doc->>'status' <> 'deleted' GROUP BY 1",
                (net,),
            ).fetchall()

        def search() -> object:
            return conn.execute(
                "SELECT doc FROM scan WHERE doc->>'network_id' = %s AND "
                "lower((doc->'patient'->>'first_name') || ' ' || (doc->'patient'->>'last_name'))"
                " LIKE %s ORDER BY doc->>'updated_at' DESC LIMIT 50",
                (net, prefix),
            ).fetchall()

        return counts, search

    def raw_commits(self, doc: str, times: int) -> list[float]:
        took = []
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}.single").format(self.schema))
            conn.execute(
                sql.SQL("CREATE TABLE {}.single (case_id text PRIMARY KEY, doc jsonb)").format(
                    self.schema
                )
            )
            insert = sql.SQL("INSERT INTO {}.single VALUES (%s, %s)").format(self.schema)
            for i in range(times):
                started = time.perf_counter()
                with conn.transaction():
                    conn.execute(insert, (f"id-{i}", doc))
                took.append(time.perf_counter() - started)
        return took


# ---------------------------------------------------------------------- throughput
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--big", action="store_true", help="also run 1M cases")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput run")
    args = parser.parse_args()
    dsn = os.environ.get(DSN_VARIABLE)
    if not dsn:
        print(f"bench_postgres: {DSN_VARIABLE} is not set; PostgreSQL benchmark skipped")
        return 0
    base = f"aligner_bench_{os.getpid()}_{secrets.token_hex(3)}"
    schemas = [f"{base}_floor", f"{base}_rate"]
    sizes = [*args.sizes, *([1_000_000] if args.big else [])]
    results: dict[int, dict[str, Any]] = {}

    def fresh(name: str) -> PostgresStorage:
        schemas.append(f"{base}_{name}")
        return PostgresStorage(dsn, schema=schemas[-1], max_size=2)

    try:
        floors = PostgresFloors(dsn, schemas[0])
        for n in sizes:
            results[n] = _figures.run(n, fresh, floors, args.repeat)
            _drop(dsn, schemas[2:])
            del schemas[2:]
        _figures.report("PostgreSQL", results, import_target=2.0)
        rates = throughput(dsn, schemas[1], args.seconds)
        print("\nPostgreSQL command throughput (comment commands/s, one run):")
        for workers, rate in rates.items():
            print(
                f"  {workers} worker process{'es' if workers > 1 else '  '}: {rate:9.1f} /s"
                f"  (x{rate / rates[1]:.2f} of 1 process)"
            )
    finally:
        _drop(dsn, schemas)
    return 0


def _drop(dsn: str, schemas: list[str]) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name in schemas:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


if __name__ == "__main__":
    sys.exit(main())
