"""Records of a case: impression type, files with their content reports, confirmations."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import Any, Final
from uuid import UUID

import attrs

from aligner_core.domain._checks import (
    aware,
    finite_non_negative,
    non_blank,
    non_negative_int,
    text_limit,
)
from aligner_core.errors import Reason, ValidationError

__all__ = [
    "MAX_NAME_LENGTH",
    "PHOTO_KINDS",
    "SCAN_KINDS",
    "Acceptance",
    "ArchPlausibility",
    "FileKind",
    "FileRef",
    "FileReport",
    "ImpressionShipment",
    "ImpressionType",
    "MediaType",
    "MeshReport",
    "Records",
    "sanitize_filename",
    "scan_warnings",
]

_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_NAME_LENGTH: Final = 120
"""Characters kept of a file name (extension included); well below every file system's limit."""

_WINDOWS_RESERVED: Final = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{i}" for i in range(10)}
    | {f"LPT{i}" for i in range(10)}
    | {"COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³"}
)
_UNSAFE: Final = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_EXTENSION: Final = re.compile(r"\.[A-Za-z0-9]{1,10}$")


def sanitize_filename(name: str, *, default: str = "file") -> str:
    """A name safe to show and to store: no directories, control or reserved characters.

    Directory parts (``/`` or ``\\``) are dropped, control and Windows-forbidden
    characters become ``_``, leading/trailing dots and spaces go, reserved
    Windows device names (``CON``, ``NUL.txt``, ``com1``) get a ``_`` prefix,
    and the result is cut to 120 characters keeping the extension. Never empty:
    ``default`` is used when nothing is left.
    """
    text = unicodedata.normalize("NFC", str(name))
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join("_" if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)
    text = _UNSAFE.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    if not text or set(text) <= {"_", "."}:
        text = default
    stem = text.partition(".")[0]
    if stem.upper().rstrip(" ") in _WINDOWS_RESERVED:
        text = "_" + text
    if len(text) > MAX_NAME_LENGTH:
        match = _EXTENSION.search(text)
        ext = match.group(0) if match else ""
        text = text[: MAX_NAME_LENGTH - len(ext)].rstrip(" .") + ext
    return text


class ImpressionType(StrEnum):
    INTRAORAL_SCAN = "intraoral_scan"
    DESKTOP_SCAN = "desktop_scan"
    SILICONE_IMPRESSION = "silicone_impression"

    @property
    def by_post(self) -> bool:
        """Physical impressions the lab receives by post and digitises itself."""
        return self is ImpressionType.SILICONE_IMPRESSION


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
    GZIP = "application/gzip"
    """A gzip stream: a ``.tar.gz`` or one gzipped file (checked like an archive member)."""


class ArchPlausibility(StrEnum):
    """Does the bounding box look like a dental arch in millimetres?"""

    PLAUSIBLE = "plausible"
    LOOKS_LIKE_INCHES = "looks_like_inches"
    LOOKS_LIKE_METRES = "looks_like_metres"
    TOO_SMALL = "too_small"
    TOO_LARGE = "too_large"


def _vec3(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:

    if not (isinstance(value, tuple) and len(value) == 3):
        raise ValidationError.of("three_numbers", f"$.{attribute.name}")


def _one_of(*allowed: str) -> Any:
    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in allowed:
            raise ValidationError.of(
                "not_one_of", f"$.{attribute.name}", choices=", ".join(allowed)
            )

    return check


def _sha256(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise ValidationError.of("invalid_sha256", f"$.{attribute.name}")


def _optional_sha256(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _sha256(inst, attribute, value)


def _optional_size(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        non_negative_int(inst, attribute, value)


@attrs.frozen
class MeshReport:
    """What the STL scanner measured on a triangle mesh (units as in the file, taken as mm)."""

    format: str = attrs.field(validator=_one_of("binary", "ascii"))
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
    """The content check of one file: what it is, how big, its digest and what was noticed.

    ``size`` and ``sha256`` describe the bytes that are kept. For a photo these
    are the re-encoded bytes (metadata stripped); ``original_size`` and
    ``original_sha256`` then describe the upload as it arrived.
    """

    media_type: MediaType
    size: int = attrs.field(validator=non_negative_int)
    sha256: str = attrs.field(validator=_sha256)
    warnings: tuple[str, ...] = ()
    mesh: MeshReport | None = None
    archive_entries: int | None = None
    original_size: int | None = attrs.field(default=None, validator=_optional_size)
    original_sha256: str | None = attrs.field(default=None, validator=_optional_sha256)

    @property
    def sanitized(self) -> bool:
        """True when the kept bytes are a re-encoding of the upload (a photo)."""
        return self.original_sha256 is not None


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

    ids = [f.file_id for f in value]
    if len(ids) != len(set(ids)):
        raise ValidationError.of("duplicate_file_id", f"$.{attribute.name}")


@attrs.frozen
class Acceptance:
    """A document a network requires, as accepted: which version, when, by whom."""

    version: str = attrs.field(validator=text_limit(40))
    at: datetime = attrs.field(validator=aware)
    by: UUID


@attrs.frozen
class ImpressionShipment:
    """Silicone impressions sent to the lab: the parcel, and when the lab received it."""

    carrier: str = attrs.field(validator=[non_blank, text_limit(80)])
    tracking_number: str = attrs.field(validator=[non_blank, text_limit(80)])
    shipped_at: datetime = attrs.field(validator=aware)
    shipped_by: UUID
    received_at: datetime | None = attrs.field(default=None, validator=aware)
    received_by: UUID | None = None


@attrs.frozen
class Records:
    """Impression type, files, and the two confirmations required before submission."""

    impression_type: ImpressionType | None = None
    files: tuple[FileRef, ...] = attrs.field(default=(), validator=_unique_ids)
    confirmed_complete: bool = False
    privacy_accepted: bool = False
    #: the network's informed consent and terms and conditions, when it asks for them
    consent: Acceptance | None = None
    terms: Acceptance | None = None
    #: the parcel of silicone impressions (impressions by post replace the scans)
    impressions: ImpressionShipment | None = None

    def latest(self, kind: FileKind) -> FileRef | None:
        """The newest file of a kind (a later upload replaces an earlier one for planning)."""
        found = [f for f in self.files if f.kind is kind]
        return found[-1] if found else None

    def has(self, kind: FileKind) -> bool:
        return any(f.kind is kind for f in self.files)

    def with_file(self, ref: FileRef) -> Records:
        return attrs.evolve(self, files=(*self.files, ref))


def scan_warnings(records: Records) -> tuple[Reason, ...]:
    """Scans whose size does not look like an arch in millimetres (an export in inches, in
    metres): warnings the doctor reads before submitting, not refusals."""
    found = []
    for kind in sorted(SCAN_KINDS):
        ref = records.latest(kind)
        mesh = ref.report.mesh if ref is not None else None
        if mesh is not None and mesh.plausibility is not ArchPlausibility.PLAUSIBLE:
            params = {"kind": kind.value, "verdict": mesh.plausibility.value}
            found.append(Reason("scan_units", params, kind="warning"))
    return tuple(found)
