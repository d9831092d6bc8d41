"""Scan preview benchmark: ``python benchmarks/bench_pictures.py`` (or ``nox -s bench``).

Builds a ~300k-triangle binary STL by subdividing a real sample twice (``rear_case.stl``,
18,808 triangles, each split into 4 and 4 again: 300,928), or, when the shared samples are
not beside the checkout, a synthetic arch of the same size. Prints, best of several repeats
in one run:

* ``StlAnalyzer.load`` of that file (the floor: a preview must read the mesh);
* ``scan_preview_png`` of the same file, occlusal and frontal, 512 x 512, and its ratio to
  the load;
* ``scan_preview_png`` of the triangles already in memory (the drawing alone);
* the SVG pictures (tooth chart, a 40-step plan schedule) for scale.

Timings are printed, never asserted (target for the preview: under 1 s here).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_stl import arch_triangles, write_binary

from aligner_core.domain.plans import IprContact, PlanStep, PlanSummary, PlanVersion
from aligner_core.domain.teeth import Tooth, ToothChart
from aligner_core.files.stl import StlAnalyzer
from aligner_core.pictures import plan_schedule_svg, scan_preview_png, tooth_chart_svg

SAMPLE = (
    Path(
        os.environ.get("ALIGNER_CORE_STL_SAMPLES")
        or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "stl-samples"
    )
    / "binary"
    / "rear_case.stl"
)


def subdivide(tris: np.ndarray) -> np.ndarray:
    """Each triangle into four, at its edge midpoints (same surface, 4x the triangles)."""
    a, b, c = tris[:, 0], tris[:, 1], tris[:, 2]
    ab, bc, ca = (a + b) / 2, (b + c) / 2, (c + a) / 2
    return np.concatenate(
        [np.stack(t, axis=1) for t in ((a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca))]
    )


def mesh_300k() -> tuple[np.ndarray, str]:
    if SAMPLE.is_file():
        vectors, _, _ = StlAnalyzer().load(SAMPLE)
        tris = subdivide(subdivide(vectors.astype(np.float32)))
        return tris.astype(np.float32), f"{SAMPLE.name} subdivided twice"
    return arch_triangles(300_000).astype(np.float32), "synthetic arch (samples missing)"


def best(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def plan(steps: int) -> PlanVersion:
    schedule = tuple(
        PlanStep(
            n,
            ipr=(IprContact(Tooth(11), Tooth(12), 0.2),) if n % 7 == 3 else (),
            attachments_placed=(Tooth(13), Tooth(23), Tooth(33), Tooth(43)) if n == 1 else (),
            checkpoint=n % 10 == 0,
        )
        for n in range(1, steps + 1)
    )
    return PlanVersion(
        number=1,
        uploaded_at=datetime(2024, 1, 1, tzinfo=UTC),
        uploaded_by=UUID(int=1),
        summary=PlanSummary(
            upper_steps=steps,
            lower_steps=steps,
            total_ipr_mm=sum(s.ipr_mm for s in schedule),
            attachment_count=4,
        ),
        steps=schedule,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    tris, origin = mesh_300k()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mesh.stl"
        write_binary(path, tris)
        size_mb = path.stat().st_size / 1e6
        print(f"mesh: {len(tris):,} triangles, {size_mb:.1f} MB binary STL ({origin})")
        analyzer = StlAnalyzer()
        load = best(lambda: analyzer.load(path), args.repeats)
        print(f"  StlAnalyzer.load                 {load * 1000:8.1f} ms  (floor)")
        for view in ("occlusal", "frontal"):
            t = best(lambda v=view: scan_preview_png(path, view=v), args.repeats)  # type: ignore[misc]
            print(
                f"  scan_preview_png {view:9s} 512px  {t * 1000:8.1f} ms  "
                f"= {t / load:5.1f} x load   (target < 1000 ms)"
            )
        in_memory = tris.astype(np.float64)
        t = best(lambda: scan_preview_png(in_memory), args.repeats)
        print(f"  scan_preview_png from an array   {t * 1000:8.1f} ms  (drawing + PNG only)")
        t = best(lambda: scan_preview_png(path, size=(1024, 1024)), args.repeats)
        print(f"  scan_preview_png 1024px, no 2x2  {t * 1000:8.1f} ms")
    chart = ToothChart.from_mapping({18: "missing", 26: "crown", 36: "implant"})
    t = best(lambda: tooth_chart_svg(chart, dentition="mixed"), args.repeats)
    print(f"tooth_chart_svg (mixed)            {t * 1000:8.2f} ms")
    forty = plan(40)
    t = best(lambda: plan_schedule_svg(forty), args.repeats)
    print(f"plan_schedule_svg (40 steps)       {t * 1000:8.2f} ms")


if __name__ == "__main__":
    main()
