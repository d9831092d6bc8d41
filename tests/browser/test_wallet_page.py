"""In Chromium: a doctor keeps a card on their profile and finds it in the new-case wizard."""

from __future__ import annotations

from typing import Any

import pytest

from aligner_core.testing.factories import set_up_lab

pytestmark = pytest.mark.browser


def test_a_doctor_keeps_a_card_and_picks_it_in_the_wizard(
    portal: Any, browser: Any, screenshots: Any
) -> None:
    from playwright.sync_api import expect

    core = portal.core
    lab = set_up_lab(core, "WALLET-LAB")
    page = browser.new_context(base_url=portal.url).new_page()
    page.set_default_timeout(20_000)
    page.goto("/login")
    page.get_by_label("Username or e-mail").fill("doctor-WALLET-LAB")
    page.get_by_role("button", name="Log in").click()
    page.goto("/profile")
    expect(page.get_by_text("No payment method kept yet.")).to_be_visible()
    keep = page.get_by_role("form", name="Keep a payment method")
    keep.get_by_label("Name (e.g. Visa ending 4242)").fill("Visa ending 4242")
    keep.get_by_label("Card on file", exact=True).check()
    keep.get_by_label("Paid by").select_option(str(lab.doctor))
    keep.get_by_label("Card token (from the payment provider)").fill("pm_browser_4242")
    keep.get_by_role("button", name="Keep a payment method").click()
    expect(page.get_by_text("Visa ending 4242", exact=True)).to_be_visible()
    page.screenshot(path=str(screenshots / "14-payment-methods.png"), full_page=True)
    (kept,) = core.get_account(lab.doctor, lab.doctor).payment_methods
    assert kept.payment.card is not None and kept.payment.card.value == "pm_browser_4242"
    assert "pm_browser_4242" not in page.content()
    page.goto("/cases/new")
    picked = page.get_by_label("Saved payment method")
    picked.select_option(str(kept.method_id))
    expect(picked).to_have_value(str(kept.method_id))
    page.goto("/profile")
    page.get_by_role("button", name="Remove: Visa ending 4242").click()
    expect(page.get_by_text("No payment method kept yet.")).to_be_visible()
    assert core.get_account(lab.doctor, lab.doctor).payment_methods == ()
