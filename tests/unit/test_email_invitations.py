"""Invitations to addresses without an account: a link to create one, then that case only."""

from __future__ import annotations

from uuid import UUID

import attrs
import pytest

from aligner_core.bootstrap import Core
from aligner_core.domain.accounts import AccountStatus, GrantStatus, Registration, Role
from aligner_core.domain.accounts import CollaboratorPermission as P
from aligner_core.domain.events import EventType
from aligner_core.domain.outbox import OutboxEntry
from aligner_core.errors import ValidationError
from aligner_core.notifications.messages import render
from aligner_core.service import sharing
from aligner_core.testing.factories import Lab, registration

ADDRESS = "tps@ortho-planning.example"


def person(username: str, email: str = ADDRESS) -> Registration:
    return attrs.evolve(registration(username), email=email)


def invitation_mail(core: Core) -> OutboxEntry:
    with core.storage.unit_of_work() as uow:
        found = [e for e in uow.outbox.pending() if e.event.type is EventType.INVITATION_EMAILED]
    assert len(found) == 1
    return found[0]


def token_of(entry: OutboxEntry) -> str:
    token = entry.event.get("token")
    assert token is not None
    return token


def invited(core: Core, lab: Lab) -> tuple[UUID, str]:
    case_id = lab.ready_case(last_name="Geheimnis")
    core.submit(lab.doctor, case_id)
    core.invite_by_email(lab.doctor, case_id, ADDRESS, [P.COMMENT, P.EDIT_SETUP])
    return case_id, token_of(invitation_mail(core))


def test_an_address_without_an_account_gets_a_link_and_no_patient_data(
    core: Core, lab: Lab
) -> None:
    case_id, token = invited(core, lab)
    case = core.get_case(lab.doctor, case_id).case
    [invitation] = case.invitations
    assert (invitation.email, invitation.status) == (ADDRESS, GrantStatus.INVITED)
    assert case.collaborators == ()
    entry = invitation_mail(core)
    assert entry.recipient_email == ADDRESS and entry.recipient_id == invitation.invitation_id
    message = render(entry, sender="lab@smile.example", links=core.links)
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert core.links.invitation_url(token) in text
    assert f"case {case.number}" in text and "Geheimnis" not in message.as_string()
    # the token is in the e-mail only: the case's timeline never shows it
    assert all(token not in str(h.details) for h in case.history)


def test_the_link_makes_an_active_account_that_sees_that_case_only(core: Core, lab: Lab) -> None:
    case_id, token = invited(core, lab)
    other = lab.ready_case(last_name="Other")
    account = core.accept_invitation(token, person("ortho tps"))
    assert account.status is AccountStatus.ACTIVE and account.role is Role.DOCTOR
    assert account.network_id == lab.network.network_id
    seen = {s.case_id for s in core.list_cases(account.account_id).items}
    assert seen == {case_id} and other not in seen
    case = core.get_case(account.account_id, case_id).case
    grant = case.grant_for(account.account_id)
    assert grant is not None and grant.status is GrantStatus.ACCEPTED
    assert set(grant.permissions) == {P.COMMENT, P.EDIT_SETUP}
    assert case.invitations[0].status is GrantStatus.ACCEPTED
    assert case.history[-1].action == "accept_invitation"
    core.comment(account.account_id, case_id, "Setup in progress.")  # comment permission
    with core.storage.unit_of_work() as uow:
        told = [e for e in uow.outbox.pending() if e.event.type is EventType.COLLABORATOR_ACCEPTED]
    assert {e.recipient_id for e in told} == {lab.doctor}


def test_a_link_works_once_and_only_as_made(core: Core, lab: Lab) -> None:
    case_id, token = invited(core, lab)
    with pytest.raises(ValidationError) as other:
        core.accept_invitation(token, person("someone", "else@example.org"))
    assert [e.code for e in other.value.errors] == ["invitation_other_email"]
    invitation = core.get_case(lab.doctor, case_id).case.invitations[0].invitation_id
    share = sharing.sign(core.deps.link_keys, case_id, invitation)  # a share link's token
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (share, forged, "x" * 64, token + "A"):
        with pytest.raises(ValidationError) as refused:
            core.accept_invitation(bad, person("ortho tps"))
        assert [e.code for e in refused.value.errors] == ["invitation_invalid"]
    core.accept_invitation(token, person("ortho tps"))
    with pytest.raises(ValidationError) as again:
        core.accept_invitation(token, person("ortho tps 2"))
    assert [e.code for e in again.value.errors] == ["invitation_invalid"]


def test_one_pending_invitation_per_address(core: Core, lab: Lab) -> None:
    case_id, _ = invited(core, lab)
    with pytest.raises(ValidationError) as twice:
        core.invite_by_email(lab.doctor, case_id, ADDRESS.upper(), [P.COMMENT])
    assert [(e.code, e.path) for e in twice.value.errors] == [("already_invited", "$.email")]


def test_a_blocked_account_is_answered_like_an_unknown_address(core: Core, lab: Lab) -> None:
    blocked = lab.add(Role.DOCTOR, "gone")
    address = core.get_account(lab.admin, blocked).email
    core.block(lab.admin, blocked)
    case_id = lab.ready_case()
    case = core.invite_by_email(lab.doctor, case_id, address, [P.COMMENT])
    assert [i.email for i in case.invitations] == [address] and case.collaborators == ()
