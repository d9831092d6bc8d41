"""Ways to pay kept on a doctor's account (``SavePaymentMethod``), picked by id on each
order ("Select your payment method"): ownership, bounds, copies on orders, form choices."""

from __future__ import annotations

import json
from uuid import UUID, uuid4

import pytest

from aligner_core import ui
from aligner_core.bootstrap import Core
from aligner_core.commands import (
    COMMANDS,
    OrderFollowUp,
    RemovePaymentMethod,
    SavePaymentMethod,
    UpdateDraft,
)
from aligner_core.domain.accounts import Address, Role
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import CaseKind
from aligner_core.domain.orders import RetainerOrder, RetainerType
from aligner_core.domain.payments import MAX_SAVED_PAYMENT_METHODS, PaymentKind, PaymentMethod
from aligner_core.errors import NotFoundError, PermissionDeniedError, ValidationError
from aligner_core.serialization import make_converter
from aligner_core.testing.factories import Lab, patient_details, plan_summary

ADDRESS = Address(country="DE", city="Berlin", postal_code="10115", street="Hauptstr. 1")
RETAINER = RetainerOrder(RetainerType.REMOVABLE, sets=1)


def shipped(core: Core, lab: Lab) -> UUID:
    case_id = lab.ready_case()
    core.submit(lab.doctor, case_id)
    core.upload_plan(lab.planner, case_id, plan_summary(12, 10))
    core.accept_plan(lab.doctor, case_id, 1)
    core.ship(lab.production, case_id, carrier="DHL", tracking_number="1")
    return case_id


def card(lab: Lab, token: str = "pm_card_visa_4242") -> PaymentMethod:
    return PaymentMethod.card_on_file(lab.doctor, token)


def codes(info: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str, str]]:
    return [(e.code, e.path) for e in info.value.errors]


def test_a_kept_way_to_pay_is_picked_by_id_and_copied_onto_the_order(core: Core, lab: Lab) -> None:
    parent = shipped(core, lab)
    account = core.save_payment_method(lab.doctor, lab.doctor, "Visa ending 4242", card(lab))
    kept = account.payment_methods[-1]
    assert kept.label == "Visa ending 4242" and kept.payment == card(lab)
    assert core.get_account(lab.doctor, lab.doctor).payment_methods == (kept,)
    draft = core.order_follow_up(lab.doctor, parent, RETAINER, payment_method_id=kept.method_id)
    assert draft.payment == card(lab)
    # forgetting it later changes no order: the order holds a copy
    left = core.remove_payment_method(lab.doctor, lab.doctor, kept.method_id)
    assert left.payment_methods == ()
    assert core.get_case(lab.doctor, draft.case_id).case.payment == card(lab)
    with pytest.raises(ValidationError) as info:
        core.update_draft(lab.doctor, draft.case_id, payment_method_id=kept.method_id)
    assert codes(info) == [("payment_method_unknown", "$.payment_method_id")]
    with pytest.raises(NotFoundError):
        core.remove_payment_method(lab.doctor, lab.doctor, kept.method_id)


def test_a_new_patient_order_and_a_draft_edit_pick_kept_methods(core: Core, lab: Lab) -> None:
    by_invoice = PaymentMethod.invoice(lab.doctor)
    first = core.save_payment_method(lab.doctor, lab.doctor, "Monthly invoice", by_invoice)
    second = core.save_payment_method(lab.doctor, lab.doctor, "Visa", card(lab))
    invoice_id, card_id = (m.method_id for m in second.payment_methods)
    assert first.payment_methods[0].method_id == invoice_id
    case = core.create_case(
        lab.doctor, CaseKind.RETAINER, patient_details(), order=RETAINER,
        payment_method_id=invoice_id,
    )  # fmt: skip
    assert case.payment == by_invoice
    edited = core.update_draft(lab.doctor, case.case_id, payment_method_id=card_id)
    assert edited.payment == card(lab)
    assert core.update_draft(lab.doctor, case.case_id, name="Retainer").payment == card(lab)


def test_only_the_doctors_own_or_their_practices_methods_are_kept(core: Core, lab: Lab) -> None:
    other = lab.add(Role.DOCTOR, "other-doctor")
    with pytest.raises(ValidationError) as info:
        core.save_payment_method(lab.doctor, lab.doctor, "Theirs", PaymentMethod.invoice(other))
    assert codes(info) == [("payment_not_owned", "$.payment.owner_id")]
    practice = core.add_practice(lab.doctor, lab.doctor, "Mitte", ADDRESS).practices[-1]
    by_practice = PaymentMethod.invoice(practice.practice_id)
    account = core.save_payment_method(lab.doctor, lab.doctor, "Mitte's account", by_practice)
    assert account.payment_methods[-1].payment.owner_id == practice.practice_id
    # a removed practice's ways to pay go with it
    gone = core.remove_practice(lab.doctor, lab.doctor, practice.practice_id)
    assert gone.payment_methods == ()
    # lab staff keep none; another doctor may not touch this wallet; the admin may
    with pytest.raises(ValidationError) as info:
        core.save_payment_method(
            lab.admin, lab.planner, "Staff", PaymentMethod.invoice(lab.planner)
        )
    assert codes(info) == [("payment_methods_for_doctors", "$.account_id")]
    with pytest.raises(PermissionDeniedError):
        core.save_payment_method(other, lab.doctor, "Mine now", card(lab))
    by_admin = core.save_payment_method(lab.admin, lab.doctor, "Set up by the lab", card(lab))
    assert [m.label for m in by_admin.payment_methods] == ["Set up by the lab"]


def test_an_order_names_one_way_to_pay_and_the_wallet_is_bounded(core: Core, lab: Lab) -> None:
    parent = shipped(core, lab)
    with pytest.raises(ValidationError) as info:
        OrderFollowUp(
            parent_case_id=parent, order=RETAINER, payment=card(lab), payment_method_id=uuid4()
        )
    assert codes(info) == [("payment_twice", "$.payment_method_id")]
    with pytest.raises(ValidationError) as info:
        core.order_follow_up(lab.doctor, parent, RETAINER, payment_method_id=uuid4())
    assert codes(info) == [("payment_method_unknown", "$.payment_method_id")]
    for i in range(MAX_SAVED_PAYMENT_METHODS):
        core.save_payment_method(lab.doctor, lab.doctor, f"Card {i}", card(lab, f"pm_card_{i:04}"))
    with pytest.raises(ValidationError) as info:
        core.save_payment_method(lab.doctor, lab.doctor, "One more", card(lab))
    assert codes(info) == [("too_many", "$")]
    with pytest.raises(ValidationError) as info:  # a bounded label
        SavePaymentMethod(account_id=lab.doctor, label="x" * 81, payment=card(lab))
    assert info.value.errors[0].path == "$.label"


def test_commands_as_data_and_the_token_never_shown(core: Core, lab: Lab) -> None:
    convert = make_converter()
    data: dict[str, object] = {
        "account_id": str(lab.doctor),
        "label": "Visa",
        "payment": {"kind": "card_on_file", "owner_id": str(lab.doctor),
                    "card": {"value": "pm_secret_token_1"}},
    }  # fmt: skip
    command = convert.structure_checked(data, COMMANDS["SavePaymentMethod"])
    assert isinstance(command, SavePaymentMethod)
    account = core.execute(lab.doctor, command)
    assert "pm_secret_token_1" not in repr(account) and "pm_secret_token_1" not in repr(command)
    kept = account.payment_methods[0]
    removing = {"account_id": str(lab.doctor), "method_id": str(kept.method_id)}
    core.execute(lab.doctor, convert.structure_checked(removing, RemovePaymentMethod))
    assert core.get_account(lab.doctor, lab.doctor).payment_methods == ()
    stored = json.loads(convert.document_dumps(account))  # the storage keeps the token
    assert stored["payment_methods"][0]["payment"]["card"]["value"] == "pm_secret_token_1"
    assert kept.payment.kind is PaymentKind.CARD_ON_FILE


def test_order_forms_offer_the_kept_methods_and_who_pays(core: Core, lab: Lab) -> None:
    parent = shipped(core, lab)
    practice = core.add_practice(lab.doctor, lab.doctor, "Mitte", ADDRESS).practices[-1]
    account = core.save_payment_method(lab.doctor, lab.doctor, "Visa", card(lab))
    kept = account.payment_methods[0]
    choices = ui.order_choices(account, core.catalogue(lab.doctor))
    assert choices["payment_method_id"] == [(str(kept.method_id), "Visa")]
    assert choices["payment.owner_id"] == [
        (str(lab.doctor), account.display_name),
        (str(practice.practice_id), "Mitte"),
    ]
    options = {o.action: o for o in core.available_actions(lab.doctor, parent)}
    assert options[Action.ORDER_FOLLOW_UP].choices["payment_method_id"] == (
        (str(kept.method_id), "Visa"),
    )
    people = core.directory(lab.doctor)
    case = core.get_case(lab.doctor, parent).case
    made = ui.buttons(options.values(), case=case, people=people, practices=account.practices)
    order = next(b for b in made if b.command == "OrderFollowUp:retainer")
    fields = {f.name: f for f in order.form.fields}
    picked = fields["payment_method_id"]
    assert picked.widget == "select" and [c.value for c in picked.choices] == [str(kept.method_id)]
    assert picked.label == "Saved payment method"
    payer = next(f for f in fields["payment"].fields if f.name == "payment.owner_id")
    assert [c.value for c in payer.choices] == [str(lab.doctor), str(practice.practice_id)]
    assert payer.label == "Paid by"
    # the admin sees no kept methods of the doctor on the case (they are the owner's to pick)
    admin = {o.action: o for o in core.available_actions(lab.admin, parent)}
    assert "payment_method_id" not in getattr(admin.get(Action.ORDER_FOLLOW_UP), "choices", {})
    form = ui.form_for(SavePaymentMethod, skip={"account_id"}, choices=ui.order_choices(
        account, core.catalogue(lab.doctor)))  # fmt: skip
    labels = {f.name: f.label for f in form.fields}
    assert (
        labels["label"] == "Name (e.g. Visa ending 4242)" and labels["payment"] == "Payment method"
    )


def test_a_draft_edit_with_a_kept_method_checks_the_owner(core: Core, lab: Lab) -> None:
    other = lab.add(Role.DOCTOR, "other-doctor")
    theirs = core.save_payment_method(other, other, "Theirs", PaymentMethod.invoice(other))
    draft = lab.ready_case()
    with pytest.raises(ValidationError) as info:  # another doctor's kept method is unknown here
        core.execute(lab.doctor, UpdateDraft(
            case_id=draft, payment_method_id=theirs.payment_methods[0].method_id))  # fmt: skip
    assert codes(info) == [("payment_method_unknown", "$.payment_method_id")]
    # the draft's edit button offers the owner's own kept methods, nobody else's
    mine = core.save_payment_method(lab.doctor, lab.doctor, "Mine", card(lab)).payment_methods[0]
    options = {o.action: o for o in core.available_actions(lab.doctor, draft)}
    assert options[Action.EDIT].choices == {"payment_method_id": ((str(mine.method_id), "Mine"),)}
    assert core.update_draft(lab.doctor, draft, payment_method_id=mine.method_id).payment == card(
        lab
    )
