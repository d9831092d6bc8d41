"""A patient's rights and the audit trail: export (GDPR arts. 15, 20), erasure (art. 17),
and who read what (HIPAA 164.312(b)).

Reads of a case, a file or a share link are recorded by the queries through
:func:`record`; the network's admins read the log with :func:`audit_log`.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import datetime
from typing import IO
from uuid import UUID

import attrs

from aligner_core.domain import permissions
from aligner_core.domain.accounts import Account
from aligner_core.domain.audit import AuditAction, AuditEntry, AuditFilter
from aligner_core.domain.cases import Case, CaseStatus, HistoryEntry
from aligner_core.domain.erasure import erased, pseudonym
from aligner_core.domain.queries import Page
from aligner_core.domain.records import sanitize_filename
from aligner_core.errors import PermissionDeniedError, Reason
from aligner_core.ports import UnitOfWork
from aligner_core.serialization import make_converter
from aligner_core.service import pipeline
from aligner_core.service.deps import Deps

__all__ = [
    "ErasureReport",
    "ExportReport",
    "audit_log",
    "erase_patient",
    "export_patient",
    "record",
]

_STEWARDS = frozenset({permissions.Relation.OWNER, permissions.Relation.ADMIN})


@attrs.frozen
class ExportReport:
    """What an export wrote: the cases (by number) and how many files."""

    case_numbers: tuple[int, ...]
    files: int


@attrs.frozen
class ErasureReport:
    """What an erasure did: the cases kept under a pseudonym, the files removed."""

    case_numbers: tuple[int, ...]
    pseudonym: str
    files_removed: int
    blobs_deleted: int


def record(
    deps: Deps,
    uow: UnitOfWork,
    at: datetime,
    network_id: UUID,
    actor_id: UUID | None,
    action: AuditAction,
    case_number: int | None = None,
    subject: str = "",
) -> None:
    """Add one entry to the audit log in ``uow`` (the caller commits)."""
    uow.audit.add(
        AuditEntry(deps.ids.new_id(), at, network_id, actor_id, action, case_number, subject)
    )


def _patient_cases(uow: UnitOfWork, actor: Account, case_id: UUID, action: str) -> list[Case]:
    """The cases of the patient of ``case_id``, for their doctor or their network's admin."""
    case, relations = pipeline.visible_case(uow, actor, case_id)
    if not relations & _STEWARDS:
        raise PermissionDeniedError(
            actor.account_id, action, case.reference, Reason("not_permitted", kind="permission")
        )
    return [
        c for c in uow.cases.of_patient(case.patient.patient_id) if c.network_id == case.network_id
    ]


def export_patient(deps: Deps, actor_id: UUID, case_id: UUID, target: IO[bytes]) -> ExportReport:
    """Write everything kept about the patient of ``case_id`` to ``target`` as a zip.

    ``export.json`` holds the patient and every case (with its history) as the
    library's JSON; ``files/<case number>/`` holds each case's files. The export
    itself is recorded in the audit log.
    """
    with deps.storage.unit_of_work() as uow:
        actor = pipeline.actor_of(uow, actor_id, AuditAction.EXPORT_PATIENT.value)
        cases = [
            c
            for c in _patient_cases(uow, actor, case_id, AuditAction.EXPORT_PATIENT.value)
            if c.status is not CaseStatus.DELETED
        ]
        now = deps.clock.now()
        converter = make_converter()
        document = {
            "exported_at": converter.unstructure(now),
            "patient": converter.unstructure(cases[0].patient),
            "cases": [converter.unstructure(c) for c in cases],
        }
        files = 0
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            bundle.writestr("export.json", json.dumps(document, ensure_ascii=False, indent=2))
            for c in cases:
                for ref in c.records.files:
                    name = f"files/{c.number}/{ref.file_id}-{sanitize_filename(ref.name)}"
                    with deps.blobs.open(ref.sha256) as source, bundle.open(name, "w") as sink:
                        shutil.copyfileobj(source, sink, 1024 * 1024)
                    files += 1
        record(
            deps, uow, now, cases[0].network_id, actor.account_id, AuditAction.EXPORT_PATIENT,
            cases[0].number, f"{len(cases)} cases, {files} files",
        )  # fmt: skip
        uow.commit()
    return ExportReport(tuple(c.number for c in cases), files)


def erase_patient(
    deps: Deps, actor_id: UUID, case_id: UUID, *, retain_clinical: bool = True
) -> ErasureReport:
    """Remove the patient's personal data and files from every one of their cases.

    What a lab must retain stays under a pseudonym (``retain_clinical``; see
    :func:`aligner_core.domain.erasure.erased`). The files' bytes are deleted where
    no other case refers to them, the storage is scrubbed, and the erasure is
    recorded in each case's history and in the audit log.
    """
    with deps.storage.unit_of_work() as uow:
        action = AuditAction.ERASE_PATIENT.value
        actor = pipeline.actor_of(uow, actor_id, action)
        cases = _patient_cases(uow, actor, case_id, action)
        now = deps.clock.now()
        name = pseudonym(cases[0].number)
        digests = {f.sha256 for c in cases for f in c.records.files}
        removed = sum(len(c.records.files) for c in cases)
        for case in cases:
            note = HistoryEntry(now, actor.account_id, action, case.status, case.status)
            scrubbed = erased(case, name, retain_clinical=retain_clinical)
            uow.cases.update(
                attrs.evolve(
                    scrubbed,
                    history=(*scrubbed.history, note),
                    updated_at=now,
                    version=case.version + 1,
                )
            )
            record(deps, uow, now, case.network_id, actor.account_id, AuditAction.ERASE_PATIENT,
                   case.number, f"{len(case.records.files)} files")  # fmt: skip
        uow.commit()
    deleted = delete_unreferenced(deps, digests)
    deps.storage.scrub()
    return ErasureReport(tuple(c.number for c in cases), name, removed, deleted)


def delete_unreferenced(deps: Deps, digests: set[str]) -> int:
    """Delete the blobs of ``digests`` that no case refers to any more; how many."""
    if not digests:
        return 0
    with deps.storage.unit_of_work() as uow:
        kept = uow.cases.file_digests()
    return sum(1 for digest in sorted(digests - kept) if deps.blobs.delete(digest))


def audit_log(deps: Deps, admin_id: UUID, query: AuditFilter | None = None) -> Page[AuditEntry]:
    """Who read or erased what in the admin's network, newest first (admins only)."""
    with deps.storage.unit_of_work() as uow:
        actor = pipeline.actor_of(uow, admin_id, "read the audit log")
        permissions.require_admin_of(actor, actor.network_id, "read the audit log")
        return uow.audit.list(actor.network_id, query or AuditFilter())
