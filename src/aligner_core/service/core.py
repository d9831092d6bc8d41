"""The facade a shell holds: ``execute`` for commands, typed conveniences, and the queries.

Build it with :func:`aligner_core.connect`. ``execute(actor_id, command)`` is
the one way to change state; the methods named after actions
(``core.reject_plan(doctor, case_id, "too much IPR")``) build the command and
execute it, so Python callers and JSON/form callers meet the same checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import IO, TYPE_CHECKING, Any, overload
from uuid import UUID

from aligner_core import i18n
from aligner_core.commands import (
    AcceptInvitation,
    AcceptOrder,
    AcceptPlan,
    Activate,
    AddPractice,
    AssignCase,
    AttachFile,
    Block,
    Cancel,
    CaseCommand,
    Close,
    Command,
    Comment,
    CompleteDigitising,
    Confirm,
    ConfirmDelivery,
    CreateCase,
    CreateNetwork,
    DeleteDraft,
    Hold,
    InviteCollaborator,
    IssueCreditNote,
    IssueInvoice,
    MuteNotifications,
    OfferShades,
    OrderFollowUp,
    Reassign,
    ReceiveImpressions,
    RefuseOrder,
    Register,
    RejectPlan,
    Release,
    RemovePaymentMethod,
    RemovePractice,
    Reopen,
    RequestModification,
    RequestRecords,
    RequireConfirmations,
    RespondToInvitation,
    RevokeCollaborator,
    RevokeShare,
    SavePaymentMethod,
    SetCatalogue,
    SetPackages,
    SetPriceBook,
    SetTeeth,
    SharePlan,
    Ship,
    ShipImpressions,
    Submit,
    TakeCase,
    UpdateDraft,
    UpdatePractice,
    UpdateProfile,
    UpgradePackage,
    UploadPlan,
)
from aligner_core.domain import invoices
from aligner_core.domain.accounts import (
    Account,
    AccountStatus,
    Address,
    CollaboratorPermission,
    Network,
    ProfileChanges,
    Registration,
    Role,
)
from aligner_core.domain.actions import Action
from aligner_core.domain.audit import AuditEntry, AuditFilter
from aligner_core.domain.cases import Case, CaseKind
from aligner_core.domain.events import EventType
from aligner_core.domain.invoices import Statement
from aligner_core.domain.ledger import IssuedInvoice
from aligner_core.domain.metrics import PracticeMetrics
from aligner_core.domain.orders import OrderDetails
from aligner_core.domain.packages import Entitlements
from aligner_core.domain.patients import PatientDetails
from aligner_core.domain.payments import PaymentMethod
from aligner_core.domain.plans import PlanStep, PlanSummary
from aligner_core.domain.prescriptions import Shade, TreatmentRequest
from aligner_core.domain.products import Catalogue
from aligner_core.domain.queries import CaseFilter, CaseSummary, Page
from aligner_core.domain.quotes import Quote
from aligner_core.domain.records import FileKind, ImpressionType
from aligner_core.domain.teeth import Tooth, ToothChart, ToothState
from aligner_core.errors import ValidationError
from aligner_core.ports import Notifier
from aligner_core.service import handlers, metrics, pricing, privacy, queries, sharing
from aligner_core.service.deps import Deps, Links
from aligner_core.service.handlers import billing
from aligner_core.service.privacy import ErasureReport, ExportReport
from aligner_core.service.views import (
    ActionOption,
    Blockers,
    CaseDetail,
    Dashboard,
    DirectoryEntry,
    OpenedFile,
    SharedPlan,
)

if TYPE_CHECKING:
    from aligner_core.notifications.dispatcher import Dispatcher

__all__ = ["Collector", "Core"]


def _chart(states: Mapping[Tooth | int, ToothState | str] | ToothChart) -> ToothChart:
    if isinstance(states, ToothChart):
        return states
    if not isinstance(states, Mapping):
        raise ValidationError.of("wrong_type", "$.teeth", expected="object")
    return ToothChart.from_mapping(states)


Collector = Callable[[timedelta], object]
"""Removes stale spool files and unreferenced blobs older than a grace period; a report."""


class Core:
    """Commands and queries over one storage, with the ports it was built with."""

    def __init__(
        self,
        deps: Deps,
        *,
        notifier: Notifier,
        dispatch_options: Mapping[str, Any] | None = None,
        collector: Collector | None = None,
        gc_grace: timedelta = timedelta(hours=1),
    ) -> None:
        self.deps = deps
        self.notifier = notifier
        self.dispatch_options = dict(dispatch_options or {})
        self._collector = collector
        self.gc_grace = gc_grace

    # -- the ports ------------------------------------------------------------------------
    @property
    def storage(self) -> Any:
        return self.deps.storage

    @property
    def clock(self) -> Any:
        return self.deps.clock

    @property
    def ids(self) -> Any:
        return self.deps.ids

    @property
    def blobs(self) -> Any:
        return self.deps.blobs

    @property
    def scanner(self) -> Any:
        return self.deps.scanner

    @property
    def links(self) -> Links:
        return self.deps.links

    # -- commands -------------------------------------------------------------------------
    @overload
    def execute(self, actor_id: UUID | None, command: CreateNetwork) -> tuple[Network, Account]: ...

    @overload
    def execute(
        self,
        actor_id: UUID | None,
        command: Register | Activate | Block | UpdateProfile | MuteNotifications | AcceptInvitation,
    ) -> Account: ...

    @overload
    def execute(
        self,
        actor_id: UUID | None,
        command: AddPractice
        | UpdatePractice
        | RemovePractice
        | SavePaymentMethod
        | RemovePaymentMethod,
    ) -> Account: ...

    @overload
    def execute(
        self,
        actor_id: UUID | None,
        command: RequireConfirmations | OfferShades | SetCatalogue | SetPriceBook | SetPackages,
    ) -> Network: ...

    @overload
    def execute(
        self, actor_id: UUID | None, command: CaseCommand | CreateCase | OrderFollowUp
    ) -> Case: ...

    @overload
    def execute(
        self, actor_id: UUID | None, command: IssueInvoice | IssueCreditNote
    ) -> IssuedInvoice: ...

    @overload
    def execute(self, actor_id: UUID | None, command: Command) -> Any: ...  # a form's command

    def execute(self, actor_id: UUID | None, command: Command) -> Any:
        """Run one command as ``actor_id``: the changed case (or account, or network)."""
        return handlers.execute(self.deps, actor_id, command)

    # networks and accounts
    def create_network(
        self, name: str, reference_code: str, admin: Registration
    ) -> tuple[Network, Account]:
        """Set up a lab's network with its first admin (active from the start)."""
        return self.execute(
            None, CreateNetwork(name=name, reference_code=reference_code, admin=admin)
        )

    def register(self, registration: Registration, role: Role = Role.DOCTOR) -> Account:
        """A new account, blocked until a network admin activates it."""
        return self.execute(None, Register(registration=registration, role=role))

    def activate(self, admin_id: UUID, account_id: UUID) -> Account:
        return self.execute(admin_id, Activate(account_id=account_id))

    def block(self, admin_id: UUID, account_id: UUID) -> Account:
        return self.execute(admin_id, Block(account_id=account_id))

    def require_confirmations(
        self,
        admin_id: UUID,
        network_id: UUID,
        *,
        consent_version: str | None = None,
        terms_version: str | None = None,
    ) -> Network:
        """Which versions of the informed consent and the terms every case of the network
        confirms before submission (None: not asked for)."""
        command = RequireConfirmations(
            network_id=network_id, consent_version=consent_version, terms_version=terms_version
        )
        return self.execute(admin_id, command)

    def offer_shades(self, admin_id: UUID, network_id: UUID, shades: Iterable[Shade]) -> Network:
        """The pontic shades the network's lab makes (a pontic's shade must be one of them)."""
        return self.execute(admin_id, OfferShades(network_id=network_id, shades=tuple(shades)))

    def set_catalogue(
        self, admin_id: UUID, network_id: UUID, catalogue: Catalogue | None
    ) -> Network:
        """The products the network's practices order (None: the default catalogue)."""
        return self.execute(admin_id, SetCatalogue(network_id=network_id, catalogue=catalogue))

    def update_profile(self, actor_id: UUID, account_id: UUID, changes: ProfileChanges) -> Account:
        """The user themself or an admin of their network."""
        return self.execute(actor_id, UpdateProfile(account_id=account_id, changes=changes))

    def set_muted_notifications(self, actor_id: UUID, muted: Iterable[EventType | str]) -> Account:
        try:
            events = tuple(EventType(m) for m in muted)
        except (TypeError, ValueError):
            raise ValidationError.of(
                "not_one_of", "$.events", choices=", ".join(e.value for e in EventType)
            ) from None
        return self.execute(actor_id, MuteNotifications(events=events))

    # drafts and records
    def create_case(
        self,
        doctor_id: UUID,
        kind: CaseKind,
        patient: PatientDetails,
        *,
        request: TreatmentRequest | None = None,
        teeth: Mapping[Tooth | int, ToothState | str] | ToothChart | None = None,
        order: OrderDetails | None = None,
        impression_type: ImpressionType | None = None,
        name: str = "",
        practice_id: UUID | None = None,
        product: str | None = None,
        payment: PaymentMethod | None = None,
        payment_method_id: UUID | None = None,
        add_ons: Sequence[str] = (),
    ) -> Case:
        """A new draft for a new patient (treatment, direct manufacturing or retainer);
        ``product`` names one of the network's catalogue (default: its first of the kind);
        ``payment`` (or ``payment_method_id``, one kept on the account) says how a retainer
        is paid; ``add_ons`` (``tps``, ``rush``) are quoted with the plan."""
        command = CreateCase(
            kind=kind,
            patient=patient,
            request=request,
            teeth=ToothChart() if teeth is None else _chart(teeth),
            order=order,
            impression_type=impression_type,
            name=name,
            practice_id=practice_id,
            product=product,
            payment=payment,
            payment_method_id=payment_method_id,
            add_ons=tuple(add_ons),
        )
        return self.execute(doctor_id, command)

    def order_follow_up(
        self,
        doctor_id: UUID,
        parent_case_id: UUID,
        order: OrderDetails,
        *,
        request: TreatmentRequest | None = None,
        practice_id: UUID | None = None,
        payment: PaymentMethod | None = None,
        payment_method_id: UUID | None = None,
        add_ons: Sequence[str] = (),
    ) -> Case:
        """A refinement, retainer, remake/replacement or revision draft on an existing case.

        In a network with prices the draft carries its ``charge`` (nothing within the
        parent's package, else the price book's amount; add-ons always from the book)."""
        command = OrderFollowUp(
            parent_case_id=parent_case_id,
            order=order,
            request=request,
            practice_id=practice_id,
            payment=payment,
            payment_method_id=payment_method_id,
            add_ons=tuple(add_ons),
        )
        return self.execute(doctor_id, command)

    def update_draft(
        self,
        doctor_id: UUID,
        case_id: UUID,
        *,
        patient: PatientDetails | None = None,
        request: TreatmentRequest | None = None,
        order: OrderDetails | None = None,
        impression_type: ImpressionType | None = None,
        name: str | None = None,
        practice_id: UUID | None = None,
        payment: PaymentMethod | None = None,
        payment_method_id: UUID | None = None,
        add_ons: Sequence[str] | None = None,
    ) -> Case:
        """Change a draft; None leaves a field as it is (a follow-up's charge follows)."""
        command = UpdateDraft(
            case_id=case_id,
            patient=patient,
            request=request,
            order=order,
            impression_type=impression_type,
            name=name,
            practice_id=practice_id,
            payment=payment,
            payment_method_id=payment_method_id,
            add_ons=None if add_ons is None else tuple(add_ons),
        )
        return self.execute(doctor_id, command)

    def set_tooth_states(
        self,
        doctor_id: UUID,
        case_id: UUID,
        states: Mapping[Tooth | int, ToothState | str] | ToothChart,
    ) -> Case:
        """Replace the draft's tooth chart (one state per tooth)."""
        return self.execute(doctor_id, SetTeeth(case_id=case_id, teeth=_chart(states)))

    def confirm(
        self,
        doctor_id: UUID,
        case_id: UUID,
        *,
        complete: bool,
        privacy: bool,
        consent: str | None = None,
        terms: str | None = None,
    ) -> Case:
        """The confirmations: filled in completely and truthfully; privacy policy accepted;
        and the versions of the network's consent and terms accepted, when it asks for them."""
        command = Confirm(
            case_id=case_id, complete=complete, privacy=privacy, consent=consent, terms=terms
        )
        return self.execute(doctor_id, command)

    def delete_draft(self, doctor_id: UUID, case_id: UUID) -> None:
        self.execute(doctor_id, DeleteDraft(case_id=case_id))

    def submit(self, doctor_id: UUID, case_id: UUID) -> Case:
        return self.execute(doctor_id, Submit(case_id=case_id))

    def attach_file(
        self,
        actor_id: UUID,
        case_id: UUID,
        kind: FileKind,
        source: IO[bytes] | Iterable[bytes] | bytes,
        name: str,
    ) -> Case:
        """Stream, check and store a file, then attach it: to a draft, or as a later document.

        A refused file raises ``RejectedFileError`` with every reason; the case is unchanged.
        """
        return self.execute(
            actor_id, AttachFile(case_id=case_id, kind=kind, name=name, content=source)
        )

    # lab review and planning
    # impressions by post and records requests
    def ship_impressions(
        self, doctor_id: UUID, case_id: UUID, *, carrier: str, tracking_number: str
    ) -> Case:
        """The draft's silicone impressions are in the post (they stand in for the scans)."""
        command = ShipImpressions(case_id=case_id, carrier=carrier, tracking_number=tracking_number)
        return self.execute(doctor_id, command)

    def receive_impressions(self, staff_id: UUID, case_id: UUID) -> Case:
        return self.execute(staff_id, ReceiveImpressions(case_id=case_id))

    def complete_digitising(self, staff_id: UUID, case_id: UUID) -> Case:
        """The digitised scans are attached: on to planning (a retainer to production)."""
        return self.execute(staff_id, CompleteDigitising(case_id=case_id))

    def request_records(
        self, staff_id: UUID, case_id: UUID, kinds: Iterable[FileKind], reason: str
    ) -> Case:
        """Ask the doctor for new records; the case waits, the lab's turnaround paused."""
        return self.execute(
            staff_id, RequestRecords(case_id=case_id, kinds=tuple(kinds), reason=reason)
        )

    def accept_order(self, staff_id: UUID, case_id: UUID) -> Case:
        return self.execute(staff_id, AcceptOrder(case_id=case_id))

    def refuse_order(self, staff_id: UUID, case_id: UUID, reason: str) -> Case:
        return self.execute(staff_id, RefuseOrder(case_id=case_id, reason=reason))

    def upload_plan(
        self,
        planner_id: UUID,
        case_id: UUID,
        summary: PlanSummary,
        *,
        steps: Iterable[PlanStep] = (),
        simulation_url: str | None = None,
        notes: str = "",
    ) -> Case:
        """Plan version N+1; the earlier versions are superseded."""
        step_list = tuple(steps) if isinstance(steps, Iterable) else steps
        command = UploadPlan(
            case_id=case_id,
            summary=summary,
            steps=step_list,
            simulation_url=simulation_url,
            notes=notes,
        )
        return self.execute(planner_id, command)

    def accept_plan(
        self, doctor_id: UUID, case_id: UUID, plan_version: int, *, package: str | None = None
    ) -> Case:
        """Approve one named version; a superseded version cannot be approved.

        In a network with prices the approval fixes the plan's quote, in ``package``
        (one that fits) or else the quoted one."""
        command = AcceptPlan(case_id=case_id, plan_version=plan_version, package=package)
        return self.execute(doctor_id, command)

    def upgrade_package(self, doctor_id: UUID, case_id: UUID, package: str) -> Case:
        """Move an approved case to a larger package; the difference is invoiced."""
        return self.execute(doctor_id, UpgradePackage(case_id=case_id, package=package))

    def reject_plan(self, doctor_id: UUID, case_id: UUID, reason: str) -> Case:
        return self.execute(doctor_id, RejectPlan(case_id=case_id, reason=reason))

    def request_modification(self, actor_id: UUID, case_id: UUID, reason: str) -> Case:
        """Back to planning with the reason and a new turnaround deadline."""
        return self.execute(actor_id, RequestModification(case_id=case_id, reason=reason))

    def share_plan(
        self,
        doctor_id: UUID,
        case_id: UUID,
        plan_version: int,
        *,
        ttl: timedelta = timedelta(days=14),
    ) -> str:
        """A signed, expiring, revocable token that shows one plan version without a login.

        The link to hand out is :meth:`share_url` of the token.
        """
        command = SharePlan(case_id=case_id, plan_version=plan_version, ttl=ttl)
        case = self.execute(doctor_id, command)
        return self.share_token(case.case_id, case.shares[-1].share_id)

    def share_token(self, case_id: UUID, share_id: UUID) -> str:
        """The token of a share link of a case (what :meth:`share_plan` returned)."""
        return sharing.sign(self.deps.link_keys, case_id, share_id)

    def share_url(self, token: str) -> str:
        """The address of a share link, from the ``share_url`` template given to ``connect``."""
        return self.deps.links.share_url(token)

    def case_url(self, number: int) -> str:
        """The address of a case page, from the ``case_url`` template given to ``connect``."""
        return self.deps.links.case_url(number)

    def revoke_share(self, doctor_id: UUID, case_id: UUID, share_id: UUID) -> Case:
        return self.execute(doctor_id, RevokeShare(case_id=case_id, share_id=share_id))

    def resolve_share(self, token: str) -> SharedPlan:
        """What a share link shows; ``NotFoundError`` for a bad, expired or revoked link."""
        return queries.resolve_share(self.deps, token)

    # comments and collaborators
    def comment(self, actor_id: UUID, case_id: UUID, text: str) -> Case:
        """A comment either way; the other side is told."""
        return self.execute(actor_id, Comment(case_id=case_id, text=text))

    def invite_collaborator(
        self,
        doctor_id: UUID,
        case_id: UUID,
        collaborator_id: UUID,
        permissions_: Iterable[CollaboratorPermission],
    ) -> Case:
        command = InviteCollaborator(
            case_id=case_id, collaborator_id=collaborator_id, permissions=_granted(permissions_)
        )
        return self.execute(doctor_id, command)

    def invite_by_email(
        self,
        doctor_id: UUID,
        case_id: UUID,
        email: str,
        permissions_: Iterable[CollaboratorPermission],
    ) -> Case:
        """Invite the account with this e-mail address, in any network (an outside planner);
        an address without an account gets a link to create one (:meth:`accept_invitation`)."""
        command = InviteCollaborator(
            case_id=case_id, email=email, permissions=_granted(permissions_)
        )
        return self.execute(doctor_id, command)

    def accept_invitation(self, token: str, registration: Registration) -> Account:
        """Create the account an e-mail invitation's link offers (see :meth:`invite_by_email`):
        active at once, the case's collaborator with the permissions granted."""
        return self.execute(None, AcceptInvitation(token=token, registration=registration))

    def respond_to_invitation(self, actor_id: UUID, case_id: UUID, *, accept: bool) -> Case:
        return self.execute(actor_id, RespondToInvitation(case_id=case_id, accept=accept))

    def revoke_collaborator(self, doctor_id: UUID, case_id: UUID, collaborator_id: UUID) -> Case:
        """End a collaborator's access (invited or accepted); they are told."""
        command = RevokeCollaborator(case_id=case_id, collaborator_id=collaborator_id)
        return self.execute(doctor_id, command)

    def reassign(self, admin_id: UUID, case_id: UUID, new_owner_id: UUID) -> Case:
        """Give a case to another doctor of the network; both doctors are told."""
        return self.execute(admin_id, Reassign(case_id=case_id, owner=new_owner_id))

    # assignment to lab staff and treating practices (#15 item 5)
    def assign_case(self, admin_id: UUID, case_id: UUID, assignee_id: UUID | None) -> Case:
        """Give a case to a planner or production user of the network (None: nobody)."""
        return self.execute(admin_id, AssignCase(case_id=case_id, assignee_id=assignee_id))

    def take_case(self, planner_id: UUID, case_id: UUID) -> Case:
        """A planner takes an unassigned case in planning."""
        return self.execute(planner_id, TakeCase(case_id=case_id))

    def add_practice(
        self, actor_id: UUID, account_id: UUID, name: str, shipping_address: Address
    ) -> Account:
        """A doctor's new treating practice (the last of ``Account.practices``)."""
        command = AddPractice(account_id=account_id, name=name, shipping_address=shipping_address)
        return self.execute(actor_id, command)

    def update_practice(
        self,
        actor_id: UUID,
        account_id: UUID,
        practice_id: UUID,
        name: str,
        shipping_address: Address,
    ) -> Account:
        command = UpdatePractice(
            account_id=account_id,
            practice_id=practice_id,
            name=name,
            shipping_address=shipping_address,
        )
        return self.execute(actor_id, command)

    def remove_practice(self, actor_id: UUID, account_id: UUID, practice_id: UUID) -> Account:
        command = RemovePractice(account_id=account_id, practice_id=practice_id)
        return self.execute(actor_id, command)

    def save_payment_method(
        self, actor_id: UUID, account_id: UUID, label: str, payment: PaymentMethod
    ) -> Account:
        """Keep a way to pay on a doctor's account (the last of ``Account.payment_methods``);
        orders pick it with ``payment_method_id``."""
        command = SavePaymentMethod(account_id=account_id, label=label, payment=payment)
        return self.execute(actor_id, command)

    def remove_payment_method(self, actor_id: UUID, account_id: UUID, method_id: UUID) -> Account:
        command = RemovePaymentMethod(account_id=account_id, method_id=method_id)
        return self.execute(actor_id, command)

    # production
    def hold(self, staff_id: UUID, case_id: UUID, reason: str) -> Case:
        return self.execute(staff_id, Hold(case_id=case_id, reason=reason))

    def release(self, staff_id: UUID, case_id: UUID) -> Case:
        return self.execute(staff_id, Release(case_id=case_id))

    def cancel(self, actor_id: UUID, case_id: UUID, reason: str) -> Case:
        return self.execute(actor_id, Cancel(case_id=case_id, reason=reason))

    def ship(
        self,
        production_id: UUID,
        case_id: UUID,
        *,
        carrier: str,
        tracking_number: str,
        final: bool = True,
    ) -> Case:
        """Ship phase N (the next one); the last phase moves the case to shipped."""
        command = Ship(
            case_id=case_id, carrier=carrier, tracking_number=tracking_number, final=final
        )
        return self.execute(production_id, command)

    def confirm_delivery(
        self, actor_id: UUID, case_id: UUID, shipment_id: UUID | None = None
    ) -> Case:
        return self.execute(actor_id, ConfirmDelivery(case_id=case_id, shipment_id=shipment_id))

    def close(self, actor_id: UUID, case_id: UUID) -> Case:
        return self.execute(actor_id, Close(case_id=case_id))

    def reopen(self, actor_id: UUID, case_id: UUID) -> Case:
        return self.execute(actor_id, Reopen(case_id=case_id))

    # -- queries --------------------------------------------------------------------------
    def quote_replacement(self, actor_id: UUID, case_id: UUID) -> Quote:
        """What a replacement draft costs, before it is submitted: its steps per arch from
        the newest price book, within the parent's accepted plan."""
        return pricing.replacement_quote(self.deps, actor_id, case_id)

    def entitlements(self, actor_id: UUID, case_id: UUID) -> Entitlements | None:
        """The package approved for the case (or its parent) and the follow-ups it still
        includes (``remaining(kind, at)``); None when no package was approved."""
        return pricing.entitlements(self.deps, actor_id, case_id)

    def get_case(self, actor_id: UUID, case_id: UUID) -> CaseDetail:
        """The case as the viewer may see it (plans hidden from collaborators without setup)."""
        return queries.get_case(self.deps, actor_id, case_id)

    def get_case_by_number(self, actor_id: UUID, number: int) -> CaseDetail:
        """The case with this number ("case number N not found" for anyone who may not see it)."""
        return queries.get_case_by_number(self.deps, actor_id, number)

    def allowed_actions(self, actor_id: UUID, case_id: UUID) -> frozenset[Action]:
        """Actions the table and the user's permissions allow now (before the case's guards)."""
        return self.get_case(actor_id, case_id).allowed_actions

    def available_actions(
        self, actor_id: UUID, case_id: UUID, *, include_blocked: bool = False
    ) -> tuple[ActionOption, ...]:
        """The buttons to draw: actions the user may take now, with their commands and inputs."""
        return queries.available_actions(
            self.deps, actor_id, case_id, include_blocked=include_blocked
        )

    def blockers(
        self,
        actor_id: UUID,
        case_id: UUID,
        action: Action | str,
        command: CaseCommand | None = None,
        **inputs: Any,
    ) -> Blockers:
        """Why ``action`` would be refused now (empty: it would go ahead), by where it lies.

        The case's state is always asked about; inputs only when given, as the
        ``command`` the user would send or its fields as keywords.
        """
        given = inputs if inputs else None
        return queries.blockers(self.deps, actor_id, case_id, action, command, given)

    def list_cases(self, actor_id: UUID, query: CaseFilter | None = None) -> Page[CaseSummary]:
        return queries.list_cases(self.deps, actor_id, query)

    def dashboard(self, actor_id: UUID, query: CaseFilter | None = None) -> Dashboard:
        """Visible cases per status; ``query`` applies the case list's filters to the counts."""
        return queries.dashboard(self.deps, actor_id, query)

    def directory(self, viewer_id: UUID, case_id: UUID | None = None) -> tuple[DirectoryEntry, ...]:
        """Display names and roles the viewer may see (of a case's people, or of their network)."""
        return queries.directory(self.deps, viewer_id, case_id)

    def find_account(self, login: str) -> Account:
        """The account with this username or e-mail, for the shell's login (it authenticates)."""
        return queries.find_account(self.deps, login)

    def network_admins(self, reference_code: str) -> tuple[DirectoryEntry, ...]:
        """The active admins of a network: whom a new user waits for."""
        return queries.network_admins(self.deps, reference_code)

    def catalogue(self, actor_id: UUID) -> Catalogue:
        """The products the actor's network offers (what ``create_case`` may name)."""
        return queries.catalogue(self.deps, actor_id)

    def get_account(self, actor_id: UUID, account_id: UUID) -> Account:
        return queries.get_account(self.deps, actor_id, account_id)

    def list_accounts(
        self,
        admin_id: UUID,
        *,
        search: str | None = None,
        status: AccountStatus | None = None,
        role: Role | None = None,
    ) -> list[Account]:
        """The admin's network's accounts, found by words of a name, username or e-mail."""
        return queries.list_accounts(self.deps, admin_id, search, status, role)

    def export_patient(self, actor_id: UUID, case_id: UUID, target: IO[bytes]) -> ExportReport:
        """Everything kept about the patient of a case, as a zip written to ``target``."""
        return privacy.export_patient(self.deps, actor_id, case_id, target)

    def erase_patient(
        self, actor_id: UUID, case_id: UUID, *, retain_clinical: bool = True
    ) -> ErasureReport:
        """Remove a patient's personal data and files from all their cases (audited)."""
        return privacy.erase_patient(self.deps, actor_id, case_id, retain_clinical=retain_clinical)

    def audit_log(self, admin_id: UUID, query: AuditFilter | None = None) -> Page[AuditEntry]:
        """Who read or erased what in the admin's network, newest first."""
        return privacy.audit_log(self.deps, admin_id, query)

    def open_file(self, actor_id: UUID, case_id: UUID, file_id: UUID) -> OpenedFile:
        """A file of a case: its record (name, media type, size, sha256) and its stream."""
        return queries.open_file(self.deps, actor_id, case_id, file_id)

    # -- billing (issue #16) ----------------------------------------------------------------
    def invoices(
        self,
        actor_id: UUID,
        doctor_id: UUID | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Sequence[IssuedInvoice]:
        """Invoices and credit notes in number order: an admin's network's, a doctor's own."""
        return billing.invoices_of(self.deps, actor_id, doctor_id, since, until)

    def invoice(self, actor_id: UUID, invoice_id: UUID) -> IssuedInvoice:
        """One invoice, for its network's admin or its doctor (others: ``NotFoundError``)."""
        return billing.find_invoice(self.deps, actor_id, invoice_id)

    def statement(
        self, actor_id: UUID, doctor_id: UUID, since: date, until: date, currency: str = "EUR"
    ) -> Statement:
        """A doctor's invoices and credit notes issued ``since``..``until`` (UTC days)."""
        return billing.statement_of(self.deps, actor_id, doctor_id, since, until, currency)

    def invoice_json(self, actor_id: UUID, invoice_id: UUID) -> str:
        return invoices.to_json(self.invoice(actor_id, invoice_id).invoice)

    def invoice_html(
        self,
        actor_id: UUID,
        invoice_id: UUID,
        *,
        issuer: str | None = None,
        recipient: str | None = None,
        language: str | None = None,
    ) -> str:
        """The printable page of an invoice, for its network's admin or its doctor.

        ``issuer`` and ``recipient`` are shown as given; left out, they are the network's
        name and the doctor's name with the practice invoiced (never the patient). The
        page's words are in ``language`` (English without a catalog for it), its amounts
        as the language (and region: ``de-CH``) writes them.
        """
        entry = self.invoice(actor_id, invoice_id)
        if issuer is None or recipient is None:
            network, doctor = billing.parties_of(self.deps, entry)
            issuer = network if issuer is None else issuer
            recipient = doctor if recipient is None else recipient
        lang = i18n.resolve(language)
        texts = {key: i18n.gettext(text, lang) for key, text in invoices.HTML_TEXTS.items()}
        names = billing.item_names_of(self.deps, entry.network_id)
        return invoices.to_html(
            entry.invoice,
            issuer=issuer,
            recipient=recipient,
            texts=texts,
            lang=lang,
            show_money=lambda amount: i18n.format_money(amount, language or lang),
            describe=lambda item: i18n.item_label(item, lang, names),
        )

    def invoices_csv(
        self,
        actor_id: UUID,
        doctor_id: UUID | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> str:
        """The invoices :meth:`invoices` lists, one CSV row per line."""
        found = self.invoices(actor_id, doctor_id, since, until)
        return invoices.to_csv(e.invoice for e in found)

    def practice_metrics(
        self,
        actor_id: UUID,
        *,
        year: int | None = None,
        until: date | None = None,
        doctor_id: UUID | None = None,
    ) -> PracticeMetrics:
        """Cases started, approved and shipped, and net revenue, per month and year to date.

        Of ``year`` (default: ``until``'s) up to ``until`` (default: today, or 31 December
        of a past year); an admin reads the network's (one doctor's with ``doctor_id``),
        a doctor their own; others are refused (``PermissionDeniedError``).
        """
        return metrics.metrics_of(self.deps, actor_id, year=year, until=until, doctor_id=doctor_id)

    # -- running ------------------------------------------------------------------------
    def dispatcher(self, **options: Any) -> Dispatcher:
        """The outbox dispatcher for this core's storage and notifier.

        Options given to ``connect`` (``sender``, links) are the defaults here.
        """
        from aligner_core.notifications.dispatcher import Dispatcher

        merged = {"links": self.deps.links, **self.dispatch_options, **options}
        return Dispatcher(self.deps.storage, self.notifier, clock=self.deps.clock, **merged)

    def collect_garbage(self, grace: timedelta | None = None) -> object:
        """Remove spool files a crash left and blobs no case refers to, older than ``grace``.

        Returns the files package's ``GcReport`` (printable); ``None`` without a collector.
        """
        if self._collector is None:
            return None
        return self._collector(self.gc_grace if grace is None else grace)

    def shutdown(self) -> None:
        """Close the storage (``close`` is the case command that ends a treatment)."""
        self.deps.storage.close()

    def __enter__(self) -> Core:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def _granted(given: Iterable[CollaboratorPermission]) -> tuple[CollaboratorPermission, ...]:
    try:
        return tuple(CollaboratorPermission(p) for p in given)
    except (TypeError, ValueError):
        raise ValidationError.of(
            "not_one_of",
            "$.permissions",
            choices=", ".join(p.value for p in CollaboratorPermission),
        ) from None
