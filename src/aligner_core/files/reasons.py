"""Why a file is refused: a stable rule code with parameters (stdlib only).

A reason is an :class:`aligner_core.errors.Reason` whose ``code`` is the rule
(:class:`Rule`), whose ``params`` hold the numbers and the variant
(``problem``), and whose English text comes from :mod:`aligner_core.codes`
(translated by :mod:`aligner_core.i18n`). Every reason names the rule that was
broken, never a value taken from the file (text, member names, link targets,
parser messages) nor the uploader's file name, which may hold a patient's name.
Sizes and counts measured on the file are numbers, not content, and may appear.
``docs/files.md`` lists the codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, Final

from aligner_core.errors import Reason, RejectedFileError

__all__ = ["Reason", "Rule", "reason", "refused"]


class Rule(StrEnum):
    """The stable code of each refusal rule (what a shell translates or counts)."""

    NOT_REGULAR = "file.not_regular"
    EMPTY = "file.empty"
    TOO_LARGE = "file.too_large"
    EXECUTABLE = "content.executable"
    UNRECOGNISED = "content.unrecognised"
    WRONG_TYPE = "content.wrong_type"
    POLYGLOT = "content.polyglot"
    EXTENSION = "name.extension_mismatch"
    EXTRA_MISSING = "extra.missing"
    STL_INVALID = "stl.invalid"
    STL_TOO_MANY = "stl.too_many_triangles"
    STL_NONFINITE = "stl.nonfinite"
    STL_DEGENERATE = "stl.degenerate"
    STL_UNPARSABLE = "stl.unparsable"
    IMAGE_MALFORMED = "image.malformed"
    IMAGE_PIXELS = "image.pixels"
    IMAGE_TRAILING = "image.trailing_data"
    IMAGE_UNDECODABLE = "image.undecodable"
    IMAGE_ANIMATED = "image.animated"
    PDF_MALFORMED = "pdf.malformed"
    PDF_ENCRYPTED = "pdf.encrypted"
    PDF_JAVASCRIPT = "pdf.javascript"
    PDF_OPEN_ACTION = "pdf.open_action"
    PDF_LAUNCH = "pdf.launch"
    PDF_ADDITIONAL_ACTIONS = "pdf.additional_actions"
    PDF_ACTION = "pdf.action"
    PDF_EMBEDDED_FILE = "pdf.embedded_file"
    PDF_XFA = "pdf.xfa"
    PDF_RICH_MEDIA = "pdf.rich_media"
    PDF_TRAILING = "pdf.trailing_data"
    PDF_TOO_COMPLEX = "pdf.too_complex"
    ARCHIVE_CORRUPT = "archive.corrupt"
    ARCHIVE_EMPTY = "archive.empty"
    ARCHIVE_ENTRIES = "archive.too_many_entries"
    ARCHIVE_TOO_LARGE = "archive.too_large"
    ARCHIVE_BOMB = "archive.bomb"
    ARCHIVE_PATH = "archive.unsafe_path"
    ARCHIVE_LINK = "archive.link"
    ARCHIVE_SPECIAL = "archive.special_entry"
    ARCHIVE_ENCRYPTED = "archive.encrypted"
    ARCHIVE_NESTED = "archive.nested"
    ARCHIVE_EXECUTABLE = "archive.executable"
    MORE = "more"


def reason(rule: Rule, problem: str | None = None, **params: Any) -> Reason:
    """The reason ``rule`` refuses a file: an input problem with its code and parameters.

    ``problem`` names a variant of the rule (``codes.CODES["rule:problem"]``); the
    parameters are numbers (sizes, counts, entry numbers) or words from a fixed
    vocabulary (``codes.PARAM_LABELS``), never text from the file or its name.
    """
    if problem is not None:
        params["problem"] = problem
    return Reason(str(rule), params, kind="input")


_MESSAGE: Final = "file rejected: "


def refused(name: str, reasons: Iterable[str]) -> RejectedFileError:
    """A ``RejectedFileError`` for the upload ``name`` whose message does not repeat the name.

    ``name`` stays on the error (``.name``) for the shell to show to the uploader.
    """
    error = RejectedFileError(name, list(reasons))
    error.args = (_MESSAGE + "; ".join(error.reasons),)
    return error
