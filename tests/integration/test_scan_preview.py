"""scan_preview_png: silhouettes checked against the geometry, depth order, bad input, samples.

The expected silhouettes are computed here independently of the rasteriser: the mesh's
bounding box is fitted to the image as documented (centred, aspect kept, a margin of 4% of
the shorter side) and every pixel centre is tested against every projected triangle by
brute force. Pixels within 1.5 px of the silhouette's edge are left out (they are
anti-aliased); every other pixel must be mesh or background exactly as the geometry says.
"""

from __future__ import annotations

import io
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from aligner_core.errors import RejectedFileError, ValidationError
from aligner_core.pictures import MissingExtraError, scan_preview_png
from aligner_core.testing.factories import arch_stl

# Beside the checkout, as in test_stl_samples.py; ALIGNER_CORE_STL_SAMPLES points elsewhere
# (a worktree whose ../shared is not there).
SAMPLES = Path(
    os.environ.get("ALIGNER_CORE_STL_SAMPLES")
    or Path(__file__).resolve().parents[2].parent / "shared" / "data" / "stl-samples"
)
WHITE = np.array([255, 255, 255])

# (right, up) axes of each view in model coordinates, as documented in scan_preview.
AXES = {"occlusal": ((1, 0, 0), (0, 1, 0)), "frontal": ((-1, 0, 0), (0, 0, 1))}


def decode(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return np.asarray(image)


def expected_mask(tris: np.ndarray, view: str, width: int, height: int) -> np.ndarray:
    """Which pixel centres the projected triangles cover (brute force, no z-buffer needed)."""
    right, up = (np.array(a, dtype=float) for a in AXES[view])
    u, v = tris @ right, tris @ up  # (N, 3) each
    margin = 0.04 * min(width, height)
    scale = min(
        (width - 2 * margin) / np.ptp(u) if np.ptp(u) else np.inf,
        (height - 2 * margin) / np.ptp(v) if np.ptp(v) else np.inf,
    )
    x = (u - (u.min() + u.max()) / 2) * scale + width / 2
    y = height / 2 - (v - (v.min() + v.max()) / 2) * scale
    py, px = np.mgrid[0:height, 0:width] + 0.5
    mask = np.zeros((height, width), dtype=bool)
    for (x0, x1, x2), (y0, y1, y2) in zip(x, y, strict=True):
        d = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
        if abs(d) < 1e-12:
            continue
        w0 = ((x1 - px) * (y2 - py) - (x2 - px) * (y1 - py)) / d
        w1 = ((x2 - px) * (y0 - py) - (x0 - px) * (y2 - py)) / d
        mask |= (w0 >= 0) & (w1 >= 0) & (w0 + w1 <= 1)
    return mask


def near_edge(mask: np.ndarray, reach: int = 2) -> np.ndarray:
    """Pixels within ``reach`` pixels (Chebyshev) of a pixel of the other kind."""
    padded = np.pad(mask, reach, mode="edge")
    h, w = mask.shape
    grown = np.zeros_like(mask)
    shrunk = np.ones_like(mask)
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            window = padded[reach + dy : reach + dy + h, reach + dx : reach + dx + w]
            grown |= window
            shrunk &= window
    return grown & ~shrunk


def assert_silhouette(png: bytes, tris: np.ndarray, view: str, size: tuple[int, int]) -> None:
    pixels = decode(png)
    assert pixels.shape[:2] == (size[1], size[0])
    drawn = np.any(pixels[..., :3] != WHITE, axis=-1)
    expected = expected_mask(tris, view, *size)
    assert expected.any() and (~expected).any()
    sure = ~near_edge(expected)
    wrong = (drawn != expected) & sure
    assert not wrong.any(), f"{int(wrong.sum())} pixels differ, e.g. {np.argwhere(wrong)[:5]}"


def square(half: float = 10.0, z: float = 0.0) -> np.ndarray:
    a, b, c, d = (-half, -half, z), (half, -half, z), (half, half, z), (-half, half, z)
    return np.array([[a, b, c], [a, c, d]], dtype=float)


def box(sx: float, sy: float, sz: float) -> np.ndarray:
    """A closed box of 12 triangles, corner at the origin."""
    p = np.array([[x, y, z] for x in (0, sx) for y in (0, sy) for z in (0, sz)], dtype=float)
    faces = [
        (0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1),
        (2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3),
    ]  # fmt: skip
    return p[np.array(faces)]


def arch_triangles() -> np.ndarray:
    data = arch_stl()
    count = int.from_bytes(data[80:84], "little")
    dtype = np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")])
    return np.frombuffer(data, dtype=dtype, count=count, offset=84)["v"].astype(float)


# -- silhouettes ----------------------------------------------------------------------------------


def test_flat_square_fills_the_fitted_square() -> None:
    tris = square()
    png = scan_preview_png(tris, size=(128, 128))
    assert_silhouette(png, tris, "occlusal", (128, 128))
    pixels = decode(png)
    margin = 0.04 * 128  # 5.12 px: the square spans 5.12 .. 122.88
    assert (pixels[64, 4] == WHITE).all() and (pixels[64, 124] == WHITE).all()
    assert not (pixels[64, 7] == WHITE).all() and not (pixels[7, 64] == WHITE).all()
    assert margin == pytest.approx(5.12)


@pytest.mark.parametrize("view", ["occlusal", "frontal"])
@pytest.mark.parametrize("size", [(160, 120), (96, 200)])
def test_box_silhouette_keeps_its_aspect(view: str, size: tuple[int, int]) -> None:
    tris = box(40.0, 20.0, 10.0)
    assert_silhouette(scan_preview_png(tris, view=view, size=size), tris, view, size)  # type: ignore[arg-type]


@pytest.mark.parametrize("view", ["occlusal", "frontal"])
def test_arch_stl_silhouette(view: str) -> None:
    tris = arch_triangles()
    png = scan_preview_png(arch_stl(), view=view, size=(160, 128))  # type: ignore[arg-type]
    assert_silhouette(png, tris, view, (160, 128))


def test_frontal_view_is_not_mirrored() -> None:
    """Looking at the front (+y towards the viewer), the model's +x is on the viewer's left."""
    tris = np.concatenate([box(10, 10, 10), box(10, 10, 20) + np.array([30.0, 0, 0])])
    pixels = decode(scan_preview_png(tris, view="frontal", size=(100, 100)))
    drawn = np.any(pixels != WHITE, axis=-1)
    top_rows = drawn[:30]  # only the taller box (at +x) reaches up here
    columns = np.flatnonzero(top_rows.any(axis=0))
    assert columns.max() < 50


def test_the_nearer_surface_hides_the_farther_one() -> None:
    flat = square(10.0, z=0.0)
    tilted = square(4.0, z=0.0)
    tilted[..., 2] += 0.6 * tilted[..., 0]  # a slope: lit differently from the flat square
    above = np.concatenate([flat, tilted + np.array([0, 0, 5.0])])
    below = np.concatenate([flat, tilted - np.array([0, 0, 5.0])])
    seen_above = decode(scan_preview_png(above, size=(64, 64)))
    seen_below = decode(scan_preview_png(below, size=(64, 64)))
    corner = seen_above[10, 10]
    assert (seen_below[32, 32] == corner).all()  # the flat square is nearer: it shows
    assert not (seen_above[32, 32] == corner).all()  # the slope is nearer: it shows
    # order in the array does not matter
    swapped = decode(scan_preview_png(above[::-1].copy(), size=(64, 64)))
    assert (swapped[32, 32] == seen_above[32, 32]).all()


def test_transparent_background_is_alpha() -> None:
    tris = square()
    pixels = decode(scan_preview_png(tris, size=(64, 48), background="transparent"))
    assert pixels.shape == (48, 64, 4)
    expected = expected_mask(tris, "occlusal", 64, 48)
    sure = ~near_edge(expected)
    assert (pixels[..., 3][expected & sure] == 255).all()
    assert (pixels[..., 3][~expected & sure] == 0).all()


def test_path_bytes_and_array_give_the_same_picture(tmp_path: Path) -> None:
    data = arch_stl()
    path = tmp_path / "arch.stl"
    path.write_bytes(data)
    from_bytes = scan_preview_png(data, size=(96, 96))
    assert scan_preview_png(path, size=(96, 96)) == from_bytes
    assert scan_preview_png(str(path), size=(96, 96)) == from_bytes
    assert scan_preview_png(arch_triangles(), size=(96, 96)) == from_bytes
    assert scan_preview_png(bytearray(data), size=(96, 96)) == from_bytes


def test_deterministic() -> None:
    assert scan_preview_png(arch_stl()) == scan_preview_png(arch_stl())


def test_large_mesh_has_no_holes() -> None:
    """A finely tessellated plane (many sub-pixel triangles) covers every pixel it spans."""
    n = 300
    g = np.linspace(-10, 10, n + 1)
    xx, yy = np.meshgrid(g, g)
    pts = np.stack([xx, yy, np.zeros_like(xx)], -1)
    a, b, c, d = pts[:-1, :-1], pts[:-1, 1:], pts[1:, 1:], pts[1:, :-1]
    tris = np.concatenate([np.stack([a, b, c], -2), np.stack([a, c, d], -2)]).reshape(-1, 3, 3)
    pixels = decode(scan_preview_png(tris, size=(128, 128)))
    inside = pixels[8:120, 8:120]
    assert not np.any(np.all(inside == WHITE, axis=-1))
    assert len(np.unique(inside.reshape(-1, 3), axis=0)) == 1  # one flat plane, one shade


def test_long_thin_triangles_leave_no_cracks() -> None:
    """A disc as a fan of 400 slivers from its centre: every pixel inside it is drawn."""
    n = 400
    angle = np.linspace(0, 2 * np.pi, n + 1)
    rim = np.stack([20 * np.cos(angle), 20 * np.sin(angle), np.zeros(n + 1)], -1)
    tris = np.stack([np.zeros((n, 3)), rim[:-1], rim[1:]], axis=1)
    png = scan_preview_png(tris, size=(200, 200))
    assert_silhouette(png, tris, "occlusal", (200, 200))
    pixels = decode(png)
    inside = expected_mask(tris, "occlusal", 200, 200) & ~near_edge(
        expected_mask(tris, "occlusal", 200, 200)
    )
    assert len(np.unique(pixels[inside], axis=0)) == 1  # one flat disc, one shade, no gaps


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"", b"solid x\nnot really\n", b"\x00" * 100, b"x" * 84 + (5).to_bytes(4, "little")],
    ids=["empty", "bad-ascii", "zero-triangles", "truncated"],
)
def test_bad_stl_bytes_are_rejected_files(data: bytes) -> None:
    with pytest.raises(RejectedFileError) as caught:
        scan_preview_png(data)
    assert caught.value.name == "STL bytes"


def test_missing_path_is_a_rejected_file(tmp_path: Path) -> None:
    with pytest.raises(RejectedFileError):
        scan_preview_png(tmp_path / "nope.stl")
    with pytest.raises(RejectedFileError):
        scan_preview_png(str(tmp_path))  # a folder


def test_nan_in_a_file_is_a_rejected_file(tmp_path: Path) -> None:
    data = bytearray(arch_stl())
    data[84 + 12 : 84 + 16] = np.float32("nan").tobytes()
    path = tmp_path / "nan.stl"
    path.write_bytes(bytes(data))
    with pytest.raises(RejectedFileError, match="NaN"):
        scan_preview_png(path)


@pytest.mark.parametrize(
    "mesh",
    [
        np.zeros((0, 3, 3)),
        np.zeros((4, 3)),
        np.zeros((2, 3, 2)),
        np.array([[[0, 0, 0], [1, 0, 0], [0, np.nan, 0]]]),
        np.array([[[0, 0, 0], [1, 0, 0], [0, np.inf, 0]]]),
        [["a", "b", "c"]],
        object(),
        None,
        12,
    ],
    ids=["empty", "2d", "xy-only", "nan", "inf", "text", "object", "none", "int"],
)
def test_bad_arrays_are_validation_errors(mesh: object) -> None:
    with pytest.raises(ValidationError) as caught:
        scan_preview_png(mesh)  # type: ignore[arg-type]
    assert caught.value.paths == ["$.mesh"]


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"view": "lateral"}, "$.view"),
        ({"size": (8, 512)}, "$.size"),
        ({"size": (512, 5000)}, "$.size"),
        ({"size": (512.0, 512)}, "$.size"),
        ({"size": 512}, "$.size"),
        ({"size": (True, 512)}, "$.size"),
        ({"background": "black"}, "$.background"),
    ],
)
def test_bad_options_are_validation_errors(kwargs: dict[str, object], path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        scan_preview_png(square(), **kwargs)  # type: ignore[arg-type]
    assert path in caught.value.paths


def test_degenerate_mesh_renders_blank_not_an_error() -> None:
    line = np.array([[[0, 0, 0], [1, 1, 1], [2, 2, 2]]], dtype=float)
    pixels = decode(scan_preview_png(line, size=(32, 32)))
    assert (pixels == WHITE).all()
    edge_on = decode(scan_preview_png(square(), view="frontal", size=(32, 32)))
    assert (edge_on == WHITE).all()  # a flat square seen edge-on covers no pixel centre


@pytest.mark.parametrize(("blocked", "extra"), [("PIL", "images"), ("numpy", "stl")])
def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch, blocked: str, extra: str) -> None:
    for name in list(sys.modules):
        if name == blocked or name.startswith(blocked + "."):
            monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, blocked, None)
    with pytest.raises(MissingExtraError) as caught:
        scan_preview_png(square())
    assert extra in caught.value.extras
    assert f"aligner-core[{','.join(caught.value.extras)}]" in str(caught.value)
    assert isinstance(caught.value, ImportError)


# -- a real file not made by this project ---------------------------------------------------------


@pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"shared STL samples missing (looked in {SAMPLES})"
)
@pytest.mark.parametrize("name", ["binary/rear_case.stl", "tests/bwb.stl", "ascii/Moon.stl"])
@pytest.mark.parametrize("view", ["occlusal", "frontal"])
def test_real_sample_renders(name: str, view: str) -> None:
    """Under CI (ALIGNER_CORE_CI=1) tests/conftest.py fails the run when the samples are missing."""
    png = scan_preview_png(SAMPLES / name, view=view, size=(200, 150))  # type: ignore[arg-type]
    pixels = decode(png)
    assert pixels.shape == (150, 200, 3)
    drawn = np.any(pixels != WHITE, axis=-1)
    assert 0.02 < drawn.mean() < 0.98
    rows, cols = np.flatnonzero(drawn.any(axis=1)), np.flatnonzero(drawn.any(axis=0))
    # fitted: the silhouette reaches the margin on at least one axis, and stays inside it
    assert rows.min() >= 5 and cols.min() >= 5 and rows.max() <= 144 and cols.max() <= 194
    assert rows.min() <= 7 or cols.min() <= 9


# -- any finite mesh: an image, never a numpy warning or error ------------------------------------

_COORDS = st.floats(allow_nan=False, allow_infinity=False, width=64) | st.sampled_from(
    [0.0, 1e-300, -1e-300, 1e300, -1e300, 1.7e308, -1.7e308]
)


@settings(max_examples=80)
@given(
    mesh=st.lists(
        st.lists(st.tuples(_COORDS, _COORDS, _COORDS), min_size=3, max_size=3),
        min_size=1,
        max_size=12,
    ),
    view=st.sampled_from(["occlusal", "frontal"]),
)
def test_any_finite_mesh_renders(mesh: list[list[tuple[float, float, float]]], view: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overflow or invalid casts would show up as warnings
        png = scan_preview_png(np.array(mesh), view=view, size=(40, 30))  # type: ignore[arg-type]
    assert decode(png).shape == (30, 40, 3)
