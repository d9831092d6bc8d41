"""Patients: last name and gender are mandatory; everything else is optional."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

import attrs

from aligner_core.domain.accounts import email_rule
from aligner_core.domain.fields import Checked, field, text
from aligner_core.errors import FieldError

__all__ = ["EARLIEST_BIRTH", "Gender", "Patient", "PatientDetails"]

#: The earliest date of birth taken as plausible.
EARLIEST_BIRTH = date(1900, 1, 1)


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"
    UNDISCLOSED = "prefer_not_to_say"


def _birth(born: Any) -> Iterable[FieldError]:
    """Not before 1900 and not in the future (a day of slack for time zones)."""
    if not isinstance(born, date):
        return
    if born < EARLIEST_BIRTH:
        yield FieldError.of("date_too_early", min=EARLIEST_BIRTH.isoformat())
    elif born > datetime.now(UTC).date() + timedelta(days=1):
        yield FieldError.of("date_in_future")


# The patient's fields, declared once for the form (PatientDetails) and the record (Patient).
def _last_name() -> Any:
    return text(100, doc="Family name (mandatory).")


def _first_name() -> Any:
    return text(100, blank=True, default=None, doc="Given name.")


def _gender() -> Any:
    return field(doc="male, female or prefer_not_to_say (mandatory).")


def _date_of_birth() -> Any:
    return field(default=None, rules=[_birth], format="date", doc="From 1900, not in the future.")


def _country() -> Any:
    return text(80, blank=True, default=None, doc="Country of residence.")


def _email() -> Any:
    return text(254, blank=True, default=None, rules=[email_rule], format="email", doc="E-mail.")


@attrs.frozen
class PatientDetails(Checked):
    """The patient part of the new-case form: last name and gender are mandatory."""

    last_name: str = _last_name()
    gender: Gender = _gender()
    first_name: str | None = _first_name()
    date_of_birth: date | None = _date_of_birth()
    country: str | None = _country()
    email: str | None = _email()

    def __repr__(self) -> str:
        return "PatientDetails(...)"  # health data: never in a log line


@attrs.frozen
class Patient(Checked):
    """A patient of a case. Health data: never leaves the system in e-mails or links.

    ``repr`` hides the personal fields so that a log of the object leaks nothing.
    """

    patient_id: UUID = field()
    last_name: str = _last_name()
    gender: Gender = _gender()
    first_name: str | None = _first_name()
    date_of_birth: date | None = _date_of_birth()
    country: str | None = _country()
    email: str | None = _email()

    def __repr__(self) -> str:
        return f"Patient(patient_id={self.patient_id!r}, ...)"

    @classmethod
    def from_details(cls, patient_id: UUID, details: PatientDetails) -> Patient:
        return cls(
            patient_id,
            details.last_name,
            details.gender,
            details.first_name,
            details.date_of_birth,
            details.country,
            details.email,
        )

    @property
    def details(self) -> PatientDetails:
        return PatientDetails(
            self.last_name,
            self.gender,
            self.first_name,
            self.date_of_birth,
            self.country,
            self.email,
        )

    @property
    def full_name(self) -> str:
        """For the practice's own screens only."""
        return f"{self.first_name} {self.last_name}" if self.first_name else self.last_name
