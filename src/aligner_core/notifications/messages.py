"""Rendering outbox entries into e-mails: plain text plus HTML, from per-event templates.

Why a whitelist: a message leaves the system, and patient data is health data.
An :class:`~aligner_core.notifications.outbox.OutboxEntry` carries ids, the
case number and a few event facts, never the patient; the renderer only offers
templates a fixed set of safe fields (:data:`SAFE_FIELDS`), and refuses any
template -- default or overridden by the embedding portal -- that names another
placeholder. The case number identifies the case; the link to it is built from
the portal's base URL.

Templates use :class:`string.Template` syntax (``$case_number`` or
``${case_url}``). Every value is HTML-escaped in the HTML part and stripped of
line breaks in the subject. The ``Message-ID`` is the entry's, fixed when it was
queued, so a resend after a crash can be de-duplicated by the receiving side.

Free-text fields (``reason``) are typed by users and may mention anyone; the
default templates leave them out and point to the portal instead. A portal may
opt in by overriding a template with ``$reason``.
"""

from __future__ import annotations

import functools
import html
import re
import string
from collections.abc import Mapping
from email import policy as email_policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime

import attrs

from aligner_core.domain.events import EventType
from aligner_core.errors import ValidationError
from aligner_core.links import Links
from aligner_core.notifications.outbox import OutboxEntry

__all__ = [
    "DEFAULT_TEMPLATES",
    "SAFE_FIELDS",
    "MessageTemplate",
    "Templates",
    "message_fields",
    "render",
]

#: The only placeholders a template may use.
SAFE_FIELDS = frozenset(
    {
        "portal_name",
        "portal_url",
        "case_number",
        "case_reference",
        "case_url",
        "event",
        "plan_version",
        "carrier",
        "tracking_number",
        "phase",
        "permissions",
        "reason",
        "recipient_email",
    }
)

_EVENT_DATA_FIELDS = (
    "plan_version",
    "carrier",
    "tracking_number",
    "phase",
    "permissions",
    "reason",
)
_LINE_BREAKS = re.compile(r"[\r\n\t\x00-\x1f\x7f]+")


def _check(source: str, where: str) -> string.Template:
    template = string.Template(source)
    if not template.is_valid():
        raise ValidationError.of("template_invalid", where, subject="template")
    unknown = sorted(set(template.get_identifiers()) - SAFE_FIELDS)
    if unknown:
        raise ValidationError.of(
            "template_placeholders",
            where,
            subject="template",
            unknown=", ".join(unknown),
            allowed=", ".join(sorted(SAFE_FIELDS)),
        )
    return template


@attrs.frozen
class MessageTemplate:
    """Subject, plain-text body and HTML body of one kind of notification.

    Constructing one checks every placeholder against :data:`SAFE_FIELDS`.
    """

    subject: str
    text: str
    html: str

    def __attrs_post_init__(self) -> None:
        for part in ("subject", "text", "html"):
            _check(getattr(self, part), f"$.{part}")

    def fill(self, fields: Mapping[str, str]) -> tuple[str, str, str]:
        """Subject, text and HTML with ``fields`` substituted (escaped where it matters)."""
        escaped = {k: html.escape(v, quote=True) for k, v in fields.items()}
        subject = _LINE_BREAKS.sub(" ", _check(self.subject, "$.subject").substitute(fields))
        text = _check(self.text, "$.text").substitute(fields)
        body = _check(self.html, "$.html").substitute(escaped)
        return subject.strip(), text, body


def _case(subject: str, text: str, action: str = "Open the case") -> MessageTemplate:
    """A case notification: subject and text name the case, HTML links to it."""
    return MessageTemplate(
        subject=f"[$portal_name] Case $case_number: {subject}",
        text=f"{text}\n\n{action}: $case_url\n\n-- \n$portal_name\n",
        html=(
            "<!DOCTYPE html><html><body>"
            f"<p>{html.escape(text)}</p>"
            f'<p><a href="$case_url">{html.escape(action)} (case $case_number)</a></p>'
            "<p>-- <br>$portal_name</p></body></html>"
        ),
    )


def _account(subject: str, text: str) -> MessageTemplate:
    return MessageTemplate(
        subject=f"[$portal_name] {subject}",
        text=f"{text}\n\nSign in: $portal_url\n\n-- \n$portal_name\n",
        html=(
            "<!DOCTYPE html><html><body>"
            f"<p>{html.escape(text)}</p>"
            '<p><a href="$portal_url">Sign in</a></p>'
            "<p>-- <br>$portal_name</p></body></html>"
        ),
    )


_E = EventType
#: One template per event type (events nobody is told about get a generic one).
DEFAULT_TEMPLATES: Mapping[EventType, MessageTemplate] = {
    _E.ACCOUNT_REGISTERED: _account("New account registered", "A new account was registered."),
    _E.ACCOUNT_ACTIVATED: _account(
        "Your account is active", "Your account has been activated. You can now sign in."
    ),
    _E.ACCOUNT_BLOCKED: _account("Your account was blocked", "Your account has been blocked."),
    _E.PROFILE_UPDATED: _account("Your profile was updated", "Your profile has been updated."),
    _E.CASE_CREATED: _case("created", "Case $case_number was created."),
    _E.CASE_UPDATED: _case("updated", "Case $case_number was updated."),
    _E.CASE_DELETED: _case("deleted", "The draft case $case_number was deleted."),
    _E.CASE_SUBMITTED: _case("submitted", "Case $case_number was submitted to the lab."),
    _E.ORDER_ACCEPTED: _case("order accepted", "The lab accepted the order for case $case_number."),
    _E.ORDER_REFUSED: _case(
        "order refused",
        "The lab refused the order for case $case_number. The reason is shown in the portal.",
    ),
    _E.PLAN_UPLOADED: _case(
        "treatment plan version $plan_version is ready",
        "Treatment plan version $plan_version of case $case_number is ready for your review.",
        "Review the plan",
    ),
    _E.PLAN_ACCEPTED: _case(
        "plan version $plan_version accepted",
        "The doctor accepted treatment plan version $plan_version of case $case_number.",
    ),
    _E.PLAN_REJECTED: _case(
        "plan rejected",
        "The doctor rejected the treatment plan of case $case_number. "
        "The reason is shown in the portal.",
    ),
    _E.MODIFICATION_REQUESTED: _case(
        "modification requested",
        "A modification of the treatment plan of case $case_number was requested. "
        "The request is shown in the portal.",
    ),
    _E.COMMENT_ADDED: _case(
        "new comment", "A new comment was added to case $case_number.", "Read the comment"
    ),
    _E.DOCUMENT_ADDED: _case("new document", "A document was added to case $case_number."),
    _E.CASE_HELD: _case(
        "on hold", "Case $case_number was put on hold. The reason is shown in the portal."
    ),
    _E.CASE_RELEASED: _case("released", "Case $case_number is no longer on hold."),
    _E.CASE_CANCELLED: _case(
        "cancelled", "Case $case_number was cancelled. The reason is shown in the portal."
    ),
    _E.CASE_SHIPPED: _case(
        "shipped",
        "Phase $phase of case $case_number has shipped with $carrier, "
        "tracking number $tracking_number.",
    ),
    _E.DELIVERY_CONFIRMED: _case(
        "delivery confirmed", "Delivery of phase $phase of case $case_number was confirmed."
    ),
    _E.CASE_CLOSED: _case("closed", "Case $case_number was closed."),
    _E.CASE_REOPENED: _case("reopened", "Case $case_number was reopened."),
    _E.CASE_REASSIGNED: _case(
        "reassigned", "Case $case_number was assigned to another doctor of the practice network."
    ),
    _E.PLAN_SHARED: _case(
        "plan shared", "A share link for plan version $plan_version of case $case_number was made."
    ),
    _E.SHARE_REVOKED: _case("share link revoked", "A share link of case $case_number was revoked."),
    _E.COLLABORATOR_INVITED: _case(
        "invitation to collaborate",
        "You are invited to collaborate on case $case_number (permissions: $permissions).",
        "Answer the invitation",
    ),
    _E.COLLABORATOR_ACCEPTED: _case(
        "invitation accepted", "Your invitation to collaborate on case $case_number was accepted."
    ),
    _E.COLLABORATOR_DECLINED: _case(
        "invitation declined", "Your invitation to collaborate on case $case_number was declined."
    ),
    _E.COLLABORATOR_REVOKED: _case(
        "collaboration ended", "Your access to case $case_number as a collaborator has ended."
    ),
    _E.FOLLOW_UP_ORDERED: _case(
        "follow-up order", "A follow-up order was placed for case $case_number."
    ),
}


class Templates:
    """The defaults, with the portal's overrides on top (per event, optionally per language).

    ``overrides`` maps an :class:`EventType`, or ``(EventType, language)``, to a
    :class:`MessageTemplate`; a language-specific one wins over a general one.
    Unsafe placeholders are refused when the template is built, before any
    message is rendered.
    """

    def __init__(
        self,
        overrides: Mapping[EventType | tuple[EventType, str], MessageTemplate] | None = None,
        *,
        portal_name: str = "Aligner Portal",
    ) -> None:
        self.portal_name = _LINE_BREAKS.sub(" ", portal_name).strip()
        self._overrides: dict[EventType | tuple[EventType, str], MessageTemplate] = {}
        for key, template in (overrides or {}).items():
            if not isinstance(template, MessageTemplate):
                raise ValidationError.of(
                    "expected_object",
                    f"$.{key}",
                    subject="template",
                    expected="message_template",
                    type=type(template).__name__,
                )
            self._overrides[key] = template

    def override(
        self,
        event: EventType,
        *,
        subject: str | None = None,
        text: str | None = None,
        html: str | None = None,
        language: str | None = None,
    ) -> Templates:
        """A copy with one event's template (partly) replaced; refuses unsafe placeholders."""
        base = self.for_event(event, language)
        template = MessageTemplate(
            subject=base.subject if subject is None else subject,
            text=base.text if text is None else text,
            html=base.html if html is None else html,
        )
        key: EventType | tuple[EventType, str] = event if language is None else (event, language)
        return Templates({**self._overrides, key: template}, portal_name=self.portal_name)

    def for_event(self, event: EventType, language: str | None = None) -> MessageTemplate:
        if language is not None and (event, language) in self._overrides:
            return self._overrides[(event, language)]
        if event in self._overrides:
            return self._overrides[event]
        return DEFAULT_TEMPLATES.get(event) or _case(
            "update", "There is an update on case $case_number."
        )


def message_fields(
    entry: OutboxEntry,
    *,
    base_url: str | None = None,
    portal_name: str,
    links: Links | None = None,
) -> dict[str, str]:
    """The safe fields of one entry: built from the event's ids and facts, never the patient.

    Links come from ``links`` (the URL templates given to ``connect``), or from a
    portal at ``base_url`` with the default routes.
    """
    event = entry.event
    chosen = links or Links(portal=base_url or Links().portal)
    number = "" if event.case_number is None else str(event.case_number)
    fields = {
        "portal_name": portal_name,
        "portal_url": chosen.portal,
        "case_number": number,
        "case_reference": f"Case {number}" if number else "",
        "case_url": chosen.case_url(event.case_number)
        if event.case_number is not None
        else chosen.portal,
        "event": event.type.value.replace("_", " "),
        "recipient_email": entry.recipient_email,
    }
    for name in _EVENT_DATA_FIELDS:
        fields[name] = event.get(name) or ""
    return fields


class _CachedHeaderRegistry(HeaderRegistry):
    """The stdlib registry builds a new header class per header set; build each once."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


@functools.cache
def _policy() -> email_policy.EmailPolicy[EmailMessage]:
    return email_policy.default.clone(header_factory=_CachedHeaderRegistry())


def render(
    entry: OutboxEntry,
    *,
    base_url: str | None = None,
    templates: Templates | None = None,
    sender: str,
    links: Links | None = None,
) -> EmailMessage:
    """The e-mail for one outbox entry: text and HTML alternatives, the entry's Message-ID."""
    chosen = templates or Templates()
    fields = message_fields(entry, base_url=base_url, portal_name=chosen.portal_name, links=links)
    subject, text, body = chosen.for_event(entry.event.type, entry.language).fill(fields)
    message = EmailMessage(policy=_policy())
    message["From"] = sender
    message["To"] = entry.recipient_email
    message["Subject"] = subject
    message["Message-ID"] = entry.message_id
    message["Date"] = format_datetime(entry.created_at)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Aligner-Event"] = entry.event.type.value
    message.set_content(text)
    message.add_alternative(body, subtype="html")
    message["Content-Language"] = entry.language  # after set_content, which drops Content-*
    return message
