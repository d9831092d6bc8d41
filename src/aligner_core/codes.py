"""Every code the library speaks, with its English text.

A refusal or a field problem is a *code* with *parameters*
(``{"code": "scan_missing", "params": {"arch": "upper"}}``); its English text is
the template here, formatted with the parameters. The templates are the msgids
of the gettext catalogs (``aligner_core/locale``), so a shell shows the same
code in the user's language (:func:`aligner_core.i18n.translate`). Codes are
stable: change a text, never a code.

A code may have *variants*: ``"rule:problem"`` entries used when the parameters
name a ``problem`` (``{"code": "image.malformed", "params": {"problem":
"png_header"}}``), so one stable code (the file rule) keeps a precise sentence
per case. Parameter values that are words come from a fixed vocabulary
(:data:`PARAM_LABELS`) and are translated; numbers and identifiers are shown as
they are. No template shows text taken from a file or typed by a user.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = ["CODES", "N_", "PARAM_LABELS", "english", "fill", "template_of", "word_fields"]

_FORMATTER: Final = string.Formatter()


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
    "invalid_cursor": N_("is not a cursor of a list sorted by {sort}"),
    "positive": N_("must be positive"),
    "at_least": N_("must be at least {min}"),
    "positive_integer": N_("must be a positive integer"),
    "non_negative_integer": N_("must be a non-negative integer"),
    "non_negative_number": N_("must be a finite number >= 0"),
    "aware_datetime": N_("must be a timezone-aware datetime"),
    "text_limit": N_("must be text of at most {max} characters"),
    "duplicate_entry": N_("duplicate entry {entry}"),
    "three_numbers": N_("must be three numbers"),
    "invalid_sha256": N_("must be 64 lowercase hex digits"),
    "expected_object": N_("expected {expected}, not {type}"),
    "picture_size": N_("size is (width, height), whole pixels from {min} to {max}"),
    "id_prefix": N_("an id prefix is a letter then letters, digits, '_' or '-' (at most 40)"),
    # -- configuration: what a program passes when it wires the library --------------------
    "unknown_option": N_("unknown option {option}; connect takes {options}"),
    "sqlite_path_needed": N_("sqlite URL needs a path: sqlite:///cases.db"),
    "unknown_url_scheme": N_("unknown storage URL scheme (memory, sqlite, postgresql)"),
    "url_template": N_("a URL template with {placeholders}"),
    "dispatch_delays": N_("need 0 < base_delay <= max_delay and a positive lease"),
    "credentials_pair": N_("give both username and password, or neither"),
    "template_invalid": N_("not a valid template (a stray '$'?)"),
    "template_placeholders": N_(
        "placeholders not allowed in a notification: {unknown}; allowed: {allowed}"
    ),
    "sha256_mismatch": N_("content has sha256 {actual}, not {expected}"),
    "scope_needed": N_("a scope names a network or a member"),
    "page_limit": N_("at most {max} cases per page"),
    # -- teeth and tooth charts --------------------------------------------------------------
    "invalid_fdi": N_("{value} is not an FDI tooth number ({ranges})"),
    "invalid_universal": N_("{value} is not a Universal tooth number ({ranges})"),
    "invalid_palmer": N_("{value} is not a Palmer tooth name ({forms})"),
    "tooth_number_type": N_("a {notation} tooth number must be an int or text, not {type} {value}"),
    "tooth_text_type": N_("a {notation} tooth name must be text, not {type} {value}"),
    "tooth_type": N_("a tooth must be given as text, not {type} {value}"),
    "unknown_notation": N_("unknown notation {value} (one of {choices})"),
    "unknown_tooth_state": N_("unknown tooth state {value} (one of {choices})"),
    "marks_mapping": N_("marks must be ToothMark items; build from a mapping with from_mapping()"),
    "marks_type": N_("marks must be a sequence of ToothMark, not {type}"),
    "not_a_mark": N_("not a ToothMark: {value}"),
    "tooth_marked_again": N_("tooth {tooth} has more than one mark (also at {other})"),
    # -- scan previews -----------------------------------------------------------------------
    "mesh_not_array": N_("not an (N, 3, 3) array of numbers: {type}"),
    "mesh_shape": N_("triangles must have shape (N, 3, 3), not {shape}"),
    "mesh_empty": N_("no triangles"),
    "mesh_not_finite": N_("{count} triangle(s) with NaN or infinite coordinates"),
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
    "already_exists": N_("already exists"),
    "imported_twice": N_("case {number} is imported twice"),
    "new_case_version": N_("a new case has version 1"),
    "batch_size": N_("the batch size must be at least 1"),
    "invitee_invalid": N_("invite an active account other than the owner"),
    "invitee_one_of": N_("name the invitee by account or by e-mail address, not both"),
    "already_invited": N_("already invited"),
    "invitation_invalid": N_("this invitation link is not valid (used, withdrawn or mistyped)"),
    "invitation_other_email": N_("use the e-mail address the invitation was sent to"),
    "new_owner_invalid": N_("the new owner is an active doctor of the network"),
    "link_lifetime": N_("a link lives between 1 second and 365 days"),
    "not_storable": N_("holds characters that cannot be stored"),
    "and_more": N_("and {count} more"),
    "duplicate_file_id": N_("duplicate file id"),
    "plan_numbering": N_("plan versions are numbered 1..N"),
    "hold_state": N_("a hold is recorded exactly while on hold"),
    "records_request_state": N_("a records request is recorded exactly while awaiting records"),
    # -- refusals: why an action is not possible now -----------------------------------------
    "wrong_state": N_("not possible in state {state}"),
    "already_in_production": N_("the case is already in production"),
    "no_route": N_("no route for a {kind} case from {state}"),
    "request_missing": N_("treatment request missing"),
    "confirmation_missing": N_("{confirmation} confirmation not given"),
    "pontic_shade_not_offered": N_(
        "the pontic on tooth {tooth} asks for shade {shade}; the lab makes {offered}"
    ),
    "confirmation_outdated": N_(
        "{confirmation} confirmed in version {version}; the network asks for {required}"
    ),
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
    "follow_up_parent_kind": N_("a {kind} cannot follow a {parent} case"),
    "follow_up_no_plan": N_("case {number} has no accepted plan to take steps from"),
    "step_outside_plan": N_("step {step} is outside the {arch} arch's {steps} planned steps"),
    "pontic_on_present_tooth": N_(
        "a pontic on tooth {tooth}, which is neither missing nor to be extracted"
    ),
    # impressions by post and records requests
    "impression_type_missing": N_("impression type not chosen (scans or impressions by post)"),
    "impressions_not_shipped": N_("the impressions have not been sent (carrier and tracking)"),
    "impressions_not_by_post": N_("the case's impression type is not impressions by post"),
    "impressions_already_received": N_("the impressions were already received"),
    "impressions_not_received": N_("the impressions have not been received"),
    # -- warnings: how a plan departs from its request (shown before approval) -------------------
    "scan_units": N_("{kind} in the wrong units: {verdict}"),
    "plan_past_step_limit": N_("the plan has {steps} steps; the request limits it to {limit}"),
    "plan_wear_schedule": N_(
        "the plan changes aligners every {plan} days; the request asks for {request}"
    ),
    "plan_ipr_on_kept_tooth": N_("the plan has IPR on tooth {tooth}, marked not to move"),
    "plan_attachment_on_kept_tooth": N_(
        "the plan places an attachment on tooth {tooth}, marked not to move"
    ),
    "plan_attachment_on_excluded_tooth": N_(
        "the plan places an attachment on tooth {tooth}, marked without attachments"
    ),
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
    "rejected": N_("rejected"),
    "account_blocked": N_("account is blocked"),
    "unknown_user": N_("unknown user"),
    "needs_relation": N_("needs one of [{needed}], has [{held}]"),
    "not_network_admin": N_("not an admin of this network"),
    "only_doctors_order": N_("only doctors order cases"),
    "cannot_block_self": N_("admins cannot block themselves"),
    "stale_version": N_("the case changed: expected version {expected}, found {actual}"),
    # -- refused files: the rule codes of ``aligner_core.files`` -----------------------------
    # ``rule:problem`` entries are variants: a reason with ``params["problem"]`` uses one.
    # Texts name the rule, sizes and entry numbers, never names or text from the file.
    "file.not_regular": N_("not a regular file"),
    "file.empty": N_("empty file"),
    "file.too_large": N_("larger than {limit} bytes"),
    "file.too_large:of_kind": N_("larger than the limit of {limit} bytes for {kind} files"),
    "content.executable": N_("executable content refused: {executable}"),
    "content.unrecognised": N_(
        "unrecognised content: not a PNG, JPEG, PDF, ZIP, TAR, gzip or STL file"
    ),
    "content.wrong_type": N_("content is {media}, but a {kind} file must be {allowed}"),
    "content.polyglot": N_("content is {media} and also {also}"),
    "name.extension_mismatch": N_("the name ends in {extension!r} but the content is {media}"),
    "extra.missing": N_("this check needs an optional extra of aligner-core ({extra})"),
    "extra.missing:pdf": N_("PDF checks need the aligner-core[pdf] extra (pikepdf)"),
    "extra.missing:stl": N_("STL analysis needs the aligner-core[stl] extra"),
    "extra.missing:images": N_("image checks need the aligner-core[images] extra (Pillow)"),
    "stl.invalid": N_("not a valid STL file"),
    "stl.invalid:empty": N_("empty file"),
    "stl.invalid:short": N_(
        "not an STL file: {size} bytes is shorter than the {header}-byte binary STL header "
        "and the file does not start with 'solid'"
    ),
    "stl.invalid:text": N_("not an STL file: text that does not start with 'solid'"),
    "stl.invalid:zero_count": N_("zero triangles: the binary header counts 0 triangles"),
    "stl.invalid:truncated": N_(
        "truncated: the header claims {count} triangles ({expected} bytes) "
        "but the file has only {size} bytes"
    ),
    "stl.invalid:size": N_(
        "not a binary STL: the header claims {count} triangles ({expected} bytes) "
        "but the file has {size} bytes ({trailing} more)"
    ),
    "stl.invalid:size_not_solid": N_(
        "not a binary STL: the header claims {count} triangles ({expected} bytes) "
        "but the file has {size} bytes ({trailing} more), and it does not start with 'solid'"
    ),
    "stl.invalid:changed": N_("file is {size} bytes, expected {expected} bytes"),
    "stl.invalid:zero_triangles": N_("zero triangles in the {format} STL"),
    "stl.invalid:short_read": N_("truncated: read {count} of {expected} triangles"),
    "stl.too_many_triangles": N_("too many triangles: {count} (at most {max})"),
    "stl.too_many_triangles:analyse": N_("too large to analyse in memory"),
    "stl.too_many_triangles:read": N_("too large to read into memory"),
    "stl.nonfinite": N_(
        "{values} NaN or infinite coordinate value(s) in {count} of {triangles} triangles"
    ),
    "stl.nonfinite:triangles": N_("{count} triangle(s) with NaN or infinite coordinates"),
    "stl.degenerate": N_("all {count} triangles are degenerate (zero area)"),
    "stl.unparsable": N_("{format} STL does not parse"),
    "stl.unparsable:analysis": N_("mesh analysis failed"),
    "stl.unparsable:io": N_("cannot read the file"),
    "image.malformed": N_("the image structure is broken"),
    "image.malformed:no_pixels": N_("{format} of {width} x {height} pixels has no pixels"),
    "image.malformed:png_header": N_("PNG without a valid IHDR header"),
    "image.malformed:png_no_iend": N_("PNG is truncated: no IEND chunk"),
    "image.malformed:png_chunks": N_("PNG chunk structure is broken"),
    "image.malformed:png_too_many_chunks": N_("PNG has more than {max} chunks"),
    "image.malformed:png_iend_cut": N_("PNG is truncated: the IEND chunk is cut short"),
    "image.malformed:jpeg_no_frame": N_("JPEG without a frame header (truncated or not an image)"),
    "image.malformed:jpeg_no_eoi": N_("JPEG is truncated: no end-of-image marker"),
    "image.pixels": N_(
        "{format} of {width} x {height} pixels is above the limit of {limit} pixels"
    ),
    "image.pixels:bomb": N_("image is above Pillow's decompression-bomb limit"),
    "image.pixels:memory": N_("image too large to decode in memory"),
    "image.trailing_data": N_("{count} byte(s) of data after the end of the image"),
    "image.trailing_data:png": N_("{count} byte(s) of data after the PNG end chunk (IEND)"),
    "image.trailing_data:jpeg": N_("{count} byte(s) of data after the JPEG end-of-image marker"),
    "image.undecodable": N_("the image does not decode (damaged or truncated pixel data)"),
    "image.animated": N_("image with several frames: a photo is one image"),
    "image.animated:png": N_("animated PNG (APNG): a photo is one still image"),
    "pdf.malformed": N_("PDF structure does not parse (damaged or not a PDF)"),
    "pdf.malformed:no_eof": N_("PDF has no %%EOF marker at its end (truncated?)"),
    "pdf.malformed:nested": N_("PDF objects are nested too deeply"),
    "pdf.malformed:objects": N_("PDF objects do not parse (damaged PDF)"),
    "pdf.malformed:repaired": N_("PDF is damaged (the parser had to repair it)"),
    "pdf.encrypted": N_("PDF is encrypted (password protected)"),
    "pdf.javascript": N_("PDF contains JavaScript"),
    "pdf.open_action": N_("PDF runs an action when opened (/OpenAction)"),
    "pdf.launch": N_("PDF contains a launch action (runs a program)"),
    "pdf.additional_actions": N_("PDF contains additional actions (/AA)"),
    "pdf.action": N_("PDF contains a {action} action"),
    "pdf.embedded_file": N_("PDF contains embedded files"),
    "pdf.xfa": N_("PDF contains an XFA form"),
    "pdf.rich_media": N_("PDF contains rich media (Flash, video)"),
    "pdf.trailing_data": N_("data after the PDF's final %%EOF marker"),
    "pdf.too_complex": N_("PDF has {count} objects (at most {max})"),
    "archive.corrupt": N_("corrupt {format}: it does not parse"),
    "archive.corrupt:zip_end": N_("corrupt zip: no end of central directory record"),
    "archive.corrupt:zip": N_("corrupt zip: its directory does not parse"),
    "archive.corrupt:entry": N_("entry {entry} cannot be decompressed"),
    "archive.corrupt:tar": N_("corrupt tar: its headers do not parse"),
    "archive.corrupt:gzip": N_("corrupt gzip: the stream does not decompress"),
    "archive.empty": N_("empty {format} archive"),
    "archive.too_many_entries": N_("{format} has {count} entries (at most {max})"),
    "archive.too_many_entries:more": N_("{format} has more than {max} entries"),
    "archive.too_large": N_("{format} would uncompress to {size} bytes (at most {max})"),
    "archive.too_large:read": N_("{format} uncompresses to more than {max} bytes"),
    "archive.too_large:held": N_("{format} holds {size} bytes (at most {max})"),
    "archive.bomb": N_("{format} compression ratio {ratio} is above {max}: a zip bomb?"),
    "archive.bomb:entry": N_(
        "entry {entry} has a compression ratio of {ratio} (at most {max}): a zip bomb?"
    ),
    "archive.bomb:gzip": N_(
        "gzip inflates past {cap} bytes (at most {max} times its size, {limit} bytes in all): "
        "a gzip bomb?"
    ),
    "archive.unsafe_path": N_("entry {entry} has an unsafe path"),
    "archive.unsafe_path:nul": N_("entry {entry} contains a NUL character"),
    "archive.unsafe_path:absolute": N_("entry {entry} is an absolute path"),
    "archive.unsafe_path:dotdot": N_("entry {entry} contains a '..' component"),
    "archive.link": N_("entry {entry} is a link"),
    "archive.link:symbolic": N_("entry {entry} is a symbolic link"),
    "archive.special_entry": N_("entry {entry} has an unsupported type"),
    "archive.special_entry:device": N_("entry {entry} is a device or fifo"),
    "archive.special_entry:sparse": N_("entry {entry} is a sparse file"),
    "archive.encrypted": N_("entry {entry} is encrypted and cannot be checked"),
    "archive.nested": N_("entry {entry} is a nested {format} archive"),
    "archive.nested:name": N_("entry {entry} is a nested archive (by its name)"),
    "archive.executable": N_("entry {entry} is {executable}"),
    "archive.executable:name": N_("entry {entry} is an executable (by its name)"),
    "more": N_("... and {count} more problem(s)"),
    # -- whole errors, as ``aligner_core.i18n.message`` shows them -----------------------------
    "error.error": N_("something went wrong"),
    "error.invalid_input": N_("invalid {subject}: {errors}"),
    "error.not_found": N_("{what} {key} not found"),
    "error.permission_denied": N_("{action} is not permitted: {reason}"),
    "error.invalid_transition": N_("cannot {action} case {case} in state {state}: {reasons}"),
    "error.concurrency_conflict": N_(
        "the {what} was changed by someone else in the meantime: reload and try again"
    ),
    "error.rejected_file": N_("file rejected: {reasons}"),
    "error.storage_unavailable": N_("the case store is not available: try again later"),
    "error.schema_version": N_("the database was written by a newer version of the library"),
    "error.notification_failed": N_("the notification could not be sent"),
    "error.delivery_deferred": N_("the notification could not be sent yet: it will be retried"),
    "error.delivery_refused": N_("the notification was refused by the mail server"),
    # -- the outbox: unconfirmed deliveries, the outbox commands ---------------------------------
    "error.delivery_unconfirmed": N_(
        "the mail server did not confirm the notification: it will be sent once more"
    ),
    "error.delivery_server_unavailable": N_(
        "the mail server cannot be reached now: the notification will be retried"
    ),
    "database_missing": N_("no database there: the outbox commands open an existing one"),
    # -- money, prices, packages, quotes, invoices, payments (issue 16, domain) ------------------
    "money_float": N_("an amount of money is exact (a decimal or a whole number), not a float"),
    "money_amount": N_("must be an exact, finite amount of money"),
    "money_quantity": N_("a quantity is a whole number"),
    "money_range": N_("an amount is at most {max} in size"),
    "money_precision": N_("{currency} amounts have at most {digits} decimal place(s)"),
    "unknown_currency": N_("unknown currency {currency} (an ISO 4217 code such as EUR)"),
    "currency_mismatch": N_("amounts in {first} and {second} do not mix"),
    "allocation_weights": N_("shares are taken by weights that are not negative, not all zero"),
    "invalid_item_code": N_("a code is 1 to 40 lowercase letters, digits, '_' or '-'"),
    "price_negative": N_("a price is not negative"),
    "price_currency": N_("the price book is in {book}, not {given}"),
    "price_missing": N_("no price for {item} in price book version {version}"),
    "price_book_order": N_("version {version} of a price book takes effect after the one before"),
    "price_book_none": N_("no price book is in effect yet"),
    "no_package_fits": N_("no package covers a plan of {steps} steps per arch"),
    "unknown_package": N_("unknown package {package}"),
    "package_does_not_fit": N_(
        "package {package} covers {max} steps per arch; the plan has {steps}"
    ),
    "upgrade_not_larger": N_("package {target} does not cover more than package {package}"),
    "lines_needed": N_("at least one line"),
    "card_token": N_("a card token is 8 to 255 letters, digits or - _ . : from the provider"),
    "card_token_kind": N_("a card on file carries its provider's token; other methods none"),
    "invoice_number": N_("an invoice number reads like INV-2026-000123"),
    "tax_rate": N_("a tax rate is 0 to 100 percent, at most 4 decimal places"),
    "credit_note_reference": N_("a credit note names the invoice it reverses; a charge none"),
    "credit_of_credit": N_("a credit note reverses a charge, not another credit note"),
    "line_sign": N_("a charge's amounts are not negative, a credit note's not positive"),
    "statement_period": N_("the period ends before it starts"),
    "invalid_export": N_("not an invoice export of this library"),
    "export_figures": N_("the stated amounts are not the ones the lines give"),
    # -- practices and assignment (#15 item 5) --------------------------------------------------
    "practice_missing": N_("name the practice the aligners ship to"),
    "practice_unknown": N_("the practice {practice} is no longer one of the doctor's practices"),
    "practice_not_owned": N_("not one of the doctor's practices"),
    "practices_for_doctors": N_("only doctors have treating practices"),
    "assignee_invalid": N_("assign the case to an active planner or production user of the lab"),
    "already_assigned": N_("the case is already assigned"),
    # -- replacement steps per arch and the network's product catalogue (#15 items 2, 10) ---------
    "steps_unreadable": N_("part {position} is not a step or a range of steps such as 3 or 5-7"),
    "step_not_in_range": N_("step {step} is not from 1 to {max}"),
    "step_range_reversed": N_("the range {first}-{last} ends before it starts"),
    "too_many_step_ranges": N_("at most {max} steps or ranges"),
    "too_many_steps": N_("at most {max} steps"),
    "replacement_steps_needed": N_("name the steps to replace of the upper or the lower arch"),
    "invalid_product_code": N_("lower-case letters, digits, - and _ (up to 40)"),
    "turnaround_stage_again": N_("a second turnaround for the {stage} stage"),
    "product_code_again": N_("the product code {product} is listed twice"),
    "kind_not_offered": N_("the network offers no product of the kind {kind}"),
    "product_not_offered": N_("the network offers no product {product}"),
    "product_kind_mismatch": N_("the product {product} is a case of the kind {kind}"),
    "product_record_missing": N_("the product {product} needs {record}"),
    # -- quotes, packages and payment in the workflow (#16) ----------------------------------------
    "plan_not_quoted": N_("the plan has no quote, so no package can be chosen"),
    "payment_needed": N_("say how the order is paid"),
    # -- invoices in storage (#16) ----------------------------------------------------------------
    "already_credited": N_("a credit note already reverses this invoice"),
    # add-ons and package upgrades (#16, main)
    "add_on_unpriced": N_("the price book has no price for add-on {add_on}"),
    "no_package_approved": N_("no package was approved for this case"),
    "payment_not_owned": N_("the way to pay is not yours or one of your practices'"),
    # ways to pay kept on the account
    "payment_twice": N_("pick a kept way to pay or give one, not both"),
    "payment_method_unknown": N_("not one of the ways to pay kept on the account"),
    "payment_methods_for_doctors": N_("only doctors keep ways to pay"),
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
        "plan_version": N_("a PlanVersion"),
        "tooth_chart": N_("a ToothChart"),
        "tooth_mapping": N_("a mapping of tooth to state"),
        "message_template": N_("a MessageTemplate"),
    },
    "subject": {
        "input": N_("input"),
    },
    "what": {
        "case": N_("case"),
        "case number": N_("case number"),
        "account": N_("account"),
        "network": N_("practice network"),
        "network with reference code": N_("practice network with reference code"),
        "collaborator": N_("collaborator"),
        "practice": N_("practice"),
        "payment method": N_("way to pay"),
        "file": N_("file"),
        "blob": N_("file content"),
        "share link": N_("share link"),
        "outbox entry": N_("notification"),
        "transaction": N_("record"),
    },
    # what a shell does when it is refused, besides ``Action`` (shown by its labels)
    "action": {
        "act": N_("act"),
        "create case": N_("create a case"),
        "list cases": N_("list cases"),
        "list accounts": N_("list accounts"),
        "view account": N_("view an account"),
        "update profile": N_("update the profile"),
        "manage practices": N_("manage the practices"),
        "manage payment methods": N_("manage the ways to pay"),
        "block": N_("block an account"),
        "activate": N_("activate an account"),
    },
    "confirmation": {
        "completeness": N_("completeness"),
        "privacy": N_("privacy"),
    },
    "field": {
        "carrier": N_("carrier"),
        "tracking number": N_("tracking number"),
    },
    "format": {
        "image": N_("image"),
    },
    # the records a product needs (``aligner_core.domain.products.Requirement``)
    "record": {
        "photos": N_("clinical photos"),
        "bite_scan": N_("a bite scan"),
        "radiograph": N_("a radiograph"),
        "files": N_("a file"),
        "impression_type": N_("the impression type"),
    },
    # what ``aligner_core.files.sniff.executable_kind`` names
    "executable": {
        "an ELF executable": N_("an ELF executable"),
        "a Windows (PE/MZ) executable": N_("a Windows (PE/MZ) executable"),
        "a Mach-O executable": N_("a Mach-O executable"),
        "a Mach-O universal binary or Java class": N_("a Mach-O universal binary or Java class"),
        "a script (#!)": N_("a script (#!)"),
        "a WebAssembly module": N_("a WebAssembly module"),
    },
    # the other formats ``aligner_core.files.sniff.identify`` finds in a polyglot
    "also": {
        "binary STL": N_("binary STL"),
        "ascii STL": N_("ascii STL"),
        "tar archive": N_("tar archive"),
        "PDF (a PDF header in the first 1 KiB)": N_("PDF (a PDF header in the first 1 KiB)"),
        "HTML (markup in the first 1 KiB)": N_("HTML (markup in the first 1 KiB)"),
        "ZIP archive (a ZIP directory at the end)": N_("ZIP archive (a ZIP directory at the end)"),
    },
}


def template_of(code: str, params: Mapping[str, Any] | None = None) -> str | None:
    """The English template of ``code`` (its ``code:problem`` variant when one is named)."""
    problem = (params or {}).get("problem")
    if isinstance(problem, str):
        variant = CODES.get(f"{code}:{problem}")
        if variant is not None:
            return variant
    return CODES.get(code)


def word_fields(template: str) -> frozenset[str]:
    """The placeholders of ``template`` that show a word (no ``!r`` conversion): labelled."""
    names = set()
    for _, name, _, conversion in _FORMATTER.parse(template):
        if name and conversion is None:
            names.add(name)
    return frozenset(names)


def fill(template: str, params: Mapping[str, Any] | None, label: Callable[[str], str] = str) -> str:
    """``template`` formatted with ``params``; words shown through :data:`PARAM_LABELS`.

    ``label`` turns an English label into the text shown (a translation); the
    template itself is returned when the parameters do not fit it.
    """
    shown = dict(params or {})
    for name in word_fields(template) & PARAM_LABELS.keys():
        value = shown.get(name)
        labels = PARAM_LABELS[name]
        if isinstance(value, str) and value in labels:
            shown[name] = label(labels[value])
    try:
        return template.format(**shown)
    except (KeyError, IndexError, ValueError, AttributeError):
        return template


def english(code: str, params: Mapping[str, Any] | None = None) -> str:
    """The English text of ``code`` with ``params`` filled in (unknown codes stay as given)."""
    template = template_of(code, params)
    if template is None:
        return code
    return fill(template, params)
