"""Commands: every state-changing operation as data, its whole input bounded and typed.

One frozen class per action, named in the imperative. A shell builds one from
JSON or HTML form fields with the converter (``make_converter().load(text,
CreateCase)`` or ``.load_form(fields, CreateCase)``), which names every problem
at once, or in Python with keywords; ``core.execute(actor_id, command)`` runs
it. The same classes give the JSON Schema (:func:`aligner_core.schema.json_schema`)
and, through ``action``, the buttons of :meth:`Core.available_actions`.

Every case command takes an optional ``expected_version``: the case version
the user's screen shows, so a stale tab gets a conflict instead of acting on a
case that changed under it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any, ClassVar
from uuid import UUID

import attrs

from aligner_core.domain.accounts import (
    Address,
    CollaboratorPermission,
    ProfileChanges,
    Registration,
    Role,
    email_rule,
)
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import MAX_CASE_NAME, CaseKind
from aligner_core.domain.events import EventType
from aligner_core.domain.fields import MAX_INT, Checked, field, integer, items, text
from aligner_core.domain.money import Currency, currency_of
from aligner_core.domain.orders import (
    OrderDetails,
    RefinementOrder,
    ReplacementOrder,
    RetainerOrder,
    RevisionOrder,
)
from aligner_core.domain.packages import Package
from aligner_core.domain.patients import PatientDetails
from aligner_core.domain.payments import PaymentMethod
from aligner_core.domain.plans import (
    MAX_PLAN_STEPS,
    PlanStep,
    PlanSummary,
    https_rule,
    summary_problems,
)
from aligner_core.domain.prescriptions import Shade, TreatmentRequest
from aligner_core.domain.prices import ITEM_CODE as ADD_ON_CODE
from aligner_core.domain.prices import PracticePrices, PriceEntry
from aligner_core.domain.products import Catalogue
from aligner_core.domain.records import FileKind, ImpressionType
from aligner_core.domain.teeth import ToothChart
from aligner_core.errors import FieldError

__all__ = [
    "COMMANDS",
    "AcceptInvitation",
    "AcceptOrder",
    "AcceptPlan",
    "Activate",
    "AddPractice",
    "AssignCase",
    "AttachFile",
    "BillLine",
    "Block",
    "Cancel",
    "CaseCommand",
    "Close",
    "Command",
    "Comment",
    "CompleteDigitising",
    "Confirm",
    "ConfirmDelivery",
    "CreateCase",
    "CreateNetwork",
    "DeleteDraft",
    "Hold",
    "InviteCollaborator",
    "IssueCreditNote",
    "IssueInvoice",
    "MuteNotifications",
    "OfferShades",
    "OrderFollowUp",
    "Reassign",
    "ReceiveImpressions",
    "RefuseOrder",
    "Register",
    "RejectPlan",
    "Release",
    "RemovePaymentMethod",
    "RemovePractice",
    "Reopen",
    "RequestModification",
    "RequestRecords",
    "RequireConfirmations",
    "RespondToInvitation",
    "RevokeCollaborator",
    "RevokeShare",
    "SavePaymentMethod",
    "SetCatalogue",
    "SetPackages",
    "SetPriceBook",
    "SetTeeth",
    "SharePlan",
    "Ship",
    "ShipImpressions",
    "Submit",
    "TakeCase",
    "UpdateDraft",
    "UpdatePractice",
    "UpdateProfile",
    "UpgradePackage",
    "UploadPlan",
]

#: The longest reason (reject, refuse, hold, cancel, modification) and comment, in characters.
MAX_REASON = 2000
MAX_COMMENT = 10_000
#: The highest plan version a command may name.
MAX_PLAN_VERSION = 1000
#: Add-ons one order may carry.
MAX_ADD_ONS = 8


def _reason(doc: str) -> Any:
    """A reason: bounded here; "a reason is required" is the action's precondition (lifecycle)."""
    return text(MAX_REASON, blank=True, multiline=True, doc=doc)


class Command(Checked):
    """Base of every command: the action it takes and whether a shell should ask twice."""

    __slots__ = ()
    action: ClassVar[Action | None] = None
    destructive: ClassVar[bool] = False


@attrs.frozen(kw_only=True)
class CaseCommand(Command):
    """A command on one existing case."""

    case_id: UUID = field(doc="The case (its id, not its number).")
    expected_version: int | None = integer(
        1, MAX_INT, default=None, doc="The case version the user saw; a newer one is a conflict."
    )


# -- networks and accounts --------------------------------------------------------------------
@attrs.frozen(kw_only=True)
class CreateNetwork(Command):
    """Set up a lab's network with its first admin (active from the start)."""

    name: str = text(200, doc="The lab's name.")
    reference_code: str = text(32, doc="What practices type to join the network.")
    admin: Registration = field(doc="The first admin's account.")


def _not_admin(cmd: Register) -> Iterable[FieldError]:
    if cmd.role is Role.ADMIN:
        yield FieldError.of("admin_not_registered", "$.role")


@attrs.frozen(kw_only=True)
class Register(Command):
    """A new account, blocked until a network admin activates it."""

    registration: Registration = field()
    role: Role = field(default=Role.DOCTOR, doc="doctor, planner or production.")

    __rules__ = (_not_admin,)


@attrs.frozen(kw_only=True)
class Activate(Command):
    """An admin lets a registered account in."""

    account_id: UUID = field()


@attrs.frozen(kw_only=True)
class RequireConfirmations(Command):
    """An admin sets the versions of the informed consent and the terms and conditions
    every case of the network confirms before submission (None: not asked for)."""

    network_id: UUID = field()
    consent_version: str | None = text(40, default=None, doc="Informed consent version.")
    terms_version: str | None = text(40, default=None, doc="Terms and conditions version.")


@attrs.frozen(kw_only=True)
class OfferShades(Command):
    """An admin sets the pontic shades the network's lab makes (a pontic asks for one)."""

    network_id: UUID = field()
    shades: tuple[Shade, ...] = items(len(Shade), min_items=1, doc="Shades the lab makes.")


@attrs.frozen(kw_only=True)
class Block(Command):
    """An admin locks an account out (it sees and does nothing until activated again)."""

    destructive = True
    account_id: UUID = field()


@attrs.frozen(kw_only=True)
class UpdateProfile(Command):
    """The user themself, or an admin of their network, changes profile fields."""

    account_id: UUID = field()
    changes: ProfileChanges = field()


@attrs.frozen(kw_only=True)
class MuteNotifications(Command):
    """The optional e-mails the user does not want (mandatory ones are always sent)."""

    events: tuple[EventType, ...] = items(len(EventType))


# -- treating practices (#15 item 5) ---------------------------------------------------------
@attrs.frozen(kw_only=True)
class AddPractice(Command):
    """A doctor adds one of their treating practices (or their network's admin does)."""

    account_id: UUID = field(doc="The doctor.")
    name: str = text(200, doc="The practice's name, as printed on the parcel.")
    shipping_address: Address = field()


@attrs.frozen(kw_only=True)
class UpdatePractice(AddPractice):
    """Change a practice's name or shipping address (orders already placed keep theirs)."""

    practice_id: UUID = field()


@attrs.frozen(kw_only=True)
class RemovePractice(Command):
    """Remove a practice (orders already placed keep their shipping address)."""

    destructive = True
    account_id: UUID = field(doc="The doctor.")
    practice_id: UUID = field()


# -- ways to pay kept on the account -----------------------------------------------------------
@attrs.frozen(kw_only=True)
class SavePaymentMethod(Command):
    """A doctor keeps a way to pay, theirs or one of their practices' (or their admin does)."""

    account_id: UUID = field(doc="The doctor.")
    label: str = text(80, doc='What the doctor picks it by ("Visa ending 4242").')
    payment: PaymentMethod = field()


@attrs.frozen(kw_only=True)
class RemovePaymentMethod(Command):
    """Forget a kept way to pay (orders that used it keep their copy)."""

    destructive = True
    account_id: UUID = field(doc="The doctor.")
    method_id: UUID = field()


# -- drafts -----------------------------------------------------------------------------------
_ORDER_KIND: dict[type, CaseKind] = {
    RefinementOrder: CaseKind.REFINEMENT,
    RetainerOrder: CaseKind.RETAINER,
    ReplacementOrder: CaseKind.REPLACEMENT,
    RevisionOrder: CaseKind.REVISION,
}


def _new_patient_kind(cmd: CreateCase) -> Iterable[FieldError]:
    if cmd.kind.is_follow_up:
        yield FieldError.of("follow_up_kind", "$.kind", kind=cmd.kind.value)


def _order_fits_kind(cmd: CreateCase | UpdateDraft) -> Iterable[FieldError]:
    kind = getattr(cmd, "kind", None)
    if cmd.order is not None and kind is not None and _ORDER_KIND.get(type(cmd.order)) is not kind:
        yield FieldError.of("order_kind_mismatch", "$.order", kind=kind.value)


def _one_way_to_pay(cmd: CreateCase | OrderFollowUp | UpdateDraft) -> Iterable[FieldError]:
    if cmd.payment is not None and cmd.payment_method_id is not None:
        yield FieldError.of("payment_twice", "$.payment_method_id")


def _add_on_codes(value: Any) -> Iterable[FieldError]:
    """Add-on codes as a price book writes them (``tps``, ``rush``), each once."""
    if not isinstance(value, tuple | list):
        return
    for index, code in enumerate(value):
        if not isinstance(code, str) or not ADD_ON_CODE.fullmatch(code):
            yield FieldError.of("invalid_item_code", f"$[{index}]")
        elif code in value[:index]:
            yield FieldError.of("duplicate_entry", f"$[{index}]", entry=code)


def add_ons_field(default: Any) -> Any:
    """The add-ons ordered with a case (each priced by the network's book as ``add_on:code``)."""
    return items(
        MAX_ADD_ONS,
        default=default,
        rules=[_add_on_codes],
        item_pattern=f"^{ADD_ON_CODE.pattern}(?![\\s\\S])",  # the end in ECMA-262 and Python
        doc="Add-ons ordered with the case (tps, rush...), each priced by the network's book.",
    )


@attrs.frozen(kw_only=True)
class CreateCase(Command):
    """A new case for a new patient, in one step: product, patient, request, teeth, order.

    Treatment, direct manufacturing or a new patient's retainer; follow-up orders
    on an existing case are :class:`OrderFollowUp`. A refused command changes
    nothing and uses no case number.
    """

    kind: CaseKind = field(doc="The product ordered.")
    patient: PatientDetails = field()
    request: TreatmentRequest | None = field(
        default=None, doc="The prescription (a treatment gets the defaults when none is given)."
    )
    teeth: ToothChart = field(factory=ToothChart, doc="The tooth chart.")
    order: OrderDetails | None = field(default=None, doc="A new patient's retainer order.")
    impression_type: ImpressionType | None = field(default=None)
    name: str = text(
        MAX_CASE_NAME, blank=True, default="", doc="The practice's own name for the case."
    )
    practice_id: UUID | None = field(
        default=None, doc="The doctor's practice the aligners ship to (their only one if unsaid)."
    )
    product: str | None = text(
        40,
        default=None,
        doc="A product code of the network's catalogue (default: its first product of the kind).",
    )
    payment: PaymentMethod | None = field(default=None, doc="How a retainer order is paid.")
    payment_method_id: UUID | None = field(
        default=None, doc="A way to pay kept on the account (instead of ``payment``)."
    )
    add_ons: tuple[str, ...] = add_ons_field(())

    __rules__ = (_new_patient_kind, _order_fits_kind, _one_way_to_pay)


@attrs.frozen(kw_only=True)
class OrderFollowUp(Command):
    """A refinement, retainer, remake/replacement or revision draft on an existing case."""

    action = Action.ORDER_FOLLOW_UP
    parent_case_id: UUID = field(doc="The case the order follows.")
    order: OrderDetails = field()
    request: TreatmentRequest | None = field(default=None)
    practice_id: UUID | None = field(
        default=None, doc="The practice the aligners ship to (the parent's if unsaid)."
    )
    payment: PaymentMethod | None = field(default=None, doc="How the order is paid.")
    payment_method_id: UUID | None = field(
        default=None, doc="A way to pay kept on the account (instead of ``payment``)."
    )
    add_ons: tuple[str, ...] = add_ons_field(())

    __rules__ = (_one_way_to_pay,)

    @property
    def kind(self) -> CaseKind:
        return _ORDER_KIND[type(self.order)]


@attrs.frozen(kw_only=True)
class UpdateDraft(CaseCommand):
    """Change a draft's patient, request, order or impression type (None leaves one as is)."""

    action = Action.EDIT
    patient: PatientDetails | None = field(default=None)
    request: TreatmentRequest | None = field(default=None)
    order: OrderDetails | None = field(default=None)
    impression_type: ImpressionType | None = field(default=None)
    name: str | None = text(
        MAX_CASE_NAME, blank=True, default=None, doc="The practice's own name for the case."
    )
    practice_id: UUID | None = field(default=None, doc="The practice the aligners ship to.")
    payment: PaymentMethod | None = field(default=None, doc="How the order is paid.")
    payment_method_id: UUID | None = field(
        default=None, doc="A way to pay kept on the account (instead of ``payment``)."
    )
    add_ons: tuple[str, ...] | None = add_ons_field(None)

    __rules__ = (_one_way_to_pay,)


@attrs.frozen(kw_only=True)
class SetTeeth(CaseCommand):
    """Replace a draft's tooth chart (one state per tooth)."""

    action = Action.SET_TEETH
    teeth: ToothChart = field()


def _content(value: Any) -> Iterable[FieldError]:
    readable = callable(getattr(value, "read", None))
    if not (isinstance(value, bytes | bytearray) or readable or _iterable_of_bytes(value)):
        yield FieldError.of("wrong_type", expected="file")


def _iterable_of_bytes(value: Any) -> bool:
    return not isinstance(value, str | bytes | dict) and hasattr(value, "__iter__")


@attrs.frozen(kw_only=True)
class AttachFile(CaseCommand):
    """A scan, photo or document: checked by content, stored, then attached.

    Before submission it is part of the draft (``attach``); afterwards it is a
    later document (``add_document``). ``content`` is bytes, a binary stream or
    an iterable of byte chunks, read once and never held whole in memory.
    """

    action = Action.ATTACH
    kind: FileKind = field()
    name: str = text(255, doc="The file's name as uploaded (sanitised before it is kept).")
    content: Any = field(rules=[_content], format="binary", doc="The file's bytes.")


@attrs.frozen(kw_only=True)
class Confirm(CaseCommand):
    """The two confirmations: filled in completely and truthfully; privacy policy accepted."""

    action = Action.CONFIRM
    complete: bool = field(doc="Filled in completely and truthfully.")
    privacy: bool = field(doc="Privacy policy read and accepted.")
    consent: str | None = text(
        40, default=None, doc="The version of the network's informed consent accepted."
    )
    terms: str | None = text(
        40, default=None, doc="The version of the network's terms and conditions accepted."
    )


@attrs.frozen(kw_only=True)
class DeleteDraft(CaseCommand):
    """Delete a draft (it disappears from every list)."""

    action = Action.DELETE
    destructive = True


@attrs.frozen(kw_only=True)
class Submit(CaseCommand):
    """Send a complete draft to the lab."""

    action = Action.SUBMIT


# -- impressions by post and records requests -------------------------------------------------
@attrs.frozen(kw_only=True)
class ShipImpressions(CaseCommand):
    """The doctor sends silicone impressions to the lab: the parcel's carrier and tracking
    number stand in for the scans at submission."""

    action = Action.SHIP_IMPRESSIONS
    carrier: str = text(80, blank=True, doc="The carrier (required by the action).")
    tracking_number: str = text(80, blank=True, doc="The tracking number (required).")


@attrs.frozen(kw_only=True)
class ReceiveImpressions(CaseCommand):
    """The lab marks the impressions received (it then attaches the digitised scans)."""

    action = Action.RECEIVE_IMPRESSIONS


@attrs.frozen(kw_only=True)
class CompleteDigitising(CaseCommand):
    """The lab has attached the scans digitised from the impressions: on to planning
    (a retainer to production)."""

    action = Action.COMPLETE_DIGITISING


@attrs.frozen(kw_only=True)
class RequestRecords(CaseCommand):
    """The lab cannot use the records and asks the doctor for new ones, saying which and
    why; the case waits on the doctor, the lab's turnaround paused, until they are uploaded."""

    action = Action.REQUEST_RECORDS
    kinds: tuple[FileKind, ...] = items(len(FileKind), min_items=1, doc="The records needed.")
    reason: str = _reason("What is wrong with the records.")


# -- lab review and planning ------------------------------------------------------------------
@attrs.frozen(kw_only=True)
class AcceptOrder(CaseCommand):
    """Production accepts a remake/replacement order after review."""

    action = Action.ACCEPT_ORDER


@attrs.frozen(kw_only=True)
class RefuseOrder(CaseCommand):
    """Production refuses an order after review, saying why."""

    action = Action.REFUSE_ORDER
    destructive = True
    reason: str = _reason("Why the order is refused.")


def _steps_agree(cmd: UploadPlan) -> Iterable[FieldError]:
    return summary_problems(cmd.summary, cmd.steps)


@attrs.frozen(kw_only=True)
class UploadPlan(CaseCommand):
    """Plan version N+1 with its summary and optional per-step schedule."""

    action = Action.UPLOAD_PLAN
    summary: PlanSummary = field()
    steps: tuple[PlanStep, ...] = items(MAX_PLAN_STEPS, default=())
    simulation_url: str | None = text(
        2000,
        default=None,
        format="uri",
        rules=[https_rule],
        doc="An https link to the 3D simulation.",
    )
    notes: str = text(5000, blank=True, multiline=True, default="")

    __rules__ = (_steps_agree,)


@attrs.frozen(kw_only=True)
class AcceptPlan(CaseCommand):
    """The primary doctor approves one plan version (the latest)."""

    action = Action.ACCEPT_PLAN
    plan_version: int = integer(1, MAX_PLAN_VERSION)
    package: str | None = text(
        40, default=None, doc="The package chosen (one that fits; the quoted one if unsaid)."
    )


@attrs.frozen(kw_only=True)
class UpgradePackage(CaseCommand):
    """The primary doctor moves an approved case to a larger package: the difference of
    the two packages' amounts in the current price book is invoiced."""

    action = Action.UPGRADE_PACKAGE
    package: str = text(40, doc="The package upgraded to (one covering more).")


@attrs.frozen(kw_only=True)
class RejectPlan(CaseCommand):
    """The primary doctor rejects the plan, saying why."""

    action = Action.REJECT_PLAN
    destructive = True
    reason: str = _reason("Why the plan is rejected.")


@attrs.frozen(kw_only=True)
class RequestModification(CaseCommand):
    """Back to planning with what to change (and a new turnaround deadline)."""

    action = Action.REQUEST_MODIFICATION
    reason: str = _reason("What to change.")


def _lifetime(ttl: Any) -> Iterable[FieldError]:
    if isinstance(ttl, timedelta) and not timedelta(0) < ttl <= timedelta(days=365):
        yield FieldError.of("link_lifetime")


@attrs.frozen(kw_only=True)
class SharePlan(CaseCommand):
    """A signed, expiring link that shows one plan version to someone without an account."""

    action = Action.SHARE_PLAN
    plan_version: int = integer(1, MAX_PLAN_VERSION)
    ttl: timedelta = field(
        default=timedelta(days=14), rules=[_lifetime], doc="How long the link lives (<= 365 days)."
    )


@attrs.frozen(kw_only=True)
class RevokeShare(CaseCommand):
    """End a share link before it expires."""

    action = Action.REVOKE_SHARE
    destructive = True
    share_id: UUID = field()


# -- comments and collaborators ---------------------------------------------------------------
@attrs.frozen(kw_only=True)
class Comment(CaseCommand):
    """A comment either way; the other side is told."""

    action = Action.COMMENT
    text: str = text(MAX_COMMENT, multiline=True)


def _one_invitee(cmd: InviteCollaborator) -> Iterable[FieldError]:
    if (cmd.collaborator_id is None) == (cmd.email is None):
        yield FieldError.of("invitee_one_of", "$.email")


@attrs.frozen(kw_only=True)
class InviteCollaborator(CaseCommand):
    """Invite another account to this case with chosen permissions: by its id, or by the
    e-mail address of an account in any network (an outside planning service)."""

    action = Action.INVITE_COLLABORATOR
    collaborator_id: UUID | None = field(default=None, doc="The account invited.")
    email: str | None = text(
        254,
        default=None,
        rules=[email_rule],
        format="email",
        doc="Or the e-mail address of the account invited.",
    )
    permissions: tuple[CollaboratorPermission, ...] = items(
        len(CollaboratorPermission), min_items=1
    )

    __rules__ = (_one_invitee,)


@attrs.frozen(kw_only=True)
class AcceptInvitation(Command):
    """Someone invited by e-mail without an account creates one through the invitation's
    link (active at once, in the case's network) and becomes the case's collaborator."""

    token: str = text(100, doc="The token of the invitation's link.")
    registration: Registration = field(doc="The new account (the invited e-mail address).")


@attrs.frozen(kw_only=True)
class RespondToInvitation(CaseCommand):
    """The invitee accepts or declines."""

    action = Action.RESPOND_INVITATION
    accept: bool = field()


@attrs.frozen(kw_only=True)
class RevokeCollaborator(CaseCommand):
    """End a collaborator's access; they are told."""

    action = Action.REVOKE_COLLABORATOR
    destructive = True
    collaborator_id: UUID = field()


@attrs.frozen(kw_only=True)
class Reassign(CaseCommand):
    """An admin gives the case to another doctor of the network."""

    action = Action.REASSIGN
    owner: UUID = field(doc="The doctor who becomes the primary doctor.")


@attrs.frozen(kw_only=True)
class AssignCase(CaseCommand):
    """A lab admin gives the case to a planner or production user of the network (None: nobody)."""

    action = Action.ASSIGN
    assignee_id: UUID | None = field(default=None, doc="The planner or production user.")


@attrs.frozen(kw_only=True)
class TakeCase(CaseCommand):
    """A planner takes an unassigned case in planning."""

    action = Action.TAKE


# -- production -------------------------------------------------------------------------------
@attrs.frozen(kw_only=True)
class Hold(CaseCommand):
    """The lab stops work on a case, saying why (its deadline pauses)."""

    action = Action.HOLD
    reason: str = _reason("Why the case is on hold.")


@attrs.frozen(kw_only=True)
class Release(CaseCommand):
    """Back to the state the case was held in."""

    action = Action.RELEASE


@attrs.frozen(kw_only=True)
class Cancel(CaseCommand):
    """Cancel a case before production, saying why."""

    action = Action.CANCEL
    destructive = True
    reason: str = _reason("Why the case is cancelled.")


@attrs.frozen(kw_only=True)
class Ship(CaseCommand):
    """Ship the next phase; the final one moves the case to shipped."""

    action = Action.SHIP
    carrier: str = text(80, blank=True, doc="The carrier (required by the action).")
    tracking_number: str = text(80, blank=True, doc="The tracking number (required).")
    final: bool = field(default=True, doc="The last phase of this order.")


@attrs.frozen(kw_only=True)
class ConfirmDelivery(CaseCommand):
    """A parcel arrived (the oldest undelivered one unless ``shipment_id`` names one)."""

    action = Action.CONFIRM_DELIVERY
    shipment_id: UUID | None = field(default=None)


@attrs.frozen(kw_only=True)
class Close(CaseCommand):
    """Treatment ended."""

    action = Action.CLOSE


@attrs.frozen(kw_only=True)
class Reopen(CaseCommand):
    """Back to shipped (for a refinement or a retainer)."""

    action = Action.REOPEN


@attrs.frozen(kw_only=True)
class SetCatalogue(Command):
    """An admin sets the products the network offers (none: the default catalogue)."""

    network_id: UUID = field()
    catalogue: Catalogue | None = field(default=None, doc="The products, in the order shown.")


@attrs.frozen(kw_only=True)
class SetPriceBook(Command):
    """An admin sets the network's prices: the next price book version, in effect from now.

    Earlier versions stay: a quote names the version it was priced from and keeps it.
    """

    network_id: UUID = field()
    currency: Currency = field(
        converter=currency_of, doc="The network's currency (ISO 4217), one for every version."
    )
    entries: tuple[PriceEntry, ...] = items(500, doc="Each priced item and its amount.")
    overrides: tuple[PracticePrices, ...] = items(
        200, default=(), doc="Practices' own amounts (they take precedence)."
    )
    tax_percent: str | None = text(
        10, default=None, doc="The tax rate of its invoices, in percent (None: as it was)."
    )


@attrs.frozen(kw_only=True)
class SetPackages(Command):
    """An admin sets the packages plans are quoted in (priced by the book's package items)."""

    network_id: UUID = field()
    packages: tuple[Package, ...] = items(20, doc="The packages, smallest first.")


# -- billing (issue #16) ---------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class BillLine(Checked):
    """One invoice line: ``quantity`` times ``item`` (``product:aligners``) at ``unit``."""

    item: str = text(80, doc="The item, written kind:code.")
    quantity: int = integer(1, 10_000)
    unit: str = text(24, doc="The unit amount as decimal text (12.50).")


@attrs.frozen(kw_only=True)
class IssueInvoice(Command):
    """A network's admin invoices a case's doctor; the storage numbers the invoice."""

    case_id: UUID = field()
    lines: tuple[BillLine, ...] = items(100, min_items=1, doc="What is charged.")
    tax_percent: str = text(10, doc="The tax rate in percent (19, 7.7).")
    currency: str = text(3, default="EUR", doc="The ISO 4217 currency code.")
    due_on: date | None = field(default=None, doc="When payment is due.")


@attrs.frozen(kw_only=True)
class IssueCreditNote(Command):
    """A network's admin reverses an invoice fully with a numbered credit note."""

    invoice_id: UUID = field()


#: Every command class, by name (what a JSON API's ``type`` field names).
COMMANDS: dict[str, type[Command]] = {
    cls.__name__: cls
    for cls in (
        CreateNetwork,
        Register,
        Activate,
        Block,
        OfferShades,
        RequireConfirmations,
        UpdateProfile,
        MuteNotifications,
        AddPractice,
        UpdatePractice,
        RemovePractice,
        SavePaymentMethod,
        RemovePaymentMethod,
        CreateCase,
        OrderFollowUp,
        UpdateDraft,
        SetTeeth,
        AttachFile,
        Confirm,
        DeleteDraft,
        Submit,
        ShipImpressions,
        ReceiveImpressions,
        CompleteDigitising,
        RequestRecords,
        AcceptOrder,
        RefuseOrder,
        UploadPlan,
        AcceptPlan,
        RejectPlan,
        RequestModification,
        SharePlan,
        RevokeShare,
        Comment,
        InviteCollaborator,
        RespondToInvitation,
        AcceptInvitation,
        RevokeCollaborator,
        Reassign,
        AssignCase,
        TakeCase,
        Hold,
        Release,
        Cancel,
        Ship,
        ConfirmDelivery,
        Close,
        Reopen,
        SetCatalogue,
        SetPriceBook,
        SetPackages,
        IssueInvoice,
        IssueCreditNote,
        UpgradePackage,
    )
}
