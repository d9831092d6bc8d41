"""A network's catalogue of products: what a practice orders, mapped onto a case kind.

A product (Clear Aligners, Metal Retainer, ...) names the kind of case it becomes (and
with it the lifecycle path), the records it needs before submission beyond what the
kind needs, and the lab's turnaround per stage in business days where it differs from
the lab's table. Every network without a catalogue of its own offers
:data:`DEFAULT_PRODUCTS`, the products of the source documents (the Aligner Portal's
product types, ClearCorrect's order kinds, Invisalign's additional aligners).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

import attrs

from aligner_core.domain.deadlines import Stage
from aligner_core.domain.fields import Checked, field, integer, items, text
from aligner_core.domain.kinds import CaseKind
from aligner_core.domain.prescriptions import Design
from aligner_core.errors import FieldError

__all__ = [
    "DEFAULT_PRODUCTS",
    "MAX_PRODUCTS",
    "MAX_TURNAROUND_DAYS",
    "Catalogue",
    "Product",
    "Requirement",
    "Turnaround",
]

#: The most products one catalogue lists.
MAX_PRODUCTS = 40
#: The longest turnaround of a stage, in business days.
MAX_TURNAROUND_DAYS = 90

_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


class Requirement(StrEnum):
    """Records a product needs before it is submitted."""

    SCANS = "scans"
    """Accepted upper and lower STL scans."""
    BITE_SCAN = "bite_scan"
    PHOTOS = "photos"
    """At least one clinical photo."""
    RADIOGRAPH = "radiograph"
    FILES = "files"
    """Any file (what direct manufacturing makes aligners from)."""
    IMPRESSION_TYPE = "impression_type"
    """The impression type named (scan or silicone impression)."""


@attrs.frozen
class Turnaround(Checked):
    """The lab's business days for one stage of a product, standard and express."""

    stage: Stage = field()
    standard: int = integer(1, MAX_TURNAROUND_DAYS)
    express: int = integer(1, MAX_TURNAROUND_DAYS)

    def days(self, design: Design) -> int:
        return self.express if design is Design.EXPRESS else self.standard


def _code(value: Any) -> Iterable[FieldError]:
    if isinstance(value, str) and not _CODE.fullmatch(value):
        yield FieldError.of("invalid_product_code")


def _requirements(given: Iterable[object]) -> tuple[Requirement, ...]:
    return tuple(sorted({Requirement(v) for v in given}))  # type: ignore[arg-type]


def _one_turnaround_per_stage(product: Product) -> Iterable[FieldError]:
    seen: set[Stage] = set()
    for i, entry in enumerate(product.turnaround):
        if entry.stage in seen:
            yield FieldError.of(
                "turnaround_stage_again", f"$.turnaround[{i}]", stage=entry.stage.value
            )
        seen.add(entry.stage)


@attrs.frozen
class Product(Checked):
    """One product of a catalogue; ``code`` names it in commands and on the case."""

    code: str = text(40, rules=[_code], doc="Lower-case letters, digits, - and _.")
    name: str = text(80, doc="The name practices see (Clear Aligners, Metal Retainer, ...).")
    kind: CaseKind = field(doc="The kind of case it becomes: its order form and lifecycle.")
    requires: tuple[Requirement, ...] = items(
        len(Requirement), default=(), converter=_requirements, doc="Records needed to submit."
    )
    turnaround: tuple[Turnaround, ...] = items(
        len(Stage), default=(), doc="Business days per stage (the lab's table for the rest)."
    )

    __rules__ = (_one_turnaround_per_stage,)

    def days(self, stage: Stage, design: Design) -> int | None:
        """The product's turnaround of ``stage``, or None where the lab's table applies."""
        for entry in self.turnaround:
            if entry.stage is stage:
                return entry.days(design)
        return None


#: The products of the source documents: the Aligner Portal's "Clear Aligners (3D
#: Aligners)", its direct manufacturing from the practice's STLs and its "Metal Retainer";
#: ClearCorrect's retainer, revision and replacement aligner orders; Invisalign's
#: additional aligners. The first product of a kind is the kind's default.
DEFAULT_PRODUCTS: tuple[Product, ...] = (
    Product("clear_aligners", "Clear Aligners", CaseKind.TREATMENT, (Requirement.SCANS,)),
    Product(
        "direct_manufacturing",
        "Clear Aligners (direct manufacturing)",
        CaseKind.DIRECT_MANUFACTURING,
        (Requirement.FILES,),
    ),
    Product("retainer", "Retainer", CaseKind.RETAINER),
    Product("metal_retainer", "Metal Retainer", CaseKind.RETAINER, (Requirement.SCANS,)),
    Product("refinement", "Additional Aligners", CaseKind.REFINEMENT, (Requirement.SCANS,)),
    Product("revision", "Revision", CaseKind.REVISION),
    Product("replacement", "Replacement Aligners", CaseKind.REPLACEMENT),
)


def _unique_codes(catalogue: Catalogue) -> Iterable[FieldError]:
    seen: set[str] = set()
    for i, product in enumerate(catalogue.products):
        if product.code in seen:
            path = f"$.products[{i}].code"
            yield FieldError.of("product_code_again", path, product=product.code)
        seen.add(product.code)


@attrs.frozen
class Catalogue(Checked):
    """The products a network offers, in the order its practices see them."""

    products: tuple[Product, ...] = items(MAX_PRODUCTS, min_items=1, default=DEFAULT_PRODUCTS)

    __rules__ = (_unique_codes,)

    def product(self, code: str) -> Product | None:
        for product in self.products:
            if product.code == code:
                return product
        return None

    def default_for(self, kind: CaseKind) -> Product | None:
        """The first product of ``kind``: what a case of that kind is when it names none."""
        for product in self.products:
            if product.kind is kind:
                return product
        return None

    def of_kind(self, kind: CaseKind) -> tuple[Product, ...]:
        return tuple(p for p in self.products if p.kind is kind)
