"""Writes a unit of work has queued but not yet stored: the bookkeeping every storage shares.

Every adapter buffers its writes and applies them at commit. The rules for what
a buffered write may be are the same everywhere, so they live here once: a new
case has version 1; a change is exactly one version ahead of what this unit of
work last saw; several changes to one case in one unit of work are stored as a
single version step; reads see the unit's own writes first; numbers fit 64 bits.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import attrs

from aligner_core.domain.accounts import Account, Network
from aligner_core.domain.cases import Case
from aligner_core.domain.queries import MAX_NUMBER, storable_text
from aligner_core.errors import ConcurrencyConflictError, ValidationError

__all__ = [
    "PendingAccounts",
    "PendingCases",
    "check_count",
    "check_text",
    "fits",
]


def fits(number: int) -> bool:
    """A number every store can hold (a signed 64-bit integer)."""
    return -MAX_NUMBER - 1 <= number <= MAX_NUMBER


def check_count(value: int, path: str) -> None:
    """``ValidationError`` unless ``value`` is a non-negative 64-bit integer."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_NUMBER:
        raise ValidationError.of("out_of_range", path, min=0, max=MAX_NUMBER)


def check_text(value: str | None, path: str) -> None:
    """``ValidationError`` for text no store can hold (NUL, lone surrogates)."""
    if value is not None and not storable_text(value):
        raise ValidationError.of("not_storable", path)


def _check_case(case: Case) -> None:
    check_count(case.number, "$.number")
    check_count(case.version, "$.version")


class PendingCases:
    """Cases added or changed in one unit of work (``added`` and ``updated`` by id)."""

    def __init__(self) -> None:
        self.added: dict[UUID, Case] = {}
        self.updated: dict[UUID, Case] = {}

    def add(self, case: Case) -> None:
        if case.version != 1:
            raise ValidationError.of("new_case_version", "$.version")
        _check_case(case)
        self.added[case.case_id] = case

    def update(self, case: Case) -> None:
        """Queue a change; the stored version is checked at commit (``case.version - 1``)."""
        _check_case(case)
        if case.case_id in self.added:
            base = self.added[case.case_id]
            if case.version != base.version + 1:
                raise ConcurrencyConflictError("case", case.case_id, case.version - 1, base.version)
            self.added[case.case_id] = attrs.evolve(case, version=1)
            return
        if case.case_id in self.updated:
            # a second change in the same unit of work: one version step in all
            prev = self.updated[case.case_id]
            if case.version != prev.version + 1:
                raise ConcurrencyConflictError("case", case.case_id, case.version - 1, prev.version)
            case = attrs.evolve(case, version=prev.version)
        self.updated[case.case_id] = case

    def find(self, case_id: UUID) -> Case | None:
        return self.updated.get(case_id) or self.added.get(case_id)

    def find_number(self, number: int) -> Case | None:
        for case in (*self.updated.values(), *self.added.values()):
            if case.number == number:
                return case
        return None

    def __bool__(self) -> bool:
        return bool(self.added or self.updated)


class PendingAccounts:
    """Networks and accounts added or changed in one unit of work."""

    def __init__(self) -> None:
        self.networks: dict[UUID, Network] = {}
        self.changed_networks: dict[UUID, Network] = {}
        self.added: dict[UUID, Account] = {}
        self.updated: dict[UUID, Account] = {}

    def add_network(self, network: Network) -> None:
        self.networks[network.network_id] = network

    def update_network(self, network: Network) -> None:
        if network.network_id in self.networks:  # added in this unit: stored once, as changed
            self.networks[network.network_id] = network
        else:
            self.changed_networks[network.network_id] = network

    def find_network(self, network_id: UUID) -> Network | None:
        return self.networks.get(network_id) or self.changed_networks.get(network_id)

    def find_code(self, reference_code: str) -> Network | None:
        key = reference_code.casefold()
        for network in self.networks.values():
            if network.reference_code.casefold() == key:
                return network
        return None

    def add(self, account: Account) -> None:
        check_count(account.version, "$.version")
        self.added[account.account_id] = account

    def update(self, account: Account) -> None:
        check_count(account.version, "$.version")
        self.updated[account.account_id] = account

    def find(self, account_id: UUID) -> Account | None:
        return self.updated.get(account_id) or self.added.get(account_id)

    def find_username(self, username: str) -> Account | None:
        key = username.casefold()
        return next((a for a in self._all() if a.username.casefold() == key), None)

    def find_email(self, email: str) -> Account | None:
        key = email.casefold()
        return next((a for a in self._all() if a.email.casefold() == key), None)

    def _all(self) -> Iterable[Account]:
        return (*self.updated.values(), *self.added.values())

    def in_network(self, stored: Iterable[Account], network_id: UUID) -> list[Account]:
        """``stored`` accounts of a network with this unit's own changes, sorted by username."""
        found = {a.account_id: a for a in stored}
        for pending in (self.added, self.updated):
            found.update({k: a for k, a in pending.items() if a.network_id == network_id})
        return sorted(found.values(), key=lambda a: a.username.casefold())

    def final_added(self) -> dict[UUID, Account]:
        """New accounts as they are to be stored (one changed in the same unit stays version 1)."""
        return {
            account_id: (
                attrs.evolve(self.updated[account_id], version=1)
                if account_id in self.updated
                else account
            )
            for account_id, account in self.added.items()
        }

    def final_updated(self) -> dict[UUID, Account]:
        """Changes to accounts that existed before this unit of work."""
        return {k: a for k, a in self.updated.items() if k not in self.added}

    def __bool__(self) -> bool:
        return bool(self.networks or self.changed_networks or self.added or self.updated)
