"""How a doctor or a practice pays: on account, by invoice, or with a card on file.

A doctor keeps the ways they pay on their account (``SavedPaymentMethod``, at most
``MAX_SAVED_PAYMENT_METHODS``) and picks one by its id on each order, or gives one
with the order.

The card itself never reaches the library: the portal's payment provider keeps
it and hands over an opaque token, which is checked for length and characters
and never shown (not in ``repr``, ``str``, logs or errors).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Final
from uuid import UUID

import attrs

from aligner_core.domain.fields import Checked, field, text
from aligner_core.errors import ValidationError

__all__ = [
    "MAX_SAVED_PAYMENT_METHODS",
    "CardToken",
    "PaymentKind",
    "PaymentMethod",
    "SavedPaymentMethod",
]

#: The most ways to pay one account keeps.
MAX_SAVED_PAYMENT_METHODS = 20

#: What providers' tokens look like (Stripe ``pm_...``, Adyen, Braintree): 8 to 255 of these.
_TOKEN: Final = re.compile(r"[A-Za-z0-9_\-.:]{8,255}")


class PaymentKind(StrEnum):
    """The ways an order is paid."""

    ON_ACCOUNT = "on_account"
    INVOICE = "invoice"
    CARD_ON_FILE = "card_on_file"


def _token(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise ValidationError.of("card_token", "$.token")


@attrs.frozen(repr=False)
class CardToken:
    """A payment provider's opaque reference to a card; ``value`` is never shown."""

    value: str = attrs.field(validator=_token)

    def __repr__(self) -> str:
        return "CardToken(<hidden>)"

    __str__ = __repr__


def _token_fits(method: PaymentMethod) -> None:
    needs = method.kind is PaymentKind.CARD_ON_FILE
    if needs != (method.card is not None):
        raise ValidationError.of("card_token_kind", "$.card")


@attrs.frozen
class PaymentMethod:
    """A way to pay held by a doctor (or by a practice: ``practice_id``).

    Build a card on file with :meth:`card_on_file`; the other kinds carry no token.
    """

    kind: PaymentKind = attrs.field(converter=PaymentKind)
    owner_id: UUID
    card: CardToken | None = None

    def __attrs_post_init__(self) -> None:
        _token_fits(self)

    @classmethod
    def on_account(cls, owner_id: UUID) -> PaymentMethod:
        return cls(PaymentKind.ON_ACCOUNT, owner_id)

    @classmethod
    def invoice(cls, owner_id: UUID) -> PaymentMethod:
        return cls(PaymentKind.INVOICE, owner_id)

    @classmethod
    def card_on_file(cls, owner_id: UUID, token: str) -> PaymentMethod:
        return cls(PaymentKind.CARD_ON_FILE, owner_id, CardToken(token))


@attrs.frozen
class SavedPaymentMethod(Checked):
    """A way to pay kept on a doctor's account, picked by ``method_id`` on an order
    (the order keeps a copy: removing it later changes no order)."""

    method_id: UUID = field()
    label: str = text(80, doc='What the doctor picks it by ("Visa ending 4242").')
    payment: PaymentMethod = field()
