"""Networks and accounts: registration, activation, profiles (admins manage their network)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import attrs

from aligner_core.commands import (
    Activate,
    AddPractice,
    Block,
    CreateNetwork,
    MuteNotifications,
    OfferShades,
    Register,
    RemovePaymentMethod,
    RemovePractice,
    RequireConfirmations,
    SavePaymentMethod,
    SetCatalogue,
    SetPackages,
    SetPriceBook,
    UpdatePractice,
    UpdateProfile,
)
from aligner_core.domain import permissions
from aligner_core.domain.accounts import (
    Account,
    AccountStatus,
    Network,
    Practice,
    ProfileChanges,
    Registration,
    Role,
)
from aligner_core.domain.events import DomainEvent, EventType
from aligner_core.domain.invoices import TaxRate
from aligner_core.domain.packages import packages_by_id
from aligner_core.domain.payments import MAX_SAVED_PAYMENT_METHODS, SavedPaymentMethod
from aligner_core.domain.prices import PriceBook
from aligner_core.errors import NotFoundError, PermissionDeniedError, Reason, ValidationError
from aligner_core.ports import UnitOfWork
from aligner_core.service import pipeline
from aligner_core.service.deps import Deps

__all__ = [
    "account_for",
    "activate",
    "add_practice",
    "block",
    "create_network",
    "mute_notifications",
    "new_account",
    "register",
    "remove_payment_method",
    "remove_practice",
    "save_payment_method",
    "set_packages",
    "set_price_book",
    "update_practice",
    "update_profile",
]

#: What users may do to their own account (the rest is their network admin's).
_SELF_SERVICE = frozenset({"update profile", "manage practices", "manage payment methods"})


def new_account(  # an account as registered, in a network, with a status
    deps: Deps,
    reg: Registration,
    network_id: UUID,
    role: Role,
    now: datetime,
    status: AccountStatus,
) -> Account:
    return Account(
        account_id=deps.ids.new_id(),
        network_id=network_id,
        role=role,
        username=reg.username,
        email=reg.email,
        first_name=reg.first_name,
        last_name=reg.last_name,
        clinic_name=reg.clinic_name,
        shipping_address=reg.shipping_address,
        created_at=now,
        status=status,
        telephone=reg.telephone,
        language=reg.language,
    )


def create_network(
    deps: Deps, actor_id: UUID | None, command: CreateNetwork
) -> tuple[Network, Account]:
    """A lab's network with its first admin (active from the start): set-up, not a user action."""
    now = deps.clock.now()
    network = Network(deps.ids.new_id(), command.name, command.reference_code)
    admin = new_account(
        deps, command.admin, network.network_id, Role.ADMIN, now, AccountStatus.ACTIVE
    )
    with deps.storage.unit_of_work() as uow:
        uow.accounts.add_network(network)
        uow.accounts.add(admin)
        uow.commit()
    return network, admin


def _change_network(
    deps: Deps, actor_id: UUID, network_id: UUID, what: str, **changes: Any
) -> Network:
    """A network's settings changed by its admin."""
    with deps.storage.unit_of_work() as uow:
        actor = pipeline.actor_of(uow, actor_id, what)
        permissions.require_admin_of(actor, network_id, what)
        network = attrs.evolve(uow.accounts.get_network(network_id), **changes)
        uow.accounts.update_network(network)
        uow.commit()
    return network


def require_confirmations(deps: Deps, actor_id: UUID, command: RequireConfirmations) -> Network:
    """The network's admin sets which consent and terms versions cases confirm."""
    return _change_network(
        deps,
        actor_id,
        command.network_id,
        "require confirmations",
        consent_version=command.consent_version,
        terms_version=command.terms_version,
    )


def offer_shades(deps: Deps, actor_id: UUID, command: OfferShades) -> Network:
    """The network's admin sets the pontic shades its lab makes."""
    return _change_network(
        deps, actor_id, command.network_id, "offer shades", shades=command.shades
    )


def set_catalogue(deps: Deps, actor_id: UUID, command: SetCatalogue) -> Network:
    """The network's admin sets the products its practices order (None: the default)."""
    return _change_network(
        deps, actor_id, command.network_id, "set catalogue", catalogue=command.catalogue
    )


def set_price_book(deps: Deps, actor_id: UUID, command: SetPriceBook) -> Network:
    """The network's admin sets its prices: the next version, in effect from now.

    The earlier versions stay (a quote names the one it was priced from); every
    version is in the network's one currency.
    """
    now = deps.clock.now()
    with deps.storage.unit_of_work() as uow:
        actor = pipeline.actor_of(uow, actor_id, "set price book")
        permissions.require_admin_of(actor, command.network_id, "set price book")
        network = uow.accounts.get_network(command.network_id)
        latest = network.price_book
        if latest is not None:
            latest.currency.require(command.currency)
            now = max(now, latest.effective_from + timedelta(microseconds=1))
        book = PriceBook(
            network_id=network.network_id,
            currency=command.currency,
            version=1 if latest is None else latest.version + 1,
            effective_from=now,
            entries=command.entries,
            overrides=command.overrides,
        )
        tax = network.tax_percent if command.tax_percent is None else command.tax_percent
        TaxRate(tax)  # refused unless 0 to 100 percent, at most 4 decimal places
        network = attrs.evolve(network, price_books=(*network.price_books, book), tax_percent=tax)
        uow.accounts.update_network(network)
        uow.commit()
    return network


def set_packages(deps: Deps, actor_id: UUID, command: SetPackages) -> Network:
    """The network's admin sets the packages its plans are quoted in (ids are unique)."""
    packages_by_id(command.packages)
    return _change_network(
        deps, actor_id, command.network_id, "set packages", packages=command.packages
    )


def register(deps: Deps, actor_id: UUID | None, command: Register) -> Account:
    """A new account, blocked until a network admin activates it.

    The reference code names the network to join; without one the account joins
    the default network given to ``connect`` (or is refused).
    """
    code = command.registration.reference_code or deps.default_reference_code
    if not code:
        raise ValidationError.of("reference_code_needed", "$.reference_code")
    with deps.storage.unit_of_work() as uow:
        try:
            network = uow.accounts.network_by_code(code)
        except NotFoundError:
            raise ValidationError.of("unknown_reference_code", "$.reference_code") from None
        account = new_account(
            deps,
            command.registration,
            network.network_id,
            command.role,
            deps.clock.now(),
            AccountStatus.BLOCKED,
        )
        uow.accounts.add(account)
        uow.commit()
    return account


def account_for(uow: UnitOfWork, actor: Account, account_id: UUID, action: str) -> Account:
    """Another account, for its network's admin only; others learn nothing of it."""
    if actor.account_id == account_id:
        return actor
    permissions.require_admin_of(actor, actor.network_id, action)
    try:
        target = uow.accounts.get(account_id)
    except NotFoundError:
        raise NotFoundError("account", account_id) from None
    if target.network_id != actor.network_id:
        raise NotFoundError("account", account_id)
    return target


def _manage(
    deps: Deps,
    actor_id: UUID,
    account_id: UUID,
    action: str,
    change: Callable[[Account], Account],
    event: EventType | None,
) -> Account:
    with deps.storage.unit_of_work() as uow:
        now = deps.clock.now()
        actor = pipeline.actor_of(uow, actor_id, action)
        if actor.account_id == account_id and action not in _SELF_SERVICE:
            permissions.require_admin_of(actor, actor.network_id, action)
        target = account_for(uow, actor, account_id, action)
        updated = attrs.evolve(change(target), version=target.version + 1)
        uow.accounts.update(updated)
        if event is not None:
            happened = DomainEvent(
                type=event,
                at=now,
                actor_id=actor.account_id,
                network_id=target.network_id,
                account_id=account_id,
            )
            pipeline.queue_event(deps, uow, happened, None, now)
        uow.commit()
    return updated


def activate(deps: Deps, actor_id: UUID, command: Activate) -> Account:
    return _manage(
        deps,
        actor_id,
        command.account_id,
        "activate",
        lambda a: attrs.evolve(a, status=AccountStatus.ACTIVE),
        EventType.ACCOUNT_ACTIVATED,
    )


def block(deps: Deps, actor_id: UUID, command: Block) -> Account:
    if actor_id == command.account_id:
        raise PermissionDeniedError(
            actor_id, "block", command.account_id, Reason("cannot_block_self", kind="permission")
        )
    return _manage(
        deps,
        actor_id,
        command.account_id,
        "block",
        lambda a: attrs.evolve(a, status=AccountStatus.BLOCKED),
        EventType.ACCOUNT_BLOCKED,
    )


def _changed(account: Account, changes: ProfileChanges) -> Account:
    values = {k: v for k, v in attrs.asdict(changes, recurse=False).items() if v is not None}
    return attrs.evolve(account, **values)


def update_profile(deps: Deps, actor_id: UUID, command: UpdateProfile) -> Account:
    """The user themself or an admin of their network."""
    return _manage(
        deps,
        actor_id,
        command.account_id,
        "update profile",
        lambda a: _changed(a, command.changes),
        None,
    )


def mute_notifications(deps: Deps, actor_id: UUID, command: MuteNotifications) -> Account:
    names = tuple(sorted({e.value for e in command.events}))
    return _manage(
        deps,
        actor_id,
        actor_id,
        "update profile",
        lambda a: attrs.evolve(a, muted_notifications=names),
        None,
    )


# -- treating practices (#15 item 5) -----------------------------------------------------------
def _practices(
    deps: Deps,
    actor_id: UUID,
    account_id: UUID,
    change: Callable[[tuple[Practice, ...]], tuple[Practice, ...]],
) -> Account:
    """A doctor's practices changed by the doctor or their network's admin."""

    def changed(account: Account) -> Account:
        if account.role is not Role.DOCTOR:
            raise ValidationError.of("practices_for_doctors", "$.account_id")
        kept = attrs.evolve(account, practices=change(account.practices))
        # a removed practice's ways to pay go with it
        payable = tuple(m for m in kept.payment_methods if kept.may_pay_with(m.payment))
        return attrs.evolve(kept, payment_methods=payable)

    return _manage(deps, actor_id, account_id, "manage practices", changed, None)


def _known(practices: tuple[Practice, ...], practice_id: UUID) -> None:
    if all(p.practice_id != practice_id for p in practices):
        raise NotFoundError("practice", practice_id)


def add_practice(deps: Deps, actor_id: UUID, command: AddPractice) -> Account:
    """A new practice, last in the account's list."""
    new = Practice(deps.ids.new_id(), command.name, command.shipping_address)
    return _practices(deps, actor_id, command.account_id, lambda ps: (*ps, new))


def update_practice(deps: Deps, actor_id: UUID, command: UpdatePractice) -> Account:
    """A practice's name or address; drafts pick the change up when they are submitted."""
    new = Practice(command.practice_id, command.name, command.shipping_address)

    def change(ps: tuple[Practice, ...]) -> tuple[Practice, ...]:
        _known(ps, command.practice_id)
        return tuple(new if p.practice_id == command.practice_id else p for p in ps)

    return _practices(deps, actor_id, command.account_id, change)


def remove_practice(deps: Deps, actor_id: UUID, command: RemovePractice) -> Account:
    """A practice gone; drafts naming it must name another before submission."""

    def change(ps: tuple[Practice, ...]) -> tuple[Practice, ...]:
        _known(ps, command.practice_id)
        return tuple(p for p in ps if p.practice_id != command.practice_id)

    return _practices(deps, actor_id, command.account_id, change)


# -- ways to pay kept on the account -----------------------------------------------------------
def _wallet(
    deps: Deps, actor_id: UUID, account_id: UUID, change: Callable[[Account], Account]
) -> Account:
    """A doctor's kept ways to pay changed by the doctor or their network's admin."""

    def changed(account: Account) -> Account:
        if account.role is not Role.DOCTOR:
            raise ValidationError.of("payment_methods_for_doctors", "$.account_id")
        return change(account)

    return _manage(deps, actor_id, account_id, "manage payment methods", changed, None)


def save_payment_method(deps: Deps, actor_id: UUID, command: SavePaymentMethod) -> Account:
    """A way to pay kept last in the account's list (the doctor's own or a practice's)."""
    saved = SavedPaymentMethod(deps.ids.new_id(), command.label, command.payment)

    def change(account: Account) -> Account:
        if not account.may_pay_with(command.payment):
            raise ValidationError.of("payment_not_owned", "$.payment.owner_id")
        if len(account.payment_methods) >= MAX_SAVED_PAYMENT_METHODS:
            raise ValidationError.of("too_many", "$", max=MAX_SAVED_PAYMENT_METHODS)
        return attrs.evolve(account, payment_methods=(*account.payment_methods, saved))

    return _wallet(deps, actor_id, command.account_id, change)


def remove_payment_method(deps: Deps, actor_id: UUID, command: RemovePaymentMethod) -> Account:
    """A kept way to pay forgotten; orders that used it keep their copy."""

    def change(account: Account) -> Account:
        if account.payment_method(command.method_id) is None:
            raise NotFoundError("payment method", command.method_id)
        kept = tuple(m for m in account.payment_methods if m.method_id != command.method_id)
        return attrs.evolve(account, payment_methods=kept)

    return _wallet(deps, actor_id, command.account_id, change)
