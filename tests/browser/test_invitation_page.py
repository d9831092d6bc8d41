"""The page of an e-mail invitation's link: the invitee creates an account (active at once,
the case's collaborator) without a network code; a wrong address or token is refused."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest

from aligner_core.domain.accounts import CollaboratorPermission
from aligner_core.domain.events import EventType
from aligner_core.testing.factories import set_up_lab

pytestmark = pytest.mark.browser

ADDRESS = "planner@outside-planning.example"


def call(portal: Any, path: str, fields: dict[str, str] | None = None) -> tuple[int, str]:
    data = None if fields is None else urllib.parse.urlencode(fields).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(portal.url + path, data)) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_an_invitee_creates_an_account_through_the_link(portal: Any) -> None:
    core = portal.core
    lab = set_up_lab(core, "INVITE-LAB")
    case_id = lab.ready_case(last_name="Geheimnis")
    core.submit(lab.doctor, case_id)
    core.invite_by_email(lab.doctor, case_id, ADDRESS, [CollaboratorPermission.COMMENT])
    with core.storage.unit_of_work() as uow:
        (mail,) = [
            e
            for e in uow.outbox.pending()
            if e.event.type is EventType.INVITATION_EMAILED and e.recipient_email == ADDRESS
        ]
    link = f"/invitations/{urllib.parse.quote(mail.event.get('token'), safe='')}"
    code, form = call(portal, link)
    assert code == 200 and 'name="registration.email"' in form
    assert "reference_code" not in form and 'name="role"' not in form and "Geheimnis" not in form
    fields = {
        "registration.clinic_name": "Outside Planning",
        "registration.first_name": "Pat",
        "registration.last_name": "Planner",
        "registration.email": "someone-else@outside-planning.example",
        "registration.username": "pat-outside",
        "registration.shipping_address.country": "Germany",
        "registration.shipping_address.city": "Bonn",
        "registration.shipping_address.postal_code": "53111",
        "registration.shipping_address.street": "Markt 1",
        "registration.language": "en",
    }
    code, refused = call(portal, link, fields)
    assert code == 422 and 'value="pat-outside"' in refused  # shown again, with the error
    assert "use the e-mail address the invitation was sent to" in refused
    assert (
        call(portal, "/invitations/not-a-token", {**fields, "registration.email": ADDRESS})[0]
        == 422
    )
    code, done = call(portal, link, {**fields, "registration.email": ADDRESS})
    assert code == 200 and "is active" in done
    account = core.find_account("pat-outside")
    assert account.is_active
    case = core.get_case(lab.doctor, case_id).case
    assert case.grant_for(account.account_id) is not None
    assert 'name="role"' in call(portal, "/register")[1]  # the plain registration keeps its role
