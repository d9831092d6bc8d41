"""Networks and accounts: registration, activation, profiles (admins manage their network)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from uuid import UUID

import attrs

from aligner_core.domain import permissions
from aligner_core.domain.accounts import Account, AccountStatus, Network, Role
from aligner_core.domain.events import EventType
from aligner_core.errors import NotFoundError, PermissionDeniedError, ValidationError
from aligner_core.service._base import ServiceBase
from aligner_core.service.inputs import ProfileChanges, Registration

__all__ = ["AccountCommands"]


class AccountCommands(ServiceBase):
    """Networks and accounts: registration, activation, profiles (admins manage their network)."""

    # ------------------------------------------------------------------ networks and accounts
    def create_network(
        self, name: str, reference_code: str, admin: Registration
    ) -> tuple[Network, Account]:
        """Set up a lab's network with its first admin (active from the start)."""
        now = self.clock.now()
        network = Network(self.ids.new_id(), name, reference_code)
        account = self._account_from(
            admin, network.network_id, Role.ADMIN, now, AccountStatus.ACTIVE
        )
        with self._uow() as uow:
            uow.accounts.add_network(network)
            uow.accounts.add(account)
            uow.commit()
        return network, account

    def _account_from(
        self, reg: Registration, network_id: UUID, role: Role, now: datetime, status: AccountStatus
    ) -> Account:
        return Account(
            account_id=self.ids.new_id(),
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

    def register(self, registration: Registration, role: Role = Role.DOCTOR) -> Account:
        """A new account, blocked until a network admin activates it.

        The reference code names the network to join; without one the account
        joins the default network given to ``connect`` (or is refused).
        """
        code = registration.reference_code or self.default_reference_code
        if not code:
            raise ValidationError.single(
                "a reference code is needed to join a network", "$.reference_code"
            )
        if role is Role.ADMIN:
            raise ValidationError.single("admins are appointed, not registered", "$.role")
        with self._uow() as uow:
            try:
                network = uow.accounts.network_by_code(code)
            except NotFoundError:
                raise ValidationError.single("unknown reference code", "$.reference_code") from None
            account = self._account_from(
                registration, network.network_id, role, self.clock.now(), AccountStatus.BLOCKED
            )
            uow.accounts.add(account)
            uow.commit()
        return account

    def _manage(
        self,
        admin_id: UUID,
        account_id: UUID,
        action: str,
        change: Callable[[Account], Account],
        event: EventType | None,
    ) -> Account:
        with self._uow() as uow:
            actor = self._actor(uow, admin_id, action)
            if actor.account_id == account_id and action != "update profile":
                permissions.require_admin_of(actor, actor.network_id, action)
            target = self._account_for(uow, actor, account_id, action)
            updated = attrs.evolve(change(target), version=target.version + 1)
            uow.accounts.update(updated)
            if event is not None:
                self._queue(
                    uow,
                    self._event(event, actor, network_id=target.network_id, account_id=account_id),
                    None,
                )
            uow.commit()
        return updated

    def activate(self, admin_id: UUID, account_id: UUID) -> Account:
        return self._manage(
            admin_id,
            account_id,
            "activate",
            lambda a: attrs.evolve(a, status=AccountStatus.ACTIVE),
            EventType.ACCOUNT_ACTIVATED,
        )

    def block(self, admin_id: UUID, account_id: UUID) -> Account:
        if admin_id == account_id:
            raise PermissionDeniedError(
                admin_id, "block", account_id, "admins cannot block themselves"
            )
        return self._manage(
            admin_id,
            account_id,
            "block",
            lambda a: attrs.evolve(a, status=AccountStatus.BLOCKED),
            EventType.ACCOUNT_BLOCKED,
        )

    def update_profile(self, actor_id: UUID, account_id: UUID, changes: ProfileChanges) -> Account:
        """The user themself or an admin of their network."""
        values = {k: v for k, v in attrs.asdict(changes, recurse=False).items() if v is not None}
        return self._manage(
            actor_id, account_id, "update profile", lambda a: attrs.evolve(a, **values), None
        )

    def set_muted_notifications(self, actor_id: UUID, muted: Iterable[EventType]) -> Account:
        names = tuple(sorted({EventType(m).value for m in muted}))
        return self._manage(
            actor_id,
            actor_id,
            "update profile",
            lambda a: attrs.evolve(a, muted_notifications=names),
            None,
        )

    def get_account(self, actor_id: UUID, account_id: UUID) -> Account:
        with self._uow() as uow:
            actor = self._actor(uow, actor_id, "view account")
            return self._account_for(uow, actor, account_id, "view account")

    def list_accounts(self, admin_id: UUID) -> list[Account]:
        with self._uow() as uow:
            actor = self._actor(uow, admin_id)
            permissions.require_admin_of(actor, actor.network_id, "list accounts")
            return list(uow.accounts.in_network(actor.network_id))
