"""What a portal shows rather than writes: tooth charts, plan schedules, scan previews, lifecycle.

Importing this package imports none of its modules: each name is loaded on first use, so
``import aligner_core.pictures`` costs nothing and never pulls in numpy or Pillow (only
:func:`scan_preview_png` needs them, extras ``stl`` and ``images``). Nothing here imports
the service or the storage: every picture is a pure function of domain values.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aligner_core.pictures.lifecycle import lifecycle_mermaid, lifecycle_svg
    from aligner_core.pictures.plan_schedule import plan_schedule_svg
    from aligner_core.pictures.scan_preview import MissingExtraError, scan_preview_png
    from aligner_core.pictures.tooth_chart import tooth_chart_svg

__all__ = [
    "MissingExtraError",
    "lifecycle_mermaid",
    "lifecycle_svg",
    "plan_schedule_svg",
    "scan_preview_png",
    "tooth_chart_svg",
]

_HOME = {
    "MissingExtraError": "scan_preview",
    "lifecycle_mermaid": "lifecycle",
    "lifecycle_svg": "lifecycle",
    "plan_schedule_svg": "plan_schedule",
    "scan_preview_png": "scan_preview",
    "tooth_chart_svg": "tooth_chart",
}


def __getattr__(name: str) -> object:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next lookup is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
