"""Patients: last name and gender are mandatory; everything else is optional."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

import attrs

from aligner_core.domain._checks import non_blank, text_limit
from aligner_core.domain.accounts import is_valid_email
from aligner_core.errors import ValidationError

__all__ = ["Gender", "Patient"]


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"
    UNDISCLOSED = "prefer_not_to_say"


def _birth(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, date) or value.year < 1900:
        raise ValidationError.single("not a plausible date of birth", "$.date_of_birth")


def _email(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not is_valid_email(value)):
        raise ValidationError.single("not a valid e-mail address", "$.email")


@attrs.frozen
class Patient:
    """A patient of a case. Health data: never leaves the system in e-mails or links.

    ``repr`` hides the personal fields so that a log of the object leaks nothing.
    """

    patient_id: UUID
    last_name: str = attrs.field(validator=[non_blank, text_limit(100)], repr=False)
    gender: Gender
    first_name: str | None = attrs.field(default=None, validator=text_limit(100), repr=False)
    date_of_birth: date | None = attrs.field(default=None, validator=_birth, repr=False)
    country: str | None = attrs.field(default=None, validator=text_limit(80), repr=False)
    email: str | None = attrs.field(default=None, validator=_email, repr=False)

    @property
    def full_name(self) -> str:
        """For the practice's own screens only."""
        return f"{self.first_name} {self.last_name}" if self.first_name else self.last_name
