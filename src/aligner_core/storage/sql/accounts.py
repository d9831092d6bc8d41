"""Networks and accounts in SQL; uniqueness is the database's, clashes name the field."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from aligner_core.domain.accounts import Account, Network
from aligner_core.domain.queries import storable_text
from aligner_core.errors import ConcurrencyConflictError, NotFoundError, ValidationError
from aligner_core.storage._pending import PendingAccounts
from aligner_core.storage.sql.columns import as_uuid, check_document
from aligner_core.storage.sql.dialect import Cursor

if TYPE_CHECKING:
    from aligner_core.storage.sql.unit_of_work import SqlUnitOfWork

__all__ = ["SqlAccountRepository"]

_Rows = list[tuple[str, tuple[Any, ...]]]
_Prepared = tuple[_Rows, list[tuple[Account, str]], list[tuple[Network, str]]]


class SqlAccountRepository:
    """Networks and accounts of one unit of work (reads see its own writes first)."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._memo = uow.storage.account_memo
        self._networks = uow.storage.network_memo
        self.pending = PendingAccounts()
        self.added, self.updated = self.pending.added, self.pending.updated

    # ------------------------------------------------------------------ networks
    def add_network(self, network: Network) -> None:
        self.pending.add_network(network)

    def update_network(self, network: Network) -> None:
        self.pending.update_network(network)

    def get_network(self, network_id: UUID) -> Network:
        if (found := self.pending.find_network(network_id)) is not None:
            return found
        rows = self._uow.session.fetch(
            "SELECT network_id, doc FROM networks WHERE network_id = ?", (str(network_id),)
        )
        return self._network(rows, network_id)

    def network_by_code(self, reference_code: str) -> Network:
        if (pending := self.pending.find_code(reference_code)) is not None:
            return pending
        key = reference_code.casefold()
        rows = []
        if storable_text(key):
            rows = self._uow.session.fetch(
                "SELECT network_id, doc FROM networks WHERE code_key = ?", (key,)
            )
        return self._network(rows, reference_code, "network with reference code")

    def _network(self, rows: list[Any], key: object, kind: str = "network") -> Network:
        if not rows:
            raise NotFoundError(kind, key)
        network_id, doc = as_uuid(rows[0][0]), rows[0][1]
        held = self._networks.get(network_id)  # parsed once per version of its document
        if held is not None and held[0] == doc:
            return held[1]
        found = self._uow.storage.converter.document_loads(doc, Network)
        self._networks[network_id] = (doc, found)
        return found

    # ------------------------------------------------------------------ accounts
    def add(self, account: Account) -> None:
        self.pending.add(account)

    def update(self, account: Account) -> None:
        self.pending.update(account)

    def get(self, account_id: UUID) -> Account:
        if (pending := self.pending.find(account_id)) is not None:
            return pending
        found = self._memo.fetch(self._uow.session, "accounts", "account_id", account_id)
        if found is None:
            raise NotFoundError("account", account_id)
        return found

    def _by(self, column: str, text: str, pending: Account | None) -> Account:
        if pending is not None:
            return pending
        rows = []
        if storable_text(key := text.casefold()):
            rows = self._uow.session.fetch(
                f"SELECT account_id, version, doc FROM accounts WHERE {column} = ?", (key,)
            )
        if not rows:
            raise NotFoundError("account", text)
        account_id = as_uuid(rows[0][0])
        return self.pending.find(account_id) or self._memo.load(account_id, rows[0][1], rows[0][2])

    def by_username(self, username: str) -> Account:
        return self._by("username_key", username, self.pending.find_username(username))

    def by_email(self, email: str) -> Account:
        return self._by("email_key", email, self.pending.find_email(email))

    def in_network(self, network_id: UUID) -> Sequence[Account]:
        rows = self._uow.session.fetch(
            "SELECT account_id, version, doc FROM accounts WHERE network_id = ?",
            (str(network_id),),
        )
        load = self._memo.load
        stored = [load(as_uuid(r[0]), r[1], r[2]) for r in rows]
        return self.pending.in_network(stored, network_id)

    # ------------------------------------------------------------------ commit
    def prepare(self) -> _Prepared:
        """New networks and accounts as INSERTs, changed accounts with their documents."""
        dumps = self._uow.storage.converter.document_dumps
        inserts: _Rows = [
            (
                "INSERT INTO networks (network_id, code_key, doc) VALUES (?, ?, ?)",
                (str(n.network_id), n.reference_code.casefold(), check_document(dumps(n))),
            )
            for n in self.pending.networks.values()
        ]
        inserts.extend(
            (
                "INSERT INTO accounts (account_id, network_id, username_key, email_key, version, "
                "doc) VALUES (?, ?, ?, ?, ?, ?)",
                (*self._columns(a), check_document(dumps(a))),
            )
            for a in self.pending.final_added().values()
        )
        updates = [(a, check_document(dumps(a))) for a in self.pending.final_updated().values()]
        networks = [(n, check_document(dumps(n))) for n in self.pending.changed_networks.values()]
        return inserts, updates, networks

    @staticmethod
    def _columns(account: Account) -> tuple[Any, ...]:
        return (
            str(account.account_id),
            str(account.network_id),
            account.username.casefold(),
            account.email.casefold(),
            account.version,
        )

    def flush(self, cursor: Cursor, prepared: _Prepared) -> None:
        """Store what ``prepare`` made (inside the commit's transaction); versions are checked."""
        inserts, updates, networks = prepared
        for sql, params in inserts:
            cursor.execute(sql, params)
        for network, doc in networks:  # the reference code stays: its key is in the WHERE
            key = (str(network.network_id), network.reference_code.casefold())
            done = cursor.execute(
                "UPDATE networks SET doc = ? WHERE network_id = ? AND code_key = ?", (doc, *key)
            ).rowcount
            if done != 1:
                exists = cursor.execute(
                    "SELECT 1 FROM networks WHERE network_id = ?", (key[0],)
                ).fetchone()
                if exists is None:
                    raise NotFoundError("network", network.network_id)
                raise ValidationError.of("invalid", "$.reference_code")
        for account, doc in updates:
            account_id, network_id, username, email, version = self._columns(account)
            done = cursor.execute(
                "UPDATE accounts SET network_id = ?, username_key = ?, email_key = ?, "
                "version = ?, doc = ? WHERE account_id = ? AND version = ?",
                (network_id, username, email, version, doc, account_id, version - 1),
            ).rowcount
            if done != 1:
                found = cursor.execute(
                    "SELECT version FROM accounts WHERE account_id = ?", (account_id,)
                ).fetchone()
                if found is None:
                    raise NotFoundError("account", account.account_id)
                raise ConcurrencyConflictError("account", account.account_id, version - 1, found[0])

    def stored(self) -> None:
        """After commit: remember the stored account versions."""
        pending = self.pending
        for account in (*pending.final_added().values(), *pending.final_updated().values()):
            self._memo.put(account.account_id, account)
