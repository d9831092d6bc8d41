"""Networks, user accounts and collaborator grants.

A lab runs a *network*; practices join it with the network's reference code.
New accounts are blocked until a network admin activates them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import attrs

from aligner_core.domain._checks import aware, non_blank, positive, text_limit
from aligner_core.errors import ValidationError

__all__ = [
    "Account",
    "AccountStatus",
    "Address",
    "CollaboratorGrant",
    "CollaboratorPermission",
    "GrantStatus",
    "Network",
    "Role",
    "is_valid_email",
    "is_valid_username",
]

_USERNAME = re.compile(r"[\w .\-'@]{1,60}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]{2,31}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Z]{2})?")
_PHONE = re.compile(r"\+?[0-9 ()./\-]{4,30}")


def is_valid_username(value: str) -> bool:
    """Letters, digits, space and ``. - ' _ @`` (the portal's rule), 1-60 characters."""
    return bool(_USERNAME.fullmatch(value)) and "\n" not in value and bool(value.strip())


def is_valid_email(value: str) -> bool:
    return len(value) <= 254 and bool(_EMAIL.fullmatch(value))


def _pattern(
    regex: re.Pattern[str], what: str, optional: bool = False
) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str) or not regex.fullmatch(value):
            raise ValidationError.single(
                f"not a valid {what}", f"$.{attribute.name}", subject=type(inst).__name__
            )

    return check


def _username(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not is_valid_username(value):
        raise ValidationError.single(
            "username may hold letters, digits, space and . - ' _ @ (1-60 characters)",
            f"$.{attribute.name}",
            subject=type(inst).__name__,
        )


def _email(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None and attribute.default is None:
        return
    if not isinstance(value, str) or not is_valid_email(value):
        raise ValidationError.single(
            "not a valid e-mail address", f"$.{attribute.name}", subject=type(inst).__name__
        )


class Role(StrEnum):
    DOCTOR = "doctor"
    PLANNER = "planner"
    PRODUCTION = "production"
    ADMIN = "admin"

    @property
    def is_lab_staff(self) -> bool:
        return self in (Role.PLANNER, Role.PRODUCTION)


class AccountStatus(StrEnum):
    BLOCKED = "blocked"
    ACTIVE = "active"


@attrs.frozen
class Address:
    """A shipping address; country, city, postal code and street are mandatory."""

    country: str = attrs.field(validator=[non_blank, text_limit(80)])
    city: str = attrs.field(validator=[non_blank, text_limit(120)])
    postal_code: str = attrs.field(validator=[non_blank, text_limit(20)])
    street: str = attrs.field(validator=[non_blank, text_limit(200)])
    state_province: str | None = attrs.field(default=None, validator=text_limit(120))


@attrs.frozen
class Network:
    """A lab's network; practices join it with ``reference_code`` when they register."""

    network_id: UUID
    name: str = attrs.field(validator=[non_blank, text_limit(200)])
    reference_code: str = attrs.field(validator=_pattern(_REFERENCE, "reference code"))


@attrs.frozen
class Account:
    """A user of a network: a doctor, lab staff, or a network admin."""

    account_id: UUID
    network_id: UUID
    role: Role
    username: str = attrs.field(validator=_username)
    email: str = attrs.field(validator=_email)
    first_name: str = attrs.field(validator=[non_blank, text_limit(100)])
    last_name: str = attrs.field(validator=[non_blank, text_limit(100)])
    clinic_name: str = attrs.field(validator=[non_blank, text_limit(200)])
    shipping_address: Address
    created_at: datetime = attrs.field(validator=aware)
    status: AccountStatus = AccountStatus.BLOCKED
    telephone: str | None = attrs.field(
        default=None,
        validator=_pattern(_PHONE, "telephone number", optional=True),
    )
    language: str = attrs.field(default="en", validator=_pattern(_LANGUAGE, "language tag"))
    muted_notifications: tuple[str, ...] = ()
    version: int = attrs.field(default=1, validator=positive)

    @property
    def is_active(self) -> bool:
        return self.status is AccountStatus.ACTIVE

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class CollaboratorPermission(StrEnum):
    """What an invited outside planning service may do on one case."""

    VIEW_DETAILS = "view_details"
    COMMENT = "comment"
    VIEW_SETUP = "view_setup"
    EDIT_SETUP = "edit_setup"


class GrantStatus(StrEnum):
    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"


def _permissions(value: object) -> tuple[CollaboratorPermission, ...]:
    items = {CollaboratorPermission(v) for v in value}  # type: ignore[attr-defined]
    return tuple(sorted(items))


@attrs.frozen
class CollaboratorGrant:
    """An invitation of another account to one case, with chosen permissions."""

    account_id: UUID
    invited_by: UUID
    invited_at: datetime = attrs.field(validator=aware)
    permissions: tuple[CollaboratorPermission, ...] = attrs.field(converter=_permissions)
    status: GrantStatus = GrantStatus.INVITED

    @permissions.validator
    def _some(self, attribute: attrs.Attribute[Any], value: tuple[object, ...]) -> None:
        if not value:
            raise ValidationError.single("at least one permission", "$.permissions")

    def allows(self, permission: CollaboratorPermission) -> bool:
        """Accepted grants only; edit-setup implies view-setup, any grant implies view."""
        if self.status is not GrantStatus.ACCEPTED:
            return False
        if permission in self.permissions:
            return True
        if permission is CollaboratorPermission.VIEW_SETUP:
            return CollaboratorPermission.EDIT_SETUP in self.permissions
        return permission is CollaboratorPermission.VIEW_DETAILS
