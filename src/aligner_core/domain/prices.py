"""A network's price book: what each item costs, versioned, with per-practice overrides.

Like a lab system's client price books: one book per network in the network's
currency, entries keyed by an :class:`Item` (a product, a package, an add-on
such as TPS or rush, a replacement aligner per step and arch, a retainer set, a
follow-up beyond a package, shipping), and for some practices their own
amounts, which take precedence. A change is a new *version* taking effect at a
later time (:meth:`PriceBook.revised`); a quote names the version it was priced
from and keeps its amounts, so no later version rewrites it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Final
from uuid import UUID

import attrs

from aligner_core.domain._checks import aware, positive, unique
from aligner_core.domain.money import Currency, Money, currency_of
from aligner_core.domain.teeth import Arch
from aligner_core.errors import ValidationError

__all__ = [
    "ITEM_CODE",
    "Item",
    "ItemKind",
    "PracticePrices",
    "Price",
    "PriceBook",
    "PriceEntry",
    "in_effect",
]

#: An item, package or add-on code: 1 to 40 lowercase letters, digits, ``_`` or ``-``.
ITEM_CODE: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_CODE: Final = ITEM_CODE


class ItemKind(StrEnum):
    """What a price book prices."""

    PRODUCT = "product"
    PACKAGE = "package"
    ADD_ON = "add_on"
    REPLACEMENT_ALIGNER = "replacement_aligner"
    RETAINER_SET = "retainer_set"
    FOLLOW_UP = "follow_up"
    UPGRADE = "upgrade"
    SHIPPING = "shipping"


def item_code(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """An item or package code: 1 to 40 lowercase letters, digits, ``_`` or ``-``."""
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise ValidationError.of("invalid_item_code", f"$.{attribute.name}")


@attrs.frozen(order=True)
class Item:
    """One priced thing: ``Item(ItemKind.ADD_ON, "tps")``; shown as ``add_on:tps``."""

    kind: ItemKind = attrs.field(converter=ItemKind)
    code: str = attrs.field(validator=item_code)

    @classmethod
    def product(cls, code: str) -> Item:
        return cls(ItemKind.PRODUCT, code)

    @classmethod
    def package(cls, package_id: str) -> Item:
        return cls(ItemKind.PACKAGE, package_id)

    @classmethod
    def add_on(cls, code: str) -> Item:
        """An add-on to an order: ``tps`` (treatment planning services), ``rush``..."""
        return cls(ItemKind.ADD_ON, code)

    @classmethod
    def replacement(cls, arch: Arch) -> Item:
        """One replacement aligner (one step) of ``arch``."""
        return cls(ItemKind.REPLACEMENT_ALIGNER, Arch(arch).value)

    @classmethod
    def retainer_set(cls, code: str) -> Item:
        return cls(ItemKind.RETAINER_SET, code)

    @classmethod
    def follow_up(cls, code: str) -> Item:
        """A refinement, revision or retainer ordered beyond a package's entitlements."""
        return cls(ItemKind.FOLLOW_UP, code)

    @classmethod
    def upgrade(cls, package_id: str) -> Item:
        """An upgrade to package ``package_id`` (priced as a difference, never in a book)."""
        return cls(ItemKind.UPGRADE, package_id)

    @classmethod
    def shipping(cls, code: str) -> Item:
        return cls(ItemKind.SHIPPING, code)

    @classmethod
    def parse(cls, text: str) -> Item:
        """The item written ``kind:code`` (as :meth:`__str__` writes it)."""
        kind, _, code = str(text).partition(":")
        if kind not in ItemKind.__members__.values():
            raise ValidationError.of("invalid_item_code", "$.kind")
        return cls(ItemKind(kind), code)

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.code}"


def _not_negative(inst: Any, attribute: attrs.Attribute[Any], value: Money) -> None:
    if not isinstance(value, Money) or value.amount < 0:
        raise ValidationError.of("price_negative", f"$.{attribute.name}")


@attrs.frozen
class PriceEntry:
    """The amount of one item (never negative)."""

    item: Item
    amount: Money = attrs.field(validator=_not_negative)


def _entries(value: Mapping[Item, Money] | Iterable[PriceEntry]) -> tuple[PriceEntry, ...]:
    if isinstance(value, Mapping):
        return tuple(PriceEntry(item, amount) for item, amount in sorted(value.items()))
    return tuple(value)


def _practices(value: Iterable[PracticePrices]) -> tuple[PracticePrices, ...]:
    return tuple(value)


_unique_items = unique(lambda entry: str(entry.item))


@attrs.frozen
class PracticePrices:
    """A practice's own amounts: they take precedence over the book's for that practice."""

    practice_id: UUID
    entries: tuple[PriceEntry, ...] = attrs.field(converter=_entries, validator=_unique_items)


@attrs.frozen
class Price:
    """An amount looked up, with the book version it came from and whether a practice's own."""

    item: Item
    amount: Money
    book_version: int
    practice_override: bool = False


def _one_currency(book: PriceBook) -> None:
    every = [(f"$.entries[{i}]", e) for i, e in enumerate(book.entries)]
    for j, practice in enumerate(book.overrides):
        every += [(f"$.overrides[{j}].entries[{i}]", e) for i, e in enumerate(practice.entries)]
    for path, entry in every:
        if entry.amount.currency != book.currency:
            raise ValidationError.of(
                "price_currency",
                f"{path}.amount",
                book=book.currency.code,
                given=entry.amount.currency.code,
            )


@attrs.frozen
class PriceBook:
    """Version ``version`` of a network's prices, in effect from ``effective_from``."""

    network_id: UUID
    currency: Currency = attrs.field(converter=currency_of)
    version: int = attrs.field(validator=positive)
    effective_from: datetime = attrs.field(validator=aware)
    entries: tuple[PriceEntry, ...] = attrs.field(converter=_entries, validator=_unique_items)
    overrides: tuple[PracticePrices, ...] = attrs.field(
        default=(),
        converter=_practices,
        validator=unique(lambda practice: str(practice.practice_id)),
    )

    def __attrs_post_init__(self) -> None:
        _one_currency(self)

    def lookup(self, item: Item, practice_id: UUID | None = None) -> Price | None:
        """The amount of ``item`` for ``practice_id`` (its own first), or None if unpriced."""
        if practice_id is not None:
            for practice in self.overrides:
                if practice.practice_id == practice_id:
                    for entry in practice.entries:
                        if entry.item == item:
                            return Price(item, entry.amount, self.version, practice_override=True)
        for entry in self.entries:
            if entry.item == item:
                return Price(item, entry.amount, self.version)
        return None

    def price(self, item: Item, practice_id: UUID | None = None) -> Price:
        """Like :meth:`lookup`, but an unpriced item is a :class:`ValidationError`."""
        found = self.lookup(item, practice_id)
        if found is None:
            raise ValidationError.of(
                "price_missing", "$.item", item=str(item), version=self.version
            )
        return found

    def revised(
        self,
        effective_from: datetime,
        *,
        entries: Mapping[Item, Money] | None = None,
        overrides: Sequence[PracticePrices] | None = None,
    ) -> PriceBook:
        """The next version, in effect from ``effective_from`` (after this one's start).

        ``entries`` are set (added or changed) over this version's; ``overrides``, when
        given, replace the practices' own prices. This version stays as it was.
        """
        if effective_from <= self.effective_from:
            raise ValidationError.of(
                "price_book_order", "$.effective_from", version=self.version + 1
            )
        merged = {entry.item: entry.amount for entry in self.entries}
        merged.update(entries or {})
        return attrs.evolve(
            self,
            version=self.version + 1,
            effective_from=effective_from,
            entries=merged,
            overrides=self.overrides if overrides is None else tuple(overrides),
        )


def in_effect(books: Iterable[PriceBook], at: datetime) -> PriceBook:
    """The version of a network's price book in effect at ``at`` (the latest started)."""
    started = [book for book in books if book.effective_from <= at]
    if not started:
        raise ValidationError.of("price_book_none", "$.at")
    return max(started, key=lambda book: book.version)
