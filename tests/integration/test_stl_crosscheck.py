"""The STL analysis agrees with trimesh (a test-only dependency) on generated meshes."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aligner_core.domain.records import MeshReport
from aligner_core.files.stl import StlAnalyzer, analyze_triangles, merge_vertices

trimesh = pytest.importorskip("trimesh")


def write_binary_stl(path: Path, vertices: np.ndarray, faces: np.ndarray) -> Path:
    tri = np.asarray(vertices, dtype=np.float32)[np.asarray(faces)]
    data = np.zeros(len(tri), dtype=[("n", "<f4", (3,)), ("v", "<f4", (3, 3)), ("a", "<u2")])
    data["v"] = tri
    path.write_bytes(b"crosscheck".ljust(80, b" ") + struct.pack("<I", len(tri)) + data.tobytes())
    return path


def trimesh_facts(path: Path) -> dict[str, object]:
    tm = trimesh.load(path, force="mesh", process=True)
    _, counts = np.unique(tm.edges_sorted, axis=0, return_counts=True)
    return {
        "vertices": len(tm.vertices),
        "triangles": len(tm.faces),
        "boundary": int(np.count_nonzero(counts == 1)),
        "non_manifold": int(np.count_nonzero(counts > 2)),
        "area": float(tm.area),
        "watertight": bool(tm.is_watertight),
        "winding_consistent": bool(tm.is_winding_consistent),
        "extents": tuple(float(x) for x in tm.extents),
    }


def analyze(path: Path) -> MeshReport:
    report, _ = StlAnalyzer().analyze(path, path.stat().st_size, "")
    return report


def assert_agrees(report: MeshReport, facts: dict[str, object]) -> None:
    assert report.vertices == facts["vertices"]
    assert report.triangles == facts["triangles"]
    assert report.boundary_edges == facts["boundary"]
    assert report.non_manifold_edges == facts["non_manifold"]
    assert report.surface_area_mm2 == pytest.approx(facts["area"], rel=1e-6)
    assert report.is_closed == facts["watertight"]
    assert report.size_mm == pytest.approx(facts["extents"], rel=1e-6)
    if report.non_manifold_edges == 0:
        assert (report.inconsistent_winding_edges == 0) == facts["winding_consistent"]


def sphere(subdivisions: int = 3, radius: float = 25.0) -> tuple[np.ndarray, np.ndarray]:
    s = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    return np.asarray(s.vertices), np.asarray(s.faces)


def arch(nu: int = 60, nv: int = 12) -> tuple[np.ndarray, np.ndarray]:
    u, v = np.meshgrid(np.linspace(0, np.pi, nu), np.linspace(0, 1, nv), indexing="ij")
    points = np.stack([30 * np.cos(u) * (1 + 0.1 * v), 25 * np.sin(u) + v, 20 * v], -1).reshape(
        -1, 3
    )
    idx = np.arange(nu * nv).reshape(nu, nv)
    a, b, c, d = (
        idx[:-1, :-1].ravel(),
        idx[1:, :-1].ravel(),
        idx[1:, 1:].ravel(),
        idx[:-1, 1:].ravel(),
    )
    return points, np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])


def test_closed_box(tmp_path: Path) -> None:
    box = trimesh.creation.box(extents=(60, 50, 20))
    path = write_binary_stl(tmp_path / "box.stl", box.vertices, box.faces)
    report = analyze(path)
    assert_agrees(report, trimesh_facts(path))
    assert report.is_closed and report.vertices == 8 and report.inconsistent_winding_edges == 0
    assert report.surface_area_mm2 == pytest.approx(2 * (60 * 50 + 60 * 20 + 50 * 20))


def test_closed_icosphere(tmp_path: Path) -> None:
    vertices, faces = sphere()
    path = write_binary_stl(tmp_path / "s.stl", vertices, faces)
    report = analyze(path)
    assert_agrees(report, trimesh_facts(path))
    assert report.is_closed and report.vertices == len(vertices)


def test_sphere_with_holes(tmp_path: Path) -> None:
    vertices, faces = sphere()
    path = write_binary_stl(
        tmp_path / "s.stl", vertices, np.delete(faces, [0, 50, 51, 300], axis=0)
    )
    report = analyze(path)
    assert_agrees(report, trimesh_facts(path))
    assert report.boundary_edges > 0 and not report.is_closed


def test_open_arch_surface(tmp_path: Path) -> None:
    vertices, faces = arch()
    path = write_binary_stl(tmp_path / "arch.stl", vertices, faces)
    report = analyze(path)
    assert_agrees(report, trimesh_facts(path))
    assert report.boundary_edges == 2 * (60 - 1) + 2 * (12 - 1)
    assert report.plausibility.value == "plausible"


def test_flipped_triangle(tmp_path: Path) -> None:
    vertices, faces = sphere()
    faces = faces.copy()
    faces[7] = faces[7][::-1]
    path = write_binary_stl(tmp_path / "s.stl", vertices, faces)
    report = analyze(path)
    facts = trimesh_facts(path)
    assert_agrees(report, facts)
    assert report.inconsistent_winding_edges == 3
    assert not facts["winding_consistent"]


def test_duplicated_faces(tmp_path: Path) -> None:
    vertices, faces = sphere()
    faces = np.concatenate([faces, faces[[3, 4, 100]]])
    path = write_binary_stl(tmp_path / "s.stl", vertices, faces)
    report = analyze(path)
    assert_agrees(report, trimesh_facts(path))
    assert report.non_manifold_edges > 0 and not report.is_closed


def test_inches_and_metres(tmp_path: Path) -> None:
    vertices, faces = arch()
    inches = analyze(write_binary_stl(tmp_path / "in.stl", vertices / 25.4, faces))
    metres = analyze(write_binary_stl(tmp_path / "m.stl", vertices / 1000, faces))
    assert inches.plausibility.value == "looks_like_inches"
    assert metres.plausibility.value == "looks_like_metres"


def test_merge_vertices_matches_numpy_unique() -> None:
    rng = np.random.default_rng(1)
    points = rng.integers(0, 5, size=(5000, 3)).astype(np.float32)
    points[::7] *= -0.0  # -0.0 and 0.0 are the same point
    inverse, n = merge_vertices(points)
    unique, expected = np.unique(points + np.float32(0), axis=0, return_inverse=True)
    assert n == len(unique)
    # the same partition: (ours, numpy) index pairs are a bijection
    pairs = np.unique(np.stack([inverse, expected.ravel()], 1), axis=0)
    assert len(pairs) == n


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    drop=st.sets(st.integers(0, 79), max_size=10),
    flip=st.sets(st.integers(0, 79), max_size=5),
    dup=st.lists(st.integers(0, 79), max_size=5),
)
def test_random_damage_agrees_with_trimesh(
    tmp_path: Path, drop: set[int], flip: set[int], dup: list[int]
) -> None:
    vertices, faces = sphere(subdivisions=1)
    faces = faces.copy()
    for i in flip:
        faces[i] = faces[i][::-1]
    faces = np.concatenate([faces, faces[dup]]) if dup else faces
    faces = np.delete(faces, sorted(drop), axis=0)
    path = write_binary_stl(tmp_path / "r.stl", vertices, faces)
    report = analyze(path)
    assert_agrees(report, trimesh_facts(path))


def test_analyze_triangles_directly() -> None:
    vertices, faces = sphere(2)
    report = analyze_triangles(np.asarray(vertices, dtype=np.float32)[faces], "binary")
    assert report.is_closed and report.vertices == len(vertices)


@pytest.mark.parametrize("index_bits", [None, 40, 60, 63])
def test_merge_vertices_exact_even_when_truncated_keys_collide(index_bits: int | None) -> None:
    """Forcing a short key (many collisions) must still give numpy.unique's partition."""
    rng = np.random.default_rng(2)
    points = (rng.integers(-3, 4, size=(20_000, 3)) / 4).astype(np.float32)
    inverse, n = merge_vertices(points, index_bits=index_bits)
    unique, expected = np.unique(points + np.float32(0), axis=0, return_inverse=True)
    assert n == len(unique)
    assert len(np.unique(np.stack([inverse, expected.ravel()], 1), axis=0)) == n
    assert np.array_equal(
        unique[expected.ravel()][np.argsort(inverse, kind="stable")],
        points[np.argsort(inverse, kind="stable")] + np.float32(0),
    )
