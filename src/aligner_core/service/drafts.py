"""Drafts and records: create, edit, tooth chart, files, confirmations, submit, follow-ups."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import IO
from uuid import UUID

import attrs

from aligner_core.domain import lifecycle, permissions
from aligner_core.domain.accounts import Account, Role
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import Case, CaseKind, CaseStatus, HistoryEntry
from aligner_core.domain.events import EventType
from aligner_core.domain.orders import OrderDetails
from aligner_core.domain.patients import Patient
from aligner_core.domain.prescriptions import TreatmentRequest
from aligner_core.domain.records import (
    FileKind,
    FileRef,
    ImpressionType,
    Records,
    sanitize_filename,
)
from aligner_core.domain.teeth import Tooth, ToothChart, ToothState
from aligner_core.errors import NotFoundError, PermissionDeniedError, ValidationError
from aligner_core.ports import UnitOfWork
from aligner_core.service._base import _FOLLOW_UP_KIND, ServiceBase, _Change
from aligner_core.service.inputs import PatientDetails

__all__ = ["DraftCommands"]


class DraftCommands(ServiceBase):
    """Drafts and records: create, edit, tooth chart, files, confirmations, submit, follow-ups."""

    # ------------------------------------------------------------------ drafts
    def create_case(
        self,
        doctor_id: UUID,
        kind: CaseKind,
        patient: PatientDetails,
        *,
        request: TreatmentRequest | None = None,
        order: OrderDetails | None = None,
        impression_type: ImpressionType | None = None,
    ) -> Case:
        """A new draft for a new patient (treatment, direct manufacturing or retainer)."""
        if kind.is_follow_up:
            raise ValidationError.single(f"a {kind.value} is ordered on an existing case", "$.kind")
        with self._uow() as uow:
            actor = self._actor(uow, doctor_id)
            if actor.role is not Role.DOCTOR:
                raise PermissionDeniedError(
                    doctor_id, "create case", None, "only doctors order cases"
                )
            now = self.clock.now()
            case = Case(
                case_id=self.ids.new_id(),
                number=uow.cases.next_number(),
                kind=kind,
                network_id=actor.network_id,
                owner_id=actor.account_id,
                patient=Patient(self.ids.new_id(), **attrs.asdict(patient, recurse=False)),
                created_at=now,
                updated_at=now,
                request=request
                if request is not None
                else (TreatmentRequest() if kind is CaseKind.TREATMENT else None),
                order=order,
                records=Records(impression_type=impression_type),
                history=(HistoryEntry(now, actor.account_id, "create", None, CaseStatus.DRAFT),),
            )
            uow.cases.add(case)
            uow.commit()
        return case

    def order_follow_up(
        self,
        doctor_id: UUID,
        parent_case_id: UUID,
        order: OrderDetails,
        *,
        request: TreatmentRequest | None = None,
    ) -> Case:
        """A refinement, retainer, remake/replacement or revision draft on an existing case."""
        kind = _FOLLOW_UP_KIND[type(order)]
        with self._uow() as uow:
            actor = self._actor(uow, doctor_id)
            parent = self._case_for(uow, actor, parent_case_id)
            permissions.ensure(actor, Action.ORDER_FOLLOW_UP, parent)
            lifecycle.fire(lifecycle.Attempt(parent, Action.ORDER_FOLLOW_UP, {"kind": kind}))
            now = self.clock.now()
            case = Case(
                case_id=self.ids.new_id(),
                number=uow.cases.next_number(),
                kind=kind,
                network_id=parent.network_id,
                owner_id=parent.owner_id,
                patient=parent.patient,
                created_at=now,
                updated_at=now,
                request=request if request is not None else parent.request,
                chart=parent.chart,
                order=order,
                parent_id=parent.case_id,
                history=(
                    HistoryEntry(
                        now,
                        actor.account_id,
                        "create",
                        None,
                        CaseStatus.DRAFT,
                        {"parent": parent.number},
                    ),
                ),
            )
            uow.cases.add(case)
            parent_after = attrs.evolve(
                parent,
                updated_at=now,
                version=parent.version + 1,
                history=(
                    *parent.history,
                    HistoryEntry(
                        now,
                        actor.account_id,
                        Action.ORDER_FOLLOW_UP.value,
                        parent.status,
                        parent.status,
                        {"kind": kind.value, "case": case.number},
                    ),
                ),
            )
            uow.cases.update(parent_after)
            uow.commit()
        return case

    def update_draft(
        self,
        doctor_id: UUID,
        case_id: UUID,
        *,
        patient: PatientDetails | None = None,
        request: TreatmentRequest | None = None,
        order: OrderDetails | None = None,
        impression_type: ImpressionType | None = None,
    ) -> Case:
        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            updated = case
            fields: list[str] = []
            if patient is not None:
                updated = attrs.evolve(
                    updated,
                    patient=Patient(
                        case.patient.patient_id, **attrs.asdict(patient, recurse=False)
                    ),
                )
                fields.append("patient")
            if request is not None:
                updated = attrs.evolve(updated, request=request)
                fields.append("request")
            if order is not None:
                updated = attrs.evolve(updated, order=order)
                fields.append("order")
            if impression_type is not None:
                updated = attrs.evolve(
                    updated, records=attrs.evolve(updated.records, impression_type=impression_type)
                )
                fields.append("impression_type")
            return _Change(updated, None, {"fields": ",".join(fields)})

        return self._act(doctor_id, case_id, Action.EDIT, change)

    def set_tooth_states(
        self,
        doctor_id: UUID,
        case_id: UUID,
        states: Mapping[Tooth | int, ToothState | str] | ToothChart,
    ) -> Case:
        """Replace the draft's tooth chart (one state per tooth)."""
        chart = states if isinstance(states, ToothChart) else ToothChart.from_mapping(states)

        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            return _Change(attrs.evolve(case, chart=chart), None, {"teeth": len(chart)})

        return self._act(doctor_id, case_id, Action.SET_TEETH, change)

    def confirm(self, doctor_id: UUID, case_id: UUID, *, complete: bool, privacy: bool) -> Case:
        """The two confirmations: filled in completely and truthfully; privacy policy accepted."""

        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            records = attrs.evolve(
                case.records, confirmed_complete=complete, privacy_accepted=privacy
            )
            return _Change(
                attrs.evolve(case, records=records),
                None,
                {"complete": complete, "privacy": privacy},
            )

        return self._act(doctor_id, case_id, Action.CONFIRM, change)

    def delete_draft(self, doctor_id: UUID, case_id: UUID) -> None:
        self._act(doctor_id, case_id, Action.DELETE, event=EventType.CASE_DELETED)

    def submit(self, doctor_id: UUID, case_id: UUID) -> Case:
        return self._act(doctor_id, case_id, Action.SUBMIT, event=EventType.CASE_SUBMITTED)

    # ------------------------------------------------------------------ files
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
        action = self._attach_action(actor_id, case_id)
        data = (source,) if isinstance(source, bytes) else source
        with self._spool(data, self.max_upload_bytes) as spooled:
            report = self.scanner.scan(spooled.path, name=name, kind=kind)
            with open(spooled.path, "rb") as stream:
                self.blobs.put(stream, report.sha256)
        clean = sanitize_filename(name)

        def change(case: Case, actor: Account, now: datetime, uow: UnitOfWork) -> _Change:
            ref = FileRef(self.ids.new_id(), kind, clean, report, now, actor.account_id)
            return _Change(
                attrs.evolve(case, records=case.records.with_file(ref)),
                EventType.DOCUMENT_ADDED if action is Action.ADD_DOCUMENT else None,
                {"file": clean, "kind": kind.value, "sha256": report.sha256},
            )

        return self._act(actor_id, case_id, action, change)

    def _attach_action(self, actor_id: UUID, case_id: UUID) -> Action:
        with self._uow() as uow:
            actor = self._actor(uow, actor_id)
            case = self._case_for(uow, actor, case_id)
            action = Action.ATTACH if case.status is CaseStatus.DRAFT else Action.ADD_DOCUMENT
            permissions.ensure(actor, action, case)
            lifecycle.fire(lifecycle.Attempt(case, action))
            return action

    def open_file(self, actor_id: UUID, case_id: UUID, file_id: UUID) -> IO[bytes]:
        with self._uow() as uow:
            actor = self._actor(uow, actor_id)
            case = self._case_for(uow, actor, case_id)
            for ref in case.records.files:
                if ref.file_id == file_id:
                    return self.blobs.open(ref.sha256)
        raise NotFoundError("file", file_id)
