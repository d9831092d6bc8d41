"""Command inputs a shell fills from its forms or JSON (structure them with the converter)."""

from __future__ import annotations

from datetime import date

import attrs

from aligner_core.domain.accounts import Address
from aligner_core.domain.patients import Gender

__all__ = ["PatientDetails", "ProfileChanges", "Registration"]


@attrs.frozen
class Registration:
    """The registration form of the portal (password handling belongs to the shell)."""

    clinic_name: str
    first_name: str
    last_name: str
    email: str
    username: str
    shipping_address: Address
    telephone: str | None = None
    reference_code: str | None = None
    language: str = "en"


@attrs.frozen
class ProfileChanges:
    """Profile fields a user (or their network admin) may change; None leaves a field as is."""

    clinic_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    telephone: str | None = None
    shipping_address: Address | None = None
    language: str | None = None


@attrs.frozen
class PatientDetails:
    """The patient part of the new-case form: last name and gender are mandatory."""

    last_name: str
    gender: Gender
    first_name: str | None = None
    date_of_birth: date | None = None
    country: str | None = None
    email: str | None = None
