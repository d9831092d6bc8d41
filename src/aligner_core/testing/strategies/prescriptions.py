"""Strategies for patients, pontics and treatment requests."""

from __future__ import annotations

from datetime import date
from typing import TypeVar

from hypothesis import strategies as st

from aligner_core.domain.patients import Gender, Patient, PatientDetails
from aligner_core.domain.prescriptions import (
    Adjustment,
    Approach,
    Arches,
    Choice,
    Dentition,
    Design,
    Pontic,
    Shade,
    TreatmentRequest,
    TreatmentScope,
    WearSchedule,
)
from aligner_core.domain.teeth import ALL_TEETH, PERMANENT_TEETH
from aligner_core.testing.strategies._common import dates, emails, optional, text
from aligner_core.testing.strategies.teeth import teeth

T = TypeVar("T")


def patients() -> st.SearchStrategy[Patient]:
    return st.builds(
        Patient,
        patient_id=st.uuids(),
        last_name=text(100, blank=False),
        gender=st.sampled_from(Gender),
        first_name=optional(text(100)),
        date_of_birth=optional(dates(date(1900, 1, 1), date(2025, 12, 31))),
        country=optional(text(80)),
        email=optional(emails()),
    )


def patient_details() -> st.SearchStrategy[PatientDetails]:
    return st.builds(
        PatientDetails,
        last_name=text(100, blank=False),
        gender=st.sampled_from(Gender),
        first_name=optional(text(100)),
        date_of_birth=optional(dates(date(1900, 1, 1), date(2025, 12, 31))),
        country=optional(text(80)),
        email=optional(emails()),
    )


def pontics(*, primary: bool | None = None) -> st.SearchStrategy[Pontic]:
    return st.builds(Pontic, tooth=teeth(primary=primary), shade=st.sampled_from(Shade))


@st.composite
def treatment_requests(draw: st.DrawFn) -> TreatmentRequest:
    """A request whose tooth lists fit its dentition and never both extract and keep a tooth."""
    dentition = draw(st.sampled_from(Dentition))
    pool = PERMANENT_TEETH if dentition is Dentition.PERMANENT else ALL_TEETH
    tooth_sets = st.frozensets(st.sampled_from(pool), max_size=4)
    not_to_move = draw(tooth_sets)
    to_extract = draw(tooth_sets) - not_to_move
    pontic_list = draw(st.lists(pontics(), max_size=3, unique_by=lambda p: p.tooth))
    return TreatmentRequest(
        arches=draw(st.sampled_from(Arches)),
        scope=draw(st.sampled_from(TreatmentScope)),
        overjet=draw(st.sampled_from(Adjustment)),
        overbite=draw(st.sampled_from(Adjustment)),
        midline=draw(st.sampled_from(Adjustment)),
        ipr=draw(st.sampled_from(Choice)),
        attachments=draw(st.sampled_from(Choice)),
        design=draw(st.sampled_from(Design)),
        instructions=draw(text(5000)),
        pontics=tuple(pontic_list),
        dentition=dentition,
        approach=draw(st.sampled_from(Approach)),
        wear_schedule=draw(st.sampled_from(WearSchedule)),
        step_limit=draw(optional(st.integers(min_value=1, max_value=80))),
        teeth_not_to_move=tuple(not_to_move),
        teeth_to_extract=tuple(to_extract),
        teeth_without_attachments=tuple(draw(tooth_sets)),
        chief_complaint=draw(text(2000)),
    )
