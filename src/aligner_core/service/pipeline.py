"""One case command, start to end, in one place.

``run`` is the path every command on an existing case takes: one unit of work,
one clock reading (shared by the history entry, the event and the outbox), the
actor loaded and checked once, the case loaded as the actor may see it, the
stale-tab check, permission computed once, the lifecycle asked (every unmet
precondition at once), the handler's change, history and deadline, the outbox
entries, commit. Handlers (``service/handlers``) only say what changes.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

import attrs

from aligner_core.commands import CaseCommand
from aligner_core.domain import lifecycle, permissions
from aligner_core.domain.accounts import Account, Network, Practice
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import Case, CaseStatus, Deadline, HistoryEntry, Hold
from aligner_core.domain.deadlines import (
    Stage,
    add_business_days,
    business_days_between,
    turnaround,
)
from aligner_core.domain.erasure import FREE_TEXT_DETAILS
from aligner_core.domain.events import DomainEvent, EventType
from aligner_core.domain.prescriptions import Design
from aligner_core.domain.products import Product
from aligner_core.errors import (
    ConcurrencyConflictError,
    NotFoundError,
    PermissionDeniedError,
    Reason,
)
from aligner_core.notifications.outbox import entries_for
from aligner_core.ports import UnitOfWork
from aligner_core.service.deps import Deps

__all__ = [
    "Change",
    "CommandArgs",
    "Step",
    "actor_of",
    "queue_event",
    "run",
    "tell",
    "visible_case",
]

#: Log lines name case numbers, account ids and actions: never a patient.
log = logging.getLogger("aligner_core.service")

C = TypeVar("C", bound=CaseCommand)


@attrs.frozen
class Step(Generic[C]):
    """What a handler sees: the command, the case, the actor, the time, the unit of work."""

    command: C
    case: Case
    actor: Account
    now: datetime
    uow: UnitOfWork
    deps: Deps
    prepared: Any = None


@attrs.frozen
class Change:
    """What a command did to a case, for the history and the outbox."""

    case: Case
    event: EventType | None = None
    details: Mapping[str, object] = attrs.field(factory=dict)
    subject_id: UUID | None = None
    #: facts for the e-mails only, never in the case's history (an invitation's token)
    mail_only: Mapping[str, object] = attrs.field(factory=dict)


Handler = Callable[[Step[Any]], Change]


class CommandArgs(Mapping[str, Any]):
    """A command's fields as the mapping the lifecycle guards read."""

    __slots__ = ("_command",)

    def __init__(self, command: object) -> None:
        self._command = command

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self._command, key)
        except AttributeError:
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[str]:
        return iter(a.name for a in attrs.fields(type(self._command)))  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(attrs.fields(type(self._command)))  # type: ignore[arg-type]


def actor_of(uow: UnitOfWork, actor_id: UUID, action: str = "act") -> Account:
    """The acting user, refused when unknown or blocked (naming the action tried)."""
    try:
        actor = uow.accounts.get(actor_id)
    except NotFoundError:
        raise PermissionDeniedError(actor_id, action, None, Reason("unknown_user")) from None
    if not actor.is_active:
        raise PermissionDeniedError(actor_id, action, None, Reason("account_blocked"))
    return actor


def visible_case(
    uow: UnitOfWork, actor: Account, case_id: UUID, *, invitee: bool = False
) -> tuple[Case, frozenset[permissions.Relation]]:
    """The case and the actor's relations to it; 'not found' when they may not see it.

    An invited collaborator sees nothing before answering; ``invitee=True`` lets
    the invitation answer itself through.
    """
    case = uow.cases.get(case_id)
    relations = permissions.relations(actor, case)
    allowed = permissions.MATRIX[Action.VIEW]
    if invitee:
        allowed = allowed | {permissions.Relation.INVITEE}
    if case.status is CaseStatus.DELETED or not relations & allowed:
        raise NotFoundError("case", case_id)
    return case, relations


def network_of(uow: UnitOfWork, case: Case) -> Network | None:
    """The case's network (what it requires before submission), None when it is gone."""
    try:
        return uow.accounts.get_network(case.network_id)
    except NotFoundError:
        return None


def practices_of(uow: UnitOfWork, case: Case) -> tuple[Practice, ...] | None:
    """The owner's treating practices (what the order's practice must be one of)."""
    try:
        return uow.accounts.get(case.owner_id).practices
    except NotFoundError:
        return None


def product_of(uow: UnitOfWork, case: Case, network: Network | None = None) -> Product | None:
    """The case's product in its network's catalogue (None: not named, or no longer offered)."""
    if case.product is None:
        return None
    network = network or network_of(uow, case)
    return network.products.product(case.product) if network is not None else None


def parent_of(uow: UnitOfWork, case: Case) -> Case | None:
    if case.parent_id is None:
        return None
    try:
        return uow.cases.get(case.parent_id)
    except NotFoundError:
        return None


def action_of(command: CaseCommand, case: Case) -> Action:
    """The action a command takes on this case (a file is a later document once submitted)."""
    action = type(command).action
    if action is Action.ATTACH and case.status is not CaseStatus.DRAFT:
        return Action.ADD_DOCUMENT
    assert action is not None, f"{type(command).__name__} names no action"
    return action


def check_version(command: CaseCommand, case: Case) -> None:
    """A stale tab: the user saw another version of the case than the one stored."""
    expected = command.expected_version
    if expected is not None and expected != case.version:
        raise ConcurrencyConflictError("case", case.number, expected, case.version)


#: How often a command that lost the race for an invoice number runs again: the number is
#: the network's, not the case's, so the user has nothing to reload.
NUMBER_RACE_ATTEMPTS = 12


def run(
    deps: Deps, actor_id: UUID, command: CaseCommand, handler: Handler, prepared: Any = None
) -> Case:
    """Run one command on one case: everything in one unit of work, or nothing (again, when
    another writer took the invoice number it drew)."""
    for attempt in range(NUMBER_RACE_ATTEMPTS):
        try:
            return _run_once(deps, actor_id, command, handler, prepared)
        except ConcurrencyConflictError as conflict:
            if conflict.kind != "invoice number" or attempt == NUMBER_RACE_ATTEMPTS - 1:
                raise
            log.info("%s: invoice number taken, running again", type(command).__name__)
            pause_after_race(attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def pause_after_race(attempt: int) -> None:
    """A short random wait before running again, so the winners get through first."""
    time.sleep(random.uniform(0, 0.002 * (attempt + 1)))


def _run_once(
    deps: Deps, actor_id: UUID, command: CaseCommand, handler: Handler, prepared: Any
) -> Case:
    with deps.storage.unit_of_work() as uow:
        now = deps.clock.now()
        name = type(command).action
        actor = actor_of(uow, actor_id, name.value if name else "act")
        case, relations = visible_case(
            uow, actor, command.case_id, invitee=name is Action.RESPOND_INVITATION
        )
        action = action_of(command, case)
        permissions.ensure_relations(actor, action, case, relations)
        check_version(command, case)
        parent = parent_of(uow, case) if action is Action.SUBMIT else None
        network = network_of(uow, case) if action is Action.SUBMIT else None
        practices = practices_of(uow, case) if action is Action.SUBMIT else None
        args = CommandArgs(command)
        attempt = lifecycle.Attempt(case, action, args, parent, network, practices)
        status = lifecycle.fire(attempt)
        done = handler(Step(command, case, actor, now, uow, deps, prepared))
        product = product_of(uow, case, network) if status is not case.status else None
        updated = advance(deps, case, done.case, status, actor, action, now, done.details, product)
        uow.cases.update(updated)
        if done.event is not None:
            data = {**done.details, **done.mail_only, "action": action.value}
            facts = {k: v for k, v in data.items() if k not in FREE_TEXT_DETAILS}
            tell(deps, uow, done.event, updated, actor.account_id, now, done.subject_id, facts)
        uow.commit()
    log.info(
        "case %d: %s by %s (%s -> %s, version %d)",
        updated.number,
        action.value,
        actor_id,
        case.status.value,
        updated.status.value,
        updated.version,
    )
    return updated


def tell(
    deps: Deps,
    uow: UnitOfWork,
    what: EventType,
    case: Case,
    actor_id: UUID,
    now: datetime,
    subject_id: UUID | None,
    data: Mapping[str, object],
) -> None:
    """The event of a change to ``case``, its e-mails queued in the same unit of work."""
    event = DomainEvent(
        type=what,
        at=now,
        actor_id=actor_id,
        network_id=case.network_id,
        case_id=case.case_id,
        case_number=case.number,
        account_id=subject_id,
        data=data,
    )
    queue_event(deps, uow, event, case, now)


def queue_event(
    deps: Deps, uow: UnitOfWork, event: DomainEvent, case: Case | None, now: datetime
) -> None:
    """The event's e-mails, queued in the command's unit of work (the outbox)."""
    for entry in entries_for(
        event,
        case,
        uow.accounts,
        new_id=deps.ids.new_id,
        now=now,
        message_id_domain=deps.message_id_domain,
    ):
        uow.outbox.add(entry)


def advance(
    deps: Deps,
    before: Case,
    changed: Case,
    status: CaseStatus,
    actor: Account,
    action: Action,
    now: datetime,
    details: Mapping[str, object],
    product: Product | None = None,
) -> Case:
    """Status, hold, deadline, timestamps, history and version after an action."""
    hold = changed.hold
    if status is CaseStatus.ON_HOLD and before.status is not CaseStatus.ON_HOLD:
        hold = Hold(str(details.get("reason", "")), before.status, now)
    elif status is not CaseStatus.ON_HOLD:
        hold = None
    entry = HistoryEntry(
        at=now,
        actor_id=actor.account_id,
        action=action.value,
        from_status=before.status,
        to_status=status,
        details={k: v for k, v in details.items() if v is not None},
    )
    return attrs.evolve(
        changed,
        status=status,
        hold=hold,
        records_request=changed.records_request if status is CaseStatus.AWAITING_RECORDS else None,
        deadline=_deadline(deps, before, status, action, now, changed, product),
        updated_at=now,
        submitted_at=now if action is Action.SUBMIT else changed.submitted_at,
        accepted_at=(
            now
            if status is CaseStatus.IN_PRODUCTION and changed.accepted_at is None
            else changed.accepted_at
        ),
        history=changed.history + (entry,),  # noqa: RUF005 - one copy, C speed
        version=before.version + 1,
    )


#: Statuses in which the lab waits (on hold, on the doctor's records): its clock stops.
_WAITING = (CaseStatus.ON_HOLD, CaseStatus.AWAITING_RECORDS)


def _deadline(
    deps: Deps,
    before: Case,
    status: CaseStatus,
    action: Action,
    now: datetime,
    case: Case,
    product: Product | None,
) -> Deadline | None:
    """The lab's due date: set on entering a lab stage (the product's turnaround, or the
    lab's table), paused on hold, moved on release."""
    today = now.date()
    design = case.request.design if case.request else Design.STANDARD
    if status is before.status:
        return before.deadline
    if status in _WAITING:
        d = before.deadline
        return attrs.evolve(d, paused_since=d.paused_since or today) if d else None
    if before.status in _WAITING and status is not CaseStatus.CANCELLED:
        d = before.deadline
        if d is None or d.paused_since is None:
            return d
        moved = business_days_between(d.paused_since, today)
        return Deadline(d.stage, add_business_days(d.due, moved), None)
    stage = {
        CaseStatus.IN_PLANNING: (
            Stage.MODIFICATION if action is Action.REQUEST_MODIFICATION else Stage.PLANNING
        ),
        CaseStatus.IN_PRODUCTION: Stage.PRODUCTION,
        CaseStatus.LAB_REVIEW: Stage.REVIEW,
    }.get(status)
    if stage is None:
        return None
    own = product.days(stage, design) if product is not None else None
    days = own if own is not None else turnaround(stage, design, deps.turnaround_table)
    return Deadline(stage.value, add_business_days(today, days))
