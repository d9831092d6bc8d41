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

Free-text fields (``reason``) are typed by users and may mention anyone; they
are not kept in outbox entries (an entry would outlive a patient's erasure), so
the templates point to the portal instead. ``$reason`` stays an allowed name and
renders empty.

Each e-mail is written in its recipient's language (``OutboxEntry.language``,
from ``Account.language``): the default texts are msgids of the catalogs
(:mod:`aligner_core.i18n`), translated per message, never through a process-wide
locale. A language without a catalog falls back to its base language, then to
English, and ``Content-Language`` names the language actually used. A portal's
override for ``(event, language)`` wins over its general override, which wins
over the translated default; a translated template is checked against
:data:`SAFE_FIELDS` like any other.
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

from aligner_core import i18n
from aligner_core.codes import N_
from aligner_core.domain.events import EventType
from aligner_core.errors import ValidationError
from aligner_core.links import Links
from aligner_core.notifications.outbox import OutboxEntry

__all__ = [
    "DEFAULT_TEMPLATES",
    "SAFE_FIELDS",
    "MessageTemplate",
    "Templates",
    "default_template",
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
        "invitation_url",
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


@attrs.frozen
class _Parts:
    """The English texts of a default template (msgids), composed by :func:`_compose`."""

    subject: str
    text: str
    action: str | None = None  # a case notification's link text; None: an account one
    link: str = "$case_url"  # where a case notification's link points


_SIGNATURE = "\n\n-- \n$portal_name\n"
_SIGN_IN = N_("Sign in")
_CASE = N_("Case $case_number")  # in a subject, and the case_reference field
_CASE_LINK = N_("case $case_number")  # after the link text


def _compose(parts: _Parts, language: str) -> MessageTemplate:
    """The default template of ``parts`` in ``language`` (every text through the catalog)."""

    def tr(text: str) -> str:
        return i18n.gettext(text, language)

    text = tr(parts.text)
    if parts.action is None:
        sign_in = tr(_SIGN_IN)
        return MessageTemplate(
            subject=f"[$portal_name] {tr(parts.subject)}",
            text=f"{text}\n\n{sign_in}: $portal_url{_SIGNATURE}",
            html=(
                f'<!DOCTYPE html><html lang="{language}"><body>'
                f"<p>{html.escape(text)}</p>"
                f'<p><a href="$portal_url">{html.escape(sign_in)}</a></p>'
                "<p>-- <br>$portal_name</p></body></html>"
            ),
        )
    action = tr(parts.action)
    return MessageTemplate(
        subject=f"[$portal_name] {tr(_CASE)}: {tr(parts.subject)}",
        text=f"{text}\n\n{action}: {parts.link}{_SIGNATURE}",
        html=(
            f'<!DOCTYPE html><html lang="{language}"><body>'
            f"<p>{html.escape(text)}</p>"
            f'<p><a href="{parts.link}">{html.escape(action)} '
            f"({html.escape(tr(_CASE_LINK))})</a></p>"
            "<p>-- <br>$portal_name</p></body></html>"
        ),
    )


def _case(subject: str, text: str, action: str = N_("Open the case")) -> _Parts:
    """A case notification: subject and text name the case, HTML links to it."""
    return _Parts(subject, text, action)


def _account(subject: str, text: str) -> _Parts:
    return _Parts(subject, text)


_E = EventType
#: The texts of each event's default e-mail (English msgids; see :func:`default_template`).
_DEFAULT_PARTS: Mapping[EventType, _Parts] = {
    _E.ACCOUNT_REGISTERED: _account(
        N_("New account registered"), N_("A new account was registered.")
    ),
    _E.ACCOUNT_ACTIVATED: _account(
        N_("Your account is active"), N_("Your account has been activated. You can now sign in.")
    ),
    _E.ACCOUNT_BLOCKED: _account(
        N_("Your account was blocked"), N_("Your account has been blocked.")
    ),
    _E.PROFILE_UPDATED: _account(
        N_("Your profile was updated"), N_("Your profile has been updated.")
    ),
    _E.CASE_CREATED: _case(N_("created"), N_("Case $case_number was created.")),
    _E.CASE_UPDATED: _case(N_("updated"), N_("Case $case_number was updated.")),
    _E.CASE_DELETED: _case(N_("deleted"), N_("The draft case $case_number was deleted.")),
    _E.CASE_SUBMITTED: _case(N_("submitted"), N_("Case $case_number was submitted to the lab.")),
    _E.ORDER_ACCEPTED: _case(
        N_("order accepted"), N_("The lab accepted the order for case $case_number.")
    ),
    _E.ORDER_REFUSED: _case(
        N_("order refused"),
        N_("The lab refused the order for case $case_number. The reason is shown in the portal."),
    ),
    _E.PLAN_UPLOADED: _case(
        N_("treatment plan version $plan_version is ready"),
        N_("Treatment plan version $plan_version of case $case_number is ready for your review."),
        N_("Review the plan"),
    ),
    _E.PLAN_ACCEPTED: _case(
        N_("plan version $plan_version accepted"),
        N_("The doctor accepted treatment plan version $plan_version of case $case_number."),
    ),
    _E.PLAN_REJECTED: _case(
        N_("plan rejected"),
        N_(
            "The doctor rejected the treatment plan of case $case_number. "
            "The reason is shown in the portal."
        ),
    ),
    _E.MODIFICATION_REQUESTED: _case(
        N_("modification requested"),
        N_(
            "A modification of the treatment plan of case $case_number was requested. "
            "The request is shown in the portal."
        ),
    ),
    _E.COMMENT_ADDED: _case(
        N_("new comment"),
        N_("A new comment was added to case $case_number."),
        N_("Read the comment"),
    ),
    _E.DOCUMENT_ADDED: _case(N_("new document"), N_("A document was added to case $case_number.")),
    _E.CASE_HELD: _case(
        N_("on hold"),
        N_("Case $case_number was put on hold. The reason is shown in the portal."),
    ),
    _E.CASE_RELEASED: _case(N_("released"), N_("Case $case_number is no longer on hold.")),
    _E.CASE_CANCELLED: _case(
        N_("cancelled"),
        N_("Case $case_number was cancelled. The reason is shown in the portal."),
    ),
    _E.CASE_SHIPPED: _case(
        N_("shipped"),
        N_(
            "Phase $phase of case $case_number has shipped with $carrier, "
            "tracking number $tracking_number."
        ),
    ),
    _E.DELIVERY_CONFIRMED: _case(
        N_("delivery confirmed"),
        N_("Delivery of phase $phase of case $case_number was confirmed."),
    ),
    _E.CASE_CLOSED: _case(N_("closed"), N_("Case $case_number was closed.")),
    _E.CASE_REOPENED: _case(N_("reopened"), N_("Case $case_number was reopened.")),
    _E.CASE_REASSIGNED: _case(
        N_("reassigned"),
        N_("Case $case_number was assigned to another doctor of the practice network."),
    ),
    _E.PLAN_SHARED: _case(
        N_("plan shared"),
        N_("A share link for plan version $plan_version of case $case_number was made."),
    ),
    _E.SHARE_REVOKED: _case(
        N_("share link revoked"), N_("A share link of case $case_number was revoked.")
    ),
    _E.INVITATION_EMAILED: _Parts(
        N_("invitation to collaborate"),
        N_(
            "You are invited to collaborate on case $case_number in $portal_name "
            "(permissions: $permissions). Create your account with this link to open it; "
            "the link is yours alone."
        ),
        N_("Create your account"),
        "$invitation_url",
    ),
    _E.COLLABORATOR_INVITED: _case(
        N_("invitation to collaborate"),
        N_("You are invited to collaborate on case $case_number (permissions: $permissions)."),
        N_("Answer the invitation"),
    ),
    _E.COLLABORATOR_ACCEPTED: _case(
        N_("invitation accepted"),
        N_("Your invitation to collaborate on case $case_number was accepted."),
    ),
    _E.COLLABORATOR_DECLINED: _case(
        N_("invitation declined"),
        N_("Your invitation to collaborate on case $case_number was declined."),
    ),
    _E.COLLABORATOR_REVOKED: _case(
        N_("collaboration ended"),
        N_("Your access to case $case_number as a collaborator has ended."),
    ),
    _E.FOLLOW_UP_ORDERED: _case(
        N_("follow-up order"), N_("A follow-up order was placed for case $case_number.")
    ),
    _E.IMPRESSIONS_RECEIVED: _case(
        N_("impressions received"),
        N_("The lab received the impressions for case $case_number and is digitising them."),
    ),
    _E.SCANS_DIGITISED: _case(
        N_("scans digitised"),
        N_("The impressions of case $case_number are digitised; the case goes on."),
    ),
    _E.RECORDS_REQUESTED: _case(
        N_("new records needed"),
        N_(
            "The lab needs new records for case $case_number. What is needed and why is "
            "shown in the portal; the lab's turnaround is paused until they are uploaded."
        ),
        N_("Upload the records"),
    ),
    _E.RECORDS_RECEIVED: _case(
        N_("records received"),
        N_("The records the lab asked for on case $case_number have been uploaded."),
    ),
    _E.CASE_ASSIGNED: _case(
        N_("assigned to you"),
        N_("Case $case_number was assigned to you."),
        N_("Open the case"),
    ),
    _E.PACKAGE_UPGRADED: _case(
        N_("package upgraded"),
        N_("Case $case_number was moved to a larger package; the difference is invoiced."),
    ),
}
_GENERIC = _case(N_("update"), N_("There is an update on case $case_number."))


@functools.cache
def default_template(event: EventType, language: str = i18n.BASE_LANGUAGE) -> MessageTemplate:
    """The library's template for ``event`` in ``language`` (a catalog language; see
    :func:`aligner_core.i18n.resolve`). Translated texts are checked like any template.

    .. versionadded:: 0.2
    """
    return _compose(_DEFAULT_PARTS.get(event, _GENERIC), i18n.resolve(language))


#: One template per event type, in English (events nobody is told about get a generic one).
DEFAULT_TEMPLATES: Mapping[EventType, MessageTemplate] = {
    event: default_template(event) for event in _DEFAULT_PARTS
}

_Key = EventType | tuple[EventType, str]


class Templates:
    """The defaults, with the portal's overrides on top (per event, optionally per language).

    ``overrides`` maps an :class:`EventType`, or ``(EventType, language)``, to a
    :class:`MessageTemplate`; a language-specific one wins over a general one,
    which wins over the library's translated default. ``language`` is the
    language general overrides are written in (``Content-Language`` of the
    messages that use one). Unsafe placeholders are refused when the template is
    built, before any message is rendered.
    """

    def __init__(
        self,
        overrides: Mapping[_Key, MessageTemplate] | None = None,
        *,
        portal_name: str = "Aligner Portal",
        language: str = i18n.BASE_LANGUAGE,
    ) -> None:
        self.portal_name = _LINE_BREAKS.sub(" ", portal_name).strip()
        self.language = language
        self._overrides: dict[_Key, MessageTemplate] = {}
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
        """A copy with one event's template (partly) replaced; refuses unsafe placeholders.

        Parts not given are kept from the template the event has now in ``language``.
        """
        base = self.for_event(event, language)
        template = MessageTemplate(
            subject=base.subject if subject is None else subject,
            text=base.text if text is None else text,
            html=base.html if html is None else html,
        )
        key: _Key = event if language is None else (event, language)
        return Templates(
            {**self._overrides, key: template},
            portal_name=self.portal_name,
            language=self.language,
        )

    def choose(self, event: EventType, language: str | None = None) -> tuple[MessageTemplate, str]:
        """The template for ``event`` in ``language`` and the language it is written in.

        An override for the language tag (``de-AT``), then for its base language
        (``de``), then a general override, then the default in the catalog language
        :func:`~aligner_core.i18n.resolve` picks (English when there is none).
        """
        if language is not None:
            tag = language.strip()
            for candidate in dict.fromkeys((tag, tag.split("-")[0].split("_")[0])):
                found = self._overrides.get((event, candidate))
                if found is not None:
                    return found, candidate
        general = self._overrides.get(event)
        if general is not None:
            return general, self.language
        used = i18n.resolve(language)
        return default_template(event, used), used

    def for_event(self, event: EventType, language: str | None = None) -> MessageTemplate:
        return self.choose(event, language)[0]


def message_fields(
    entry: OutboxEntry,
    *,
    base_url: str | None = None,
    portal_name: str,
    links: Links | None = None,
    language: str | None = None,
) -> dict[str, str]:
    """The safe fields of one entry: built from the event's ids and facts, never the patient.

    Links come from ``links`` (the URL templates given to ``connect``), or from a
    portal at ``base_url`` with the default routes. Words (``case_reference``,
    ``event``) are in ``language`` (the entry's, unless told).
    """
    event = entry.event
    lang = i18n.resolve(entry.language if language is None else language)
    chosen = links or Links(portal=base_url or Links().portal)
    number = "" if event.case_number is None else str(event.case_number)
    reference = string.Template(i18n.gettext(_CASE, lang))
    fields = {
        "portal_name": portal_name,
        "portal_url": chosen.portal,
        "case_number": number,
        "case_reference": reference.safe_substitute(case_number=number) if number else "",
        "case_url": chosen.case_url(event.case_number)
        if event.case_number is not None
        else chosen.portal,
        "event": event.type.value.replace("_", " ")
        if lang == i18n.BASE_LANGUAGE
        else i18n.label(event.type, lang),
        "recipient_email": entry.recipient_email,
        "invitation_url": chosen.invitation_url(token) if (token := event.get("token")) else "",
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
    """The e-mail for one outbox entry in its recipient's language: text and HTML
    alternatives, the entry's Message-ID, and the ``Content-Language`` actually used
    (a ``de`` recipient gets German; ``fr``, without a catalog, English and ``en``).
    """
    chosen = templates or Templates()
    template, language = chosen.choose(entry.event.type, entry.language)
    fields = message_fields(
        entry,
        base_url=base_url,
        portal_name=chosen.portal_name,
        links=links,
        language=language,
    )
    subject, text, body = template.fill(fields)
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
    message["Content-Language"] = language  # after set_content, which drops Content-*
    return message
