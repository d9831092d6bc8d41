"""Strategies for file reports, file references and a case's records."""

from __future__ import annotations

from typing import TypeVar

from hypothesis import strategies as st

from aligner_core.domain.records import (
    ArchPlausibility,
    FileKind,
    FileRef,
    FileReport,
    ImpressionShipment,
    ImpressionType,
    MediaType,
    MeshReport,
    Records,
)
from aligner_core.testing.strategies._common import (
    FINITE,
    NON_NEGATIVE,
    SHA256,
    aware_datetimes,
    optional,
    small_tuples,
    text,
)

T = TypeVar("T")


def _vec3() -> st.SearchStrategy[tuple[float, float, float]]:
    return st.tuples(FINITE, FINITE, FINITE)


def mesh_reports() -> st.SearchStrategy[MeshReport]:
    return st.builds(
        MeshReport,
        format=st.sampled_from(["binary", "ascii"]),
        triangles=NON_NEGATIVE,
        vertices=NON_NEGATIVE,
        degenerate_triangles=NON_NEGATIVE,
        nonfinite_values=NON_NEGATIVE,
        bbox_min=_vec3(),
        bbox_max=_vec3(),
        size_mm=_vec3(),
        plausibility=st.sampled_from(ArchPlausibility),
        surface_area_mm2=st.floats(min_value=0, allow_nan=False, allow_infinity=False),
        boundary_edges=NON_NEGATIVE,
        non_manifold_edges=NON_NEGATIVE,
        inconsistent_winding_edges=NON_NEGATIVE,
    )


@st.composite
def file_reports(draw: st.DrawFn, media_type: MediaType | None = None) -> FileReport:
    """A content report; STL files carry a mesh report, archives an entry count."""
    kind = media_type or draw(st.sampled_from(MediaType))
    return FileReport(
        media_type=kind,
        size=draw(NON_NEGATIVE),
        sha256=draw(SHA256),
        warnings=draw(small_tuples(text(200), 2)),
        mesh=draw(optional(mesh_reports())) if kind is MediaType.STL else None,
        archive_entries=(
            draw(optional(st.integers(0, 10_000)))
            if kind in (MediaType.ZIP, MediaType.TAR)
            else None
        ),
    )


_MEDIA_OF_KIND = {
    FileKind.UPPER_SCAN: (MediaType.STL, MediaType.ZIP),
    FileKind.LOWER_SCAN: (MediaType.STL, MediaType.ZIP),
    FileKind.BITE_SCAN: (MediaType.STL, MediaType.ZIP),
    FileKind.RADIOGRAPH: (MediaType.PNG, MediaType.JPEG, MediaType.PDF),
    FileKind.OTHER: tuple(MediaType),
}


@st.composite
def file_refs(draw: st.DrawFn) -> FileRef:
    kind = draw(st.sampled_from(FileKind))
    media = draw(st.sampled_from(_MEDIA_OF_KIND.get(kind, (MediaType.PNG, MediaType.JPEG))))
    return FileRef(
        file_id=draw(st.uuids()),
        kind=kind,
        name=draw(text(120, blank=False)),
        report=draw(file_reports(media)),
        uploaded_at=draw(aware_datetimes()),
        uploaded_by=draw(st.uuids()),
    )


def records(*, max_files: int = 4) -> st.SearchStrategy[Records]:
    return st.builds(
        Records,
        impression_type=optional(st.sampled_from(ImpressionType)),
        files=st.lists(file_refs(), max_size=max_files, unique_by=lambda f: f.file_id).map(tuple),
        confirmed_complete=st.booleans(),
        privacy_accepted=st.booleans(),
        impressions=optional(impression_shipments()),
    )


def impression_shipments() -> st.SearchStrategy[ImpressionShipment]:
    return st.builds(
        ImpressionShipment,
        carrier=text(80, blank=False),
        tracking_number=text(80, blank=False),
        shipped_at=aware_datetimes(),
        shipped_by=st.uuids(),
        received_at=optional(aware_datetimes()),
        received_by=optional(st.uuids()),
    )
