"""The STL scanner: reads binary and ASCII STL with numpy-stl and measures the mesh in numpy.

This module is the ``aligner-core[stl]`` extra: it is the only place that imports
numpy-stl. The file size is checked against the binary header's triangle count
before any triangle is read, so a header claiming 2**32-1 triangles costs 84 bytes
of reading, never gigabytes. Every numpy-stl or numpy failure becomes a
:class:`~aligner_core.errors.RejectedFileError`.

Mesh analysis (vertex merging, edge counting, winding) runs on whole arrays: one
sort for the vertices and one for the edges, no Python loop over triangles.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt
from stl import mesh as _stl_mesh
from stl import stl as _stl_stl

from aligner_core.domain.records import ArchPlausibility, MeshReport
from aligner_core.errors import RejectedFileError
from aligner_core.files.reasons import Reason, Rule, reason, refused
from aligner_core.files.sniff import (
    HEAD_SIZE,
    STL_HEADER_SIZE,
    STL_TRIANGLE_SIZE,
    StlFormat,
    stl_format,
)

__all__ = [
    "HEADER_SIZE",
    "TRIANGLE_SIZE",
    "StlAnalyzer",
    "StlFormat",
    "analyze_triangles",
    "arch_plausibility",
    "detect_format",
    "merge_vertices",
    "speedups_available",
]

HEADER_SIZE: Final = STL_HEADER_SIZE
"""80-byte header plus the little-endian uint32 triangle count."""
TRIANGLE_SIZE: Final = STL_TRIANGLE_SIZE
"""Normal, three vertices (12 float32) and a uint16 attribute."""

detect_format = stl_format
"""The one STL rule (:func:`aligner_core.files.sniff.stl_format`), under its older name."""

F32Array = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


def speedups_available() -> bool:
    """True when numpy-stl has its compiled ASCII parser (numpy-stl[fast] in 4.x).

    Without it ``speedups=True`` silently falls back to the pure-Python parser.
    """
    try:
        from stl import _compat
    except ImportError:  # numpy-stl 3.x ships the Cython module inside the package
        return importlib.util.find_spec("stl._speedups") is not None
    return bool(_compat.has_speedups())


def arch_plausibility(largest: float) -> ArchPlausibility:
    """Judge the largest bounding-box side (in file units, taken as mm) for a dental arch.

    A full arch is some 40-80 mm wide; with base and bite a model stays within
    20-200 mm. The same arch in inches measures about 0.8-8, in metres 0.02-0.2.
    """
    if 20.0 <= largest <= 200.0:
        return ArchPlausibility.PLAUSIBLE
    if largest > 200.0:
        return ArchPlausibility.TOO_LARGE
    if 0.8 <= largest <= 8.0:
        return ArchPlausibility.LOOKS_LIKE_INCHES
    if 0.015 <= largest < 0.2:
        return ArchPlausibility.LOOKS_LIKE_METRES
    return ArchPlausibility.TOO_SMALL


_MIX1: Final = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constants (splitmix64)
_MIX2: Final = np.uint64(0xBF58476D1CE4E5B9)


def merge_vertices(points: F32Array, *, index_bits: int | None = None) -> tuple[IntArray, int]:
    """Give identical points one index: ``(index per point, number of distinct points)``.

    The x and y float32 bit patterns fill a uint64, z is mixed in, and a
    bijective finaliser spreads the bits (``-0.0`` counts as ``0.0``). The top
    bits of that key and the point's position share one uint64, so a plain
    value sort (SIMD, several times faster than an argsort) orders the points.
    Equal key and equal z mean equal points; the rare runs where the truncated
    key collides are re-sorted exactly, so the result is always exact.
    ``index_bits`` (tests only) forces a shorter key to exercise that path.
    """
    n = len(points)
    if n == 0:
        return np.zeros(0, dtype=np.int64), 0
    pts = np.ascontiguousarray(points, dtype=np.float32) + np.float32(0.0)  # -0.0 -> 0.0
    raw = pts.view(np.uint32)
    z = raw[:, 2]
    with np.errstate(over="ignore"):
        key = (raw[:, 0].astype(np.uint64) << np.uint64(32)) | raw[:, 1]
        key ^= z.astype(np.uint64) * _MIX1
        key ^= key >> np.uint64(31)
        key *= _MIX2
        key ^= key >> np.uint64(29)
    shift = np.uint64(index_bits or max(1, (n - 1).bit_length()))
    packed = (key >> shift) << shift
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    order = (packed & ((np.uint64(1) << shift) - np.uint64(1))).astype(np.int64)
    sorted_key = key[order]
    sorted_z = z[order]
    same = (sorted_key[1:] == sorted_key[:-1]) & (sorted_z[1:] == sorted_z[:-1])
    prefix = packed >> shift
    same_prefix = prefix[1:] == prefix[:-1]
    collided = same_prefix & ~same
    if collided.any():
        run = np.concatenate(([0], np.cumsum(~same_prefix)))
        selected = np.flatnonzero(np.isin(run, np.unique(run[1:][collided])))
        exact = selected[np.lexsort((sorted_z[selected], sorted_key[selected], run[selected]))]
        order[selected] = order[exact]
        sorted_key = key[order]
        sorted_z = z[order]
        same = (sorted_key[1:] == sorted_key[:-1]) & (sorted_z[1:] == sorted_z[:-1])
    starts = np.empty(n, dtype=np.int64)
    starts[0] = 1
    starts[1:] = ~same
    ids = np.cumsum(starts) - 1
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = ids
    return inverse, int(ids[-1]) + 1


@attrs.frozen
class _EdgeCounts:
    boundary: int
    non_manifold: int
    inconsistent: int


def _count_edges(faces: IntArray, nverts: int) -> _EdgeCounts:
    """Boundary (used once), non-manifold (> twice) and same-direction (mis-wound) edges.

    Each half-edge becomes one int64: ``(low * nverts + high) * 2 + direction``;
    a single value sort (much faster than an argsort) groups the edges, and a
    manifold edge whose two half-edges run the same way sorts as two equal values.
    """
    a = faces.reshape(-1)
    b = faces[:, (1, 2, 0)].reshape(-1)
    proper = a != b  # an edge of a collapsed triangle joining a vertex to itself is no edge
    if not proper.all():
        a, b = a[proper], b[proper]
    if len(a) == 0:
        return _EdgeCounts(0, 0, 0)
    code = np.minimum(a, b) * np.int64(nverts)
    code += np.maximum(a, b)
    code <<= 1
    code |= a > b
    code.sort()
    edge = code >> 1
    first = np.empty(len(code), dtype=bool)
    first[0] = True
    np.not_equal(edge[1:], edge[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    counts = np.diff(starts, append=len(code))
    pairs = starts[counts == 2]
    return _EdgeCounts(
        boundary=int(np.count_nonzero(counts == 1)),
        non_manifold=int(np.count_nonzero(counts > 2)),
        inconsistent=int(np.count_nonzero(code[pairs] == code[pairs + 1])),
    )


def analyze_triangles(vectors: F32Array, fmt: str) -> MeshReport:
    """Measure an ``(N, 3, 3)`` float32 triangle array whose coordinates are all finite."""
    n = len(vectors)
    points = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, 3)
    inverse, nverts = merge_vertices(points)
    faces = inverse.reshape(n, 3)
    e1 = (vectors[:, 1] - vectors[:, 0]).astype(np.float64)
    e2 = (vectors[:, 2] - vectors[:, 0]).astype(np.float64)
    cx = e1[:, 1] * e2[:, 2] - e1[:, 2] * e2[:, 1]
    cy = e1[:, 2] * e2[:, 0] - e1[:, 0] * e2[:, 2]
    cz = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    doubled_area = np.sqrt(cx * cx + cy * cy + cz * cz)
    collapsed = (
        (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | (faces[:, 0] == faces[:, 2])
    )
    degenerate = int(np.count_nonzero((doubled_area == 0) | collapsed))
    edges = _count_edges(faces, nverts)
    # Column by column: a strided axis-0 reduction over (3N, 3) is ~10x slower.
    low = np.array([float(points[:, i].min(axis=0)) for i in range(3)])
    high = np.array([float(points[:, i].max(axis=0)) for i in range(3)])
    size = high - low
    return MeshReport(
        format=fmt,
        triangles=n,
        vertices=nverts,
        degenerate_triangles=degenerate,
        nonfinite_values=0,
        bbox_min=(float(low[0]), float(low[1]), float(low[2])),
        bbox_max=(float(high[0]), float(high[1]), float(high[2])),
        size_mm=(float(size[0]), float(size[1]), float(size[2])),
        plausibility=arch_plausibility(float(size.max())),
        surface_area_mm2=float(0.5 * doubled_area.sum()),
        boundary_edges=edges.boundary,
        non_manifold_edges=edges.non_manifold,
        inconsistent_winding_edges=edges.inconsistent,
    )


class StlAnalyzer:
    """Reads an STL file with numpy-stl (normals kept as stored) and reports on the mesh.

    ``max_triangles`` bounds what is read into memory (10 million triangles is
    500 MB of binary STL, far above any intraoral scan); ``max_trailing_bytes``
    is how many bytes after the last binary triangle are tolerated (with a
    warning). ``speedups`` is passed to numpy-stl for ASCII parsing.
    """

    def __init__(
        self,
        *,
        max_triangles: int = 10_000_000,
        max_trailing_bytes: int = 128,
        speedups: bool = True,
    ) -> None:
        self.max_triangles = max_triangles
        self.max_trailing_bytes = max_trailing_bytes
        self.speedups = speedups

    def analyze(
        self, path: str | os.PathLike[str], size: int, sha256: str
    ) -> tuple[MeshReport, list[str]]:
        """Read and measure the STL at ``path``; return the report and warnings.

        ``size`` is the size measured while uploading (a file on disk of another
        size is refused); ``sha256`` is not used (the port's signature). Raises
        ``RejectedFileError``: zero triangles, a size that does not fit the
        header, NaN/inf coordinates, ASCII that does not parse, only
        zero-area triangles. Open surfaces and odd sizes are reported, not refused.
        """
        label = os.path.basename(os.fspath(path)) or os.fspath(path)
        vectors, fmt, warnings = self.load(path, size, sha256)
        n = len(vectors)
        finite = np.isfinite(vectors)
        if not finite.all():
            bad = int(finite.size - np.count_nonzero(finite))
            bad_triangles = int(np.count_nonzero(~finite.all(axis=(1, 2))))
            raise refused(
                label, [reason(Rule.STL_NONFINITE, values=bad, count=bad_triangles, triangles=n)]
            )
        try:
            report = analyze_triangles(vectors, fmt)
        except MemoryError as e:
            raise refused(label, [reason(Rule.STL_TOO_MANY, "analyse")]) from e
        except (ValueError, FloatingPointError, TypeError) as e:
            raise refused(label, [reason(Rule.STL_UNPARSABLE, "analysis")]) from e
        if report.degenerate_triangles == n:
            raise refused(label, [reason(Rule.STL_DEGENERATE, count=n)])
        warnings.extend(_mesh_warnings(report))
        return report, warnings

    def load(
        self, path: str | os.PathLike[str], size: int | None = None, sha256: str = ""
    ) -> tuple[F32Array, str, list[str]]:
        """Read the triangles: ``(vectors (N, 3, 3) float32, "binary"|"ascii", warnings)``.

        The format and the binary size rule (:func:`~aligner_core.files.sniff.stl_format`)
        are checked on the first 4 KiB before numpy-stl reads anything; normals
        are not recomputed.
        """
        name = os.fspath(path)
        label = os.path.basename(name) or name
        warnings: list[str] = []
        try:
            with open(name, "rb") as fh:
                actual = os.fstat(fh.fileno()).st_size
                if size is not None and actual != size:
                    raise refused(
                        label, [reason(Rule.STL_INVALID, "changed", size=actual, expected=size)]
                    )
                head = fh.read(HEAD_SIZE)
                found = stl_format(head, actual, max_trailing_bytes=self.max_trailing_bytes)
                if found.format is None:
                    raise refused(label, found.reasons)
                if found.format == "binary" and found.triangles > self.max_triangles:
                    raise refused(label, [_too_many(found.triangles, self.max_triangles)])
                fmt = found.format
                fh.seek(0)
                vectors = self._read(fh, fmt, label)
                if fmt == "binary" and found.trailing_bytes:
                    warnings.append(
                        f"{found.trailing_bytes} trailing byte(s) after the last triangle ignored"
                    )
        except RejectedFileError:
            raise
        except MemoryError as e:
            raise refused(label, [reason(Rule.STL_TOO_MANY, "read")]) from e
        except OSError as e:
            raise refused(label, [reason(Rule.STL_UNPARSABLE, "io")]) from e
        n = len(vectors)
        if n == 0:
            raise refused(label, [reason(Rule.STL_INVALID, "zero_triangles", format=fmt)])
        if n > self.max_triangles:
            raise refused(label, [_too_many(n, self.max_triangles)])
        if fmt == "binary" and n != found.triangles:  # pragma: no cover - size checked
            raise refused(
                label,
                [reason(Rule.STL_INVALID, "short_read", count=n, expected=found.triangles)],
            )
        return vectors, fmt, warnings

    def _read(self, fh: Any, fmt: str, label: str) -> F32Array:
        """Load with numpy-stl in the format already decided (no auto-detection fallback)."""
        mode = _stl_stl.Mode.BINARY if fmt == "binary" else _stl_stl.Mode.ASCII
        try:
            loaded = _stl_mesh.Mesh.from_file(
                label, calculate_normals=False, fh=fh, mode=mode, speedups=self.speedups
            )
        except MemoryError:
            raise
        except Exception:  # numpy-stl raises RuntimeError, AssertionError, ValueError, ...
            # Its messages quote lines of the file: name the rule only.
            raise refused(label, [reason(Rule.STL_UNPARSABLE, format=fmt)]) from None
        vectors: F32Array = np.asarray(loaded.vectors, dtype=np.float32)
        return vectors


def _too_many(count: int, most: int) -> Reason:
    return reason(Rule.STL_TOO_MANY, count=count, max=most)


_VERDICTS: Final = {
    ArchPlausibility.LOOKS_LIKE_INCHES: "looks like inches, not millimetres",
    ArchPlausibility.LOOKS_LIKE_METRES: "looks like metres, not millimetres",
    ArchPlausibility.TOO_SMALL: "is too small for a dental arch in millimetres",
    ArchPlausibility.TOO_LARGE: "is too large for a dental arch in millimetres",
}


def _mesh_warnings(report: MeshReport) -> list[str]:
    warnings: list[str] = []
    if report.degenerate_triangles:
        warnings.append(f"{report.degenerate_triangles} degenerate (zero-area) triangle(s)")
    if report.non_manifold_edges:
        warnings.append(f"{report.non_manifold_edges} non-manifold edge(s)")
    if report.inconsistent_winding_edges:
        warnings.append(
            f"{report.inconsistent_winding_edges} edge(s) with inconsistent triangle winding"
        )
    if report.plausibility is not ArchPlausibility.PLAUSIBLE:
        x, y, z = report.size_mm
        verdict = _VERDICTS[report.plausibility]
        warnings.append(f"bounding box {x:.4g} x {y:.4g} x {z:.4g} {verdict}")
    return warnings
