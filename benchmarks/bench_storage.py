"""SQLite storage benchmark: the adapter against floors measured in the same run.

    python benchmarks/bench_storage.py [--big] [--sizes 10000 100000] [--repeat 3]

Prints, for 10k and 100k cases (and 1M with ``--big``), the ratios of
``_figures.py``: dashboard counts vs an unindexed JSON scan, page 1 vs page
5,000 by cursor, bulk import (``import_rows``) vs raw ``sqlite3`` inserts of the
same JSON documents (target <= 1.5x), one saved command vs one raw
insert-and-commit; and, to show where the import's time goes, the same import
with its index builds and FTS rebuild left out (no target: the wider row alone).
"""

from __future__ import annotations

import argparse
import itertools
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import _figures

from aligner_core.storage.sqlite import PAGE_SIZE, SqliteDialect, SqliteStorage


def raw_db(path: Path) -> sqlite3.Connection:
    """The floor: one table of (id, JSON), the adapter's pragmas."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE raw (case_id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
    return conn


class SqliteFloors:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.counter = itertools.count()

    def fresh(self, name: str) -> SqliteStorage:
        return SqliteStorage(self.work / f"{name}.db")

    def raw_import(self, rows: _figures.Rows) -> float:
        started = time.perf_counter()
        conn = raw_db(self.work / f"raw-{next(self.counter)}.db")
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO raw VALUES (?, ?)", [(r.case_id, d) for r, d in rows])
        conn.execute("COMMIT")
        conn.close()
        return time.perf_counter() - started

    def scans(self, storage: Any, network: UUID) -> tuple[Callable[[], object], ...]:
        conn = storage._conn()
        conn.execute("CREATE TABLE scan AS SELECT doc FROM cases")  # the same JSON, no index
        net, prefix = str(network), _figures.PREFIX.lower() + "%"

        def counts() -> object:
            return conn.execute(
                "SELECT json_extract(doc, '$.status') AS s, count(*) FROM scan "
                "WHERE json_extract(doc, '$.network_id') = ? AND s <> 'deleted' GROUP BY s",
                (net,),
            ).fetchall()

        def search() -> object:
            return conn.execute(
                "SELECT doc FROM scan WHERE json_extract(doc, '$.network_id') = ? "
                "AND lower(json_extract(doc, '$.patient.first_name') || ' ' || "
                "json_extract(doc, '$.patient.last_name')) LIKE ? "
                "ORDER BY json_extract(doc, '$.updated_at') DESC LIMIT 50",
                (net, prefix),
            ).fetchall()

        return counts, search

    def raw_commits(self, doc: str, times: int) -> list[float]:
        conn = raw_db(self.work / f"single-{next(self.counter)}.db")
        took = []
        for i in range(times):
            started = time.perf_counter()
            conn.execute("BEGIN")
            conn.execute("INSERT INTO raw VALUES (?, ?)", (f"id-{i}", doc))
            conn.execute("COMMIT")
            took.append(time.perf_counter() - started)
        conn.close()
        return took


def without_indexes(floors: SqliteFloors, n: int, repeat: int) -> tuple[float, float]:
    """The import with ``bulk_end`` moving only the number counter (no index builds, no
    FTS rebuild) and the raw floor, best of ``repeat`` each: the cost of the wider row."""
    rows, pop = _figures.documents(n)
    counter = "UPDATE counters SET value = max(value, ?) WHERE name = 'case_number'"

    def numbers_only(self: Any, cursor: Any, token: object, highest: int) -> None:
        cursor.execute(counter, (highest + 1,))

    def bare() -> None:
        storage = floors.fresh(f"bare-{next(floors.counter)}")
        _figures._with_cast(storage, pop)
        storage.import_rows(rows)
        storage.close()

    built = SqliteDialect.bulk_end
    SqliteDialect.bulk_end = numbers_only  # type: ignore[method-assign]
    try:
        ours = _figures.best(bare, repeat)
    finally:
        SqliteDialect.bulk_end = built  # type: ignore[method-assign]
    return ours, _figures.best(lambda: floors.raw_import(rows), repeat)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--big", action="store_true", help="also run 1M cases")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    sizes = [*args.sizes, *([1_000_000] if args.big else [])]
    results: dict[int, dict[str, Any]] = {}
    bare: dict[int, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="aligner-bench-") as tmp:
        for n in sizes:
            work = Path(tmp) / str(n)
            work.mkdir()
            floors = SqliteFloors(work)
            results[n] = _figures.run(n, floors.fresh, floors, args.repeat)
            bare[n] = without_indexes(floors, n, 1 if n >= 1_000_000 else args.repeat)
            for leftover in work.glob("*"):
                leftover.unlink()
    _figures.report("SQLite", results, import_target=1.5)
    for n, (ours, raw) in bare.items():
        print(
            f"SQLite {_figures.label(n)}: bulk import without index builds or FTS: "
            f"{ours / raw:.2f}x the raw floor ({ours:.2f} s vs {raw:.2f} s; no target: "
            "what the wider row alone costs)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
