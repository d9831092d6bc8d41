"""Strategies for case filters, summaries, registrations and profile changes."""

from __future__ import annotations

from typing import TypeVar

from hypothesis import strategies as st

from aligner_core.domain.accounts import (
    ProfileChanges,
    Registration,
)
from aligner_core.domain.cases import (
    CaseKind,
    CaseStatus,
)
from aligner_core.domain.queries import CaseFilter, CaseSummary, NameMatch, SortKey
from aligner_core.testing.strategies._common import (
    LANGUAGES,
    POSITIVE,
    REFERENCE_CODES,
    TELEPHONES,
    USERNAMES,
    aware_datetimes,
    emails,
    optional,
    text,
)
from aligner_core.testing.strategies.accounts import addresses

T = TypeVar("T")


def case_filters() -> st.SearchStrategy[CaseFilter]:
    return st.builds(
        CaseFilter,
        patient_name=optional(text(100)),
        name_match=st.sampled_from(NameMatch),
        kinds=st.lists(st.sampled_from(CaseKind), max_size=3).map(tuple),
        statuses=st.lists(st.sampled_from(CaseStatus), max_size=3).map(tuple),
        created_from=optional(aware_datetimes()),
        created_to=optional(aware_datetimes()),
        updated_from=optional(aware_datetimes()),
        updated_to=optional(aware_datetimes()),
        number=optional(POSITIVE),
        owner_id=optional(st.uuids()),
        assigned_to=optional(st.uuids()),
        practice_id=optional(st.uuids()),
        mine=st.booleans(),
        sort=st.sampled_from(SortKey),
        descending=st.booleans(),
        offset=st.integers(0, 10_000),
        limit=st.integers(1, 500),
    )


def case_summaries() -> st.SearchStrategy[CaseSummary]:
    return st.builds(
        CaseSummary,
        case_id=st.uuids(),
        number=POSITIVE,
        kind=st.sampled_from(CaseKind),
        status=st.sampled_from(CaseStatus),
        patient_name=text(201, blank=False),
        owner_id=st.uuids(),
        network_id=st.uuids(),
        created_at=aware_datetimes(),
        updated_at=aware_datetimes(),
        accepted_at=optional(aware_datetimes()),
        version=POSITIVE,
        assigned_to=optional(st.uuids()),
        practice_id=optional(st.uuids()),
    )


def registrations() -> st.SearchStrategy[Registration]:
    return st.builds(
        Registration,
        clinic_name=text(200, blank=False),
        first_name=text(100, blank=False),
        last_name=text(100, blank=False),
        email=emails(),
        username=USERNAMES,
        shipping_address=addresses(),
        telephone=optional(TELEPHONES),
        reference_code=optional(REFERENCE_CODES),
        language=LANGUAGES,
    )


def profile_changes() -> st.SearchStrategy[ProfileChanges]:
    return st.builds(
        ProfileChanges,
        clinic_name=optional(text(200, blank=False)),
        first_name=optional(text(100, blank=False)),
        last_name=optional(text(100, blank=False)),
        email=optional(emails()),
        telephone=optional(TELEPHONES),
        shipping_address=optional(addresses()),
        language=optional(LANGUAGES),
    )
