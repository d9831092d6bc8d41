"""Scan previews: a shaded PNG of an STL mesh, drawn with numpy and Pillow only (no OpenGL).

This module imports neither numpy nor Pillow until :func:`scan_preview_png` is called, so
``import aligner_core.pictures`` stays free of them; without them the call raises
:class:`MissingExtraError` naming the extras to install (numpy comes with ``stl``, Pillow
with ``images``). The rasteriser is in ``_raster``.

Views (orthographic, the mesh's own axes, millimetres as in the file):

- ``occlusal``: looking down the z axis (+z towards the viewer), +x to the right, +y up;
- ``frontal``: looking along -y (+y towards the viewer), +z up, -x to the right.

Neither view is mirrored, so a left arch never turns into a right one.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal

from aligner_core.errors import AlignerError

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["MissingExtraError", "View", "scan_preview_png"]

View = Literal["occlusal", "frontal"]
Background = Literal["white", "transparent"]


class MissingExtraError(AlignerError, ImportError):
    """An optional dependency is not installed; ``extras`` names what to install.

    .. versionadded:: 0.1
    """

    def __init__(self, feature: str, extras: tuple[str, ...], missing: str) -> None:
        self.feature = feature
        self.extras = extras
        self.missing = missing
        wanted = ",".join(extras)
        super().__init__(
            f"{feature} needs {missing}: install the extra with "
            f"pip install 'aligner-core[{wanted}]'"
        )


def scan_preview_png(
    mesh_or_path: str | os.PathLike[str] | bytes | bytearray | memoryview | npt.ArrayLike,
    *,
    view: View = "occlusal",
    size: tuple[int, int] = (512, 512),
    background: Background = "white",
) -> bytes:
    """A shaded view of a mesh as PNG bytes.

    ``mesh_or_path`` is a path to an STL file, the bytes of one, or an ``(N, 3, 3)`` array
    of triangles. ``size`` is ``(width, height)`` in pixels (16..4096 each); the mesh is
    fitted inside with a small margin, its aspect kept. ``background`` is ``"white"`` (RGB)
    or ``"transparent"`` (RGBA).

    A file that is not a readable STL raises :class:`~aligner_core.errors.RejectedFileError`;
    a bad array or option raises :class:`~aligner_core.errors.ValidationError`; missing
    numpy or Pillow raise :class:`MissingExtraError`. Deterministic: the same mesh and
    options give the same bytes.

    .. versionadded:: 0.1
    """
    try:
        import numpy  # noqa: F401
    except ImportError as e:
        raise MissingExtraError("scan_preview_png", ("stl", "images"), "numpy") from e
    try:
        import PIL.Image  # noqa: F401
    except ImportError as e:
        raise MissingExtraError("scan_preview_png", ("images",), "Pillow") from e
    from aligner_core.pictures import _raster

    return _raster.render_png(mesh_or_path, view=view, size=size, background=background)
