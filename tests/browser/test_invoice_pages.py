"""The invoices pages (#16): a doctor's own, an admin's network's, each printable and as
CSV, a credit note by the admin; and the one route of account (and invoice) commands.
In a network of its own, so the other tests' networks keep no prices."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from typing import Any
from uuid import UUID

import pytest

from aligner_core.commands import SetPackages, SetPriceBook
from aligner_core.domain.accounts import Role
from aligner_core.domain.money import Currency, Money
from aligner_core.domain.packages import Package
from aligner_core.domain.prices import Item, PriceEntry
from aligner_core.testing.factories import Lab, plan_summary, set_up_lab

pytestmark = pytest.mark.browser


class _Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_Stay)


def call(
    portal: Any, user: UUID, path: str, fields: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """GET (or POST ``fields``) as ``user``: the status, the Location and the body."""
    data = None if fields is None else urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(portal.url + path, data, {"Cookie": f"user={user}"})
    try:
        with _opener.open(request, timeout=30) as answer:
            return answer.status, answer.headers.get("Location", ""), answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers.get("Location", ""), refused.read().decode()


@pytest.fixture(scope="module")
def billed(portal: Any) -> tuple[Lab, UUID, Any]:
    """A priced network, a second doctor, and the invoice of an approved plan."""
    core = portal.core
    lab = set_up_lab(core, "BILL-LAB")
    network_id = lab.network.network_id
    entries = (PriceEntry(Item.package("full"), Money("1890.00", "EUR")),)
    book = SetPriceBook(
        network_id=network_id, currency=Currency.of("EUR"), entries=entries, tax_percent="19"
    )
    core.execute(lab.admin, book)
    core.execute(
        lab.admin, SetPackages(network_id=network_id, packages=(Package("full", "Full", None),))
    )
    case_id = lab.ready_case()
    core.submit(lab.doctor, case_id)
    core.upload_plan(lab.planner, case_id, plan_summary(12, 10))
    core.accept_plan(lab.doctor, case_id, 1)
    (entry,) = core.invoices(lab.doctor)
    return lab, lab.add(Role.DOCTOR, "doctor-BILL-other"), entry


def test_invoices_are_listed_for_their_doctor_and_the_networks_admin(
    portal: Any, billed: tuple[Lab, UUID, Any]
) -> None:
    lab, other, entry = billed
    number, link = str(entry.number), f'href="/invoices/{entry.invoice_id}"'
    own = call(portal, lab.doctor, "/invoices")[2]
    assert number in own and link in own and 'href="/invoices"' in own  # and the menu's link
    assert "€1,890.00" in own and "€359.10" in own and "€2,249.10" in own
    assert "Credit note" not in own  # the doctor has no button
    network = call(portal, lab.admin, "/invoices")[2]
    assert number in network and "IssueCreditNote" in network
    assert number not in call(portal, other, "/invoices")[2]
    assert "No invoices yet." in call(portal, other, "/invoices")[2]
    figures = own.split('id="figures"', 1)[1].split("</section>", 1)[0]  # this year's figures
    assert "Year to date" in figures and "€1,890.00" in figures  # revenue net of tax
    assert "€0.00" in call(portal, other, "/invoices")[2].split('id="figures"', 1)[1]
    assert call(portal, lab.planner, "/invoices")[0] == 403
    assert 'href="/invoices"' not in call(portal, lab.planner, "/")[2]


def test_an_invoice_prints_for_its_doctor_and_admin_only_and_lists_as_csv(
    portal: Any, billed: tuple[Lab, UUID, Any]
) -> None:
    lab, other, entry = billed
    for reader in (lab.doctor, lab.admin):
        code, _, body = call(portal, reader, f"/invoices/{entry.invoice_id}")
        assert code == 200 and str(entry.number) in body and lab.network.name in body
        assert "Subtotal" in body and "<dt>To</dt>" in body
        assert "Doe" not in body  # the case number, never the patient
    assert call(portal, other, f"/invoices/{entry.invoice_id}")[0] == 404
    code, _, csv = call(portal, lab.doctor, "/invoices.csv")
    assert code == 200 and csv.startswith("number,kind,") and str(entry.number) in csv
    assert str(entry.number) not in call(portal, other, "/invoices.csv")[2]


def test_the_admin_credits_an_invoice_once(portal: Any, billed: tuple[Lab, UUID, Any]) -> None:
    lab, _, entry = billed
    credit = f"/invoices/{entry.invoice_id}/do/IssueCreditNote?back=/invoices"
    assert call(portal, lab.doctor, credit, {})[0] == 403
    assert call(portal, lab.admin, credit, {})[:2] == (303, "/invoices")
    assert call(portal, lab.admin, credit, {})[0] == 422  # already credited
    listed = call(portal, lab.doctor, "/invoices")[2]
    assert "Credit note" in listed and "-€2,249.10" in listed
    assert "IssueCreditNote" not in call(portal, lab.admin, "/invoices")[2]


def test_one_route_runs_account_commands_and_nothing_else(
    portal: Any, billed: tuple[Lab, UUID, Any]
) -> None:
    lab, other, entry = billed
    to = f"/accounts/{other}/do"
    for name in ("Comment", "NoSuchCommand", "IssueCreditNote"):
        assert call(portal, lab.admin, f"{to}/{name}", {})[0] == 404
    assert call(portal, lab.admin, f"/invoices/{entry.invoice_id}/do/Block", {})[0] == 404
    assert call(portal, lab.admin, "/accounts/not-an-id/do/Block", {})[0] == 422
    assert call(portal, lab.admin, f"{to}/Block?back=//evil.example/", {})[:2] == (303, "/")
    assert not portal.core.get_account(lab.admin, other).is_active
    assert call(portal, lab.admin, f"{to}/Activate?back=/admin/users", {})[:2] == (
        303,
        "/admin/users",
    )
    assert portal.core.get_account(lab.admin, other).is_active


def test_after_approving_a_priced_plan_the_doctor_finds_its_invoice(
    portal: Any, browser: Any, screenshots: Any
) -> None:
    """In Chromium: the approval of a quoted plan, then the menu's Invoices, then the invoice."""
    from playwright.sync_api import expect

    core = portal.core
    lab = set_up_lab(core, "WALK-LAB")
    entries = (PriceEntry(Item.package("full"), Money("1890.00", "EUR")),)
    network_id = lab.network.network_id
    core.execute(lab.admin, SetPriceBook(network_id=network_id, currency="EUR", entries=entries))
    core.execute(
        lab.admin, SetPackages(network_id=network_id, packages=(Package("full", "Full", None),))
    )
    case_id = lab.ready_case()
    core.submit(lab.doctor, case_id)
    number = core.upload_plan(lab.planner, case_id, plan_summary(12, 10)).number
    page = browser.new_context(base_url=portal.url).new_page()
    page.set_default_timeout(20_000)
    page.goto("/login")
    page.get_by_label("Username or e-mail").fill("doctor-WALK-LAB")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/cases/{number}")
    page.get_by_text("Accept the treatment plan", exact=True).first.click()
    form = page.get_by_role("form", name="Accept the treatment plan")
    form.get_by_role("button", name="Accept the treatment plan").click()
    expect(page.locator(".badge.big")).to_have_text("In production")
    (entry,) = core.invoices(lab.doctor)
    page.get_by_role("link", name="Invoices").click()
    expect(page.get_by_role("link", name=str(entry.number))).to_be_visible()
    page.screenshot(path=str(screenshots / "13-invoices.png"), full_page=True)
    page.get_by_role("link", name=str(entry.number)).click()
    expect(page.get_by_role("heading", name=f"Invoice {entry.number}")).to_be_visible()
