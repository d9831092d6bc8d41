"""Records of a case: impression type, files with their content reports, confirmations."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import attrs

from aligner_core.domain._checks import aware, finite_non_negative, non_blank, non_negative_int

__all__ = [
    "PHOTO_KINDS",
    "SCAN_KINDS",
    "ArchPlausibility",
    "FileKind",
    "FileRef",
    "FileReport",
    "ImpressionType",
    "MediaType",
    "MeshReport",
    "Records",
    "sanitize_filename",
]

_SHA256 = re.compile(r"[0-9a-f]{64}")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>:\"/\\|?*]+")
_RESERVED = frozenset(
    {
        "CON",
        "PRN",
        "AUX",
        "NUL",
        *(f"COM{i}" for i in range(1, 10)),
        *(f"LPT{i}" for i in range(1, 10)),
    }
)


def sanitize_filename(name: str, limit: int = 120) -> str:
    """A file name safe to show and store: no directories, control or reserved characters.

    Keeps the extension, caps the length, never returns an empty or reserved name.
    """
    base = re.split(r"[/\\]", name or "")[-1]
    base = _UNSAFE.sub("_", base).strip(" .")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    if stem.split(".")[0].upper() in _RESERVED:
        stem = f"_{stem}"
    ext = ext[:16]
    stem = stem[: max(1, limit - len(ext) - 1)]
    clean = f"{stem}.{ext}" if ext and stem else (stem or ext)
    return clean or "file"


class ImpressionType(StrEnum):
    INTRAORAL_SCAN = "intraoral_scan"
    DESKTOP_SCAN = "desktop_scan"
    SILICONE_IMPRESSION = "silicone_impression"


class FileKind(StrEnum):
    """What a file shows; scans are STL, photos images, the rest documents."""

    UPPER_SCAN = "upper_scan"
    LOWER_SCAN = "lower_scan"
    BITE_SCAN = "bite_scan"
    PHOTO_FRONTAL_BITE = "photo_frontal_bite"
    PHOTO_UPPER_OCCLUSAL = "photo_upper_occlusal"
    PHOTO_LOWER_OCCLUSAL = "photo_lower_occlusal"
    PHOTO_LEFT_LATERAL = "photo_left_lateral"
    PHOTO_RIGHT_LATERAL = "photo_right_lateral"
    PHOTO_EXTRAORAL = "photo_extraoral"
    RADIOGRAPH = "radiograph"
    OTHER = "other"


SCAN_KINDS = frozenset({FileKind.UPPER_SCAN, FileKind.LOWER_SCAN, FileKind.BITE_SCAN})
PHOTO_KINDS = frozenset(k for k in FileKind if k.value.startswith("photo_"))


class MediaType(StrEnum):
    """Content types the lab accepts, detected from content (never from the name)."""

    STL = "model/stl"
    PNG = "image/png"
    JPEG = "image/jpeg"
    PDF = "application/pdf"
    ZIP = "application/zip"
    TAR = "application/x-tar"


class ArchPlausibility(StrEnum):
    """Does the bounding box look like a dental arch in millimetres?"""

    PLAUSIBLE = "plausible"
    LOOKS_LIKE_INCHES = "looks_like_inches"
    LOOKS_LIKE_METRES = "looks_like_metres"
    TOO_SMALL = "too_small"
    TOO_LARGE = "too_large"


def _vec3(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    from aligner_core.errors import ValidationError

    if not (isinstance(value, tuple) and len(value) == 3):
        raise ValidationError.single("must be three numbers", f"$.{attribute.name}")


@attrs.frozen
class MeshReport:
    """What the STL scanner measured on a triangle mesh (units as in the file, taken as mm)."""

    format: str = attrs.field(validator=attrs.validators.in_(("binary", "ascii")))
    triangles: int = attrs.field(validator=non_negative_int)
    vertices: int = attrs.field(validator=non_negative_int)
    degenerate_triangles: int = attrs.field(validator=non_negative_int)
    nonfinite_values: int = attrs.field(validator=non_negative_int)
    bbox_min: tuple[float, float, float] = attrs.field(validator=_vec3)
    bbox_max: tuple[float, float, float] = attrs.field(validator=_vec3)
    size_mm: tuple[float, float, float] = attrs.field(validator=_vec3)
    plausibility: ArchPlausibility
    surface_area_mm2: float = attrs.field(validator=finite_non_negative)
    boundary_edges: int = attrs.field(validator=non_negative_int)
    non_manifold_edges: int = attrs.field(validator=non_negative_int)
    inconsistent_winding_edges: int = attrs.field(validator=non_negative_int)

    @property
    def is_closed(self) -> bool:
        """Watertight: no boundary and no non-manifold edge."""
        return self.boundary_edges == 0 and self.non_manifold_edges == 0


@attrs.frozen
class FileReport:
    """The content check of one file: what it is, how big, its digest and what was noticed."""

    media_type: MediaType
    size: int = attrs.field(validator=non_negative_int)
    sha256: str = attrs.field(validator=attrs.validators.matches_re(_SHA256))
    warnings: tuple[str, ...] = ()
    mesh: MeshReport | None = None
    archive_entries: int | None = None


@attrs.frozen
class FileRef:
    """A file attached to a case; the bytes live in the blob store under ``sha256``."""

    file_id: UUID
    kind: FileKind
    name: str = attrs.field(validator=non_blank)
    report: FileReport
    uploaded_at: datetime = attrs.field(validator=aware)
    uploaded_by: UUID

    @property
    def sha256(self) -> str:
        return self.report.sha256

    @property
    def media_type(self) -> MediaType:
        return self.report.media_type

    @property
    def size(self) -> int:
        return self.report.size


def _unique_ids(inst: object, attribute: attrs.Attribute[Any], value: tuple[FileRef, ...]) -> None:
    from aligner_core.errors import ValidationError

    ids = [f.file_id for f in value]
    if len(ids) != len(set(ids)):
        raise ValidationError.single("duplicate file id", f"$.{attribute.name}")


@attrs.frozen
class Records:
    """Impression type, files, and the two confirmations required before submission."""

    impression_type: ImpressionType | None = None
    files: tuple[FileRef, ...] = attrs.field(default=(), validator=_unique_ids)
    confirmed_complete: bool = False
    privacy_accepted: bool = False

    def latest(self, kind: FileKind) -> FileRef | None:
        """The newest file of a kind (a later upload replaces an earlier one for planning)."""
        found = [f for f in self.files if f.kind is kind]
        return found[-1] if found else None

    def has(self, kind: FileKind) -> bool:
        return any(f.kind is kind for f in self.files)

    def with_file(self, ref: FileRef) -> Records:
        return attrs.evolve(self, files=(*self.files, ref))
