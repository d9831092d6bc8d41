"""A bounded whole number as an attrs validator, shared by the money modules (private)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from aligner_core.errors import ValidationError

__all__ = ["whole"]


def whole(low: int, high: int) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """An int (not a bool) from ``low`` to ``high``; None passes (wrap optional fields)."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValidationError.of("out_of_range", f"$.{attribute.name}", min=low, max=high)

    return check
