"""Photos and other images (PNG, JPEG) decoded and re-encoded with Pillow (extra ``images``).

Re-encoding keeps the pixels and nothing else: EXIF (GPS included), XMP, the
ICC profile (the pixels are converted to sRGB first), PNG text chunks and JPEG
comments are gone, the EXIF orientation is applied to the pixels, and data
after the image is dropped. The re-encoded bytes are hashed while written.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from typing import IO, TYPE_CHECKING, Any, Final, cast

import attrs

from aligner_core.codes import english
from aligner_core.domain.records import MediaType
from aligner_core.errors import StorageError
from aligner_core.files.limits import Limits
from aligner_core.files.reasons import Reason, Rule, reason, refused

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["IMAGES_EXTRA_MISSING", "Reencoded", "decode_problems", "pillow_available", "reencode"]

IMAGES_EXTRA_MISSING: Final = english("extra.missing", {"problem": "images", "extra": "images"})
_FORMATS: Final = {MediaType.PNG: "PNG", MediaType.JPEG: "JPEG"}
_PNG_STRUCTURAL: Final = frozenset(
    {"transparency", "gamma", "dpi", "aspect", "srgb", "chromaticity", "interlace", "bbox"}
)


def pillow_available() -> bool:
    """True when Pillow (the ``images`` extra) can be imported."""
    try:
        import PIL.Image  # noqa: F401
    except ImportError:
        return False
    return True


@attrs.frozen
class Reencoded:
    """A re-encoded image written to ``path``: its size, sha256 and what was removed."""

    path: str
    size: int
    sha256: str
    width: int
    height: int
    notes: tuple[str, ...] = ()
    """What re-encoding changed (metadata removed, orientation applied), for the report."""


class _HashingWriter:
    """Writes to a file, hashing and counting; no ``fileno`` so Pillow writes through it."""

    def __init__(self, fh: io.BufferedWriter) -> None:
        self._fh = fh
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self._fh.write(data)

    def flush(self) -> None:
        self._fh.flush()


def _open(path: str, media: MediaType, limits: Limits) -> Image.Image:
    from PIL import Image

    image = Image.open(path, formats=[_FORMATS[media]])
    width, height = image.size
    if width * height > limits.image_pixels:
        image.close()
        raise _Refusal(
            reason(
                Rule.IMAGE_PIXELS,
                format="image",
                width=width,
                height=height,
                limit=limits.image_pixels,
            )
        )
    if getattr(image, "n_frames", 1) > 1:
        image.close()
        raise _Refusal(reason(Rule.IMAGE_ANIMATED))
    image.load()
    return image


class _Refusal(Exception):
    def __init__(self, why: Reason) -> None:
        super().__init__(why.code)
        self.reason = why


def _decode(path: str, media: MediaType, limits: Limits) -> Image.Image:
    """Open and decode, turning every Pillow failure into a :class:`_Refusal`."""
    from PIL import Image

    try:
        return _open(path, media, limits)
    except _Refusal:
        raise
    except Image.DecompressionBombError as e:
        raise _Refusal(reason(Rule.IMAGE_PIXELS, "bomb")) from e
    except MemoryError as e:
        raise _Refusal(reason(Rule.IMAGE_PIXELS, "memory")) from e
    except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError, struct.error, ...
        raise _Refusal(reason(Rule.IMAGE_UNDECODABLE)) from e


def decode_problems(path: str | os.PathLike[str], media: MediaType, limits: Limits) -> list[Reason]:
    """Why the image at ``path`` does not decode (empty when it does). Needs Pillow."""
    try:
        with _decode(os.fspath(path), media, limits):
            return []
    except _Refusal as e:
        return [e.reason]


def _metadata(image: Image.Image, media: MediaType) -> list[str]:
    """Which kinds of metadata the decoded image carries (names of kinds, never values)."""
    info = image.info
    found: list[str] = []
    exif = image.getexif() if "exif" in info else None
    if exif is not None:
        try:
            has_gps = bool(exif.get_ifd(0x8825))
        except Exception:  # a corrupt EXIF block is dropped all the same
            has_gps = False
        found.append("EXIF (with GPS location)" if has_gps else "EXIF")
    if "xmp" in info or "XML:com.adobe.xmp" in info:
        found.append("XMP")
    if "icc_profile" in info:
        found.append("colour profile")
    if "comment" in info:
        found.append("comment")
    if "photoshop" in info or "adobe" in info:
        found.append("Photoshop data")
    if media is MediaType.PNG:
        text = getattr(image, "text", None) or {}
        extra = set(info) - _PNG_STRUCTURAL - {"exif", "xmp", "icc_profile", "XML:com.adobe.xmp"}
        if text or extra:
            found.append("text chunks")
    return found


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """The pixels converted from their embedded ICC profile to sRGB (unchanged if impossible)."""
    if image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        from PIL import ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        target = ImageCms.createProfile("sRGB")
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, source, target, outputMode=mode)
    except Exception:  # no littlecms, or a profile it cannot use: keep the pixels as they are
        return image
    return converted if converted is not None else image


def _orient(image: Image.Image) -> tuple[Image.Image, bool]:
    from PIL import ImageOps

    try:
        orientation = image.getexif().get(0x0112, 1)
        upright = ImageOps.exif_transpose(image)
    except Exception:  # unreadable EXIF: no orientation to apply
        return image, False
    return upright, orientation not in (1, None)


def _save_options(source: Image.Image, clean: Image.Image, media: MediaType) -> dict[str, Any]:
    if media is MediaType.PNG:
        transparency = source.info.get("transparency")
        return {"transparency": transparency} if transparency is not None else {}
    options: dict[str, Any] = {"quality": 95}
    quantization = getattr(source, "quantization", None)
    if quantization and source.mode == clean.mode:
        # The original tables: re-encoding at the same quality loses as little as possible.
        from PIL import JpegImagePlugin

        options = {"qtables": quantization}
        sampling = JpegImagePlugin.get_sampling(source)
        if sampling in (0, 1, 2) and clean.size == source.size:
            options["subsampling"] = sampling
    return options


def _clean_image(image: Image.Image, media: MediaType) -> tuple[Image.Image, list[str]]:
    notes: list[str] = []
    clean, rotated = _orient(image)
    if rotated:
        notes.append("EXIF orientation applied to the pixels")
    icc = image.info.get("icc_profile")
    if icc:
        clean = _to_srgb(clean, icc)
    if media is MediaType.JPEG and clean.mode not in ("L", "RGB"):
        clean = clean.convert("RGB")
    if clean is image:
        clean = image.copy()
    clean.info = {}
    return clean, notes


def reencode(
    path: str | os.PathLike[str],
    media: MediaType,
    *,
    name: str,
    limits: Limits,
    directory: str | os.PathLike[str],
) -> Reencoded:
    """Decode the PNG or JPEG at ``path`` and write it again, without metadata, to ``directory``.

    The output is a new ``upload-*.part`` file; its size and sha256 are
    measured while it is written. Raises ``RejectedFileError`` (for ``name``)
    when the image does not decode, ``StorageError`` when the output cannot be written.
    """
    fspath = os.fspath(path)
    try:
        image = _decode(fspath, media, limits)
    except _Refusal as e:
        raise refused(name, [e.reason]) from None
    with image:
        removed = _metadata(image, media)
        try:
            clean, notes = _clean_image(image, media)
            options = _save_options(image, clean, media)
        except Exception as e:
            raise refused(name, [reason(Rule.IMAGE_UNDECODABLE)]) from e
    if removed:
        notes.insert(0, "metadata removed: " + ", ".join(removed))
    try:
        fd, out_path = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=directory)
    except OSError as e:
        raise StorageError("cannot create a spool file for the re-encoded image") from e
    try:
        with os.fdopen(fd, "wb") as fh:
            writer = _HashingWriter(fh)
            try:
                clean.save(cast(IO[bytes], writer), format=_FORMATS[media], **options)
            except OSError as e:
                if e.errno is not None:  # the disk, not the encoder
                    raise StorageError("cannot write the re-encoded image") from e
                raise refused(name, [reason(Rule.IMAGE_UNDECODABLE)]) from e
            except (ValueError, KeyError, TypeError) as e:
                raise refused(name, [reason(Rule.IMAGE_UNDECODABLE)]) from e
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(out_path)
        raise
    width, height = clean.size
    return Reencoded(
        out_path,
        writer.size,
        writer.digest.hexdigest(),
        width,
        height,
        tuple(notes),
    )
