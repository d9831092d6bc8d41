"""Invoices through the public API (#16): numbered by the storage, read by admins and doctors."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aligner_core
from aligner_core import ui
from aligner_core.bootstrap import Core
from aligner_core.commands import BillLine, IssueCreditNote, IssueInvoice
from aligner_core.domain.accounts import Role
from aligner_core.domain.cases import Case, CaseKind
from aligner_core.domain.invoices import InvoiceKind, from_csv, from_json
from aligner_core.domain.money import Money
from aligner_core.domain.prices import Item
from aligner_core.domain.records import ImpressionType
from aligner_core.domain.teeth import Arch
from aligner_core.errors import NotFoundError, PermissionDeniedError, ValidationError
from aligner_core.testing.factories import Lab, address, patient_details, set_up_lab

ALIGNERS = BillLine(item="product:aligners", quantity=2, unit="412.50")
SHIPPING = BillLine(item="shipping:standard", quantity=1, unit="9.90")


def _draft(core: Core, doctor: UUID, last_name: str = "Doe") -> Case:
    return core.create_case(
        doctor,
        CaseKind.TREATMENT,
        patient_details(last_name),
        impression_type=ImpressionType.INTRAORAL_SCAN,
    )


def _case(core: Core, doctor: UUID) -> UUID:
    return _draft(core, doctor).case_id


def _invoice(core: Core, lab: Lab, case_id: UUID, *lines: BillLine) -> IssueInvoice:
    return IssueInvoice(case_id=case_id, lines=lines or (ALIGNERS, SHIPPING), tax_percent="19")


def test_the_admin_invoices_a_case_and_each_document_is_numbered_in_turn(
    core: Core, lab: Lab
) -> None:
    draft = _draft(core, lab.doctor, "Zwiebelmeier")
    case_id, number = draft.case_id, draft.number
    year = core.clock.now().year
    issued = [core.execute(lab.admin, _invoice(core, lab, case_id)) for _ in range(3)]
    due = core.clock.now().date() + timedelta(30)
    issued[2] = core.execute(lab.admin, IssueCreditNote(invoice_id=issued[2].invoice_id))
    issued.append(core.execute(lab.admin, attrs.evolve(_invoice(core, lab, case_id), due_on=due)))
    assert core.invoice(lab.doctor, issued[3].invoice_id).due_on == due
    assert [str(e.number) for e in issued] == [f"INV-{year}-00000{i}" for i in (1, 2, 4, 5)]
    first = issued[0].invoice
    assert first.doctor_id == lab.doctor and first.kind is InvoiceKind.CHARGE
    assert first.subtotal == Money("834.90", "EUR") and first.tax == Money("158.63", "EUR")
    assert first.total == Money("993.53", "EUR")
    assert {line.case_number for line in first.lines} == {number}
    assert core.invoice(lab.admin, issued[0].invoice_id) == issued[0]
    exports = (
        core.invoice_json(lab.admin, issued[0].invoice_id),
        core.invoices_csv(lab.admin),
        core.invoice_html(lab.admin, issued[0].invoice_id, issuer="Lab", recipient="Practice"),
    )
    for text in exports:  # the case number, never the patient
        assert "Zwiebelmeier" not in text and str(number) in text
    assert from_json(exports[0]) == first
    every = core.invoices(lab.admin)
    assert [e.number.sequence for e in every] == [1, 2, 3, 4, 5]
    assert from_csv(exports[1]) == tuple(e.invoice for e in every)


def test_a_credit_note_reverses_an_invoice_once(core: Core, lab: Lab) -> None:
    charge = core.execute(lab.admin, _invoice(core, lab, _case(core, lab.doctor)))
    note = core.execute(lab.admin, IssueCreditNote(invoice_id=charge.invoice_id))
    assert note.number.sequence == 2 and note.invoice.refers_to == charge.number
    assert note.invoice.kind is InvoiceKind.CREDIT_NOTE and note.case_id == charge.case_id
    assert (charge.invoice.total + note.invoice.total).is_zero
    with pytest.raises(ValidationError) as again:
        core.execute(lab.admin, IssueCreditNote(invoice_id=charge.invoice_id))
    assert again.value.errors[0].code == "already_credited"
    with pytest.raises(ValidationError) as of_credit:
        core.execute(lab.admin, IssueCreditNote(invoice_id=note.invoice_id))
    assert of_credit.value.errors[0].code == "credit_of_credit"
    assert [e.number.sequence for e in core.invoices(lab.admin)] == [1, 2]  # refusals used none


def test_only_the_networks_admin_issues_and_doctors_read_their_own(core: Core, lab: Lab) -> None:
    other_doctor = lab.add(Role.DOCTOR, "d2")
    mine = core.execute(lab.admin, _invoice(core, lab, _case(core, lab.doctor)))
    theirs = core.execute(lab.admin, _invoice(core, lab, _case(core, other_doctor)))
    case_id = _case(core, lab.doctor)
    for actor in (lab.doctor, lab.planner, set_up_lab(core, "LAB-2").admin):
        with pytest.raises(PermissionDeniedError):
            core.execute(actor, _invoice(core, lab, case_id))
    with pytest.raises(PermissionDeniedError):
        core.execute(lab.doctor, IssueCreditNote(invoice_id=mine.invoice_id))
    assert core.invoices(lab.admin) == [mine, theirs]
    assert core.invoices(lab.admin, doctor_id=other_doctor) == [theirs]
    assert core.invoices(lab.doctor) == [mine]
    assert core.invoice(lab.doctor, mine.invoice_id) == mine
    with pytest.raises(NotFoundError):
        core.invoice(lab.doctor, theirs.invoice_id)
    with pytest.raises(PermissionDeniedError):
        core.invoices(lab.doctor, doctor_id=other_doctor)
    with pytest.raises(PermissionDeniedError):
        core.invoices(lab.planner)


def test_a_statement_sums_a_doctors_period(core: Core, lab: Lab) -> None:
    case_id = _case(core, lab.doctor)
    charge = core.execute(lab.admin, _invoice(core, lab, case_id))
    core.execute(lab.admin, _invoice(core, lab, case_id, ALIGNERS))
    core.execute(lab.admin, IssueCreditNote(invoice_id=charge.invoice_id))
    day = core.clock.now().date()
    found = core.statement(lab.doctor, lab.doctor, day - timedelta(1), day + timedelta(1))
    assert len(found.invoices) == 3
    assert found.charged == Money("1975.28", "EUR") and found.credited == Money("-993.53", "EUR")
    assert found.balance == Money("981.75", "EUR")
    assert (
        core.statement(lab.admin, lab.doctor, day + timedelta(1), day + timedelta(2)).invoices == ()
    )


def test_a_bad_line_or_rate_is_refused_and_uses_no_number(core: Core, lab: Lab) -> None:
    case_id = _case(core, lab.doctor)
    for command in (
        _invoice(core, lab, case_id, BillLine(item="product:aligners", quantity=1, unit="1.005")),
        IssueInvoice(case_id=case_id, lines=(ALIGNERS,), tax_percent="101"),
        _invoice(core, lab, case_id, BillLine(item="nothing:x", quantity=1, unit="1")),
    ):
        with pytest.raises(ValidationError):
            core.execute(lab.admin, command)
    assert core.execute(lab.admin, _invoice(core, lab, case_id)).number.sequence == 1


_UNITS = st.decimals(Decimal("0"), Decimal("99999.99"), places=2)
_LINES = st.lists(
    st.builds(
        lambda unit, quantity: BillLine(item="product:aligners", quantity=quantity, unit=str(unit)),
        _UNITS,
        st.integers(1, 50),
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=_LINES, tax=st.sampled_from(["0", "7", "7.7", "19", "20"]))
def test_stored_invoice_totals_are_the_sum_of_their_lines(lines: list[BillLine], tax: str) -> None:
    with aligner_core.connect("memory://") as core:
        lab = set_up_lab(core)
        case_id = _case(core, lab.doctor)
        issued = core.execute(lab.admin, IssueInvoice(case_id=case_id, lines=tuple(lines),
                                                      tax_percent=tax))  # fmt: skip
        stored = core.invoice(lab.admin, issued.invoice_id).invoice
    assert stored == issued.invoice
    expected = sum((Decimal(line.unit) * line.quantity for line in lines), Decimal(0))
    assert stored.subtotal.amount == expected
    assert sum((t.amount for t in stored.line_taxes), Decimal(0)) == stored.tax.amount
    assert stored.total.amount == expected + stored.tax.amount


def test_the_printable_invoice_names_the_lab_the_doctor_and_the_practice(
    core: Core, lab: Lab
) -> None:
    doctor = core.get_account(lab.doctor, lab.doctor)
    at_clinic = core.execute(lab.admin, _invoice(core, lab, _case(core, lab.doctor)))
    practice = core.add_practice(lab.doctor, lab.doctor, "Praxis Nord", address()).practices[-1]
    case = core.create_case(
        lab.doctor,
        CaseKind.TREATMENT,
        patient_details("Zwiebelmeier"),
        impression_type=ImpressionType.INTRAORAL_SCAN,
        practice_id=practice.practice_id,
    )
    at_practice = core.execute(lab.admin, _invoice(core, lab, case.case_id))
    page = core.invoice_html(lab.doctor, at_practice.invoice_id)
    assert f"<dd>{lab.network.name}</dd>" in page
    assert f"<dd>{doctor.display_name}, Praxis Nord</dd>" in page
    assert "Zwiebelmeier" not in page and "Jane" not in page
    other = core.invoice_html(lab.admin, at_clinic.invoice_id, recipient="Accounts")
    assert f"<dd>{doctor.clinic_name}</dd>" not in other and "<dd>Accounts</dd>" in other
    assert f"{doctor.display_name}, {doctor.clinic_name}" in core.invoice_html(
        lab.admin, at_clinic.invoice_id
    )
    german = core.invoice_html(lab.doctor, at_practice.invoice_id, language="de-DE")
    assert '<html lang="de">' in german and "Zwischensumme" in german and "Rechnung" in german
    assert "Subtotal" in page and "Subtotal" not in german
    total = core.invoice(lab.doctor, at_practice.invoice_id).invoice.total
    assert ui.money(total, "de-DE") in german and ui.money(total, "en") in page  # 1.234,56 €
    assert ui.money(Money("1890.5", "EUR"), "de") == "1.890,50\xa0€"
    assert ui.money(Money("1890", "JPY"), "en") == "¥1,890"  # the currency's own digits
    assert ui.money(Money("12.345", "BHD"), "unknown") == "BHD12.345"  # English when unknown
    stranger = lab.add(Role.DOCTOR, "doctor-stranger")
    with pytest.raises(NotFoundError):
        core.invoice_html(stranger, at_practice.invoice_id)


def test_items_read_as_people_read_them() -> None:
    names = {"comprehensive": "Comprehensive 24"}
    assert ui.item_label(Item.package("comprehensive"), "en", names) == "Package: Comprehensive 24"
    assert ui.item_label(Item.package("lite")) == "Package: Lite"  # no name: the code, readable
    assert ui.item_label(Item.add_on("tps")) == "Add-on: TPS"
    assert ui.item_label(Item.add_on("rush")) == "Add-on: Rush"
    assert ui.item_label(Item.replacement(Arch.UPPER), "de") == "Ersatz-Aligner: Oberkiefer"
    assert ui.item_label(Item.follow_up("refinement")) == "Follow-up order: Refinement"
    assert ui.item_label(Item.retainer_set("fixed_lingual")).startswith("Retainer set: ")
