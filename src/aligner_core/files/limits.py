"""Size limits per kind of file, for archive contents and for images."""

from __future__ import annotations

from typing import Final

import attrs

from aligner_core.domain.records import PHOTO_KINDS, SCAN_KINDS, FileKind

__all__ = ["GiB", "KiB", "Limits", "MiB"]

KiB: Final = 1024
MiB: Final = 1024 * KiB
GiB: Final = 1024 * MiB


@attrs.frozen
class Limits:
    """Size limits per kind of file and for archive contents (bytes unless noted).

    The limit of a kind is enforced while the upload streams in: an upload
    stops being read one byte past it.
    """

    scan_bytes: int = 512 * MiB
    photo_bytes: int = 50 * MiB
    radiograph_bytes: int = 100 * MiB
    other_bytes: int = 2 * GiB
    archive_entries: int = 10_000
    archive_uncompressed_bytes: int = 2 * GiB
    archive_ratio: float = 100.0
    """Largest uncompressed/compressed ratio of an archive and of any entry over 1 MiB."""
    image_pixels: int = 89_478_485
    """Largest width x height of a PNG or JPEG (a decompression-bomb guard).

    The default is Pillow's own ``MAX_IMAGE_PIXELS`` (about 89.5 megapixels,
    some 270 MB decoded as RGB).
    """
    image_trailing_bytes: int = 64
    """Padding (NUL, 0xFF, white space) tolerated after an image's end marker."""
    pdf_objects: int = 200_000
    """Most objects a PDF may hold (each one is inspected for active content)."""

    def capped(self, largest: int) -> Limits:
        """These limits with no kind of file larger than ``largest`` bytes."""
        return attrs.evolve(
            self,
            scan_bytes=min(self.scan_bytes, largest),
            photo_bytes=min(self.photo_bytes, largest),
            radiograph_bytes=min(self.radiograph_bytes, largest),
            other_bytes=min(self.other_bytes, largest),
        )

    def max_bytes(self, kind: FileKind) -> int:
        """The size limit for files of ``kind``."""
        if kind in SCAN_KINDS:
            return self.scan_bytes
        if kind in PHOTO_KINDS:
            return self.photo_bytes
        if kind is FileKind.RADIOGRAPH:
            return self.radiograph_bytes
        return self.other_bytes
