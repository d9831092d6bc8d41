"""A small software rasteriser for scan previews: numpy for the triangles, Pillow for the PNG.

How a preview is drawn, all on whole arrays (no Python loop over triangles):

1. Project the vertices orthographically for the view and fit them to the image, keeping the
   aspect. Images up to 768 x 768 are drawn at twice the size and averaged down (2x2
   supersampling), which smooths the silhouette.
2. Every pixel centre inside a triangle's bounding box is a candidate, kept when its
   barycentric coordinates are all >= 0 (edges included, so shared edges leave no cracks).
   Triangles whose box is at most 6 x 6 pixels (nearly all of a scan's) are grouped by box
   shape and their candidates made by broadcasting the shape's offsets, with no per-pixel
   gather; larger ones are laid out with ``np.repeat``. Both work in bounded chunks, so one
   huge triangle or 300k tiny ones cost the same bookkeeping. The barycentric and depth
   coefficients are float32, taken relative to each box's first pixel to stay exact.
3. Depth buffer: each kept candidate's interpolated depth, quantised, is packed with its
   triangle index into one int64; ``np.minimum.at`` keeps the nearest per pixel (the lower
   index on equal depth, so the result is deterministic).
4. Shading is per triangle, from its geometric normal (the file's normals are not trusted):
   two-sided, a key light from the upper left plus a head light, Lambert's cosine law for both.
"""

from __future__ import annotations

import io
import itertools
import os
import tempfile
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from aligner_core.errors import FieldError, Reason, RejectedFileError, ValidationError

__all__ = ["load_triangles", "normalise", "rasterise", "render_png"]

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

MIN_SIDE: Final = 16
MAX_SIDE: Final = 4096
SUPERSAMPLE_UP_TO: Final = 768 * 768
"""Images up to this many pixels are drawn at 2x2 and averaged; larger ones at 1x1."""
CHUNK: Final = 1 << 19
"""Candidate pixels handled at once (bounds the working memory to some 50 MB)."""
SMALL: Final = 6
"""Triangles whose pixel box is at most this many pixels wide and high are drawn by shape."""
EDGE_EPS: Final = np.float32(1e-5)
FLAT: Final = 1e-9
SPAN_EPS: Final = 0.02
"""Pixels of slack on each end of a scanline span (the barycentric test then decides)."""
"""Barycentric slack: a pixel centre on a shared edge belongs to both triangles (no cracks)."""
MARGIN: Final = 0.04
"""Part of the shorter image side left empty around the mesh."""
BASE_COLOUR: Final = (236.0, 229.0, 216.0)
"""Dental stone, lit."""

# (right, up, towards the viewer) in model coordinates; right x up == towards: no mirror.
_VIEWS: Final[dict[str, tuple[tuple[float, float, float], ...]]] = {
    "occlusal": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
    "frontal": ((-1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.0, 1.0, 0.0)),
}


def _options(view: object, size: object, background: object) -> tuple[str, int, int, str]:
    problems: list[FieldError] = []
    if view not in _VIEWS:
        problems.append(FieldError.of("not_one_of", "$.view", choices="occlusal, frontal"))
    width = height = 0
    if (
        isinstance(size, tuple | list)
        and len(size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in size)
        and all(MIN_SIDE <= v <= MAX_SIDE for v in size)
    ):
        width, height = int(size[0]), int(size[1])
    else:
        problems.append(FieldError.of("picture_size", "$.size", min=MIN_SIDE, max=MAX_SIDE))
    if background not in ("white", "transparent"):
        problems.append(FieldError.of("not_one_of", "$.background", choices="white, transparent"))
    if problems:
        raise ValidationError(problems, subject="scan preview")
    return str(view), width, height, str(background)


def _bad_mesh(code: str, **params: Any) -> ValidationError:
    return ValidationError.of(code, "$.mesh", subject="scan preview", **params)


def _from_array(value: Any) -> F64:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as e:
        raise _bad_mesh("mesh_not_array", type=type(value).__name__) from e
    if array.ndim != 3 or array.shape[1:] != (3, 3):
        raise _bad_mesh("mesh_shape", shape=str(array.shape))
    if len(array) == 0:
        raise _bad_mesh("mesh_empty")
    finite = np.isfinite(array)
    if not finite.all():
        bad = int(np.count_nonzero(~finite.all(axis=(1, 2))))
        raise _bad_mesh("mesh_not_finite", count=bad)
    return array


def _from_file(path: str | os.PathLike[str], label: str) -> F64:
    try:
        from aligner_core.files.stl import StlAnalyzer
    except ImportError as e:
        from aligner_core.pictures.scan_preview import MissingExtraError

        raise MissingExtraError("scan_preview_png of a file", ("stl", "images"), "numpy-stl") from e
    vectors, _, _ = StlAnalyzer().load(path)
    array = np.asarray(vectors, dtype=np.float64)
    finite = np.isfinite(array)
    if not finite.all():
        bad = int(np.count_nonzero(~finite.all(axis=(1, 2))))
        raise RejectedFileError(
            label, [Reason("stl.nonfinite", {"problem": "triangles", "count": bad}, kind="input")]
        )
    return array


def load_triangles(source: object) -> F64:
    """``(N, 3, 3)`` float64 triangles from a path, STL bytes or an array; all finite, N >= 1."""
    if isinstance(source, str | os.PathLike):
        return _from_file(source, Path(os.fspath(source)).name or os.fspath(source))
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        with tempfile.TemporaryDirectory(prefix="aligner-preview-") as folder:
            path = Path(folder) / "mesh.stl"
            path.write_bytes(data)
            try:
                return _from_file(path, "STL bytes")
            except RejectedFileError as e:
                raise RejectedFileError("STL bytes", e.reasons) from e
    return _from_array(source)


def _view_basis(view: str) -> tuple[F64, F64, F64]:
    right, up, towards = (np.array(v, dtype=np.float64) for v in _VIEWS[view])
    return right, up, towards


def _shade(tris: F64, towards: F64, right: F64, up: F64) -> F64:
    """Per-triangle brightness in [0, 1]: two-sided Lambert, key light plus head light."""
    normal = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    length = np.sqrt(np.einsum("ij,ij->i", normal, normal))
    length[length == 0] = 1.0
    normal /= length[:, None]
    facing = normal @ towards
    normal[facing < 0] *= -1.0  # two-sided: scans are open surfaces, windings vary
    key = -0.45 * right + 0.55 * up + 0.7 * towards
    key /= np.linalg.norm(key)
    lit = 0.2 + 0.46 * np.clip(normal @ key, 0.0, None) + 0.4 * np.abs(facing)
    shading: F64 = np.clip(lit, 0.0, 1.0)
    return shading


def _fit(tris: F64, view: str, width: int, height: int) -> tuple[F64, F64, F64]:
    """Pixel x, y and normalised depth (0 nearest .. 1 farthest) of every vertex, (N, 3) each."""
    right, up, towards = _view_basis(view)
    pts = tris.reshape(-1, 3)
    u = pts @ right
    v = pts @ up
    depth = -(pts @ towards)
    u_lo, u_hi, v_lo, v_hi = np.min(u), np.max(u), np.min(v), np.max(v)
    margin = MARGIN * min(width, height)
    span_u, span_v = u_hi - u_lo, v_hi - v_lo
    # Spans below FLAT (of a mesh normalised to a longest side of 1) count as flat: a needle
    # seen end-on is not blown up to fill the image.
    scale = min(
        (width - 2 * margin) / span_u if span_u > FLAT else np.inf,
        (height - 2 * margin) / span_v if span_v > FLAT else np.inf,
    )
    if not np.isfinite(scale):
        scale = 1.0
    x = ((u - (u_lo + u_hi) / 2) * scale + width / 2).reshape(-1, 3)
    y = (height / 2 - (v - (v_lo + v_hi) / 2) * scale).reshape(-1, 3)
    d_lo, d_hi = np.min(depth), np.max(depth)
    d = (depth - d_lo) / (d_hi - d_lo) if d_hi > d_lo else np.zeros_like(depth)
    return x, y, d.reshape(-1, 3)


def _row_spans(xs: tuple[F64, F64, F64], ys: tuple[F64, F64, F64], yc: F64) -> tuple[F64, F64]:
    """Where the line ``y = yc`` crosses each triangle: ``(left, right)``, empty as +inf, -inf."""
    lo = np.full(len(yc), np.inf)
    hi = np.full(len(yc), -np.inf)
    for i, j in ((0, 1), (1, 2), (2, 0)):
        xa, xb, ya, yb = xs[i], xs[j], ys[i], ys[j]
        cross = (yc >= np.minimum(ya, yb)) & (yc <= np.maximum(ya, yb))
        rise = yb - ya
        flat = rise == 0  # the edge lies on the line: both of its ends count
        with np.errstate(over="ignore", invalid="ignore"):  # rows off this edge: masked below
            x = xa + (yc - ya) * (xb - xa) / np.where(flat, 1.0, rise)
        other = np.where(flat, xb, x)
        lo = np.where(cross, np.minimum(lo, np.minimum(x, other)), lo)
        hi = np.where(cross, np.maximum(hi, np.maximum(x, other)), hi)
    return lo, hi


def rasterise(tris: F64, view: str, width: int, height: int) -> tuple[I64, F64]:
    """The nearest triangle per pixel (-1 for none), shape (height, width), and the shading."""
    x, y, d = _fit(tris, view, width, height)
    x0, x1, x2 = x[:, 0], x[:, 1], x[:, 2]
    y0, y1, y2 = y[:, 0], y[:, 1], y[:, 2]
    area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
    col_lo = np.clip(np.ceil(np.minimum(np.minimum(x0, x1), x2) - 0.5), 0, width)
    col_hi = np.clip(np.floor(np.maximum(np.maximum(x0, x1), x2) - 0.5), -1, width - 1)
    row_lo = np.clip(np.ceil(np.minimum(np.minimum(y0, y1), y2) - 0.5), 0, height)
    row_hi = np.clip(np.floor(np.maximum(np.maximum(y0, y1), y2) - 0.5), -1, height - 1)
    ncols = np.maximum(col_hi - col_lo + 1, 0).astype(np.int64)
    nrows = np.maximum(row_hi - row_lo + 1, 0).astype(np.int64)
    drawn = (ncols > 0) & (nrows > 0) & (np.abs(area) >= 1e-12)  # edge-on covers nothing
    t = np.flatnonzero(drawn)
    ncols, nrows = ncols[t], nrows[t]
    first_col, first_row = col_lo[t].astype(np.int64), row_lo[t].astype(np.int64)

    # Barycentric coordinates b0, b1 and the depth are affine in the sample point; written
    # relative to the centre of the first pixel of the triangle's box, so that float32 keeps
    # them exact enough however far from the origin the box is:
    #   b0 = k0 + k1*dx + k2*dy,  b1 = k3 + k4*dx + k5*dy,  depth = k6 + k7*dx + k8*dy.
    inv = 1.0 / area[t]
    sx, sy = first_col + 0.5, first_row + 0.5
    xt0, xt1, xt2, yt0, yt1, yt2 = x0[t], x1[t], x2[t], y0[t], y1[t], y2[t]
    a0, c0 = (yt1 - yt2) * inv, (xt2 - xt1) * inv
    a1, c1 = (yt2 - yt0) * inv, (xt0 - xt2) * inv
    b0 = ((xt1 - sx) * (yt2 - sy) - (xt2 - sx) * (yt1 - sy)) * inv
    b1 = ((xt2 - sx) * (yt0 - sy) - (xt0 - sx) * (yt2 - sy)) * inv
    dt = d[t]
    e0, e1, d2 = dt[:, 0] - dt[:, 2], dt[:, 1] - dt[:, 2], dt[:, 2]
    coef = np.stack(
        [b0, a0, c0, b1, a1, c1, b0 * e0 + b1 * e1 + d2, a0 * e0 + a1 * e1, c0 * e0 + c1 * e1],
        axis=-1,
    ).astype(np.float32)
    base = first_row * width + first_col  # the box's first pixel

    index_bits = max(1, (len(tris) - 1).bit_length())
    depth_levels = np.float32((1 << min(24, 62 - index_bits)) - 1)  # float32 depth: 24 bits
    empty = np.iinfo(np.int64).max
    zbuf = np.full(width * height, empty, dtype=np.int64)

    def keep(tri: I64, pixel: I64, k: F32, dx: F32, dy: F32) -> None:
        """Depth-test the candidates at box offsets (dx, dy) of triangles with coefficients k."""
        w0 = k[..., 0] + k[..., 1] * dx + k[..., 2] * dy
        w1 = k[..., 3] + k[..., 4] * dx + k[..., 5] * dy
        inside = (w0 >= -EDGE_EPS) & (w1 >= -EDGE_EPS) & (w0 + w1 <= 1 + EDGE_EPS)
        if not inside.any():
            return
        z = k[..., 6] + k[..., 7] * dx + k[..., 8] * dy
        q = (np.clip(z[inside], 0, 1) * depth_levels).astype(np.int64)
        np.minimum.at(zbuf, pixel[inside], (q << index_bits) | tri[inside])

    # Small boxes (nearly every triangle of a scan): one group per box shape; candidates by
    # broadcasting the shape's offsets against the group's triangles, no per-pixel gather.
    small = (ncols <= SMALL) & (nrows <= SMALL)
    shape = np.where(small, ncols * (SMALL + 1) + nrows, -1)
    order = np.argsort(shape, kind="stable")
    keys, starts = np.unique(shape[order], return_index=True)
    stops = [*starts[1:].tolist(), len(order)][: len(starts)]
    for key, lo, hi in zip(keys.tolist(), starts.tolist(), stops, strict=True):
        if key < 0:
            continue
        c, r = divmod(key, SMALL + 1)
        dx = np.tile(np.arange(c, dtype=np.float32), r)
        dy = np.repeat(np.arange(r, dtype=np.float32), c)
        offsets = dy.astype(np.int64) * width + dx.astype(np.int64)
        step = max(1, CHUNK // (c * r))
        for part in range(lo, hi, step):
            g = order[part : min(part + step, hi)]
            pixel = base[g, None] + offsets
            tri = np.broadcast_to(t[g, None], pixel.shape)
            keep(tri, pixel, coef[g, None, :], dx, dy)
    # Larger boxes: a scanline per row of the box. The row's centre line crosses the
    # triangle in one span of pixels, so a long thin sliver costs its pixels, not its box.
    big = np.flatnonzero(~small)
    if len(big):
        area_ends = np.cumsum(ncols[big] * nrows[big])  # bounds rows and pixels per chunk
        cuts = np.searchsorted(area_ends, np.arange(CHUNK, int(area_ends[-1]), CHUNK))
        bounds = np.unique(np.concatenate(([0], cuts + 1, [len(big)])))
        for a, b in itertools.pairwise(bounds.tolist()):
            g = big[a:b]
            row_tri = np.repeat(g, nrows[g])
            dy_row = np.arange(len(row_tri), dtype=np.int64) - np.repeat(
                np.cumsum(nrows[g]) - nrows[g], nrows[g]
            )
            lo, hi = _row_spans(
                (xt0[row_tri], xt1[row_tri], xt2[row_tri]),
                (yt0[row_tri], yt1[row_tri], yt2[row_tri]),
                first_row[row_tri] + dy_row + 0.5,
            )
            left = first_col[row_tri]
            valid = hi >= lo
            c_lo = np.where(valid, np.maximum(np.ceil(lo - 0.5 - SPAN_EPS), left), 0.0)
            c_hi = np.where(
                valid, np.minimum(np.floor(hi - 0.5 + SPAN_EPS), left + ncols[row_tri] - 1), -1.0
            )
            n = np.maximum(c_hi - c_lo + 1, 0).astype(np.int64)
            if not n.any():
                continue
            tri = np.repeat(row_tri, n)
            offset = np.arange(len(tri), dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)
            dxi = np.repeat(c_lo.astype(np.int64) - left, n) + offset
            dyi = np.repeat(dy_row, n)
            pixel = base[tri] + dyi * width + dxi
            keep(t[tri], pixel, coef[tri], dxi.astype(np.float32), dyi.astype(np.float32))
    hit = zbuf != empty
    nearest = np.full(width * height, -1, dtype=np.int64)
    nearest[hit] = zbuf[hit] & ((1 << index_bits) - 1)
    right, up, towards = _view_basis(view)
    return nearest.reshape(height, width), _shade(tris, towards, right, up)


def normalise(tris: F64) -> F64:
    """The mesh moved and scaled into [-0.5, 0.5] on its longest side.

    An orthographic view fitted to the image, and the shading, do not change; what does is
    that no later step can overflow, whatever the file's units (coordinates up to 1e308).
    """
    half = tris * 0.5
    low = np.array([np.min(half[..., i]) for i in range(3)])
    high = np.array([np.max(half[..., i]) for i in range(3)])
    extent = float(np.max(high - low))
    out: F64 = (half - (low * 0.5 + high * 0.5)) / (extent if extent > 0 else 1.0)
    return out


def _image(tris: F64, view: str, width: int, height: int, background: str) -> Image.Image:
    ss = 2 if width * height <= SUPERSAMPLE_UP_TO else 1
    nearest, shading = rasterise(normalise(tris), view, width * ss, height * ss)
    covered = nearest >= 0
    light = np.where(covered, shading[np.maximum(nearest, 0)], 0.0)
    # average the ss x ss samples: coverage becomes alpha, colour the mean of covered samples
    alpha = covered.reshape(height, ss, width, ss).mean(axis=(1, 3))
    light_sum = light.reshape(height, ss, width, ss).mean(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_light = np.where(alpha > 0, light_sum / alpha, 0.0)
    rgb = mean_light[..., None] * np.array(BASE_COLOUR)
    if background == "white":
        out = rgb * alpha[..., None] + 255.0 * (1.0 - alpha[..., None])
        pixels = np.clip(np.rint(out), 0, 255).astype(np.uint8)
        return Image.fromarray(pixels, "RGB")
    rgba = np.concatenate([rgb, 255.0 * alpha[..., None]], axis=-1)
    pixels = np.clip(np.rint(rgba), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGBA")


def render_png(source: object, *, view: object, size: object, background: object) -> bytes:
    """PNG bytes of the mesh (see :func:`aligner_core.pictures.scan_preview_png`)."""
    chosen, width, height, back = _options(view, size, background)
    tris = load_triangles(source)
    try:
        image = _image(tris, chosen, width, height, back)
    except MemoryError as e:
        raise _bad_mesh(f"{len(tris)} triangles are too many to draw in memory") from e
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6)
    return out.getvalue()
