"""Writes a unit of work has queued but not yet stored: the bookkeeping every storage shares.

Every adapter buffers its writes and applies them at commit (memory under its
lock, SQLite in one ``BEGIN IMMEDIATE``, PostgreSQL in one transaction). The
rules for what a buffered write may be are the same everywhere, so they live
here once: a new case has version 1; a change is exactly one version ahead of
what this unit of work last saw; several changes to one case in one unit of
work are stored as a single version step; reads see the unit's own writes first.
"""

from __future__ import annotations

from uuid import UUID

import attrs

from aligner_core.domain.accounts import Account
from aligner_core.domain.cases import Case
from aligner_core.errors import ConcurrencyConflictError, ValidationError

__all__ = ["PendingAccounts", "PendingCases"]


class PendingCases:
    """Cases added or changed in one unit of work (``added`` and ``updated`` by id)."""

    def __init__(self) -> None:
        self.added: dict[UUID, Case] = {}
        self.updated: dict[UUID, Case] = {}

    def add(self, case: Case) -> None:
        if case.version != 1:
            raise ValidationError.single("a new case has version 1", "$.version")
        self.added[case.case_id] = case

    def update(self, case: Case) -> None:
        """Queue a change; the stored version is checked at commit (``case.version - 1``)."""
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


class PendingAccounts:
    """Accounts added or changed in one unit of work."""

    def __init__(self) -> None:
        self.added: dict[UUID, Account] = {}
        self.updated: dict[UUID, Account] = {}

    def add(self, account: Account) -> None:
        self.added[account.account_id] = account

    def update(self, account: Account) -> None:
        self.updated[account.account_id] = account

    def find(self, account_id: UUID) -> Account | None:
        return self.updated.get(account_id) or self.added.get(account_id)

    def find_username(self, username: str) -> Account | None:
        key = username.casefold()
        for account in (*self.updated.values(), *self.added.values()):
            if account.username.casefold() == key:
                return account
        return None

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
