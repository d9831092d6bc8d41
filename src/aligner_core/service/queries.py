"""Queries: case detail, actions a shell may offer and why not, lists, dashboard, directory."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

import attrs

from aligner_core.commands import COMMANDS, AttachFile, CaseCommand, Command, OrderFollowUp
from aligner_core.domain import lifecycle, permissions
from aligner_core.domain.accounts import Account, AccountStatus, Network, Practice, Role
from aligner_core.domain.actions import Action
from aligner_core.domain.audit import AuditAction
from aligner_core.domain.cases import Case, CaseStatus
from aligner_core.domain.packages import fitting
from aligner_core.domain.prescription_checks import plan_warnings
from aligner_core.domain.products import Catalogue
from aligner_core.domain.queries import MAX_SEARCH_TERMS, CaseFilter, CaseSummary, Page, name_key
from aligner_core.domain.records import scan_warnings
from aligner_core.errors import NotFoundError, Reason, ValidationError
from aligner_core.ports import UnitOfWork
from aligner_core.service import pipeline, sharing
from aligner_core.service.deps import Deps
from aligner_core.service.handlers.accounts import account_for
from aligner_core.service.privacy import record
from aligner_core.service.views import (
    ActionOption,
    Blockers,
    CaseDetail,
    Dashboard,
    DirectoryEntry,
    FileRecord,
    OpenedFile,
    SharedPlan,
)

__all__ = [
    "COMMAND_FOR",
    "available_actions",
    "blockers",
    "catalogue",
    "dashboard",
    "directory",
    "find_account",
    "get_case",
    "get_case_by_number",
    "list_cases",
    "network_admins",
    "open_file",
    "resolve_share",
]

_PLAN_VIEWERS = frozenset(
    {
        permissions.Relation.OWNER,
        permissions.Relation.PLANNER,
        permissions.Relation.PRODUCTION,
        permissions.Relation.ADMIN,
        permissions.Relation.COLLABORATOR_VIEW_SETUP,
    }
)

#: The command that takes each action on a case (viewing is no command).
COMMAND_FOR: dict[Action, type[Command]] = {
    **{
        cls.action: cls
        for cls in COMMANDS.values()
        if cls.action is not None and (issubclass(cls, CaseCommand) or cls is OrderFollowUp)
    },
    Action.ADD_DOCUMENT: AttachFile,
}
_GIVEN = frozenset({"case_id", "expected_version", "parent_case_id"})


def _detail(actor: Account, case: Case, relations: frozenset[permissions.Relation]) -> CaseDetail:
    sees_plans = bool(relations & _PLAN_VIEWERS)
    shown = case if sees_plans else attrs.evolve(case, plans=(), shares=())
    allowed = frozenset(
        a for a in lifecycle.possible_actions(case) if relations & permissions.MATRIX[a]
    )
    return CaseDetail(shown, allowed if actor.is_active else frozenset(), sees_plans)


def _viewed(deps: Deps, uow: UnitOfWork, actor: Account, case: Case, subject: str = "") -> None:
    """Record that ``actor`` read ``case`` (the audit log) and end the unit of work."""
    action = AuditAction.OPEN_FILE if subject else AuditAction.VIEW_CASE
    now = deps.clock.now()
    record(deps, uow, now, case.network_id, actor.account_id, action, case.number, subject)
    uow.commit()


def get_case(deps: Deps, actor_id: UUID, case_id: UUID) -> CaseDetail:
    """The case as the viewer may see it (plans hidden from collaborators without setup)."""
    with deps.storage.unit_of_work() as uow:
        actor = pipeline.actor_of(uow, actor_id, "view")
        case, relations = pipeline.visible_case(uow, actor, case_id)
        _viewed(deps, uow, actor, case)
    return _detail(actor, case, relations)


def get_case_by_number(deps: Deps, actor_id: UUID, number: int) -> CaseDetail:
    """The case with this number; strangers learn only that no such case is theirs to see."""
    if isinstance(number, bool) or not isinstance(number, int) or not 0 < number < 2**63:
        raise NotFoundError("case number", number)
    with deps.storage.unit_of_work() as uow:
        actor = pipeline.actor_of(uow, actor_id, "view")
        try:
            found = uow.cases.get_by_number(number)
            case, relations = pipeline.visible_case(uow, actor, found.case_id)
        except NotFoundError:
            raise NotFoundError("case number", number) from None
        _viewed(deps, uow, actor, case)
    return _detail(actor, case, relations)


def _inputs(command: type[Command]) -> tuple[str, ...]:
    return tuple(a.name for a in attrs.fields(command) if a.name not in _GIVEN)  # type: ignore[arg-type]


def _defaults(action: Action, case: Case) -> dict[str, Any]:
    latest = case.latest_plan
    if action is Action.ACCEPT_PLAN and latest is not None:
        quote = case.quote_of(latest.number)  # the approve button offers the quoted package
        if quote is not None:
            return {"plan_version": latest.number, "package": quote.package_id}
    if action in (Action.ACCEPT_PLAN, Action.SHARE_PLAN) and latest is not None:
        return {"plan_version": latest.number}
    if action is Action.CONFIRM:
        return {
            "complete": case.records.confirmed_complete,
            "privacy": case.records.privacy_accepted,
        }
    return {}


def _choices(
    action: Action, case: Case, network: Network | None, actor: Account
) -> dict[str, tuple[tuple[str, str], ...]]:
    """The packages to pick from: those the latest plan fits when approving, those covering
    more than the approved one when upgrading (a network without packages offers none);
    the ways to pay kept on the owner's account when ordering or editing a draft."""
    if action in (Action.ORDER_FOLLOW_UP, Action.EDIT) and actor.account_id == case.owner_id:
        kept = tuple((str(m.method_id), m.label) for m in actor.payment_methods)
        return {"payment_method_id": kept}
    packages = () if network is None else network.packages
    plan, entitled = case.latest_plan, case.entitlements
    if action is Action.UPGRADE_PACKAGE:  # nothing to pick (no package yet): no button
        larger = [p for p in packages if entitled and p.covers_more_than(entitled.package)]
        return {"package": tuple((p.id, p.name) for p in larger)}
    if action is Action.ACCEPT_PLAN and plan is not None and packages:
        return {"package": tuple((p.id, p.name) for p in fitting(packages, plan.summary))}
    return {}


def _options(
    actor: Account,
    case: Case,
    relations: frozenset[permissions.Relation],
    parent: Case | None,
    include_blocked: bool,
    network: Network | None = None,
    practices: tuple[Practice, ...] | None = None,
) -> tuple[ActionOption, ...]:
    found: list[ActionOption] = []
    for action in sorted(lifecycle.possible_actions(case)):
        command = COMMAND_FOR.get(action)
        if command is None or permissions.refusal(actor, action, relations) is not None:
            continue
        attempt = lifecycle.Attempt(case, action, {}, parent, network, practices)
        reasons = tuple(lifecycle.blockers(attempt, inputs=False, targets=True))
        if reasons and not include_blocked:
            continue
        found.append(
            ActionOption(
                action,
                command,
                command.destructive,
                _inputs(command),
                _defaults(action, case),
                reasons,
                _warnings(action, case),
                _choices(action, case, network, actor),
            )
        )
    return tuple(found)


def _warnings(action: Action, case: Case) -> tuple[Reason, ...]:
    """What to read first: before submitting, scans that look like inches or metres; before
    approving, how the plan departs from the request."""
    if action is Action.SUBMIT:
        return scan_warnings(case.records)
    plan = case.latest_plan
    if action is not Action.ACCEPT_PLAN or plan is None:
        return ()
    return plan_warnings(case.request, plan)


def available_actions(
    deps: Deps, actor_id: UUID, case_id: UUID, *, include_blocked: bool = False
) -> tuple[ActionOption, ...]:
    """The actions the actor may take on the case now, each with its command and inputs.

    An action offered here succeeds when its command's inputs are valid; one not
    offered is refused. ``include_blocked=True`` adds the actions the user may take
    once the case is ready, each naming its ``blockers`` (a greyed-out Submit).
    """
    with deps.storage.unit_of_work() as uow:
        actor = pipeline.actor_of(uow, actor_id, "view")
        case, relations = pipeline.visible_case(uow, actor, case_id, invitee=True)
        parent = pipeline.parent_of(uow, case)
        network = pipeline.network_of(uow, case)
        practices = pipeline.practices_of(uow, case)
    return _options(actor, case, relations, parent, include_blocked, network, practices)


def blockers(
    deps: Deps,
    actor_id: UUID,
    case_id: UUID,
    action: Action | str,
    command: CaseCommand | None = None,
    inputs: Mapping[str, Any] | None = None,
) -> Blockers:
    """Why ``action`` would be refused now: the user, the case's state, the given inputs.

    Inputs are asked about only when given: a ``command``, or its fields as ``inputs``.
    """
    try:
        action = Action(action)
    except (TypeError, ValueError):
        raise ValidationError.of(
            "not_one_of", "$.action", choices=", ".join(a.value for a in Action)
        ) from None
    with deps.storage.unit_of_work() as uow:
        actor = pipeline.actor_of(uow, actor_id, action.value)
        case, relations = pipeline.visible_case(uow, actor, case_id, invitee=True)
        parent = pipeline.parent_of(uow, case)
        network = pipeline.network_of(uow, case)
        practices = pipeline.practices_of(uow, case)
    refused = permissions.refusal(actor, action, relations) is not None
    args: Mapping[str, Any] = (
        pipeline.CommandArgs(command) if command is not None else dict(inputs or {})
    )
    attempt = lifecycle.Attempt(case, action, args, parent, network, practices)
    state = lifecycle.blockers(attempt, inputs=False, targets=True)
    asked = command is not None or inputs is not None
    given = lifecycle.blockers(attempt, targets=True)[len(state) :] if asked else []
    return Blockers(
        permission=(Reason("not_permitted", kind="permission"),) if refused else (),
        state=tuple(state),
        inputs=tuple(given),
    )


def list_cases(deps: Deps, actor_id: UUID, query: CaseFilter | None = None) -> Page[CaseSummary]:
    """A page of the cases the actor may see (recorded in the audit log: who, which filters)."""
    chosen = query or CaseFilter()
    with deps.storage.unit_of_work() as uow:
        actor = pipeline.actor_of(uow, actor_id, "list cases")
        mine = _resolved(actor, chosen)
        page = _with_names(uow, uow.cases.list(permissions.scope_for(actor), mine))
        used = [a.name for a in attrs.fields(CaseFilter) if getattr(chosen, a.name) != a.default]
        subject = f"{page.total} cases; filters: {', '.join(used) or 'none'}"
        now = deps.clock.now()
        record(deps, uow, now, actor.network_id, actor.account_id, AuditAction.LIST_CASES, None,
               subject)  # fmt: skip
        uow.commit()
    return page


def _resolved(actor: Account, query: CaseFilter) -> CaseFilter:
    """ "My cases" as storage filters them: assigned to lab staff, owned by a doctor."""
    if not query.mine:
        return query
    if actor.role is Role.DOCTOR:
        return attrs.evolve(query, mine=False, owner_id=actor.account_id)
    return attrs.evolve(query, mine=False, assigned_to=actor.account_id)


def _with_names(uow: UnitOfWork, page: Page[CaseSummary]) -> Page[CaseSummary]:
    """The page's rows with their doctor's, assignee's, practice's and lab's names
    (one lookup each)."""
    people: dict[UUID, Account | None] = {}
    labs: dict[UUID, str] = {}

    def person(account_id: UUID | None) -> Account | None:
        if account_id is None:
            return None
        if account_id not in people:
            try:
                people[account_id] = uow.accounts.get(account_id)
            except NotFoundError:
                people[account_id] = None
        return people[account_id]

    def named(row: CaseSummary) -> CaseSummary:
        if row.network_id not in labs:
            try:
                labs[row.network_id] = uow.accounts.get_network(row.network_id).name
            except NotFoundError:
                labs[row.network_id] = ""
        doctor, assignee = person(row.owner_id), person(row.assigned_to)
        practice = doctor.practice(row.practice_id) if doctor and row.practice_id else None
        return attrs.evolve(
            row,
            doctor_name=doctor.display_name if doctor else "",
            lab_name=labs[row.network_id],
            assignee_name=assignee.display_name if assignee else "",
            practice_name=practice.name if practice else "",
        )

    return attrs.evolve(page, items=tuple(named(r) for r in page.items))


def dashboard(deps: Deps, actor_id: UUID, query: CaseFilter | None = None) -> Dashboard:
    with deps.storage.unit_of_work() as uow:
        actor = pipeline.actor_of(uow, actor_id, "list cases")
        chosen = None if query is None else _resolved(actor, query)
        counts = uow.cases.count_by_status(permissions.scope_for(actor), chosen)
    return Dashboard(dict(counts))


# -- people -----------------------------------------------------------------------------------
def _entry(account: Account) -> DirectoryEntry:
    return DirectoryEntry(
        account.account_id,
        account.display_name,
        account.role,
        account.clinic_name,
        account.is_active,
    )


def _people_of(case: Case) -> Iterable[UUID]:
    yield case.owner_id
    yield from (g.account_id for g in case.collaborators)
    if case.assigned_to is not None:
        yield case.assigned_to
    yield from (h.actor_id for h in case.history)
    yield from (c.author_id for c in case.comments)
    yield from (p.uploaded_by for p in case.plans)
    yield from (f.uploaded_by for f in case.records.files)


def _load(uow: UnitOfWork, ids: Iterable[UUID]) -> list[Account]:
    found: dict[UUID, Account] = {}
    for account_id in ids:
        if account_id in found:
            continue
        try:
            found[account_id] = uow.accounts.get(account_id)
        except NotFoundError:
            continue
    return list(found.values())


def directory(
    deps: Deps, viewer_id: UUID, case_id: UUID | None = None
) -> tuple[DirectoryEntry, ...]:
    """Display names and roles a viewer may see, to show who did what.

    With a case: everyone on it (its doctor, collaborators, planner, the authors of
    its timeline, comments, plans and files) plus the lab staff of its network, for
    anyone who may see the case. Without: the viewer's own network, its staff for a
    doctor and every account for lab staff and admins. Never an address or phone.
    """
    with deps.storage.unit_of_work() as uow:
        viewer = pipeline.actor_of(uow, viewer_id, "view")
        if case_id is not None:
            case, _ = pipeline.visible_case(uow, viewer, case_id, invitee=True)
            staff = [
                a for a in uow.accounts.in_network(case.network_id) if a.role is not Role.DOCTOR
            ]
            people = _load(uow, _people_of(case)) + staff
        else:
            network = uow.accounts.in_network(viewer.network_id)
            lab = viewer.role is not Role.DOCTOR
            people = [viewer, *(a for a in network if lab or a.role is not Role.DOCTOR)]
    unique = {a.account_id: a for a in people}
    return tuple(
        sorted(
            (_entry(a) for a in unique.values()), key=lambda e: (e.display_name, str(e.account_id))
        )
    )


def find_account(deps: Deps, login: str) -> Account:
    """The account whose username or e-mail is ``login`` (case-insensitive), for a shell's login.

    The shell authenticates; the library only finds the account. Blocked accounts
    are found too (the shell says "not activated yet"); nothing found is NotFoundError.
    """
    if not isinstance(login, str) or not 0 < len(login) <= 254:
        raise NotFoundError("account", "?")
    with deps.storage.unit_of_work() as uow:
        try:
            return uow.accounts.by_username(login)
        except NotFoundError:
            pass
        by_email = getattr(uow.accounts, "by_email", None)
        if by_email is not None and "@" in login:
            try:
                found: Account = by_email(login)
                return found
            except NotFoundError:
                pass
    raise NotFoundError("account", "?")


def network_admins(deps: Deps, reference_code: str) -> tuple[DirectoryEntry, ...]:
    """The active admins of the network with this reference code (whom to ask for activation)."""
    with deps.storage.unit_of_work() as uow:
        try:
            network = uow.accounts.network_by_code(reference_code)
        except NotFoundError:
            raise NotFoundError("network", "?") from None
        admins = [
            a
            for a in uow.accounts.in_network(network.network_id)
            if a.role is Role.ADMIN and a.is_active
        ]
    return tuple(_entry(a) for a in admins)


def catalogue(deps: Deps, actor_id: UUID) -> Catalogue:
    """The products the actor's network offers (what a new case may name)."""
    with deps.storage.unit_of_work() as uow:
        actor = pipeline.actor_of(uow, actor_id, "view")
        return uow.accounts.get_network(actor.network_id).products


def get_account(deps: Deps, actor_id: UUID, account_id: UUID) -> Account:
    with deps.storage.unit_of_work() as uow:
        actor = pipeline.actor_of(uow, actor_id, "view account")
        return account_for(uow, actor, account_id, "view account")


def list_accounts(
    deps: Deps,
    admin_id: UUID,
    search: str | None = None,
    status: AccountStatus | None = None,
    role: Role | None = None,
) -> list[Account]:
    """The admin's network's accounts; ``search`` words each match the start of a word of
    the name, the username or the e-mail (any case); ``status`` and ``role`` narrow them."""
    with deps.storage.unit_of_work() as uow:
        actor = pipeline.actor_of(uow, admin_id, "list accounts")
        permissions.require_admin_of(actor, actor.network_id, "list accounts")
        accounts = list(uow.accounts.in_network(actor.network_id))
    terms = name_key(search or "").split()[:MAX_SEARCH_TERMS]

    def fits(account: Account) -> bool:
        words = " " + " ".join(
            name_key(f"{account.display_name} {account.username} {account.email}")
            .replace("@", " ")
            .replace(".", " ")
            .split()
        )
        return all(" " + t in words for t in terms)

    return [
        a
        for a in accounts
        if (status is None or a.status is status) and (role is None or a.role is role) and fits(a)
    ]


# -- files and share links --------------------------------------------------------------------
def open_file(deps: Deps, actor_id: UUID, case_id: UUID, file_id: UUID) -> OpenedFile:
    """A file of a case the actor may see: its record and its bytes."""
    with deps.storage.unit_of_work() as uow:
        actor = pipeline.actor_of(uow, actor_id, "view")
        case, _ = pipeline.visible_case(uow, actor, case_id)
        ref = next((f for f in case.records.files if f.file_id == file_id), None)
        if ref is None:
            raise NotFoundError("file", file_id)
        _viewed(deps, uow, actor, case, f"file {file_id}")
    stored = FileRecord(
        ref.file_id, ref.kind, ref.name, ref.media_type, ref.size, ref.sha256, ref.uploaded_at
    )
    return OpenedFile(stored, deps.blobs.open(ref.sha256))


def resolve_share(deps: Deps, token: str) -> SharedPlan:
    """What a share link shows; ``NotFoundError`` for a bad, expired or revoked link.

    A link lives only while what it showed still stands: its plan version is the
    latest, the case is neither cancelled nor deleted, it still belongs to the
    doctor who shared it, and that doctor's account is active.
    """
    named = sharing.verify(deps.link_keys, token)
    if named is None:
        raise NotFoundError("share link", "?")
    case_id, share_id = named
    with deps.storage.unit_of_work() as uow:
        try:
            case = uow.cases.get(case_id)
            link = case.share(share_id)
            sharer = uow.accounts.get(link.created_by) if link else None
        except NotFoundError:
            raise NotFoundError("share link", "?") from None
        now = deps.clock.now()
        record(deps, uow, now, case.network_id, None, AuditAction.OPEN_SHARE_LINK, case.number,
               f"share link {share_id}")  # fmt: skip
        uow.commit()
    latest = case.latest_plan
    alive = (
        link is not None
        and sharer is not None
        and link.is_valid(now)
        and case.status not in (CaseStatus.DELETED, CaseStatus.CANCELLED)
        and latest is not None
        and link.plan_version == latest.number
        and link.created_by == case.owner_id
        and sharer.is_active
    )
    if not alive or link is None or latest is None:
        raise NotFoundError("share link", "?")
    return SharedPlan(case.number, case.kind, latest, link.expires_at)
