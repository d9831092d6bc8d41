"""Documented usage that ``mypy --strict`` must accept (checked by ``nox -s typecheck``)."""

from __future__ import annotations

from uuid import UUID

import aligner_core
from aligner_core.bootstrap import Core, connect
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import Case, CaseKind, CaseStatus
from aligner_core.domain.queries import CaseFilter, CaseSummary, NameMatch, Page
from aligner_core.domain.teeth import Notation, Tooth
from aligner_core.errors import AlignerError, InvalidTransitionError, ValidationError
from aligner_core.ports import BlobStore, Clock, Storage
from aligner_core.serialization import Converter, make_converter
from aligner_core.service.views import CaseDetail, Dashboard
from aligner_core.testing.factories import patient_details


def teeth() -> list[str]:
    tooth: Tooth = aligner_core.Tooth.from_universal("A")
    other = Tooth.parse("UR8", notation=Notation.PALMER)
    return [tooth.palmer, other.universal, str(other.fdi), tooth.arch.value]


def lifecycle(core: Core, doctor: UUID) -> CaseStatus:
    case: Case = core.create_case(doctor, CaseKind.TREATMENT, patient_details())
    try:
        case = core.submit(doctor, case.case_id)
    except InvalidTransitionError as e:
        reasons: tuple[str, ...] = e.reasons
        assert reasons
    detail: CaseDetail = core.get_case(doctor, case.case_id)
    allowed: frozenset[Action] = detail.allowed_actions
    assert Action.EDIT in allowed
    return detail.case.status


def queries(core: Core, doctor: UUID) -> int:
    page: Page[CaseSummary] = core.list_cases(
        doctor, CaseFilter(patient_name="do", name_match=NameMatch.PREFIX, limit=20)
    )
    board: Dashboard = core.dashboard(doctor)
    return page.total + board.total


def practices_and_assignment(core: Core, doctor: UUID, admin: UUID, planner: UUID) -> int:
    address = aligner_core.Address(country="DE", city="Köln", postal_code="50667", street="Dom 4")
    account: aligner_core.Account = core.add_practice(doctor, doctor, "Praxis am Dom", address)
    practice: aligner_core.Practice = account.practices[0]
    case = core.create_case(
        doctor, CaseKind.TREATMENT, patient_details(), practice_id=practice.practice_id
    )
    case = core.assign_case(admin, case.case_id, planner)
    taken: UUID | None = core.take_case(planner, case.case_id).assigned_to
    mine: Page[CaseSummary] = core.list_cases(planner, CaseFilter(mine=True))
    assert taken is None or mine.items[0].assignee_name
    return mine.total


def json_round_trip(converter: Converter, case: Case) -> Case:
    text: str = converter.dumps(case)
    try:
        return converter.load(text, Case)
    except ValidationError as e:
        messages: list[str] = e.messages
        raise AlignerError("; ".join(messages)) from e


def ports(core: Core) -> tuple[Storage, BlobStore, Clock]:
    return core.storage, core.blobs, core.clock


core: Core = connect("memory://")
converter: Converter = make_converter()


def top_level_connect() -> Core:
    """``aligner_core.connect`` is typed although it is imported lazily."""
    return aligner_core.connect("memory://")
