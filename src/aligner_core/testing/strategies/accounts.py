"""Strategies for networks, accounts, addresses, practices and collaborator grants."""

from __future__ import annotations

from typing import TypeVar

from hypothesis import strategies as st

from aligner_core.domain.accounts import (
    Account,
    AccountStatus,
    Address,
    CollaboratorGrant,
    CollaboratorPermission,
    EmailInvitation,
    GrantStatus,
    Network,
    Practice,
    Role,
)
from aligner_core.domain.events import EventType
from aligner_core.testing.strategies._common import (
    LANGUAGES,
    POSITIVE,
    REFERENCE_CODES,
    TELEPHONES,
    USERNAMES,
    aware_datetimes,
    emails,
    optional,
    small_tuples,
    text,
)
from aligner_core.testing.strategies.money import saved_payment_methods
from aligner_core.testing.strategies.products import catalogues

T = TypeVar("T")


def addresses() -> st.SearchStrategy[Address]:
    return st.builds(
        Address,
        country=text(80, blank=False),
        city=text(120, blank=False),
        postal_code=text(20, blank=False),
        street=text(200, blank=False),
        state_province=optional(text(120)),
    )


def practices() -> st.SearchStrategy[Practice]:
    return st.builds(
        Practice, practice_id=st.uuids(), name=text(200, blank=False), shipping_address=addresses()
    )


def networks() -> st.SearchStrategy[Network]:
    return st.builds(
        Network,
        network_id=st.uuids(),
        name=text(200, blank=False),
        reference_code=REFERENCE_CODES,
        catalogue=optional(catalogues()),
    )


def accounts() -> st.SearchStrategy[Account]:
    return st.builds(
        Account,
        account_id=st.uuids(),
        network_id=st.uuids(),
        role=st.sampled_from(Role),
        username=USERNAMES,
        email=emails(),
        first_name=text(100, blank=False),
        last_name=text(100, blank=False),
        clinic_name=text(200, blank=False),
        shipping_address=addresses(),
        created_at=aware_datetimes(),
        status=st.sampled_from(AccountStatus),
        telephone=optional(TELEPHONES),
        language=LANGUAGES,
        muted_notifications=small_tuples(st.sampled_from([e.value for e in EventType]), 3),
        version=POSITIVE,
        practices=st.lists(practices(), max_size=2, unique_by=lambda p: p.practice_id).map(tuple),
        payment_methods=st.lists(
            saved_payment_methods(), max_size=2, unique_by=lambda m: m.method_id
        ).map(tuple),
    )


def collaborator_grants() -> st.SearchStrategy[CollaboratorGrant]:
    return st.builds(
        CollaboratorGrant,
        account_id=st.uuids(),
        invited_by=st.uuids(),
        invited_at=aware_datetimes(),
        permissions=st.lists(st.sampled_from(CollaboratorPermission), min_size=1, unique=True).map(
            tuple
        ),
        status=st.sampled_from(GrantStatus),
    )


def email_invitations() -> st.SearchStrategy[EmailInvitation]:
    return st.builds(
        EmailInvitation,
        invitation_id=st.uuids(),
        email=emails(),
        invited_by=st.uuids(),
        invited_at=aware_datetimes(),
        permissions=st.lists(st.sampled_from(CollaboratorPermission), min_size=1, unique=True).map(
            tuple
        ),
        status=st.sampled_from(GrantStatus),
        account_id=st.none() | st.uuids(),
    )
