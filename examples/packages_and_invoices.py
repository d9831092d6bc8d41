"""Packages and quotes (#16): a lab's price book and packages, a plan's quote, approval in
a package the doctor picks, follow-ups within the package (free) and beyond it (priced),
a replacement quoted before it is sent, a card kept on the doctor's account and picked
on each order, add-ons (TPS, rush) quoted with a plan, an
upgrade to a larger package invoiced as the difference, a price change that leaves the
approved quote as it was, and the doctor's practice metrics: cases started, approved
and shipped and the net revenue of the year to date. (Invoices are built from these
quotes; here their totals are printed.)
"""

from __future__ import annotations

import sys

import aligner_core
from aligner_core.commands import SetPackages, SetPriceBook
from aligner_core.domain.money import Currency, Money
from aligner_core.domain.orders import RefinementOrder, ReplacementOrder, ReplacementReason
from aligner_core.domain.packages import Allowance, FollowUpKind, Package
from aligner_core.domain.payments import PaymentMethod
from aligner_core.domain.prices import Item, PriceEntry
from aligner_core.domain.quotes import Quote
from aligner_core.domain.records import FileKind
from aligner_core.domain.teeth import Arch
from aligner_core.testing.factories import arch_stl, plan_summary, set_up_lab


def prices(lite: str, comprehensive: str) -> tuple[PriceEntry, ...]:
    amounts = {
        Item.package("lite"): lite,
        Item.package("comprehensive"): comprehensive,
        Item.follow_up("refinement"): "350.00",
        Item.replacement(Arch.UPPER): "45.00",
        Item.replacement(Arch.LOWER): "45.00",
        Item.add_on("tps"): "150.00",  # treatment planning services
        Item.add_on("rush"): "95.00",
    }
    return tuple(PriceEntry(item, Money(amount, "EUR")) for item, amount in amounts.items())


def show(title: str, quote: Quote | None) -> None:
    assert quote is not None
    print(f"{title} (price book v{quote.book_version}, package {quote.package_id or '-'}):")
    for line in quote.lines:
        print(f"    {line.quantity} x {line.item}  at {line.unit}  = {line.amount}")
    print(f"    total {quote.total}")


def main() -> int:
    core = aligner_core.connect("memory://")
    lab = set_up_lab(core, "PRICED-LAB")
    network_id = lab.network.network_id
    core.execute(
        lab.admin,
        SetPriceBook(
            network_id=network_id,
            currency=Currency.of("EUR"),
            entries=prices("990.00", "1890.00"),
            tax_percent="19",
        ),
    )
    packages = (
        Package("lite", "Lite", 14, (Allowance(FollowUpKind.REFINEMENT, 1, 12),)),
        Package(
            "comprehensive", "Comprehensive", None, (Allowance(FollowUpKind.REFINEMENT, 3, 60),)
        ),
    )
    network = core.execute(lab.admin, SetPackages(network_id=network_id, packages=packages))
    book = network.price_book
    assert book is not None
    print(f"price book v{book.version} in {book.currency}:")
    for entry in book.entries:
        print(f"    {entry.item}: {entry.amount}")
    for package in network.packages:
        caps = "any number of" if package.max_steps is None else f"up to {package.max_steps}"
        included = ", ".join(
            f"{a.count} {a.kind}(s) within {a.window_months} months" for a in package.allowances
        )
        print(f"package {package.name}: {caps} steps per arch; includes {included}")

    case_id = lab.ready_case()
    core.submit(lab.doctor, case_id)
    core.upload_plan(lab.planner, case_id, plan_summary(12, 10))
    show(
        "plan v1 is quoted in the smallest package that fits",
        core.get_case(lab.doctor, case_id).quote,
    )

    approved = core.accept_plan(lab.doctor, case_id, 1, package="comprehensive").approved_quote
    show("the doctor approves in Comprehensive instead", approved)
    assert approved is not None

    def billed() -> None:
        """The newest invoice the network issued (approval and paid follow-ups issue one)."""
        issued = core.invoices(lab.admin)[-1].invoice
        print(f"invoice {issued.number}: {issued.subtotal} + tax {issued.tax} = {issued.total}")

    billed()
    core.ship(lab.production, case_id, carrier="DHL", tracking_number="1")

    # the doctor keeps their card on the account; each order picks it by id
    card = PaymentMethod.card_on_file(lab.doctor, "pm_demo_card_0001")
    wallet = core.save_payment_method(lab.doctor, lab.doctor, "Visa ending 0001", card)
    visa = wallet.payment_methods[-1].method_id
    print(f"kept on the account: {', '.join(m.label for m in wallet.payment_methods)}")
    for n in range(1, 5):
        draft = core.order_follow_up(lab.doctor, case_id, RefinementOrder(), payment_method_id=visa)
        entitled = core.entitlements(lab.doctor, case_id)
        assert entitled is not None and draft.charge is not None
        left = entitled.remaining(FollowUpKind.REFINEMENT, core.clock.now())
        print(f"refinement {n}: charge {draft.charge.total} ({left} included refinements left)")
        if not draft.charge.total.is_zero:  # beyond the package: invoiced when submitted
            for kind in (FileKind.UPPER_SCAN, FileKind.LOWER_SCAN):
                core.attach_file(lab.doctor, draft.case_id, kind, arch_stl(), "scan.stl")
            core.confirm(lab.doctor, draft.case_id, complete=True, privacy=True)
            core.submit(lab.doctor, draft.case_id)
            billed()

    order = ReplacementOrder(6, ReplacementReason.LOST, upper="5-6", lower="6")
    replacement = core.order_follow_up(lab.doctor, case_id, order, payment_method_id=visa)
    show(
        "a replacement, quoted before it is sent",
        core.quote_replacement(lab.doctor, replacement.case_id),
    )

    second = lab.ready_case(last_name="Roe")
    core.update_draft(lab.doctor, second, add_ons=["tps", "rush"])
    core.submit(lab.doctor, second)
    core.upload_plan(lab.planner, second, plan_summary(10, 8))
    show("a second case ordered with TPS and rush", core.get_case(lab.doctor, second).quote)
    core.accept_plan(lab.doctor, second, 1)
    billed()
    core.upgrade_package(lab.doctor, second, "comprehensive")
    print("later the doctor upgrades it to Comprehensive: the difference is invoiced")
    billed()

    core.execute(
        lab.admin,
        SetPriceBook(
            network_id=network_id, currency=Currency.of("EUR"), entries=prices("1190.00", "2190.00")
        ),
    )
    after = core.get_case(lab.doctor, case_id).case.approved_quote
    print(
        "price book v2 raises Comprehensive to EUR 2190.00;"
        f" the approved quote is unchanged: {after == approved}"
    )
    show("the approved quote", after)

    figures = core.practice_metrics(lab.doctor)  # the admin reads the network's, or any doctor's
    ytd = figures.year_to_date
    print(
        f"the doctor's year to date (until {figures.until}): {ytd.started} cases started,"
        f" {ytd.approved} approved, {ytd.shipped} shipped; revenue {ytd.revenue} net of tax"
    )
    return 0 if after == approved else 1


if __name__ == "__main__":
    sys.exit(main())
