"""STL scanner benchmark: ``python benchmarks/bench_stl.py`` (or ``nox -s bench``).

Generates synthetic binary "arch" meshes (an open, curved surface of about
60 x 50 x 20 mm) of 300k and 1M triangles in a temporary directory and prints,
best of several repeats measured in one run:

* load: ``StlAnalyzer.load`` against a raw ``numpy.fromfile`` with the STL dtype
  (target <= 1.5x);
* analysis: ``analyze_triangles`` against one ``numpy.argsort`` of 3N int64
  values (target <= 6x);
* the whole ``StlAnalyzer.analyze`` against ``trimesh.load`` + ``is_watertight``
  (target: at least 4x faster);
* ASCII load speed in MB/s with and without numpy-stl's speedups (numpy-stl
  4.x needs the ``numpy-stl[fast]`` extra for them; without it ``speedups=True``
  silently uses the pure-Python parser, which is reported rather than hidden);
* the whole upload path: ``files.receive`` + ``store`` into a file-system blob
  store (one pass that spools and hashes, the analysis, a rename) against the
  former spool -> scan -> put pipeline (three hashes, a second copy) and
  against a floor of one read + sha256 + write + fsync of the file plus the
  analysis (target <= 1.25x the floor).

Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from aligner_core.domain.records import FileKind
from aligner_core.files.blobs import FileSystemBlobStore
from aligner_core.files.intake import receive, spool
from aligner_core.files.limits import GiB, Limits
from aligner_core.files.scanner import ContentScanner
from aligner_core.files.stl import (
    StlAnalyzer,
    analyze_triangles,
    speedups_available,
)

STL_DTYPE = np.dtype([("normals", "<f4", (3,)), ("vectors", "<f4", (3, 3)), ("attr", "<u2")])


def arch_triangles(triangles: int) -> np.ndarray:
    """A horseshoe-shaped open surface (mm) with about ``triangles`` triangles."""
    nv = max(2, round((triangles / 8) ** 0.5))
    nu = max(2, round(triangles / (2 * (nv - 1))) + 1)
    u, v = np.meshgrid(np.linspace(0.0, np.pi, nu), np.linspace(0.0, 1.0, nv), indexing="ij")
    wobble = 0.6 * np.sin(40 * u) * np.sin(np.pi * v)  # teeth-like bumps
    x = 30.0 * np.cos(u) * (1 + 0.08 * v)
    y = 50.0 * np.sin(u) * (1 + 0.04 * v) - 25.0
    z = 20.0 * v + wobble
    points = np.stack([x, y, z], -1).astype(np.float32).reshape(-1, 3)
    idx = np.arange(nu * nv).reshape(nu, nv)
    a, b = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel()
    c, d = idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
    faces = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
    return points[faces]


def write_binary(path: Path, vectors: np.ndarray) -> None:
    data = np.zeros(len(vectors), dtype=STL_DTYPE)
    data["vectors"] = vectors
    e1 = vectors[:, 1] - vectors[:, 0]
    e2 = vectors[:, 2] - vectors[:, 0]
    n = np.cross(e1, e2)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    data["normals"] = n / np.where(length == 0, 1, length)
    with open(path, "wb") as f:
        f.write(b"synthetic arch".ljust(80, b" "))
        f.write(np.uint32(len(vectors)).tobytes())
        data.tofile(f)


def write_ascii(path: Path, vectors: np.ndarray) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write("solid arch\n")
        for tri in vectors:
            f.write("facet normal 0 0 0\n  outer loop\n")
            for x, y, z in tri:
                f.write(f"    vertex {x:.6e} {y:.6e} {z:.6e}\n")
            f.write("  endloop\nendfacet\n")
        f.write("endsolid arch\n")


def best(fn: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` runs (noise only ever adds time)."""
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def bench_binary(
    label: str, triangles: int, workdir: Path, repeats: int, with_trimesh: bool
) -> None:
    path = workdir / f"arch-{label}.stl"
    vectors = arch_triangles(triangles)
    write_binary(path, vectors)
    size = path.stat().st_size
    n = len(vectors)
    analyzer = StlAnalyzer()

    def raw() -> object:
        return np.fromfile(path, dtype=STL_DTYPE, offset=84)

    def load() -> object:
        return analyzer.load(path, size)

    t_raw = best(raw, repeats)
    t_load = best(load, repeats)
    ratio = t_load / t_raw
    print(
        f"stl.load {label}: {ratio:.2f}x raw numpy.fromfile "
        f"({t_load * 1e3:.0f} ms vs {t_raw * 1e3:.0f} ms, {n:,} triangles, {size / 1e6:.0f} MB) "
        f"(target <= 1.5x) {verdict(ratio <= 1.5)}"
    )

    loaded, _, _ = analyzer.load(path, size)
    keys = np.random.default_rng(0).integers(0, 2**62, size=3 * n, dtype=np.int64)
    t_sort = best(lambda: np.argsort(keys), repeats)
    t_analysis = best(lambda: analyze_triangles(loaded, "binary"), repeats)
    ratio = t_analysis / t_sort
    print(
        f"stl.analysis {label}: {ratio:.2f}x one numpy.argsort of 3N int64 "
        f"({t_analysis * 1e3:.0f} ms vs {t_sort * 1e3:.0f} ms) (target <= 6x) {verdict(ratio <= 6)}"
    )

    t_full = best(lambda: analyzer.analyze(path, size, ""), repeats)
    print(f"stl.analyze {label}: {t_full * 1e3:.0f} ms for load + analysis")
    bench_upload(label, path, workdir, repeats)
    if not with_trimesh:
        return
    try:
        import trimesh
    except ImportError:
        print(f"stl.vs_trimesh {label}: trimesh not installed, skipped")
        return

    def with_tm() -> object:
        return trimesh.load(path, force="mesh").is_watertight

    t_tm = best(with_tm, max(2, repeats - 1))
    speedup = t_tm / t_full
    print(
        f"stl.vs_trimesh {label}: {speedup:.1f}x faster than trimesh.load + is_watertight "
        f"({t_full * 1e3:.0f} ms vs {t_tm * 1e3:.0f} ms) (target >= 4x) {verdict(speedup >= 4)}"
    )


def bench_upload(label: str, path: Path, workdir: Path, repeats: int) -> None:
    """receive() + store() against the former three-pass pipeline and a one-pass floor."""
    import hashlib
    import shutil

    scanner = ContentScanner(Limits(scan_bytes=GiB))
    analyzer = StlAnalyzer()
    size = path.stat().st_size
    runs = iter(range(10**6))

    def fresh_store() -> FileSystemBlobStore:
        root = workdir / f"blobs-{next(runs)}"
        return FileSystemBlobStore(root)

    def cleanup(store: FileSystemBlobStore) -> None:
        shutil.rmtree(store.root, ignore_errors=True)

    def new_path() -> None:
        store = fresh_store()
        with open(path, "rb") as source, receive(
            source, name="upper.stl", kind=FileKind.UPPER_SCAN, scanner=scanner,
            spool_dir=store.incoming,
        ) as received:  # fmt: skip
            received.store(store)
        cleanup(store)

    def old_path() -> None:
        store = fresh_store()
        with (
            open(path, "rb") as source,
            spool(source, max_bytes=GiB, directory=store.incoming) as spooled,
        ):
            report = scanner.scan(spooled.path, name="upper.stl", kind=FileKind.UPPER_SCAN)
            with open(spooled.path, "rb") as stream:
                store.put(stream, report.sha256)
        cleanup(store)

    def floor() -> None:
        digest = hashlib.sha256()
        target = workdir / "floor.part"
        with open(path, "rb") as src, open(target, "wb") as out:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())  # a blob store must make the content durable
        analyzer.analyze(target, size, "")
        target.unlink()

    t_new = best(new_path, repeats)
    t_old = best(old_path, repeats)
    t_floor = best(floor, repeats)
    ratio = t_new / t_floor
    print(
        f"stl.receive {label}: {t_new * 1e3:.0f} ms receive+store vs {t_old * 1e3:.0f} ms "
        f"spool+scan+put ({t_old / t_new:.2f}x faster); {ratio:.2f}x the one-pass floor "
        f"({t_floor * 1e3:.0f} ms) (target <= 1.25x) {verdict(ratio <= 1.25)}"
    )


def bench_ascii(workdir: Path, triangles: int, repeats: int) -> None:
    path = workdir / "arch-ascii.stl"
    write_ascii(path, arch_triangles(triangles))
    mb = path.stat().st_size / 1e6
    available = speedups_available()
    for speedups in (True, False):
        analyzer = StlAnalyzer(speedups=speedups)
        t = best(lambda a=analyzer: a.load(path), repeats)
        if speedups and not available:
            note = "speedups requested but not installed (numpy-stl[fast]): pure-Python parser"
        elif speedups:
            note = "compiled speedups"
        else:
            note = "pure-Python parser"
        print(f"stl.ascii_load speedups={speedups}: {mb / t:.1f} MB/s ({mb:.1f} MB, {note})")
    if not available:
        print("stl.ascii_load: install numpy-stl[fast] for the compiled ASCII parser (~5x faster)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="small meshes, for a smoke run")
    parser.add_argument("--no-trimesh", action="store_true")
    args = parser.parse_args(argv)
    sizes = [("30k", 30_000)] if args.quick else [("300k", 300_000), ("1M", 1_000_000)]
    ascii_triangles = 2_000 if args.quick else 20_000
    started = time.perf_counter()
    print(f"numpy {np.__version__}, {os.cpu_count()} CPU(s), best of {args.repeats}")
    with tempfile.TemporaryDirectory(prefix="bench-stl-") as tmp:
        workdir = Path(tmp)
        for label, triangles in sizes:
            bench_binary(label, triangles, workdir, args.repeats, not args.no_trimesh)
        bench_ascii(workdir, ascii_triangles, max(2, args.repeats // 2))
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
