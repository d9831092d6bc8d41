"""The reference portal in a real browser: one case from registration to a refinement.

Every element is named by its role and label, as a person finds it. Screenshots of the
steps a person would look at land in ``build/screenshots/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

#: A PDF that pretends to be a scan.
FAKE_SCAN = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
VIEWPORT = {"width": 1360, "height": 900}


def log_in(browser: Any, base: str, username: str) -> Any:
    """A fresh browser context (its own cookies) logged in as ``username``."""
    context = browser.new_context(viewport=VIEWPORT, base_url=base)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto("/login")
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_role("button", name="Log in").click()
    return page


def shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def open_action(page: Any, name: str) -> Any:
    """Open the panel of an action button (a summary that discloses its form): the form."""
    page.get_by_text(name, exact=True).first.click()
    return page.get_by_role("form", name=name)


def test_a_case_from_registration_to_refinement(
    portal: Any, browser: Any, samples: Path, screenshots: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    base = portal.url
    # -- registration with the network's reference code ------------------------------------
    context = browser.new_context(viewport=VIEWPORT, base_url=base)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto("/register")
    for label, value in {
        "Clinic / business name": "Bright Smiles",
        "First name": "Dana",
        "Last name": "Doctor",
        "E-mail": "dana@bright.example",
        "Username": "dana",
        "Telephone": "+49 30 555 0101",
        "Reference code": "SMILE-LAB",
        "Country": "Germany",
        "City": "Berlin",
        "Postal code": "10115",
        "Street": "Invalidenstr. 1",
    }.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("group", name="Role").get_by_label("Doctor").check()
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Thank you for registering")).to_be_visible()
    shot(page, screenshots, "01-registered")
    page.goto("/login")
    page.get_by_label("Username or e-mail").fill("dana")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("waiting to be activated")
    context.close()

    # -- activation by the network's admin -------------------------------------------------
    admin = log_in(browser, base, "admin")
    admin.get_by_role("link", name="Users").click()
    admin.get_by_role("button", name="Activate dana").click()
    expect(admin.get_by_role("button", name="Block dana")).to_be_visible()
    shot(admin, screenshots, "02-users")

    # -- the new-case wizard: every field error at once ------------------------------------
    doctor = log_in(browser, base, "dana")
    expect(doctor.get_by_role("heading", name="Overview")).to_be_visible()
    doctor.get_by_role("link", name="New case").first.click()
    doctor.get_by_label("Clear aligner treatment").check()
    doctor.get_by_role("button", name="Next").click()
    doctor.get_by_label("Date of birth").fill("2099-01-01")
    doctor.get_by_label("E-mail").fill("not an address")
    doctor.get_by_role("button", name="Next").click()
    doctor.get_by_role("button", name="Tooth UR2").click()
    doctor.get_by_label("State of UR2").select_option(label="Crown")
    doctor.get_by_role("button", name="Tooth LL6").click()
    doctor.get_by_label("State of LL6").select_option(label="Implant")
    shot(doctor, screenshots, "03-wizard-tooth-chart")
    doctor.get_by_role("button", name="Next").click()
    doctor.get_by_role("group", name="Overjet").get_by_label("Improve").check()
    doctor.get_by_role("group", name="IPR").get_by_label("No").check()
    doctor.get_by_label("Doctor's instructions").fill("Close the upper midline gap.")
    doctor.get_by_role("button", name="Next").click()
    doctor.get_by_label("I confirm that I have filled out the form completely").check()
    doctor.get_by_label("I confirm that I have read and accepted the privacy policy").check()
    doctor.get_by_role("button", name="Save the draft").click()
    problems = doctor.get_by_role("alert")
    expect(problems).to_contain_text("Please correct the fields marked below")
    for message in (
        "Last name: must not be blank",
        "Gender: required field missing",
        "Date of birth: must not be in the future",
        "E-mail: must be one e-mail address",
    ):
        expect(problems).to_contain_text(message)
    expect(doctor.get_by_label("Last name")).to_have_attribute("aria-invalid", "true")
    shot(doctor, screenshots, "04-wizard-errors")

    # -- second round: fixed; a real STL accepted, a PDF named .stl refused ----------------
    doctor.get_by_label("Last name").fill("Muster")
    doctor.get_by_label("First name").fill("Erika")
    doctor.get_by_role("group", name="Gender").get_by_label("Female").check()
    doctor.get_by_label("Date of birth").fill("1990-04-01")
    doctor.get_by_label("E-mail").fill("erika@example.org")
    doctor.get_by_role("tab", name="Tooth chart").click()
    expect(doctor.get_by_label("State of UR2")).to_have_value("crown")
    doctor.get_by_role("tab", name="Files and confirmation").click()
    doctor.get_by_label("Impression type").select_option(label="Intraoral scan")
    doctor.get_by_label("Upper jaw scan").set_input_files(str(samples / "binary" / "Moon.stl"))
    fake = tmp_path / "lower.stl"
    fake.write_bytes(FAKE_SCAN)
    doctor.get_by_label("Lower jaw scan").set_input_files(str(fake))
    doctor.get_by_role("button", name="Save the draft").click()
    expect(doctor.get_by_role("heading", level=1)).to_contain_text("Erika Muster")
    lower = doctor.get_by_label("Lower jaw scan")
    expect(lower).to_have_attribute("aria-invalid", "true")
    expect(doctor.get_by_role("alert")).to_contain_text("Some files were refused")
    expect(lower).to_have_accessible_description(re.compile("must be model/stl"))
    expect(doctor.get_by_role("link", name="Moon.stl")).to_be_visible()
    shot(doctor, screenshots, "05-file-refused")
    lower.set_input_files(str(samples / "binary" / "Star.stl"))
    doctor.get_by_role("button", name="Upload").click()
    expect(doctor.get_by_role("link", name="Star.stl")).to_be_visible()
    number = int(re.search(r"/cases/(\d+)", doctor.url).group(1))

    # -- submit, reading the review's warnings ---------------------------------------------
    doctor.get_by_role("button", name="Submit", exact=True).click()
    dialog = doctor.get_by_role("dialog", name="Submit")
    expect(dialog).to_contain_text("bite scan is recommended")
    shot(doctor, screenshots, "06-submit-review")
    dialog.get_by_role("button", name="Yes, I confirm").click()
    expect(doctor.get_by_role("status")).to_contain_text("The case has been submitted")
    doctor.get_by_role("textbox", name="Comment").fill(
        "Please keep the lower incisors as they are."
    )
    doctor.get_by_role("button", name="Add comment").click()
    expect(doctor.get_by_text("Please keep the lower incisors as they are.")).to_be_visible()

    # -- the planner uploads plan 1 with its steps -----------------------------------------
    planner = log_in(browser, base, "planner")
    planner.goto(f"/cases/{number}")
    planner.get_by_role("button", name="Take the case").click()  # nobody has it yet
    assigned = planner.locator(".kv", has_text="Assigned to")
    expect(assigned).not_to_contain_text("Nobody yet")
    planner.goto("/?mine=1")  # the planner's own cases
    expect(planner.get_by_role("link", name=str(number), exact=True)).to_be_visible()
    shot(planner, screenshots, "06b-my-cases")
    planner.goto(f"/cases/{number}")

    def upload_plan(steps: int, ipr: bool) -> None:
        form = open_action(planner, "Upload a treatment plan")
        form.get_by_label("Upper steps").fill(str(steps))
        form.get_by_label("Lower steps").fill(str(steps))
        form.get_by_label("Total IPR (mm)").fill("0.2" if ipr else "0")
        form.get_by_label("Attachments", exact=True).fill("2")
        for n in range(1, steps + 1):
            if n > 1:
                form.get_by_role("button", name="Add a row: Steps").click()
            row = form.get_by_role("group", name=f"Steps {n}")
            row.get_by_label("Number").fill(str(n))
            if n == 1:
                row.get_by_label("Attachments placed").fill("UR3 UL3")
                if ipr:
                    row.get_by_label("Between").fill("UR1")
                    row.get_by_label(re.compile(r"^and")).fill("UL1")
                    row.get_by_label("IPR (mm)").fill("0.2")
            if n == steps:
                row.get_by_label("Checkpoint").check()
        form.get_by_label("Simulation link").fill("https://simulations.example/plan")
        form.get_by_role("button", name="Upload a treatment plan").click()

    upload_plan(3, ipr=True)
    expect(planner.get_by_role("heading", name="Plan 1")).to_be_visible()
    expect(planner.locator(".badge.big")).to_have_text("Waiting for approval")
    shot(planner, screenshots, "07-plan-1")

    # -- modification, plan 2 ----------------------------------------------------------------
    doctor.reload()
    form = open_action(doctor, "Request a modification")
    form.get_by_role("button", name="Request a modification").click()
    form = doctor.get_by_role("form", name="Request a modification")
    expect(form.get_by_text("a reason is required")).to_be_visible()
    form.get_by_label("Reason").fill("Please avoid IPR between the upper incisors.")
    form.get_by_role("button", name="Request a modification").click()
    expect(doctor.get_by_role("status")).to_contain_text("modified treatment plan")
    planner.reload()
    upload_plan(4, ipr=False)
    expect(planner.get_by_role("heading", name="Plan 2")).to_be_visible()

    # -- a share link, opened by someone without an account -----------------------------------
    doctor.reload()
    share = open_action(doctor, "Share the treatment plan")
    share.get_by_role("button", name="Share the treatment plan").click()
    link = doctor.get_by_label("Share link of plan 2").input_value()
    stranger = browser.new_context(viewport=VIEWPORT).new_page()
    stranger.goto(link)
    expect(stranger.get_by_role("heading", name="Treatment plan simulation")).to_be_visible()
    expect(stranger.locator("main")).to_contain_text("Plan 2")
    expect(stranger.locator("main")).not_to_contain_text("Muster")
    shot(stranger, screenshots, "08-shared-plan")

    # -- approval ------------------------------------------------------------------------------
    doctor.reload()
    form = open_action(doctor, "Accept the treatment plan")
    expect(form.get_by_label("Plan version")).to_have_value("2")
    form.get_by_role("button", name="Accept the treatment plan").click()
    expect(doctor.locator(".badge.big")).to_have_text("In production")

    # -- shipping in two phases ----------------------------------------------------------------
    production = log_in(browser, base, "production")
    production.goto(f"/cases/{number}")
    for tracking, last in (("DHL-0001", False), ("DHL-0002", True)):
        form = open_action(production, "Ship")
        form.get_by_label("Carrier").fill("DHL")
        form.get_by_label("Tracking number").fill(tracking)
        box = form.get_by_label("Last phase of this order")
        box.check() if last else box.uncheck()
        form.get_by_role("button", name="Ship").click()
        expect(production.get_by_role("cell", name=tracking)).to_be_visible()
    expect(production.locator(".badge.big")).to_have_text("Shipped")
    shot(production, screenshots, "09-shipped")

    # -- the case page as the doctor sees it; a refinement ------------------------------------
    doctor.goto(f"/cases/{number}")
    shot(doctor, screenshots, "10-case")
    form = open_action(doctor, "Add refinement")
    form.get_by_label("Doctor's instructions").fill("Patient is happy with phase 1.")
    form.get_by_role("button", name="Add refinement").click()
    expect(doctor.get_by_text(f"case {number}", exact=True)).to_be_visible()
    expect(doctor.locator(".badge.big")).to_have_text("Draft")

    # -- one page in German ------------------------------------------------------------------
    doctor.get_by_role("link", name="Profile").click()
    doctor.get_by_label("Site language").select_option("de")
    doctor.get_by_role("button", name="Save").click()
    doctor.get_by_role("link", name="Übersicht").click()
    expect(doctor.get_by_role("heading", name="Übersicht")).to_be_visible()
    expect(doctor.get_by_role("link", name="Neuer Fall").first).to_be_visible()
    expect(doctor.locator(".badge", has_text="Versandt").first).to_be_visible()
    shot(doctor, screenshots, "11-dashboard-de")
    doctor.get_by_role("link", name="Neuer Fall").first.click()
    doctor.get_by_role("button", name="Entwurf speichern").click()
    problems = doctor.get_by_role("alert")
    expect(problems).to_contain_text("Bitte korrigieren Sie die unten markierten Felder")
    expect(problems).to_contain_text("Nachname: ")
    expect(problems).to_contain_text("Pflichtfeld fehlt")
    shot(doctor, screenshots, "12-wizard-errors-de")


def test_an_impressions_by_post_case_from_parcel_to_planning(
    portal: Any, browser: Any, samples: Path, screenshots: Path
) -> None:
    """Silicone impressions by post; the lab digitises them; a records request and its answer."""
    from playwright.sync_api import expect

    from aligner_core.domain.accounts import Role
    from aligner_core.testing.factories import registration

    core, base = portal.core, portal.url
    account = core.register(registration("dr-post", reference_code="SMILE-LAB"), Role.DOCTOR)
    core.activate(core.find_account("admin").account_id, account.account_id)
    doctor = log_in(browser, base, "dr-post")
    doctor.get_by_role("link", name="New case").first.click()
    doctor.get_by_label("Clear aligner treatment").check()
    doctor.get_by_role("button", name="Next").click()
    doctor.get_by_label("Last name").fill("Abform")
    doctor.get_by_role("group", name="Gender").get_by_label("Female").check()
    doctor.get_by_role("tab", name="Files and confirmation").click()
    doctor.get_by_label("Impression type").select_option(label="Silicone impression")
    doctor.get_by_label("I confirm that I have filled out the form completely").check()
    doctor.get_by_label("I confirm that I have read and accepted the privacy policy").check()
    doctor.get_by_role("button", name="Save the draft").click()
    expect(doctor.get_by_role("heading", level=1)).to_contain_text("Abform")
    number = int(re.search(r"/cases/(\d+)", doctor.url).group(1))

    # -- the parcel stands in for the scans ----------------------------------------------------
    form = open_action(doctor, "Send impressions")
    form.get_by_label("Carrier").fill("UPS")
    form.get_by_label("Tracking number").fill("1Z999AA10123")
    form.get_by_role("button", name="Send impressions").click()
    expect(doctor.get_by_role("status")).to_contain_text("parcel has been recorded")
    expect(doctor.locator("#impressions")).to_contain_text("UPS 1Z999AA10123")
    doctor.get_by_role("button", name="Submit", exact=True).click()
    doctor.get_by_role("dialog", name="Submit").get_by_role("button", name="Yes, I confirm").click()
    expect(doctor.locator(".badge.big")).to_have_text("Awaiting impressions")
    shot(doctor, screenshots, "20-awaiting-impressions")

    # -- the lab receives, digitises, and goes on ------------------------------------------------
    production = log_in(browser, base, "production")
    production.goto(f"/cases/{number}")
    production.get_by_role("button", name="Impressions received").click()
    expect(production.locator("#impressions")).to_contain_text("received")
    for kind, sample in (("Upper jaw scan", "Moon.stl"), ("Lower jaw scan", "Star.stl")):
        form = open_action(production, "Add a document")
        form.get_by_label("Kind of file").select_option(label=kind)
        form.locator("input[type=file]").set_input_files(str(samples / "binary" / sample))
        form.get_by_role("button", name="Add a document").click()
        expect(production.get_by_role("link", name=sample)).to_be_visible()
    production.get_by_role("button", name="Scans digitised: continue").click()
    expect(production.locator(".badge.big")).to_have_text("In planning")

    # -- the planner asks for a bite scan; the doctor's upload answers it ---------------------
    planner = log_in(browser, base, "planner")
    planner.goto(f"/cases/{number}")
    form = open_action(planner, "Request new records")
    form.get_by_label("Bite scan").check()
    form.get_by_label("Reason").fill("The bite registration is missing.")
    form.get_by_role("button", name="Request new records").click()
    expect(planner.locator(".badge.big")).to_have_text("Awaiting new records")
    doctor.goto(f"/cases/{number}")
    expect(doctor.locator("#records-request")).to_contain_text("The bite registration is missing.")
    shot(doctor, screenshots, "21-records-requested")
    form = open_action(doctor, "Add a document")
    expect(form.get_by_label("Kind of file")).to_have_value("bite_scan")
    form.locator("input[type=file]").set_input_files(str(samples / "binary" / "Moon.stl"))
    form.get_by_role("button", name="Add a document").click()
    expect(doctor.locator(".badge.big")).to_have_text("In planning")
    expect(doctor.locator("#records-request")).to_have_count(0)
