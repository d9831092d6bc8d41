"""Networks, user accounts and collaborator grants.

A lab runs a *network*; practices join it with the network's reference code.
New accounts are blocked until a network admin activates them.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import attrs

from aligner_core.domain.fields import Checked, field, integer, items, text
from aligner_core.domain.packages import Package
from aligner_core.domain.payments import (
    MAX_SAVED_PAYMENT_METHODS,
    PaymentMethod,
    SavedPaymentMethod,
)
from aligner_core.domain.prescriptions import Shade
from aligner_core.domain.prices import PriceBook
from aligner_core.domain.products import Catalogue
from aligner_core.errors import FieldError

__all__ = [
    "Account",
    "AccountStatus",
    "Address",
    "CollaboratorGrant",
    "CollaboratorPermission",
    "EmailInvitation",
    "GrantStatus",
    "Network",
    "Practice",
    "ProfileChanges",
    "Registration",
    "Role",
    "email_rule",
    "is_valid_email",
    "is_valid_username",
]

_USERNAME = re.compile(r"[\w .\-'@]{1,60}")
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]{2,31}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Z]{2})?")
_PHONE = re.compile(r"\+?[0-9 ()./\-]{4,30}")


def _script(char: str) -> str | None:
    """The script of a letter (LATIN, CYRILLIC, GREEK, ...) from its Unicode name."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else None


def is_valid_username(value: str) -> bool:
    """Letters of one script, digits, space and ``. - ' _ @`` (the portal's rule), 1-60 long.

    Mixed scripts are refused: a Cyrillic letter among Latin ones would pass for another name.
    """
    if not isinstance(value, str) or not _USERNAME.fullmatch(value) or not value.strip():
        return False
    scripts = {s for s in map(_script, value) if s is not None}
    return len(scripts) <= 1


@functools.lru_cache(maxsize=4096)
def is_valid_email(value: str) -> bool:
    """One address, no display name, no comma (checked with ``email-validator``, offline)."""
    if not isinstance(value, str) or len(value) > 254:
        return False
    import email_validator  # imported at the first address: it pulls in dnspython

    try:
        email_validator.validate_email(value, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return False
    return True


def email_rule(value: Any) -> Iterable[FieldError]:
    if isinstance(value, str) and not is_valid_email(value):
        yield FieldError.of("invalid_email")


def _matches(pattern: re.Pattern[str], code: str) -> Any:
    def rule(value: Any) -> Iterable[FieldError]:
        if isinstance(value, str) and not pattern.fullmatch(value):
            yield FieldError.of(code)

    return rule


def _username(value: Any) -> Iterable[FieldError]:
    if isinstance(value, str) and not is_valid_username(value):
        yield FieldError.of("invalid_username")


_reference_rule = _matches(_REFERENCE, "invalid_reference_code")
_language_rule = _matches(_LANGUAGE, "invalid_language")
_phone_rule = _matches(_PHONE, "invalid_telephone")


class Role(StrEnum):
    DOCTOR = "doctor"
    PLANNER = "planner"
    PRODUCTION = "production"
    ADMIN = "admin"


class AccountStatus(StrEnum):
    BLOCKED = "blocked"
    ACTIVE = "active"


@attrs.frozen
class Address(Checked):
    """A shipping address; country, city, postal code and street are mandatory."""

    country: str = text(80)
    city: str = text(120)
    postal_code: str = text(20)
    street: str = text(200)
    state_province: str | None = text(120, blank=True, default=None)


#: The most treating practices one doctor's account holds.
MAX_PRACTICES = 20


@attrs.frozen
class Practice(Checked):
    """A treating practice of a doctor: where the aligners of its orders ship to."""

    practice_id: UUID = field()
    name: str = text(200, doc="The practice's name, as printed on the parcel.")
    shipping_address: Address = field()


#: The most price book versions and packages one network keeps.
MAX_PRICE_BOOKS = 500
MAX_PACKAGES = 20


def _shades(given: Iterable[Shade | str]) -> tuple[Shade, ...]:
    return tuple(sorted({Shade(s) for s in given}))


@attrs.frozen
class Network(Checked):
    """A lab's network; practices join it with ``reference_code`` when they register."""

    network_id: UUID = field()
    name: str = text(200)
    reference_code: str = text(32, rules=[_reference_rule])
    #: the version of the informed consent and of the terms and conditions a practice
    #: confirms before submitting (None: the network asks for neither)
    consent_version: str | None = text(40, default=None, doc="Informed consent version.")
    terms_version: str | None = text(40, default=None, doc="Terms and conditions version.")
    #: the pontic shades the network's lab makes (all of them unless it says otherwise)
    shades: tuple[Shade, ...] = items(
        len(Shade), min_items=1, default=tuple(Shade), converter=_shades, doc="Pontic shades."
    )
    #: the products its practices order (None: the default catalogue, the seeds' products)
    catalogue: Catalogue | None = field(default=None, doc="The products offered.")
    #: the versions of the network's price book, oldest first (none: nothing is priced)
    price_books: tuple[PriceBook, ...] = items(
        MAX_PRICE_BOOKS, default=(), doc="Price book versions, newest last."
    )
    #: the packages a plan is quoted in (the smallest that fits unless the doctor picks one)
    packages: tuple[Package, ...] = items(MAX_PACKAGES, default=(), doc="Treatment packages.")
    #: the tax rate, in percent, of the invoices its charges issue ("19", "7.7")
    tax_percent: str = text(10, default="0", doc="Tax rate of its invoices, in percent.")

    @property
    def products(self) -> Catalogue:
        """The catalogue the network offers: its own, or the default one."""
        return self.catalogue or Catalogue()

    @property
    def price_book(self) -> PriceBook | None:
        """The newest price book version (None: the network prices nothing)."""
        return self.price_books[-1] if self.price_books else None

    def price_book_version(self, version: int) -> PriceBook | None:
        """Price book version ``version`` (what a quote names), if the network has it."""
        return next((b for b in self.price_books if b.version == version), None)

    @property
    def quotes_plans(self) -> bool:
        """Plans are quoted: the network has a price book and packages."""
        return bool(self.price_books and self.packages)


# Account fields shared by the registration form, profile changes and the account itself.
def _username_field(**kw: Any) -> Any:
    return text(60, rules=[_username], doc="Letters of one script, digits, space, . - ' _ @", **kw)


def _email_field(**kw: Any) -> Any:
    return text(254, rules=[email_rule], format="email", doc="One e-mail address.", **kw)


def _phone_field() -> Any:
    return text(32, default=None, rules=[_phone_rule], doc="Telephone number.")


def _language_field(default: str | None) -> Any:
    return text(6, default=default, rules=[_language_rule], doc="Site language (en, de, ...).")


@attrs.frozen
class Registration(Checked):
    """The registration form of the portal (password handling belongs to the shell)."""

    clinic_name: str = text(200)
    first_name: str = text(100)
    last_name: str = text(100)
    email: str = _email_field()
    username: str = _username_field()
    shipping_address: Address = field()
    telephone: str | None = _phone_field()
    reference_code: str | None = text(32, default=None, rules=[_reference_rule])
    language: str = _language_field("en")


@attrs.frozen
class ProfileChanges(Checked):
    """Profile fields a user (or their network admin) may change; None leaves a field as is."""

    clinic_name: str | None = text(200, default=None)
    first_name: str | None = text(100, default=None)
    last_name: str | None = text(100, default=None)
    email: str | None = _email_field(default=None)
    telephone: str | None = _phone_field()
    shipping_address: Address | None = field(default=None)
    language: str | None = _language_field(None)


@attrs.frozen
class Account(Checked):
    """A user of a network: a doctor, lab staff, or a network admin."""

    account_id: UUID = field()
    network_id: UUID = field()
    role: Role = field()
    username: str = _username_field()
    email: str = _email_field()
    first_name: str = text(100)
    last_name: str = text(100)
    clinic_name: str = text(200)
    shipping_address: Address = field()
    created_at: datetime = field()
    status: AccountStatus = field(default=AccountStatus.BLOCKED)
    telephone: str | None = _phone_field()
    language: str = _language_field("en")
    muted_notifications: tuple[str, ...] = items(64, default=())
    version: int = integer(1, default=1)
    #: the treating practices of a doctor (orders name the one they ship to)
    practices: tuple[Practice, ...] = items(MAX_PRACTICES, default=())
    #: the ways a doctor pays, picked by id on each order
    payment_methods: tuple[SavedPaymentMethod, ...] = items(MAX_SAVED_PAYMENT_METHODS, default=())

    def practice(self, practice_id: UUID) -> Practice | None:
        return next((p for p in self.practices if p.practice_id == practice_id), None)

    def payment_method(self, method_id: UUID) -> SavedPaymentMethod | None:
        return next((m for m in self.payment_methods if m.method_id == method_id), None)

    def may_pay_with(self, payment: PaymentMethod) -> bool:
        """Whether the way to pay is this doctor's own or one of their practices'."""
        return payment.owner_id == self.account_id or self.practice(payment.owner_id) is not None

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


def _permissions(value: Iterable[object]) -> tuple[CollaboratorPermission, ...]:
    return tuple(sorted({CollaboratorPermission(v) for v in value}))  # type: ignore[arg-type]


@attrs.frozen
class CollaboratorGrant(Checked):
    """An invitation of another account to one case, with chosen permissions."""

    account_id: UUID = field()
    invited_by: UUID = field()
    invited_at: datetime = field()
    permissions: tuple[CollaboratorPermission, ...] = items(
        len(CollaboratorPermission), min_items=1, converter=_permissions
    )
    status: GrantStatus = field(default=GrantStatus.INVITED)

    def allows(self, permission: CollaboratorPermission) -> bool:
        """Accepted grants only; edit-setup implies view-setup, any grant implies view."""
        if self.status is not GrantStatus.ACCEPTED:
            return False
        if permission in self.permissions:
            return True
        if permission is CollaboratorPermission.VIEW_SETUP:
            return CollaboratorPermission.EDIT_SETUP in self.permissions
        return permission is CollaboratorPermission.VIEW_DETAILS


@attrs.frozen
class EmailInvitation(Checked):
    """An invitation to one case sent to an address with no usable account: whoever opens
    its link and creates an account with that address becomes the case's collaborator."""

    invitation_id: UUID = field()
    email: str = text(254, rules=[email_rule])
    invited_by: UUID = field()
    invited_at: datetime = field()
    permissions: tuple[CollaboratorPermission, ...] = items(
        len(CollaboratorPermission), min_items=1, converter=_permissions
    )
    status: GrantStatus = field(default=GrantStatus.INVITED)
    #: the account created through the link (set when it is accepted)
    account_id: UUID | None = field(default=None)
