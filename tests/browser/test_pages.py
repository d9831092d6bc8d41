"""The portal's pages over HTTP, for what the browser walk leaves out: hold and release,
delivery, close and reopen, follow-up orders of every kind, documents after submission,
cancel, reassignment and blocking by the admin, the user switcher, the case list."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any
from uuid import UUID

import pytest

from aligner_core.domain.accounts import Role
from aligner_core.errors import NotFoundError
from aligner_core.testing.factories import plan_summary, registration

pytestmark = pytest.mark.browser


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def post(portal: Any, user: UUID, path: str, fields: dict[str, str]) -> tuple[int, str, str]:
    """A form posted as ``user``: the status, the Location and the page."""
    data = urllib.parse.urlencode(fields).encode()
    headers = {"Cookie": f"user={user}", "Content-Type": "application/x-www-form-urlencoded"}
    request = urllib.request.Request(portal.url + path, data, headers, method="POST")
    try:
        with _opener.open(request, timeout=30) as answer:
            return answer.status, answer.headers.get("Location", ""), answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers.get("Location", ""), refused.read().decode()


def page(portal: Any, user: UUID, path: str) -> str:
    request = urllib.request.Request(portal.url + path, headers={"Cookie": f"user={user}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return str(answer.read().decode())


@pytest.fixture
def people(portal: Any) -> dict[str, UUID]:
    core = portal.core
    admin = core.find_account("admin").account_id
    found = {"admin": admin}
    for name in ("planner", "production"):
        found[name] = core.find_account(name).account_id
    for name in ("dr-one", "dr-two"):
        try:
            found[name] = core.find_account(name).account_id
        except NotFoundError:
            account = core.register(registration(name, reference_code="SMILE-LAB"), Role.DOCTOR)
            core.activate(admin, account.account_id)
            found[name] = account.account_id
    return found


def submitted_case(portal: Any, people: dict[str, UUID]) -> Any:
    core = portal.core
    doctor = people["dr-one"]
    from aligner_core.domain.cases import CaseKind
    from aligner_core.domain.records import FileKind, ImpressionType
    from aligner_core.testing.factories import arch_stl, patient_details

    case = core.create_case(
        doctor,
        CaseKind.TREATMENT,
        patient_details("Pages"),
        impression_type=ImpressionType.INTRAORAL_SCAN,
    )
    for kind in (FileKind.UPPER_SCAN, FileKind.LOWER_SCAN):
        core.attach_file(doctor, case.case_id, kind, arch_stl(), f"{kind.value}.stl")
    core.confirm(doctor, case.case_id, complete=True, privacy=True)
    core.submit(doctor, case.case_id)
    return core.get_case(doctor, case.case_id).case


def status_of(portal: Any, people: dict[str, UUID], number: int) -> str:
    return str(portal.core.get_case_by_number(people["admin"], number).case.status.value)


def test_hold_release_ship_deliver_close_reopen(portal: Any, people: dict[str, UUID]) -> None:
    case = submitted_case(portal, people)
    n = case.number
    do = f"/cases/{n}/do"
    code, _, body = post(portal, people["planner"], f"{do}/Hold", {"reason": ""})
    assert code == 422 and "a reason is required" in body
    assert post(portal, people["planner"], f"{do}/Hold", {"reason": "scans unusable"})[0] == 303
    assert status_of(portal, people, n) == "on_hold"
    assert "scans unusable" in page(portal, people["dr-one"], f"/cases/{n}")
    assert post(portal, people["planner"], f"{do}/Release", {})[0] == 303
    assert status_of(portal, people, n) == "in_planning"
    portal.core.upload_plan(people["planner"], case.case_id, plan_summary(2, 2))
    assert post(portal, people["dr-one"], f"{do}/AcceptPlan", {"plan_version": "1"})[0] == 303
    stale = {"carrier": "UPS", "tracking_number": "1Z", "final": "on", "expected_version": "1"}
    code, _, body = post(portal, people["production"], f"{do}/Ship", stale)
    assert code == 409 and "changed" in body  # a stale page: a conflict, nothing shipped
    ship = {**stale, "expected_version": ""}
    assert post(portal, people["production"], f"{do}/Ship", ship)[0] == 303
    assert status_of(portal, people, n) == "shipped"
    assert post(portal, people["dr-one"], f"{do}/ConfirmDelivery", {})[0] == 303
    assert post(portal, people["dr-one"], f"{do}/Close", {})[0] == 303
    assert status_of(portal, people, n) == "closed"
    assert post(portal, people["admin"], f"{do}/Reopen", {})[0] == 303
    assert status_of(portal, people, n) == "shipped"
    orders = {
        "retainer": {"order.type": "removable", "order.sets": "2"},
        "replacement": {
            "order.upper": "1-2", "order.lower": "2, 1",
            "order.current_aligner": "2", "order.reason": "broken",
            "order.not_quality_complaint": "on",
        },
        "revision": {"order.instructions": "More torque on UR1."},
    }  # fmt: skip
    beyond = {**orders["replacement"], "order.upper": "1, 4"}  # a 2-step plan
    code, _, body = post(
        portal, people["dr-one"], f"{do}/OrderFollowUp:replacement",
        {"order.order_type": "replacement", **beyond},
    )  # fmt: skip
    assert code == 422 and "outside the upper arch" in body
    for kind, fields in orders.items():
        code, location, body = post(
            portal,
            people["dr-one"],
            f"{do}/OrderFollowUp:{kind}",
            {"order.order_type": kind, **fields},
        )
        assert code == 303, body
        number = int(re.search(r"/cases/(\d+)", location).group(1))  # type: ignore[union-attr]
        follow_up = portal.core.get_case_by_number(people["dr-one"], number).case
        assert (follow_up.kind.value, follow_up.parent_id) == (kind, case.case_id)
    code, _, body = post(portal, people["dr-one"], f"{do}/OrderFollowUp:revision", {})
    assert code == 422 and "required field missing" in body


def test_documents_after_submission(portal: Any, people: dict[str, UUID]) -> None:
    import io

    import pikepdf

    pdf = io.BytesIO()
    with pikepdf.new() as document:
        document.add_blank_page()
        document.save(pdf)
    case = submitted_case(portal, people)
    boundary = "aligner-core-test"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nother\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="content"; '
            f'filename="notes.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
        + pdf.getvalue()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{portal.url}/cases/{case.number}/do/AttachFile",
        body,
        {
            "Cookie": f"user={people['planner']}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as answer:
        _opener.open(request, timeout=30)
    assert answer.value.code == 303, answer.value.read().decode()
    files = portal.core.get_case(people["dr-one"], case.case_id).case.records.files
    assert files[-1].name == "notes.pdf" and files[-1].kind.value == "other"


def test_cancel_reassign_and_block(portal: Any, people: dict[str, UUID]) -> None:
    case = submitted_case(portal, people)
    n = case.number
    admin_view = page(portal, people["admin"], f"/cases/{n}")
    assert "Assign to another doctor" in admin_view and str(people["dr-two"]) in admin_view
    reassign = {"owner": str(people["dr-two"])}
    assert post(portal, people["admin"], f"/cases/{n}/do/Reassign", reassign)[0] == 303
    assert portal.core.get_case(people["admin"], case.case_id).case.owner_id == people["dr-two"]
    assert post(portal, people["dr-one"], f"/cases/{n}/do/Cancel", {"reason": "x"})[0] == 404
    assert post(portal, people["dr-two"], f"/cases/{n}/do/Cancel", {"reason": "moved"})[0] == 303
    assert status_of(portal, people, n) == "cancelled"
    users = page(portal, people["admin"], "/admin/users")
    assert "Block dr-two" in users
    assert post(portal, people["admin"], f"/accounts/{people['dr-two']}/do/Block", {})[0] == 303
    assert not portal.core.find_account("dr-two").is_active
    code, location, _ = post(portal, people["dr-two"], f"/cases/{n}/do/Comment", {"text": "hi"})
    assert code == 303 and location.endswith("/login")  # a blocked account is logged out
    assert post(portal, people["admin"], f"/accounts/{people['dr-two']}/do/Activate", {})[0] == 303


def test_the_case_list_filters_sorts_and_pages(portal: Any, people: dict[str, UUID]) -> None:
    for _ in range(3):
        submitted_case(portal, people)
    listing = page(portal, people["dr-one"], "/?q=pages&sort=number&order=asc&status=in_planning")
    numbers = [int(x) for x in re.findall(r'<td><a href="/cases/(\d+)">', listing)]
    assert numbers == sorted(numbers) and len(numbers) >= 3
    by_number = page(portal, people["dr-one"], f"/?q={numbers[0]}")
    assert re.findall(r'<td><a href="/cases/(\d+)">', by_number) == [str(numbers[0])]
    assert "page 1 of 1" in by_number


def test_the_stub_login_switches_to_a_user_from_the_directory(
    portal: Any, people: dict[str, UUID]
) -> None:
    header = page(portal, people["admin"], "/")
    assert f'value="{people["planner"]}"' in header  # the switcher lists the network
    request = urllib.request.Request(
        portal.url + "/login",
        urllib.parse.urlencode({"account": str(people["planner"])}).encode(),
        {"Cookie": f"user={people['admin']}"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as moved:  # a redirect, not followed
        _opener.open(request, timeout=30)
    assert moved.value.code == 303
    assert f"user={people['planner']}" in moved.value.headers["Set-Cookie"]
    code, _, body = post(portal, people["admin"], "/login", {"account": "not-an-id"})
    assert code == 401 and "No account" in body


def test_practices_assignment_taking_and_my_cases(portal: Any, people: dict[str, UUID]) -> None:
    core = portal.core
    try:
        doctor = core.find_account("dr-practices").account_id
    except NotFoundError:
        account = core.register(registration("dr-practices", reference_code="SMILE-LAB"))
        doctor = core.activate(people["admin"], account.account_id).account_id
    where = {"country": "Germany", "city": "Köln", "postal_code": "50667", "street": "Domkloster 4"}
    practice = {"name": "Praxis am Dom", **{f"shipping_address.{k}": v for k, v in where.items()}}
    back = "?back=/profile%3Fsaved%3D1"
    code, location, _ = post(portal, doctor, f"/accounts/{doctor}/do/AddPractice{back}", practice)
    assert (code, location) == (303, "/profile?saved=1")
    assert "Praxis am Dom" in page(portal, doctor, "/profile")
    assert "Praxis am Dom" in page(portal, doctor, "/cases/new")  # the wizard's choice
    added = core.get_account(doctor, doctor).practices[-1]
    gone = {"practice_id": str(added.practice_id)}
    assert post(portal, doctor, f"/accounts/{doctor}/do/RemovePractice", gone)[0] == 303
    assert core.get_account(doctor, doctor).practices == ()

    case = submitted_case(portal, people)
    n, planner = case.number, people["planner"]
    admin_view = page(portal, people["admin"], f"/cases/{n}")
    assert "Assign to lab staff" in admin_view and str(planner) in admin_view
    assert (
        post(portal, people["admin"], f"/cases/{n}/do/AssignCase", {"assignee_id": str(planner)})[0]
        == 303
    )
    name = core.get_account(planner, planner).display_name
    assert "Assigned to" in page(portal, people["dr-one"], f"/cases/{n}") and name in page(
        portal, people["dr-one"], f"/cases/{n}"
    )
    mine = page(portal, planner, "/?mine=1")
    assert f'<a href="/cases/{n}">' in mine and name in mine
    assert f'<a href="/cases/{n}">' not in page(portal, people["production"], "/?mine=1")

    other = submitted_case(portal, people)
    assert "Take the case" in page(portal, planner, f"/cases/{other.number}")
    assert post(portal, planner, f"/cases/{other.number}/do/TakeCase", {})[0] == 303
    assert core.get_case(planner, other.case_id).case.assigned_to == planner


def test_the_new_case_wizard_offers_the_networks_products(
    portal: Any, people: dict[str, UUID]
) -> None:
    wizard = page(portal, people["dr-one"], "/cases/new")
    assert '<option value="metal_retainer"' in wizard and "Metal Retainer" in wizard
    fields = {"kind": "retainer", "product": "metal_retainer", "patient.last_name": "Wire"}
    fields |= {"patient.gender": "female", "order.type": "fixed_lingual", "order.sets": "1"}
    fields |= {"order.order_type": "retainer", "order.upper_range": "3-3", "complete": "on"}
    code, location, _ = post(portal, people["dr-one"], "/cases/new", fields | {"privacy": "on"})
    assert code == 303
    number = int(location.split("/cases/")[1].split("?")[0])
    case = portal.core.get_case_by_number(people["dr-one"], number).case
    assert case.product == "metal_retainer"
    mismatch = {**fields, "kind": "clear_aligners"}
    code, _, body = post(portal, people["dr-one"], "/cases/new", mismatch)
    assert code == 422 and "metal_retainer" in body


def test_payment_methods_are_kept_on_the_profile_and_offered_on_orders(
    portal: Any, people: dict[str, UUID]
) -> None:
    core, doctor = portal.core, people["dr-two"]
    to, back = f"/accounts/{doctor}/do/", "?back=/profile%3Fsaved%3D1"
    visa = {"label": "Visa ending 4242", "payment.kind": "card_on_file",
            "payment.owner_id": str(doctor), "payment.card.value": "pm_portal_4242"}  # fmt: skip
    code, location, _ = post(portal, doctor, f"{to}SavePaymentMethod{back}", visa)
    assert (code, location) == (303, "/profile?saved=1")
    monthly = {
        "label": "Monthly invoice",
        "payment.kind": "invoice",
        "payment.owner_id": str(doctor),
    }
    assert post(portal, doctor, f"{to}SavePaymentMethod", monthly)[0] == 303
    profile = page(portal, doctor, "/profile")
    assert "Visa ending 4242" in profile and "Monthly invoice" in profile
    assert "pm_portal_4242" not in profile  # the token is never shown
    kept = core.get_account(doctor, doctor).payment_methods
    assert [m.payment.kind.value for m in kept] == ["card_on_file", "invoice"]
    wizard = page(portal, doctor, "/cases/new")
    assert f'value="{kept[0].method_id}"' in wizard and "Saved payment method" in wizard
    refused = {**monthly, "payment.owner_id": str(people["dr-one"])}  # another doctor's
    code, _, body = post(portal, doctor, f"{to}SavePaymentMethod", refused)
    assert code == 422 and "not yours" in body
    gone = {"method_id": str(kept[0].method_id)}
    assert post(portal, doctor, f"{to}RemovePaymentMethod", gone)[0] == 303
    assert [m.label for m in core.get_account(doctor, doctor).payment_methods] == [
        "Monthly invoice"
    ]
