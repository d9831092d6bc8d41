"""The SQL unit of work: buffered writes, stored in one transaction at ``commit``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aligner_core.storage._bases import UnitOfWorkBase
from aligner_core.storage.sql.accounts import SqlAccountRepository
from aligner_core.storage.sql.audit import SqlAuditRepository
from aligner_core.storage.sql.cases import SqlCaseRepository
from aligner_core.storage.sql.invoices import SqlInvoiceRepository
from aligner_core.storage.sql.outbox import SqlOutboxRepository

if TYPE_CHECKING:
    from aligner_core.storage.sql.storage import SqlStorage

__all__ = ["SqlUnitOfWork"]


class SqlUnitOfWork(UnitOfWorkBase):
    """Buffers writes; ``commit`` applies them in one short transaction, checking every version.

    Documents are encoded before the transaction begins, so locks are held only
    for the statements. Reads see committed state plus this unit's own cases
    and accounts, like the in-memory adapter.
    """

    def __init__(self, storage: SqlStorage) -> None:
        self.storage = storage
        self.session = storage.dialect.session()
        self._begin()

    def _begin(self) -> None:
        self.cases = SqlCaseRepository(self)
        self.accounts = SqlAccountRepository(self)
        self.outbox = SqlOutboxRepository(self)
        self.audit = SqlAuditRepository(self)
        self.invoices = SqlInvoiceRepository(self)

    def _write(self) -> None:
        cases, accounts, outbox, audit = self.cases, self.accounts, self.outbox, self.audit
        invoices = self.invoices
        if not (
            cases.pending
            or accounts.pending
            or outbox.added
            or outbox.changes
            or audit.added
            or invoices.pending.added
        ):
            return
        account_rows, case_rows, entry_rows = accounts.prepare(), cases.prepare(), outbox.prepare()
        audit_rows, invoice_rows = audit.prepare(), invoices.prepare()
        with self.session.transaction("committing a unit of work") as cursor:
            accounts.flush(cursor, account_rows)
            cases.flush(cursor, case_rows)
            outbox.flush(cursor, entry_rows)
            audit.flush(cursor, audit_rows)
            invoices.flush(cursor, invoice_rows)
        accounts.stored()
        cases.stored(case_rows)

    def _end(self) -> None:
        self.session.close()
