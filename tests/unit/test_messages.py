"""Rendering: both parts for every event, overrides, the placeholder whitelist, no patient data."""

from __future__ import annotations

import string
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from uuid import UUID

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aligner_core
from aligner_core.domain.accounts import CollaboratorPermission, Role
from aligner_core.domain.cases import CaseKind
from aligner_core.domain.events import DomainEvent, EventType
from aligner_core.domain.patients import Gender, PatientDetails
from aligner_core.domain.records import FileKind, ImpressionType
from aligner_core.errors import ValidationError
from aligner_core.notifications.messages import (
    DEFAULT_TEMPLATES,
    SAFE_FIELDS,
    MessageTemplate,
    Templates,
    default_template,
    render,
)
from aligner_core.notifications.outbox import OutboxEntry
from aligner_core.testing.factories import arch_stl, plan_summary, set_up_lab

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SAFE_DATA = {
    "plan_version": "3",
    "carrier": "DHL Express",
    "tracking_number": "JD014600003",
    "phase": "1",
    "permissions": "comment,view_setup",
    "reason": "records unusable",
    "token": "T" * 64,  # an e-mail invitation's link
}


def entry_for(
    event: EventType,
    data: dict[str, str] | None = None,
    *,
    number: int | None = 4711,
    language: str = "en",
) -> OutboxEntry:
    return OutboxEntry(
        entry_id=UUID(int=99, version=4),
        event=DomainEvent(
            type=event,
            at=NOW,
            actor_id=UUID(int=1),
            network_id=UUID(int=2),
            case_id=UUID(int=3) if number else None,
            case_number=number,
            account_id=UUID(int=5),
            data=SAFE_DATA if data is None else data,
        ),
        recipient_id=UUID(int=4),
        recipient_email="doctor@example.org",
        language=language,
        created_at=NOW,
        next_attempt_at=NOW,
        message_id="<fixed-id@aligner-core>",
    )


def parts(message: EmailMessage) -> dict[str, str]:
    return {
        p.get_content_type(): p.get_content()
        for p in message.walk()
        if p.get_content_maintype() == "text"
    }


def everything(message: EmailMessage) -> str:
    """Headers, decoded parts and the wire form, for searching."""
    wire = message.as_bytes()
    reparsed = message_from_bytes(wire, policy=policy.default)
    headers = "\n".join(f"{k}: {v}" for k, v in reparsed.items())
    return "\n".join([headers, *parts(reparsed).values(), wire.decode("ascii", "replace")])  # type: ignore[arg-type]


BASE = "https://portal.example/"


ACCOUNT_EVENTS = {
    EventType.ACCOUNT_REGISTERED,
    EventType.ACCOUNT_ACTIVATED,
    EventType.ACCOUNT_BLOCKED,
    EventType.PROFILE_UPDATED,
}


@pytest.mark.parametrize("event", list(EventType))
def test_every_event_renders_both_parts(event: EventType) -> None:
    message = render(entry_for(event), base_url=BASE, sender="no-reply@lab.example")
    assert message["Message-ID"] == "<fixed-id@aligner-core>"
    assert message["To"] == "doctor@example.org"
    assert message["From"] == "no-reply@lab.example"
    text = parts(message)
    assert set(text) == {"text/plain", "text/html"}
    link = (
        "https://portal.example/"
        if event in ACCOUNT_EVENTS
        else "https://portal.example/cases/4711"
    )
    if event is EventType.INVITATION_EMAILED:  # no account yet: the link makes one
        link = "https://portal.example/invitations/" + "T" * 64
    if event not in ACCOUNT_EVENTS:
        assert "Case 4711" in message["Subject"]
    assert link in text["text/plain"]
    assert f'href="{link}"' in text["text/html"]
    assert "$" not in text["text/plain"] + text["text/html"] + message["Subject"]


def test_every_event_has_a_default_template() -> None:
    assert set(DEFAULT_TEMPLATES) == set(EventType)


def test_an_account_message_links_to_the_portal() -> None:
    message = render(
        entry_for(EventType.ACCOUNT_ACTIVATED, {}, number=None), base_url=BASE, sender="a@b.example"
    )
    assert "active" in message["Subject"]
    assert "https://portal.example/" in parts(message)["text/plain"]


def test_values_are_escaped_in_html_and_cannot_inject_headers() -> None:
    data = {**SAFE_DATA, "carrier": "<b>Evil</b> & Co\r\nBcc: victim@example.org"}
    message = render(entry_for(EventType.CASE_SHIPPED, data), base_url=BASE, sender="a@b.example")
    html = parts(message)["text/html"]
    assert "<b>Evil</b>" not in html and "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in html
    assert message["Bcc"] is None
    overridden = Templates().override(
        EventType.CASE_SHIPPED, subject="Case $case_number via $carrier"
    )
    message = render(
        entry_for(EventType.CASE_SHIPPED, data),
        base_url=BASE,
        sender="a@b.example",
        templates=overridden,
    )
    assert "\n" not in str(message["Subject"]) and message["Bcc"] is None


def test_the_portal_can_override_templates_per_event_and_language() -> None:
    templates = Templates(portal_name="Acme Aligners").override(
        EventType.PLAN_UPLOADED, subject="Plan v$plan_version for case $case_number"
    )
    templates = templates.override(
        EventType.PLAN_UPLOADED,
        subject="Behandlungsplan $plan_version für Fall $case_number",
        text="Bitte prüfen: $case_url",
        language="de",
    )
    english = render(
        entry_for(EventType.PLAN_UPLOADED), base_url=BASE, sender="a@b.example", templates=templates
    )
    assert english["Subject"] == "Plan v3 for case 4711"
    assert "Acme Aligners" in parts(english)["text/plain"]  # the untouched parts stay default
    german_entry = attrs.evolve(entry_for(EventType.PLAN_UPLOADED), language="de")
    german = render(german_entry, base_url=BASE, sender="a@b.example", templates=templates)
    assert german["Subject"] == "Behandlungsplan 3 für Fall 4711"
    assert parts(german)["text/plain"].strip() == "Bitte prüfen: https://portal.example/cases/4711"


# ----------------------------------------------------------------------- the recipient's language
def test_every_event_renders_in_german(event: EventType) -> None:
    english = render(entry_for(event), base_url=BASE, sender="no-reply@lab.example")
    german = render(entry_for(event, language="de"), base_url=BASE, sender="no-reply@lab.example")
    assert german["Content-Language"] == "de"
    assert english["Content-Language"] == "en"
    text, english_text = parts(german), parts(english)
    assert set(text) == {"text/plain", "text/html"}
    assert german["Subject"] != english["Subject"]
    assert text["text/plain"] != english_text["text/plain"]
    assert '<html lang="de">' in text["text/html"]
    assert "$" not in text["text/plain"] + text["text/html"] + german["Subject"]
    if event in ACCOUNT_EVENTS:
        assert "Anmelden: https://portal.example/" in text["text/plain"]
        assert '<a href="https://portal.example/">Anmelden</a>' in text["text/html"]
    else:
        assert "Fall 4711" in german["Subject"] and "Case" not in german["Subject"]
        link = "cases/4711" if event is not EventType.INVITATION_EMAILED else "invitations/TTTT"
        assert f"https://portal.example/{link}" in text["text/plain"]
        assert "(Fall 4711)</a>" in text["text/html"]
    for word in (" the ", " was ", " case ", "Open the case", "Sign in"):
        assert word not in text["text/plain"], (event, word)


test_every_event_renders_in_german = pytest.mark.parametrize("event", list(EventType))(
    test_every_event_renders_in_german
)


def test_a_german_recipient_reads_german() -> None:
    message = render(
        entry_for(EventType.PLAN_UPLOADED, language="de"), base_url=BASE, sender="a@b.example"
    )
    assert message["Subject"] == ("[Aligner Portal] Fall 4711: Behandlungsplan Version 3 liegt vor")
    assert parts(message)["text/plain"] == (
        "Der Behandlungsplan Version 3 von Fall 4711 liegt zur Prüfung bereit.\n\n"
        "Plan prüfen: https://portal.example/cases/4711\n\n-- \nAligner Portal\n"
    )
    shipped = render(
        entry_for(EventType.CASE_SHIPPED, language="de"), base_url=BASE, sender="a@b.example"
    )
    assert "mit DHL Express versandt, Sendungsnummer JD014600003" in parts(shipped)["text/plain"]
    assert shipped["Subject"] == "[Aligner Portal] Fall 4711: versandt"


@pytest.mark.parametrize(
    ("language", "used"), [("de-AT", "de"), ("DE", "de"), ("fr", "en"), ("", "en")]
)
def test_content_language_names_the_language_used(language: str, used: str) -> None:
    message = render(
        entry_for(EventType.CASE_SUBMITTED, language=language), base_url=BASE, sender="a@b.example"
    )
    assert message["Content-Language"] == used
    expected = "Fall 4711: übermittelt" if used == "de" else "Case 4711: submitted"
    assert message["Subject"].endswith(expected)


def test_an_unsupported_language_gets_english() -> None:
    french = render(
        entry_for(EventType.COMMENT_ADDED, language="fr"), base_url=BASE, sender="a@b.example"
    )
    english = render(entry_for(EventType.COMMENT_ADDED), base_url=BASE, sender="a@b.example")
    assert french["Content-Language"] == "en"
    assert parts(french) == parts(english) and french["Subject"] == english["Subject"]


def test_a_language_override_wins_and_names_its_language() -> None:
    templates = Templates().override(
        EventType.CASE_CLOSED, subject="Fall $case_number ist zu", language="de"
    )
    for language in ("de", "de-CH"):
        message = render(
            entry_for(EventType.CASE_CLOSED, language=language),
            base_url=BASE,
            sender="a@b.example",
            templates=templates,
        )
        assert message["Subject"] == "Fall 4711 ist zu"
        assert message["Content-Language"] == "de"
        assert "wurde abgeschlossen" in parts(message)["text/plain"]  # default German body kept
    english = render(
        entry_for(EventType.CASE_CLOSED), base_url=BASE, sender="a@b.example", templates=templates
    )
    assert english["Subject"] == "[Aligner Portal] Case 4711: closed"


def test_a_general_override_is_in_the_templates_language() -> None:
    general = Templates(language="de").override(EventType.CASE_CLOSED, subject="Zu: $case_number")
    message = render(
        entry_for(EventType.CASE_CLOSED, language="fr"),
        base_url=BASE,
        sender="a@b.example",
        templates=general,
    )
    assert (message["Subject"], message["Content-Language"]) == ("Zu: 4711", "de")


def test_translated_defaults_use_only_safe_fields() -> None:
    for language in ("en", "de"):
        for event in EventType:
            template = default_template(event, language)
            for part in (template.subject, template.text, template.html):
                assert set(string.Template(part).get_identifiers()) <= SAFE_FIELDS
    assert DEFAULT_TEMPLATES[EventType.CASE_CLOSED] == default_template(EventType.CASE_CLOSED)


def test_the_case_reference_field_is_in_the_templates_language() -> None:
    templates = Templates().override(EventType.CASE_CLOSED, subject="$case_reference: $event")
    templates = templates.override(
        EventType.CASE_CLOSED, subject="$case_reference: $event", language="de"
    )
    german = render(
        entry_for(EventType.CASE_CLOSED, language="de"),
        base_url=BASE,
        sender="a@b.example",
        templates=templates,
    )
    assert german["Subject"] == "Fall 4711: Fall abgeschlossen"
    english = render(
        entry_for(EventType.CASE_CLOSED), base_url=BASE, sender="a@b.example", templates=templates
    )
    assert english["Subject"] == "Case 4711: case closed"


@pytest.mark.parametrize(
    "unsafe",
    ["Patient $last_name", "${first_name}", "born $date_of_birth", "$patient", "mail $email"],
)
def test_placeholders_outside_the_whitelist_are_refused(unsafe: str) -> None:
    with pytest.raises(ValidationError, match="not allowed"):
        Templates().override(EventType.COMMENT_ADDED, text=unsafe)
    with pytest.raises(ValidationError):
        MessageTemplate(subject=unsafe, text="", html="")


def test_a_broken_template_is_refused() -> None:
    with pytest.raises(ValidationError, match="not a valid template"):
        Templates().override(EventType.COMMENT_ADDED, html="costs 5$")


def test_the_whitelist_holds_no_patient_field() -> None:
    assert (
        not {"last_name", "first_name", "date_of_birth", "email", "patient", "country"}
        & SAFE_FIELDS
    )


# ----------------------------------------------------------------------- no patient data, ever
# "Xq" keeps a generated name from being a word of the templates (Hypothesis also tries
# strings it finds in the code, such as "collaborate").
names = st.text(alphabet=string.ascii_letters, min_size=8, max_size=10).map(lambda s: "Xq" + s)
births = st.dates(min_value=date(1920, 1, 1), max_value=date(2015, 12, 31))


def birth_formats(born: date) -> list[str]:
    return [
        born.isoformat(),
        born.strftime("%d.%m.%Y"),
        born.strftime("%m/%d/%Y"),
        born.strftime("%d/%m/%Y"),
        born.strftime("%Y%m%d"),
        born.strftime("%d %B %Y"),
        born.strftime("%B %d, %Y"),
        born.strftime("%d %b %Y"),
    ]


def lifecycle_entries(last: str, first: str, born: date, mail: str) -> list[OutboxEntry]:
    """Every notification a lifecycle queues, with the patient's details in every free text."""
    core = aligner_core.connect("memory://")
    lab = set_up_lab(core)
    outside = set_up_lab(core, "OUT-1")
    patient = PatientDetails(
        last_name=last, gender=Gender.UNDISCLOSED, first_name=first, date_of_birth=born,
        country="Germany", email=mail,
    )  # fmt: skip
    leak = f"{first} {last} born {born.isoformat()} {mail}"

    scan = arch_stl(4, 8)

    def draft() -> UUID:
        case = core.create_case(
            lab.doctor, CaseKind.TREATMENT, patient, impression_type=ImpressionType.INTRAORAL_SCAN
        )
        for kind, name in ((FileKind.UPPER_SCAN, "upper.stl"), (FileKind.LOWER_SCAN, "lower.stl")):
            core.attach_file(lab.doctor, case.case_id, kind, scan, f"{last}-{name}")
        core.confirm(lab.doctor, case.case_id, complete=True, privacy=True)
        return case.case_id

    case_id = draft()
    core.submit(lab.doctor, case_id)
    core.invite_collaborator(lab.doctor, case_id, outside.planner, [CollaboratorPermission.COMMENT])
    core.respond_to_invitation(outside.planner, case_id, accept=True)
    core.comment(lab.doctor, case_id, f"Please treat {leak}")
    core.comment(outside.planner, case_id, f"About {leak}")
    core.upload_plan(lab.planner, case_id, plan_summary(), notes=leak)
    core.comment(lab.planner, case_id, f"Plan for {leak}")
    core.request_modification(lab.doctor, case_id, f"{leak} wants less IPR")
    core.upload_plan(lab.planner, case_id, plan_summary(ipr=0.2))
    core.accept_plan(lab.doctor, case_id, 2)
    core.hold(lab.production, case_id, f"records of {leak} unusable")
    core.release(lab.production, case_id)
    core.ship(lab.production, case_id, carrier="DHL", tracking_number="JD0001")
    second = draft()
    core.submit(lab.doctor, second)
    doctor2 = lab.add(Role.DOCTOR, "doctor-two")
    core.reassign(lab.admin, second, doctor2)
    core.cancel(lab.admin, second, f"{leak} moved away")
    with core.storage.unit_of_work() as uow:
        return list(uow.outbox.pending())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(last=names, first=names, born=births, local=names, domain=names)
def test_no_message_carries_patient_data(
    last: str, first: str, born: date, local: str, domain: str
) -> None:
    mail = f"{local}@{domain}.example"
    entries = lifecycle_entries(last, first, born, mail)
    assert {e.event.type for e in entries} >= {
        EventType.CASE_SUBMITTED, EventType.COMMENT_ADDED, EventType.PLAN_UPLOADED,
        EventType.MODIFICATION_REQUESTED, EventType.PLAN_ACCEPTED, EventType.CASE_SHIPPED,
        EventType.CASE_HELD, EventType.CASE_REASSIGNED, EventType.CASE_CANCELLED,
        EventType.COLLABORATOR_INVITED, EventType.COLLABORATOR_ACCEPTED,
    }  # fmt: skip
    entries += [entry_for(event, {**SAFE_DATA}) for event in EventType]
    forbidden = [last, first, mail, local, *birth_formats(born)]
    for entry in entries:
        for language in ("en", "de"):
            message = render(
                attrs.evolve(entry, language=language), base_url=BASE, sender="no-reply@lab.example"
            )
            haystack = everything(message).casefold()
            for secret in forbidden:
                assert secret.casefold() not in haystack, (
                    entry.event.type,
                    language,
                    "patient data leaked",
                )
