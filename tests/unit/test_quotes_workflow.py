"""Quotes in the workflow (#16): a network's price book versions and packages, a plan's
quote at upload, the quote fixed at approval (in the package the doctor chose), exact
amounts through JSON and SQLite."""

from __future__ import annotations

import json
import tempfile
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aligner_core
from aligner_core import ui
from aligner_core.bootstrap import Core
from aligner_core.commands import SetPackages, SetPriceBook
from aligner_core.domain.accounts import Address, Role
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import CaseKind
from aligner_core.domain.money import Currency, Money
from aligner_core.domain.orders import (
    RefinementOrder,
    ReplacementOrder,
    ReplacementReason,
    RetainerOrder,
    RetainerType,
    RevisionOrder,
)
from aligner_core.domain.packages import Allowance, FollowUpKind, Package
from aligner_core.domain.payments import PaymentMethod
from aligner_core.domain.prices import Item, PriceEntry
from aligner_core.domain.records import FileKind, ImpressionType
from aligner_core.domain.teeth import Arch
from aligner_core.errors import InvalidTransitionError, PermissionDeniedError, ValidationError
from aligner_core.serialization import make_converter
from aligner_core.testing.factories import Lab, arch_stl, patient_details, plan_summary, set_up_lab

PACKAGES = (
    Package("lite", "Lite", 14, (Allowance(FollowUpKind.REFINEMENT, 1, 12),)),
    Package(
        "comprehensive",
        "Comprehensive",
        None,
        (Allowance(FollowUpKind.REFINEMENT, 3, 60), Allowance(FollowUpKind.REVISION, 1, 60)),
    ),
)


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def prices(lite: str = "990.00", comprehensive: str = "1890.00") -> tuple[PriceEntry, ...]:
    return (
        PriceEntry(Item.package("lite"), eur(lite)),
        PriceEntry(Item.package("comprehensive"), eur(comprehensive)),
        PriceEntry(Item.follow_up("refinement"), eur("350.00")),
        PriceEntry(Item.follow_up("revision"), eur("450.00")),
        PriceEntry(Item.follow_up("retainer"), eur("240.00")),
        PriceEntry(Item.replacement(Arch.UPPER), eur("45.00")),
        PriceEntry(Item.replacement(Arch.LOWER), eur("45.00")),
        PriceEntry(Item.add_on("tps"), eur("150.00")),
        PriceEntry(Item.add_on("rush"), eur("95.00")),
    )


def set_prices(core: Core, lab: Lab, **amounts: str) -> None:
    network_id = lab.network.network_id
    core.execute(
        lab.admin,
        SetPriceBook(network_id=network_id, currency=Currency.of("EUR"), entries=prices(**amounts)),
    )


def priced_lab(core: Core) -> Lab:
    lab = set_up_lab(core)
    set_prices(core, lab)
    core.execute(lab.admin, SetPackages(network_id=lab.network.network_id, packages=PACKAGES))
    return lab


def planned_case(core: Core, lab: Lab, upper: int = 12, lower: int = 10) -> UUID:
    case_id = lab.ready_case()
    core.submit(lab.doctor, case_id)
    core.upload_plan(lab.planner, case_id, plan_summary(upper, lower))
    return case_id


# -- network settings ----------------------------------------------------------------------------
def test_price_book_versions_and_packages_are_kept_in_the_network(
    core_on_each_storage: Core,
) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    set_prices(core, lab, lite="1090.00")
    with core.storage.unit_of_work() as uow:
        network = uow.accounts.get_network(lab.network.network_id)
    assert [b.version for b in network.price_books] == [1, 2]
    assert network.price_books[0].effective_from < network.price_books[1].effective_from
    assert network.price_books[0].price(Item.package("lite")).amount == eur("990.00")
    assert network.price_books[1].price(Item.package("lite")).amount == eur("1090.00")
    assert network.packages == PACKAGES


def test_only_the_networks_admin_sets_prices(core_on_each_storage: Core) -> None:
    core = core_on_each_storage
    lab = set_up_lab(core)
    with pytest.raises(PermissionDeniedError):
        core.execute(
            lab.doctor,
            SetPriceBook(
                network_id=lab.network.network_id, currency=Currency.of("EUR"), entries=prices()
            ),
        )


def test_a_later_version_is_in_the_networks_one_currency(core_on_each_storage: Core) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    entry = (PriceEntry(Item.package("lite"), Money("990.00", "USD")),)
    with pytest.raises(ValidationError) as info:
        core.execute(
            lab.admin,
            SetPriceBook(
                network_id=lab.network.network_id, currency=Currency.of("USD"), entries=entry
            ),
        )
    assert [e.code for e in info.value.errors] == ["currency_mismatch"]


def test_amounts_come_from_json_as_exact_decimals_and_floats_are_refused() -> None:
    converter = make_converter()
    document = {
        "network_id": "00000000-0000-4000-8000-000000000001",
        "currency": "EUR",
        "entries": [
            {
                "item": {"kind": "package", "code": "lite"},
                "amount": {"amount": "12.50", "currency": "EUR"},
            }
        ],
    }
    command = converter.load(json.dumps(document), SetPriceBook)
    assert command.entries[0].amount == eur("12.50")
    assert converter.unstructure(command)["entries"][0]["amount"] == {
        "amount": "12.50",
        "currency": "EUR",
    }
    document["entries"][0]["amount"]["amount"] = 12.5  # type: ignore[index]
    with pytest.raises(ValidationError) as info:
        converter.load(json.dumps(document), SetPriceBook)
    assert [(e.code, e.path) for e in info.value.errors] == [
        ("money_float", "$.entries[0].amount.amount")
    ]


# -- quotes bound to plan versions ---------------------------------------------------------------
def test_a_plan_is_quoted_in_the_smallest_package_that_fits(core_on_each_storage: Core) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    case_id = planned_case(core, lab, upper=12)
    detail = core.get_case(lab.doctor, case_id)
    assert detail.quote is not None
    assert (detail.quote.package_id, detail.quote.plan_version) == ("lite", 1)
    assert detail.quote.total == eur("990.00")
    core.request_modification(lab.doctor, case_id, "Close the gap first.")
    core.upload_plan(lab.planner, case_id, plan_summary(upper=20, lower=18))
    bigger = core.get_case(lab.doctor, case_id).quote
    assert bigger is not None and (bigger.package_id, bigger.plan_version) == ("comprehensive", 2)


def test_the_approve_button_offers_the_quoted_package(core_on_each_storage: Core) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    case_id = planned_case(core, lab, upper=12)
    options = core.available_actions(lab.doctor, case_id)
    approve = next(o for o in options if o.action is Action.ACCEPT_PLAN)
    assert approve.defaults == {"plan_version": 1, "package": "lite"}
    assert "package" in approve.inputs


def test_a_network_without_prices_quotes_nothing(core_on_each_storage: Core) -> None:
    core = core_on_each_storage
    lab = set_up_lab(core)
    case_id = planned_case(core, lab)
    assert core.get_case(lab.doctor, case_id).quote is None
    case = core.accept_plan(lab.doctor, case_id, 1)
    assert case.approved_quote is None and case.entitlements is None


def test_approval_fixes_the_quote_in_another_fitting_package(core_on_each_storage: Core) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    case_id = planned_case(core, lab, upper=12)
    case = core.accept_plan(lab.doctor, case_id, 1, package="comprehensive")
    assert case.approved_quote is not None
    assert case.approved_quote.package_id == "comprehensive"
    assert case.approved_quote.total == eur("1890.00")
    assert case.approved_quote.book_version == 1
    assert case.entitlements is not None and case.entitlements.package.id == "comprehensive"


def test_a_package_that_does_not_fit_is_refused(core_on_each_storage: Core) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    case_id = planned_case(core, lab, upper=20, lower=18)
    for package, code in (("lite", "package_does_not_fit"), ("gold", "unknown_package")):
        with pytest.raises(ValidationError) as info:
            core.accept_plan(lab.doctor, case_id, 1, package=package)
        assert [(e.code, e.path) for e in info.value.errors] == [(code, "$.package")]
    assert core.get_case(lab.doctor, case_id).case.approved_quote is None


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    revisions=st.lists(
        st.integers(1, 500_000).map(lambda c: f"{c // 100}.{c % 100:02d}"), max_size=3
    ),
    package=st.sampled_from(["lite", "comprehensive", None]),
    upgrade=st.booleans(),
)
def test_a_quote_never_changes_after_approval(
    storage: str, revisions: list[str], package: str | None, upgrade: bool
) -> None:
    """Later price books (and an upgrade) never alter the approved quote, on either storage."""
    with tempfile.TemporaryDirectory() as folder:
        url = "memory://" if storage == "memory" else f"sqlite:///{folder}/cases.db"
        core = aligner_core.connect(url)
        try:
            lab = priced_lab(core)
            case_id = planned_case(core, lab, upper=12)
            approved = core.accept_plan(lab.doctor, case_id, 1, package=package).approved_quote
            assert approved is not None
            for amount in revisions:
                set_prices(core, lab, lite=amount, comprehensive=amount)
                assert core.get_case(lab.doctor, case_id).case.approved_quote == approved
            if upgrade and approved.package_id == "lite":
                core.upgrade_package(lab.doctor, case_id, "comprehensive")
            assert core.get_case(lab.doctor, case_id).case.approved_quote == approved
        finally:
            core.storage.close()


# -- follow-ups: within the package, beyond it; replacements; payment ---------------------------
def shipped_case(core: Core, lab: Lab, package: str | None = None) -> UUID:
    case_id = planned_case(core, lab, upper=12)
    core.accept_plan(lab.doctor, case_id, 1, package=package)
    core.ship(lab.production, case_id, carrier="DHL", tracking_number="1")
    return case_id


def test_a_refinement_is_free_within_the_package_then_priced(core_on_each_storage: Core) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    parent = shipped_case(core, lab)  # lite: one refinement within 12 months
    assert (
        core.entitlements(lab.doctor, parent).remaining(  # type: ignore[union-attr]
            FollowUpKind.REFINEMENT, core.clock.now()
        )
        == 1
    )
    first = core.order_follow_up(lab.doctor, parent, RefinementOrder())
    assert first.charge is not None and first.charge.total == eur("0.00")
    entitled = core.entitlements(lab.doctor, first.case_id)
    assert entitled is not None
    assert entitled.remaining(FollowUpKind.REFINEMENT, core.clock.now()) == 0
    second = core.order_follow_up(lab.doctor, parent, RefinementOrder())
    assert second.charge is not None and second.charge.total == eur("350.00")
    assert [str(line.item) for line in second.charge.lines] == ["follow_up:refinement"]
    revision = core.order_follow_up(lab.doctor, parent, RevisionOrder(instructions="Less IPR."))
    assert revision.charge is not None and revision.charge.total == eur("450.00")


def test_a_replacement_is_quoted_before_submission(core_on_each_storage: Core) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    parent = shipped_case(core, lab)
    order = ReplacementOrder(3, ReplacementReason.BROKEN, upper="2, 4-5", lower="7")
    draft = core.order_follow_up(lab.doctor, parent, order)
    quote = core.quote_replacement(lab.doctor, draft.case_id)
    assert [(str(line.item), line.quantity) for line in quote.lines] == [
        ("replacement_aligner:upper", 3),
        ("replacement_aligner:lower", 1),
    ]
    assert quote.total == eur("180.00") and draft.charge == quote


def test_a_replacement_says_how_it_is_paid_where_prices_are_kept(
    core_on_each_storage: Core,
) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    parent = shipped_case(core, lab)
    order = ReplacementOrder(3, ReplacementReason.BROKEN, upper="2", not_quality_complaint=True)
    draft = core.order_follow_up(lab.doctor, parent, order)
    reasons = core.blockers(lab.doctor, draft.case_id, Action.SUBMIT).state
    assert ("payment_needed", "$.payment") in [(r.code, r.path) for r in reasons]
    card = PaymentMethod.card_on_file(lab.doctor, "pm_1234567890")
    paid = core.update_draft(lab.doctor, draft.case_id, payment=card)
    assert paid.payment == card
    reasons = core.blockers(lab.doctor, draft.case_id, Action.SUBMIT).state
    assert "payment_needed" not in [r.code for r in reasons]


def test_without_prices_no_payment_is_asked_for(core_on_each_storage: Core) -> None:
    core = core_on_each_storage
    lab = set_up_lab(core)
    parent = shipped_case(core, lab)
    order = ReplacementOrder(3, ReplacementReason.BROKEN, upper="2", not_quality_complaint=True)
    draft = core.order_follow_up(lab.doctor, parent, order)
    assert draft.charge is None
    reasons = core.blockers(lab.doctor, draft.case_id, Action.SUBMIT).state
    assert "payment_needed" not in [r.code for r in reasons]


# -- add-ons: quoted with the plan, charged with a follow-up, checked against the book ----------
def test_add_ons_are_quoted_with_the_plan_and_invoiced_at_approval(
    core_on_each_storage: Core,
) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    case_id = lab.ready_case()
    core.update_draft(lab.doctor, case_id, add_ons=["tps", "rush"])
    core.submit(lab.doctor, case_id)
    core.upload_plan(lab.planner, case_id, plan_summary(12, 10))
    quote = core.get_case(lab.doctor, case_id).case.quote_of(1)
    assert quote is not None and quote.add_ons == ("tps", "rush")
    assert quote.total == eur("1235.00")  # lite 990 + tps 150 + rush 95
    core.accept_plan(lab.doctor, case_id, 1, package="comprehensive")
    invoice = core.invoices(lab.admin)[-1].invoice
    assert [str(line.item) for line in invoice.lines] == [
        "package:comprehensive",
        "add_on:tps",
        "add_on:rush",
    ]
    assert invoice.subtotal == eur("2135.00")
    page = core.invoice_html(lab.doctor, core.invoices(lab.doctor)[-1].invoice_id, language="de")
    assert "Paket: Comprehensive" in page and "Zusatzleistung: TPS" in page and "2.135,00" in page


def test_an_add_on_the_book_does_not_price_is_refused(core_on_each_storage: Core) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    case_id = lab.ready_case()
    with pytest.raises(ValidationError) as info:
        core.update_draft(lab.doctor, case_id, add_ons=["rush", "gold-plating"])
    assert [(e.code, e.path) for e in info.value.errors] == [("add_on_unpriced", "$.add_ons[1]")]
    with pytest.raises(ValidationError) as info:
        core.update_draft(lab.doctor, case_id, add_ons=["Rush!", "rush", "rush"])
    assert [(e.code, e.path) for e in info.value.errors] == [
        ("invalid_item_code", "$.add_ons[0]"),
        ("duplicate_entry", "$.add_ons[2]"),
    ]
    assert core.get_case(lab.doctor, case_id).case.add_ons == ()


def test_rush_on_an_included_refinement_is_charged_and_invoiced(
    core_on_each_storage: Core,
) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    parent = shipped_case(core, lab)
    draft = core.order_follow_up(lab.doctor, parent, RefinementOrder(), add_ons=["rush"])
    assert draft.charge is not None
    assert [(str(x.item), x.unit) for x in draft.charge.lines] == [
        ("follow_up:refinement", eur("0.00")),
        ("add_on:rush", eur("95.00")),
    ]
    without = core.update_draft(lab.doctor, draft.case_id, add_ons=[])
    assert without.charge is not None and without.charge.total == eur("0.00")
    again = core.update_draft(lab.doctor, draft.case_id, add_ons=["rush"])
    assert again.charge is not None and again.charge.total == eur("95.00")
    reasons = core.blockers(lab.doctor, draft.case_id, Action.SUBMIT).state
    assert ("payment_needed", "$.payment") in [(r.code, r.path) for r in reasons]
    core.update_draft(lab.doctor, draft.case_id, payment=PaymentMethod.invoice(lab.doctor))
    before = len(core.invoices(lab.admin))
    for kind in (FileKind.UPPER_SCAN, FileKind.LOWER_SCAN):
        core.attach_file(lab.doctor, again.case_id, kind, arch_stl(), "scan.stl")
    core.confirm(lab.doctor, again.case_id, complete=True, privacy=True)
    core.submit(lab.doctor, again.case_id)
    issued = core.invoices(lab.admin)
    assert len(issued) == before + 1
    assert issued[-1].invoice.subtotal == eur("95.00")


def test_a_changed_replacement_order_is_quoted_again(core_on_each_storage: Core) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    parent = shipped_case(core, lab)
    order = ReplacementOrder(3, ReplacementReason.BROKEN, upper="2")
    draft = core.order_follow_up(lab.doctor, parent, order)
    assert draft.charge is not None and draft.charge.total == eur("45.00")
    wider = ReplacementOrder(3, ReplacementReason.BROKEN, upper="2-4", lower="5")
    changed = core.update_draft(lab.doctor, draft.case_id, order=wider)
    assert changed.charge == core.quote_replacement(lab.doctor, draft.case_id)
    assert changed.charge is not None and changed.charge.total == eur("180.00")


# -- entitlements go back when a follow-up draft is deleted ------------------------------------
def test_deleting_an_included_follow_up_draft_gives_its_entitlement_back(
    core_on_each_storage: Core,
) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    parent = shipped_case(core, lab)  # lite: one refinement included

    def left() -> int:
        entitled = core.entitlements(lab.doctor, parent)
        assert entitled is not None
        return entitled.remaining(FollowUpKind.REFINEMENT, core.clock.now())

    first = core.order_follow_up(lab.doctor, parent, RefinementOrder())
    assert left() == 0
    core.delete_draft(lab.doctor, first.case_id)
    assert left() == 1
    second = core.order_follow_up(lab.doctor, parent, RefinementOrder())
    assert second.charge is not None and second.charge.total == eur("0.00")
    assert left() == 0
    priced = core.order_follow_up(lab.doctor, parent, RefinementOrder())
    core.delete_draft(lab.doctor, priced.case_id)  # it spent nothing: nothing comes back
    assert left() == 0


# -- upgrades: a priced step to a larger package ------------------------------------------------
def test_an_upgrade_invoices_the_difference_and_moves_the_entitlements(
    core_on_each_storage: Core,
) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    parent = shipped_case(core, lab)  # lite, 990.00
    approved = core.get_case(lab.doctor, parent).case.approved_quote
    core.order_follow_up(lab.doctor, parent, RefinementOrder())  # lite's one refinement
    upgraded = core.upgrade_package(lab.doctor, parent, "comprehensive")
    assert upgraded.approved_quote == approved  # the approval stays as approved
    assert upgraded.entitlements is not None
    assert upgraded.entitlements.package.id == "comprehensive"
    now = core.clock.now()
    assert upgraded.entitlements.remaining(FollowUpKind.REFINEMENT, now) == 2  # 3, one spent
    assert upgraded.entitlements.remaining(FollowUpKind.REVISION, now) == 1
    invoice = core.invoices(lab.admin)[-1].invoice
    assert [(str(x.item), x.unit) for x in invoice.lines] == [
        ("upgrade:comprehensive", eur("900.00"))
    ]
    assert ("package", "comprehensive") in upgraded.history[-1].details
    with pytest.raises(ValidationError) as info:
        core.upgrade_package(lab.doctor, parent, "lite")
    assert info.value.errors[0].code == "upgrade_not_larger"


def test_only_the_doctor_upgrades_an_approved_package(core_on_each_storage: Core) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    parent = shipped_case(core, lab)
    with pytest.raises(PermissionDeniedError):
        core.upgrade_package(lab.admin, parent, "comprehensive")
    unpriced = set_up_lab(core, code="PLAIN")
    plain = shipped_case(core, unpriced)
    reasons = core.blockers(unpriced.doctor, plain, Action.UPGRADE_PACKAGE).state
    assert [r.code for r in reasons] == ["no_package_approved"]
    with pytest.raises(InvalidTransitionError):
        core.upgrade_package(unpriced.doctor, plain, "comprehensive")


def test_an_order_is_paid_only_with_the_doctors_own_methods(core_on_each_storage: Core) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    parent = shipped_case(core, lab)
    other = lab.add(Role.DOCTOR, "other-doctor")
    stolen = PaymentMethod.card_on_file(other, "pm_someone_elses")
    order = ReplacementOrder(3, ReplacementReason.BROKEN, upper="2", not_quality_complaint=True)
    with pytest.raises(ValidationError) as info:
        core.order_follow_up(lab.doctor, parent, order, payment=stolen)
    assert [(e.code, e.path) for e in info.value.errors] == [
        ("payment_not_owned", "$.payment.owner_id")
    ]
    draft = core.order_follow_up(lab.doctor, parent, order)
    with pytest.raises(ValidationError):
        core.update_draft(lab.doctor, draft.case_id, payment=stolen)
    address = Address(country="DE", city="Berlin", postal_code="10115", street="Hauptstr. 1")
    practice = core.add_practice(lab.doctor, lab.doctor, "Mitte", address).practices[-1]
    by_practice = PaymentMethod.invoice(practice.practice_id)
    paid = core.update_draft(lab.doctor, draft.case_id, payment=by_practice)
    assert paid.payment == by_practice


def test_the_buttons_offer_the_packages_to_pick(core_on_each_storage: Core) -> None:
    """Approve offers the packages the plan fits; upgrade those covering more (a select)."""
    core = core_on_each_storage
    lab = priced_lab(core)
    case_id = planned_case(core, lab, upper=20)  # too many steps for lite
    options = {o.action: o for o in core.available_actions(lab.doctor, case_id)}
    assert options[Action.ACCEPT_PLAN].choices == {"package": (("comprehensive", "Comprehensive"),)}
    parent = shipped_case(core, lab)
    options = {o.action: o for o in core.available_actions(lab.doctor, parent)}
    assert options[Action.UPGRADE_PACKAGE].choices == {
        "package": (("comprehensive", "Comprehensive"),)
    }
    case = core.get_case(lab.doctor, parent).case
    (button,) = [
        b for b in ui.buttons(options.values(), case=case) if b.command == "UpgradePackage"
    ]
    (field,) = [f for f in button.form.fields if f.name == "package"]
    assert [c.value for c in field.choices] == ["comprehensive"]
    core.upgrade_package(lab.doctor, parent, "comprehensive")
    options = {o.action: o for o in core.available_actions(lab.doctor, parent)}
    case = core.get_case(lab.doctor, parent).case
    assert not [b for b in ui.buttons(options.values(), case=case) if b.command == "UpgradePackage"]


# -- a new patient's order without a plan to approve is charged when it is submitted -----------
def test_a_new_patients_retainer_is_charged_per_set_and_invoiced_at_submit(
    core_on_each_storage: Core,
) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    network_id = lab.network.network_id
    entries = (*prices(), PriceEntry(Item.retainer_set("removable"), eur("120.00")))
    core.execute(
        lab.admin, SetPriceBook(network_id=network_id, currency=Currency.of("EUR"), entries=entries)
    )
    order = RetainerOrder(RetainerType.REMOVABLE, sets=2)
    case = core.create_case(
        lab.doctor,
        CaseKind.RETAINER,
        patient_details(),
        order=order,
        impression_type=ImpressionType.INTRAORAL_SCAN,
        add_ons=["rush"],
    )
    assert case.charge is not None
    assert [(str(x.item), x.quantity, x.amount) for x in case.charge.lines] == [
        ("retainer_set:removable", 2, eur("240.00")),
        ("add_on:rush", 1, eur("95.00")),
    ]
    three = core.update_draft(
        lab.doctor, case.case_id, order=RetainerOrder(RetainerType.REMOVABLE, sets=3)
    )
    assert three.charge is not None and three.charge.total == eur("455.00")
    for kind in (FileKind.UPPER_SCAN, FileKind.LOWER_SCAN):
        core.attach_file(lab.doctor, case.case_id, kind, arch_stl(), "scan.stl")
    core.confirm(lab.doctor, case.case_id, complete=True, privacy=True)
    reasons = core.blockers(lab.doctor, case.case_id, Action.SUBMIT).state
    assert [r.code for r in reasons] == ["payment_needed"]
    core.update_draft(lab.doctor, case.case_id, payment=PaymentMethod.on_account(lab.doctor))
    before = len(core.invoices(lab.admin))
    core.submit(lab.doctor, case.case_id)
    issued = core.invoices(lab.admin)
    assert len(issued) == before + 1 and issued[-1].invoice.subtotal == eur("455.00")
    page = core.invoice_html(lab.doctor, issued[-1].invoice_id, language="de")
    assert "Über das Kundenkonto" in page and "on_account" not in page  # the label, translated


def test_a_direct_manufacturing_case_is_charged_its_product_price(
    core_on_each_storage: Core,
) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    unpriced = core.create_case(lab.doctor, CaseKind.DIRECT_MANUFACTURING, patient_details())
    assert unpriced.charge is None  # the book has no price for the product
    entries = (*prices(), PriceEntry(Item.product("direct_manufacturing"), eur("700.00")))
    core.execute(
        lab.admin,
        SetPriceBook(
            network_id=lab.network.network_id, currency=Currency.of("EUR"), entries=entries
        ),
    )
    case = core.create_case(lab.doctor, CaseKind.DIRECT_MANUFACTURING, patient_details())
    assert case.charge is not None and case.charge.total == eur("700.00")
    reasons = core.blockers(lab.doctor, case.case_id, Action.SUBMIT).state
    assert "payment_needed" in [r.code for r in reasons]


def test_a_follow_up_retainer_beyond_the_package_is_priced_per_set(
    core_on_each_storage: Core,
) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    parent = shipped_case(core, lab)  # lite includes no retainer
    order = RetainerOrder(RetainerType.REMOVABLE, sets=2, model_step=10)
    flat = core.order_follow_up(lab.doctor, parent, order)  # no per-set price: the flat one
    assert flat.charge is not None
    assert [(str(x.item), x.quantity) for x in flat.charge.lines] == [("follow_up:retainer", 1)]
    entries = (*prices(), PriceEntry(Item.retainer_set("removable"), eur("120.00")))
    core.execute(
        lab.admin,
        SetPriceBook(
            network_id=lab.network.network_id, currency=Currency.of("EUR"), entries=entries
        ),
    )
    per_set = core.order_follow_up(lab.doctor, parent, order)
    assert per_set.charge is not None and per_set.charge.total == eur("240.00")
    three = RetainerOrder(RetainerType.REMOVABLE, sets=3, model_step=10)
    more = core.update_draft(lab.doctor, per_set.case_id, order=three)
    assert more.charge is not None and more.charge.total == eur("360.00")


def test_no_upgrade_button_where_no_package_was_approved(core_on_each_storage: Core) -> None:
    core = core_on_each_storage
    lab = set_up_lab(core)  # no prices, no packages
    parent = shipped_case(core, lab)
    options = core.available_actions(lab.doctor, parent, include_blocked=True)
    case = core.get_case(lab.doctor, parent).case
    assert "UpgradePackage" not in [b.command for b in ui.buttons(options, case=case)]
