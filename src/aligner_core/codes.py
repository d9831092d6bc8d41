"""Every code the library speaks, with its English text.

A refusal or a field problem is a *code* with *parameters*
(``{"code": "scan_missing", "params": {"arch": "upper"}}``); its English text is
the template here, formatted with the parameters. The templates are the msgids
of the gettext catalogs (``aligner_core/locale``), so a shell shows the same
code in the user's language. Codes are stable: change a text, never a code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["CODES", "N_", "PARAM_LABELS", "english"]


def N_(text: str) -> str:
    """Marks a text for the catalogs (Babel's extractor finds it); returns it unchanged."""
    return text


#: code -> English template (``str.format`` placeholders name the parameters).
CODES: Final[Mapping[str, str]] = {
    # -- field problems: the shape of an input ----------------------------------------------
    "required": N_("required field missing"),
    "unexpected_field": N_("unexpected field {field!r}"),
    "wrong_type": N_("must be {expected}"),
    "blank": N_("must not be blank"),
    "too_long": N_("must be at most {max} characters long"),
    "too_many": N_("must hold at most {max} items"),
    "too_few": N_("must hold at least {min} item(s)"),
    "out_of_range": N_("must be from {min} to {max}"),
    "not_one_of": N_("must be one of: {choices}"),
    "bad_characters": N_("must not hold control characters or unpaired surrogates"),
    "duplicate": N_("must not repeat an item"),
    "invalid_email": N_("must be one e-mail address (name@domain, no display name)"),
    "invalid_username": N_(
        "may hold letters, digits, space and . - ' _ @ of one script (1 to 60 characters)"
    ),
    "invalid_telephone": N_("must be a telephone number"),
    "invalid_language": N_("must be a language tag such as en or de-AT"),
    "invalid_reference_code": N_("must be 3 to 32 letters, digits or dashes"),
    "invalid_date": N_("must be a date (YYYY-MM-DD)"),
    "invalid_datetime": N_("must be a date and time with a time zone (ISO 8601)"),
    "invalid_uuid": N_("must be an identifier (UUID)"),
    "invalid_tooth": N_("must be a tooth in {notation} notation"),
    "invalid_url": N_("must be an https link"),
    "invalid_duration": N_("must be a duration in seconds or ISO 8601 (P14D)"),
    "date_in_future": N_("must not be in the future"),
    "date_too_early": N_("must not be before {min}"),
    "naive_datetime": N_("must be a datetime with a time zone"),
    "not_finite": N_("must be a finite number"),
    "malformed_json": N_("malformed JSON"),
    "document_too_large": N_("is larger than {max} bytes"),
    "document_too_deep": N_("is nested deeper than {max} levels"),
    "document_too_many_values": N_("holds more than {max} values"),
    "not_an_object": N_("must be an object"),
    "schema_too_new": N_("was written by a newer version of the library"),
    "invalid": N_("is not valid"),
    # -- field problems: domain rules --------------------------------------------------------
    "teeth_extract_and_keep": N_("tooth {tooth} cannot be both extracted and not moved"),
    "second_pontic": N_("tooth {tooth} has a second pontic"),
    "primary_tooth_in_permanent": N_("primary tooth {tooth} in a permanent dentition"),
    "tooth_marked_twice": N_("tooth {tooth} has more than one state"),
    "contact_teeth": N_("a contact joins two different teeth of the same arch"),
    "ipr_range": N_("IPR must be more than 0 and at most {max} mm"),
    "plan_without_steps": N_("a plan has steps on at least one arch"),
    "steps_numbering": N_("steps are numbered 1 to N without gaps"),
    "steps_count": N_("{count} steps but the summary says {expected}"),
    "steps_ipr_total": N_("the steps add up to {total} mm of IPR but the summary says {expected}"),
    "steps_attachments": N_("the steps place {count} attachments but the summary says {expected}"),
    "retainer_range_needed": N_("a fixed retainer needs an upper or a lower range"),
    "retainer_model_step": N_("a fixed retainer needs new scans, not a model step"),
    "retainer_range_not_fixed": N_("ranges apply to fixed lingual retainers only"),
    "retainer_range_arch": N_("the {arch} range needs the {arch} arch treated"),
    "last_step_before_first": N_("the last step comes before the first"),
    "reason_detail_needed": N_("say why when the reason is 'other'"),
    "revision_instructions": N_("a revision says what to change"),
    "permission_needed": N_("at least one permission"),
    "follow_up_kind": N_("a {kind} is ordered on an existing case"),
    "order_kind_mismatch": N_("the order details do not fit a {kind} case"),
    "order_details_needed": N_("a {kind} needs its order details"),
    "reference_code_needed": N_("a reference code is needed to join a network"),
    "unknown_reference_code": N_("unknown reference code"),
    "admin_not_registered": N_("admins are appointed, not registered"),
    "username_taken": N_("username is taken"),
    "email_taken": N_("e-mail address is taken"),
    "reference_code_taken": N_("reference code is taken"),
    "case_exists": N_("case {number} already exists"),
    "invitee_invalid": N_("invite an active account other than the owner"),
    "already_invited": N_("already invited"),
    "new_owner_invalid": N_("the new owner is an active doctor of the network"),
    "link_lifetime": N_("a link lives between 1 second and 365 days"),
    "not_storable": N_("holds characters that cannot be stored"),
    "and_more": N_("and {count} more"),
    # -- refusals: why an action is not possible now -----------------------------------------
    "wrong_state": N_("not possible in state {state}"),
    "already_in_production": N_("the case is already in production"),
    "no_route": N_("no route for a {kind} case from {state}"),
    "request_missing": N_("treatment request missing"),
    "confirmation_missing": N_("{confirmation} confirmation not given"),
    "scan_missing": N_("{arch} scan missing"),
    "scan_not_stl": N_("{arch} scan is not an accepted STL scan"),
    "no_files": N_("no files attached for manufacturing"),
    "order_missing": N_("order details missing"),
    "quality_complaint_not_acknowledged": N_(
        "replacement not acknowledged as not a quality complaint"
    ),
    "parent_missing": N_("parent case not found"),
    "parent_state": N_("parent case {number} is {state}; it must be {allowed}"),
    "parent_needed": N_("a {kind} order needs a parent case"),
    "follow_up_state": N_("a {kind} needs this case {allowed}, not {state}"),
    "reason_required": N_("a reason is required"),
    "plan_missing": N_("plan missing"),
    "plan_version_missing": N_("plan version {version} does not exist"),
    "plan_version_superseded": N_("plan version {version} is superseded by version {latest}"),
    "shipping_field_missing": N_("{field} missing"),
    "no_pending_delivery": N_("no undelivered shipment"),
    "no_active_share": N_("no share link to revoke"),
    "no_collaborator": N_("no collaborator to revoke"),
    "shipment_not_pending": N_("the shipment is not awaiting delivery"),
    "not_permitted": N_("not permitted for this user"),
    "account_blocked": N_("account is blocked"),
    "unknown_user": N_("unknown user"),
    "needs_relation": N_("needs one of [{needed}], has [{held}]"),
    "not_network_admin": N_("not an admin of this network"),
    "only_doctors_order": N_("only doctors order cases"),
    "cannot_block_self": N_("admins cannot block themselves"),
    "stale_version": N_("the case changed: expected version {expected}, found {actual}"),
}


#: Parameter values that are words, not data: shown through these labels (and translated).
PARAM_LABELS: Final[Mapping[str, Mapping[str, str]]] = {
    "expected": {
        "text": N_("text"),
        "integer": N_("a whole number"),
        "number": N_("a number"),
        "boolean": N_("true or false"),
        "uuid": N_("an identifier (UUID)"),
        "date": N_("a date"),
        "datetime": N_("a date and time"),
        "duration": N_("a duration"),
        "list": N_("a list"),
        "object": N_("an object"),
        "file": N_("a file"),
        "command": N_("a command"),
    },
    "confirmation": {
        "completeness": N_("completeness"),
        "privacy": N_("privacy"),
    },
}


def english(code: str, params: Mapping[str, Any] | None = None) -> str:
    """The English text of ``code`` with ``params`` filled in (unknown codes stay as given)."""
    template = CODES.get(code)
    if template is None:
        return code
    shown = dict(params or {})
    for name, labels in PARAM_LABELS.items():
        value = shown.get(name)
        if isinstance(value, str) and value in labels:
            shown[name] = labels[value]
    try:
        return template.format(**shown)
    except (KeyError, IndexError, ValueError):
        return template
