"""Drafts and records: new cases, follow-up orders, edits, tooth chart, files, submission."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import attrs

from aligner_core.commands import (
    AttachFile,
    Confirm,
    CreateCase,
    DeleteDraft,
    OrderFollowUp,
    SetTeeth,
    Submit,
    UpdateDraft,
)
from aligner_core.domain import lifecycle, permissions
from aligner_core.domain.accounts import Account, GrantStatus, Network, Practice, Role
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import Case, CaseKind, CaseStatus, HistoryEntry
from aligner_core.domain.erasure import erased
from aligner_core.domain.events import EventType
from aligner_core.domain.patients import Patient
from aligner_core.domain.payments import PaymentMethod
from aligner_core.domain.prescriptions import TreatmentRequest
from aligner_core.domain.records import (
    Acceptance,
    FileRef,
    FileReport,
    Records,
    sanitize_filename,
)
from aligner_core.errors import PermissionDeniedError, Reason, ValidationError
from aligner_core.service import pipeline, pricing, privacy
from aligner_core.service.deps import Deps
from aligner_core.service.handlers import billing
from aligner_core.service.pipeline import Change, Handler, Step

__all__ = ["HANDLERS", "attach_file", "create_case", "order_follow_up"]


def _practice_for(
    owner: Account, practice_id: UUID | None, default: Practice | None = None
) -> Practice | None:
    """The practice an order ships to: the one named (one of the owner's), else ``default``,
    else the owner's only practice. A doctor with several names one before submitting."""
    if practice_id is None:
        if default is not None:
            return default
        return owner.practices[0] if len(owner.practices) == 1 else None
    found = owner.practice(practice_id)
    if found is None:
        raise ValidationError.of("practice_not_owned", "$.practice_id")
    return found


def _payment_of(
    owner: Account, payment: PaymentMethod | None, method_id: UUID | None
) -> PaymentMethod | None:
    """The way to pay given, or a copy of the one kept on the account as ``method_id``:
    held by the ordering doctor or one of their practices, never another doctor's."""
    if method_id is not None:
        saved = owner.payment_method(method_id)
        if saved is None:
            raise ValidationError.of("payment_method_unknown", "$.payment_method_id")
        return saved.payment
    if payment is None or owner.may_pay_with(payment):
        return payment
    raise ValidationError.of("payment_not_owned", "$.payment.owner_id")


def create_case(deps: Deps, actor_id: UUID, command: CreateCase) -> Case:
    """A new draft for a new patient; the case number is taken only once all is checked."""
    with deps.storage.unit_of_work() as uow:
        actor = pipeline.actor_of(uow, actor_id, "create case")
        if actor.role is not Role.DOCTOR:
            raise PermissionDeniedError(
                actor_id, "create case", None, Reason("only_doctors_order", kind="permission")
            )
        now = deps.clock.now()
        network = uow.accounts.get_network(actor.network_id)
        product = _product(network, command)
        practice = _practice_for(actor, command.practice_id)
        add_ons = pricing.priced_add_ons(
            network, command.add_ons, practice.practice_id if practice else None
        )
        request = command.request
        if request is None and command.kind is CaseKind.TREATMENT:
            request = TreatmentRequest()
        draft = Case(
            case_id=deps.ids.new_id(),
            number=1,
            kind=command.kind,
            network_id=actor.network_id,
            owner_id=actor.account_id,
            patient=Patient.from_details(deps.ids.new_id(), command.patient),
            created_at=now,
            updated_at=now,
            request=request,
            chart=command.teeth,
            order=command.order,
            records=Records(impression_type=command.impression_type),
            history=(HistoryEntry(now, actor.account_id, "create", None, CaseStatus.DRAFT),),
            name=command.name,
            practice=practice,
            product=product,
            payment=_payment_of(actor, command.payment, command.payment_method_id),
            add_ons=add_ons,
        )
        draft = attrs.evolve(draft, charge=pricing.new_order_charge(network, draft))
        case = attrs.evolve(draft, number=uow.cases.next_number())
        uow.cases.add(case)
        uow.commit()
    return case


def _product(network: Network, command: CreateCase) -> str:
    """The product a new case is: the one named, from the network's catalogue and of the
    case's kind, or the catalogue's first of the kind."""
    catalogue = network.products
    if command.product is None:
        found = catalogue.default_for(command.kind)
        if found is None:
            raise ValidationError.of("kind_not_offered", "$.kind", kind=command.kind.value)
        return found.code
    found = catalogue.product(command.product)
    if found is None:
        raise ValidationError.of("product_not_offered", "$.product", product=command.product)
    if found.kind is not command.kind:
        raise ValidationError.of(
            "product_kind_mismatch", "$.product", product=found.code, kind=found.kind.value
        )
    return found.code


def _follow_up_product(network: Network, kind: CaseKind) -> str | None:
    found = network.products.default_for(kind)
    return found.code if found else None


def order_follow_up(deps: Deps, actor_id: UUID, command: OrderFollowUp) -> Case:
    """A refinement, retainer, remake/replacement or revision draft on an existing case."""
    kind = command.kind
    with deps.storage.unit_of_work() as uow:
        now = deps.clock.now()
        actor = pipeline.actor_of(uow, actor_id, Action.ORDER_FOLLOW_UP.value)
        parent, relations = pipeline.visible_case(uow, actor, command.parent_case_id)
        permissions.ensure_relations(actor, Action.ORDER_FOLLOW_UP, parent, relations)
        lifecycle.fire(
            lifecycle.Attempt(
                parent, Action.ORDER_FOLLOW_UP, {"kind": kind, "order": command.order}
            )
        )
        network = uow.accounts.get_network(parent.network_id)
        practice = _practice_for(actor, command.practice_id, parent.practice)
        add_ons = pricing.priced_add_ons(
            network, command.add_ons, practice.practice_id if practice else None
        )
        draft = Case(
            case_id=deps.ids.new_id(),
            number=1,
            kind=kind,
            network_id=parent.network_id,
            owner_id=parent.owner_id,
            patient=parent.patient,
            created_at=now,
            updated_at=now,
            request=command.request if command.request is not None else parent.request,
            chart=parent.chart,
            order=command.order,
            parent_id=parent.case_id,
            # the practice takes impressions the same way as for the parent
            records=Records(impression_type=parent.records.impression_type),
            # the doctor's outside planners and colleagues stay on the follow-up
            collaborators=tuple(
                g for g in parent.collaborators if g.status is GrantStatus.ACCEPTED
            ),
            # ships where the parent shipped unless the order names another practice
            practice=practice,
            product=_follow_up_product(network, kind),
            payment=_payment_of(actor, command.payment, command.payment_method_id),
            add_ons=add_ons,
        )
        number = uow.cases.next_number()
        created = HistoryEntry(
            now, actor.account_id, "create", None, CaseStatus.DRAFT, {"parent": parent.number}
        )
        draft = attrs.evolve(draft, number=number, history=(created,))
        charge, entitled = pricing.follow_up_charge(network, parent, draft, now)
        case = attrs.evolve(draft, charge=charge)
        uow.cases.add(case)
        ordered = HistoryEntry(
            now,
            actor.account_id,
            Action.ORDER_FOLLOW_UP.value,
            parent.status,
            parent.status,
            {"kind": kind.value, "case": number},
        )
        uow.cases.update(
            attrs.evolve(
                parent,
                updated_at=now,
                version=parent.version + 1,
                history=(*parent.history, ordered),
                entitlements=entitled,
            )
        )
        uow.commit()
    return case


def _update_draft(step: Step[UpdateDraft]) -> Change:
    command, case = step.command, step.case
    changes: dict[str, Any] = {}
    if command.patient is not None:
        changes["patient"] = Patient.from_details(case.patient.patient_id, command.patient)
    if command.request is not None:
        changes["request"] = command.request
    if command.order is not None:
        changes["order"] = command.order
    if command.impression_type is not None:
        changes["records"] = attrs.evolve(case.records, impression_type=command.impression_type)
    if command.name is not None:
        changes["name"] = command.name
    if command.practice_id is not None:
        changes["practice"] = _practice_for(step.actor, command.practice_id)
    if command.payment is not None or command.payment_method_id is not None:
        changes["payment"] = _payment_of(step.actor, command.payment, command.payment_method_id)
    network = step.uow.accounts.get_network(case.network_id)
    if command.add_ons is not None:
        practice = changes.get("practice", case.practice)
        practice_id = practice.practice_id if practice else None
        changes["add_ons"] = pricing.priced_add_ons(network, command.add_ons, practice_id)
    fields = [("impression_type" if k == "records" else k) for k in changes]
    updated = attrs.evolve(case, **changes)
    if case.parent_id is not None and ("order" in changes or "add_ons" in changes):
        parent = step.uow.cases.get(case.parent_id)
        updated = attrs.evolve(updated, charge=pricing.recharged(network, parent, updated))
    elif {"order", "add_ons", "practice"} & changes.keys():
        updated = attrs.evolve(updated, charge=pricing.new_order_charge(network, updated))
    return Change(updated, details={"fields": ",".join(fields)})


def _set_teeth(step: Step[SetTeeth]) -> Change:
    chart = step.command.teeth
    return Change(attrs.evolve(step.case, chart=chart), details={"teeth": len(chart)})


def _confirm(step: Step[Confirm]) -> Change:
    command, case, who = step.command, step.case, step.actor.account_id
    records = attrs.evolve(
        case.records,
        confirmed_complete=command.complete,
        privacy_accepted=command.privacy,
        consent=Acceptance(command.consent, step.now, who)
        if command.consent is not None
        else case.records.consent,
        terms=Acceptance(command.terms, step.now, who)
        if command.terms is not None
        else case.records.terms,
    )
    details: dict[str, object] = {"complete": command.complete, "privacy": command.privacy}
    for name in ("consent", "terms"):
        if (version := getattr(command, name)) is not None:
            details[name] = version
    return Change(attrs.evolve(case, records=records), details=details)


def attach_file(deps: Deps, actor_id: UUID, command: AttachFile) -> Case:
    """Check who may attach first, then stream, check and store the file, then attach it.

    A refused file raises ``RejectedFileError`` with every reason; the case is unchanged.
    """
    with deps.storage.unit_of_work() as uow:
        actor = pipeline.actor_of(uow, actor_id, Action.ATTACH.value)
        case, relations = pipeline.visible_case(uow, actor, command.case_id)
        action = pipeline.action_of(command, case)
        permissions.ensure_relations(actor, action, case, relations)
        pipeline.check_version(command, case)
        lifecycle.fire(lifecycle.Attempt(case, action))
    content = command.content
    data = bytes(content) if isinstance(content, bytearray) else content
    with deps.intake(data, name=command.name, kind=command.kind) as received:
        received.store(deps.blobs)
        report = received.report
    return pipeline.run(deps, actor_id, command, _attach, prepared=report)


def _attach(step: Step[AttachFile]) -> Change:
    command, case = step.command, step.case
    report: FileReport = step.prepared
    clean = sanitize_filename(command.name)
    ref = FileRef(
        step.deps.ids.new_id(), command.kind, clean, report, step.now, step.actor.account_id
    )
    records = case.records.with_file(ref)
    event = None if case.status is CaseStatus.DRAFT else EventType.DOCUMENT_ADDED
    request = case.records_request
    if request is not None and not request.missing(records):
        event = EventType.RECORDS_RECEIVED  # the lab asked for these; the case goes back
    return Change(
        attrs.evolve(case, records=records),
        event,
        {"file": clean, "kind": command.kind.value, "sha256": report.sha256},
    )


def delete_draft(deps: Deps, actor_id: UUID, command: DeleteDraft) -> Case:
    """Delete a draft, keeping nothing of its patient: details, files, texts (GDPR art. 17)."""
    with deps.storage.unit_of_work() as uow:
        before = {f.sha256 for f in uow.cases.get(command.case_id).records.files}
    case = pipeline.run(deps, actor_id, command, _delete)
    privacy.delete_unreferenced(deps, before)
    return case


def _delete(step: Step[DeleteDraft]) -> Change:
    """The draft erased; an included follow-up it reserved goes back to its parent's package."""
    case = step.case
    if case.parent_id is not None:
        parent = step.uow.cases.get(case.parent_id)
        entitled = parent.entitlements
        back = None if entitled is None else entitled.given_back(case.number)
        if back is not None and back != entitled:
            step.uow.cases.update(
                attrs.evolve(
                    parent, entitlements=back, updated_at=step.now, version=parent.version + 1
                )
            )
    name = f"Deleted draft {case.number}"
    return Change(erased(case, name, retain_clinical=False), EventType.CASE_DELETED)


def _submit(step: Step[Submit]) -> Change:
    """The order ships to its practice as the doctor keeps it now (an address fixed since),
    or to the doctor's only practice when the draft named none; what the order costs now
    (a follow-up beyond the package, rush, a new patient's retainer) is invoiced now."""
    case, named = step.case, step.case.practice
    current = step.actor.practice(named.practice_id) if named else _practice_for(step.actor, None)
    if current is not None:
        case = attrs.evolve(case, practice=current)
    details: dict[str, object] = {}
    if case.charge is not None and not case.charge.total.is_zero:
        invoice = billing.charge(step.uow, step.deps, case, case.charge, step.now).invoice
        details["invoice"] = str(invoice.number)
    return Change(case, EventType.CASE_SUBMITTED, details)


HANDLERS: dict[type, Handler] = {
    UpdateDraft: _update_draft,
    SetTeeth: _set_teeth,
    Confirm: _confirm,
    Submit: _submit,
}
