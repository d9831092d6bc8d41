"""``aligner-core scan FILE... [--json]``: run the content checks on local files.

The kind is inferred, not asked: STL content (or a file named ``.stl`` whose
content is not recognised, so that the STL reasons are shown) is checked as an
upper scan, everything else as ``other``. The files are only read: photos are
decoded but not re-encoded (``receive`` does that for uploads). The JSON output
gives each reason's rule code beside its text.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO

import attrs

from aligner_core.domain.records import FileKind, FileReport, MediaType, MeshReport
from aligner_core.errors import RejectedFileError, StorageError
from aligner_core.files.scanner import ContentScanner
from aligner_core.files.sniff import sniff_file

__all__ = ["format_report", "run_scan"]


def _kind_for(path: str) -> FileKind:
    try:
        media = sniff_file(path)
    except OSError:
        return FileKind.OTHER
    if media is MediaType.STL or (media is None and path.lower().endswith(".stl")):
        return FileKind.UPPER_SCAN
    return FileKind.OTHER


def _mesh_lines(mesh: MeshReport) -> list[str]:
    x, y, z = mesh.size_mm
    lo = ", ".join(f"{v:.6g}" for v in mesh.bbox_min)
    hi = ", ".join(f"{v:.6g}" for v in mesh.bbox_max)
    surface = "closed" if mesh.is_closed else "open"
    return [
        f"  format:        {mesh.format} STL",
        f"  triangles:     {mesh.triangles:,} ({mesh.degenerate_triangles:,} degenerate)",
        f"  vertices:      {mesh.vertices:,} (after merging identical ones)",
        f"  size:          {x:.6g} x {y:.6g} x {z:.6g} mm ({mesh.plausibility.value})",
        f"  bounding box:  ({lo}) .. ({hi})",
        f"  surface area:  {mesh.surface_area_mm2:,.6g} mm2",
        f"  edges:         {surface} surface: {mesh.boundary_edges:,} boundary, "
        f"{mesh.non_manifold_edges:,} non-manifold, "
        f"{mesh.inconsistent_winding_edges:,} inconsistently wound",
    ]


def format_report(path: str, report: FileReport) -> str:
    """A readable multi-line description of an accepted file."""
    lines = [
        f"{path}: accepted",
        f"  type:          {report.media_type.value}",
        f"  size:          {report.size:,} bytes",
        f"  sha256:        {report.sha256}",
    ]
    if report.archive_entries is not None:
        lines.append(f"  entries:       {report.archive_entries:,}")
    if report.mesh is not None:
        lines.extend(_mesh_lines(report.mesh))
    lines.extend(f"  warning:       {w}" for w in report.warnings)
    return "\n".join(lines)


def run_scan(paths: list[str], *, as_json: bool, out: TextIO | None = None) -> int:
    """Scan each file and print its report (or a JSON list); 0 if all accepted, else 1."""
    stream = out if out is not None else sys.stdout
    scanner = ContentScanner()
    results: list[dict[str, Any]] = []
    status = 0
    for path in paths:
        kind = _kind_for(path)
        try:
            report = scanner.scan(path, name=os.path.basename(path) or path, kind=kind)
        except (RejectedFileError, StorageError) as e:
            status = 1
            reasons = list(e.reasons) if isinstance(e, RejectedFileError) else [str(e)]
            codes = [getattr(r, "code", "storage.error") for r in reasons]
            results.append(
                {
                    "path": path,
                    "kind": kind.value,
                    "accepted": False,
                    "reasons": [str(r) for r in reasons],
                    "codes": codes,
                }
            )
            if not as_json:
                print(f"{path}: REFUSED", file=stream)
                for reason in reasons:
                    print(f"  - {reason}", file=stream)
            continue
        results.append(
            {
                "path": path,
                "kind": kind.value,
                "accepted": True,
                "report": attrs.asdict(report),
            }
        )
        if not as_json:
            print(format_report(path, report), file=stream)
    if as_json:
        json.dump(results, stream, indent=2, default=str)
        stream.write("\n")
    return status
