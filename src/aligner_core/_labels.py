"""The English label of every enum member a shell shows (private; see :mod:`aligner_core.i18n`).

Labels are the msgids of the catalogs: ``N_`` marks them for ``pybabel extract``.
Select options show them; a translated message shows them in place of an enum
value (``state``, ``kind``, ...). One table per enum, keyed by the member's value.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, Final

from aligner_core.codes import N_
from aligner_core.domain.accounts import AccountStatus, CollaboratorPermission, GrantStatus, Role
from aligner_core.domain.actions import Action
from aligner_core.domain.audit import AuditAction
from aligner_core.domain.cases import CaseKind, CaseStatus
from aligner_core.domain.deadlines import Stage
from aligner_core.domain.events import EventType
from aligner_core.domain.invoices import InvoiceKind
from aligner_core.domain.orders import (
    ClinicalFeature,
    LingualRange,
    ReplacementReason,
    RetainerType,
)
from aligner_core.domain.outbox import DeliveryState
from aligner_core.domain.packages import FollowUpKind
from aligner_core.domain.patients import Gender
from aligner_core.domain.payments import PaymentKind
from aligner_core.domain.permissions import Relation
from aligner_core.domain.prescriptions import (
    Adjustment,
    Approach,
    Arches,
    Choice,
    Dentition,
    Design,
    Shade,
    TreatmentScope,
    WearSchedule,
)
from aligner_core.domain.prices import ItemKind
from aligner_core.domain.products import Requirement
from aligner_core.domain.queries import NameMatch, SortKey
from aligner_core.domain.records import ArchPlausibility, FileKind, ImpressionType, MediaType
from aligner_core.domain.teeth import Arch, Notation, Side, ToothState

__all__ = ["ENUM_PARAMS", "LABELS", "WORDS"]

LABELS: Final[Mapping[type[Enum], Mapping[Any, str]]] = {
    CaseStatus: {
        "draft": N_("Draft"),
        "awaiting_impressions": N_("Awaiting impressions"),
        "awaiting_records": N_("Awaiting new records"),
        "lab_review": N_("Lab review"),
        "in_planning": N_("In planning"),
        "waiting_for_approval": N_("Waiting for approval"),
        "plan_rejected": N_("Plan rejected"),
        "in_production": N_("In production"),
        "shipped": N_("Shipped"),
        "on_hold": N_("On hold"),
        "cancelled": N_("Cancelled"),
        "closed": N_("Closed"),
        "deleted": N_("Deleted"),
    },
    CaseKind: {
        "clear_aligners": N_("Clear aligner treatment"),
        "direct_manufacturing": N_("Direct manufacturing"),
        "refinement": N_("Refinement"),
        "retainer": N_("Retainer"),
        "replacement": N_("Replacement aligners"),
        "revision": N_("Plan revision"),
    },
    Gender: {
        "male": N_("Male"),
        "female": N_("Female"),
        "prefer_not_to_say": N_("Prefer not to say"),
    },
    Role: {
        "doctor": N_("Doctor"),
        "planner": N_("Treatment planner"),
        "production": N_("Production"),
        "admin": N_("Administrator"),
    },
    AccountStatus: {
        "blocked": N_("Blocked"),
        "active": N_("Active"),
    },
    CollaboratorPermission: {
        "view_details": N_("View case details"),
        "comment": N_("Comment"),
        "view_setup": N_("View the treatment plan"),
        "edit_setup": N_("Edit the treatment plan"),
    },
    GrantStatus: {
        "invited": N_("Invited"),
        "accepted": N_("Accepted"),
        "declined": N_("Declined"),
        "revoked": N_("Revoked"),
    },
    Relation: {
        "owner": N_("treating doctor"),
        "collaborator_view": N_("collaborator (view)"),
        "collaborator_comment": N_("collaborator (comment)"),
        "collaborator_view_setup": N_("collaborator (view plan)"),
        "collaborator_edit_setup": N_("collaborator (edit plan)"),
        "invitee": N_("invited collaborator"),
        "planner": N_("lab planner"),
        "production": N_("lab production"),
        "admin": N_("network administrator"),
    },
    Action: {
        "view": N_("View"),
        "edit": N_("Edit"),
        "set_teeth": N_("Set the tooth chart"),
        "attach": N_("Attach a file"),
        "confirm": N_("Confirm"),
        "delete": N_("Delete"),
        "submit": N_("Submit"),
        "accept_order": N_("Accept the order"),
        "refuse_order": N_("Refuse the order"),
        "upload_plan": N_("Upload a treatment plan"),
        "accept_plan": N_("Accept the treatment plan"),
        "reject_plan": N_("Reject the treatment plan"),
        "request_modification": N_("Request a modification"),
        "hold": N_("Put on hold"),
        "release": N_("Release from hold"),
        "cancel": N_("Cancel"),
        "ship": N_("Ship"),
        "confirm_delivery": N_("Confirm delivery"),
        "close": N_("Close"),
        "reopen": N_("Reopen"),
        "comment": N_("Add a comment"),
        "add_document": N_("Add a document"),
        "share_plan": N_("Share the treatment plan"),
        "revoke_share": N_("Revoke a share link"),
        "invite_collaborator": N_("Invite a collaborator"),
        "revoke_collaborator": N_("Remove a collaborator"),
        "respond_invitation": N_("Answer an invitation"),
        "reassign": N_("Assign to another doctor"),
        "order_follow_up": N_("Order a follow-up"),
        "ship_impressions": N_("Send impressions"),
        "receive_impressions": N_("Impressions received"),
        "complete_digitising": N_("Scans digitised: continue"),
        "request_records": N_("Request new records"),
        "assign": N_("Assign to lab staff"),
        "take": N_("Take the case"),
        "upgrade_package": N_("Upgrade the package"),
    },
    AuditAction: {
        "view_case": N_("Viewed the case"),
        "list_cases": N_("Listed cases"),
        "open_file": N_("Opened a file"),
        "open_share_link": N_("Opened a share link"),
        "export_patient": N_("Exported the patient's data"),
        "erase_patient": N_("Erased the patient's data"),
    },
    DeliveryState: {
        "pending": N_("Waiting to be sent"),
        "sent": N_("Sent"),
        "stalled": N_("Stalled: retries paused"),
        "dead": N_("Given up"),
    },
    EventType: {
        "account_registered": N_("Account registered"),
        "account_activated": N_("Account activated"),
        "account_blocked": N_("Account blocked"),
        "profile_updated": N_("Profile updated"),
        "case_created": N_("Case created"),
        "case_updated": N_("Case updated"),
        "case_deleted": N_("Case deleted"),
        "case_submitted": N_("Case submitted"),
        "order_accepted": N_("Order accepted"),
        "order_refused": N_("Order refused"),
        "plan_uploaded": N_("Treatment plan uploaded"),
        "plan_accepted": N_("Treatment plan accepted"),
        "plan_rejected": N_("Treatment plan rejected"),
        "modification_requested": N_("Modification requested"),
        "comment_added": N_("Comment added"),
        "document_added": N_("Document added"),
        "case_held": N_("Case put on hold"),
        "case_released": N_("Case released from hold"),
        "case_cancelled": N_("Case cancelled"),
        "case_shipped": N_("Case shipped"),
        "delivery_confirmed": N_("Delivery confirmed"),
        "case_closed": N_("Case closed"),
        "case_reopened": N_("Case reopened"),
        "case_reassigned": N_("Case assigned to another doctor"),
        "plan_shared": N_("Treatment plan shared"),
        "share_revoked": N_("Share link revoked"),
        "collaborator_invited": N_("Collaborator invited"),
        "invitation_emailed": N_("Invitation sent by e-mail"),
        "collaborator_accepted": N_("Invitation accepted"),
        "collaborator_declined": N_("Invitation declined"),
        "collaborator_revoked": N_("Collaboration ended"),
        "follow_up_ordered": N_("Follow-up ordered"),
        "impressions_received": N_("Impressions received"),
        "scans_digitised": N_("Scans digitised"),
        "records_requested": N_("New records requested"),
        "records_received": N_("Requested records received"),
        "case_assigned": N_("Case assigned"),
        "package_upgraded": N_("Package upgraded"),
    },
    Stage: {
        "planning": N_("First treatment plan"),
        "modification": N_("Modified treatment plan"),
        "production": N_("Manufacturing"),
        "review": N_("Review"),
    },
    FileKind: {
        "upper_scan": N_("Upper jaw scan"),
        "lower_scan": N_("Lower jaw scan"),
        "bite_scan": N_("Bite scan"),
        "photo_frontal_bite": N_("Photo: frontal, in occlusion"),
        "photo_upper_occlusal": N_("Photo: upper occlusal"),
        "photo_lower_occlusal": N_("Photo: lower occlusal"),
        "photo_left_lateral": N_("Photo: left lateral"),
        "photo_right_lateral": N_("Photo: right lateral"),
        "photo_extraoral": N_("Photo: extraoral"),
        "radiograph": N_("Radiograph"),
        "other": N_("Other document"),
    },
    MediaType: {
        "model/stl": N_("STL model"),
        "image/png": N_("PNG image"),
        "image/jpeg": N_("JPEG image"),
        "application/pdf": N_("PDF document"),
        "application/zip": N_("ZIP archive"),
        "application/x-tar": N_("TAR archive"),
        "application/gzip": N_("gzip archive"),
    },
    ImpressionType: {
        "intraoral_scan": N_("Intraoral scan"),
        "desktop_scan": N_("Desktop scan of a model"),
        "silicone_impression": N_("Silicone impression"),
    },
    Requirement: {
        "scans": N_("Upper and lower scans"),
        "bite_scan": N_("Bite scan"),
        "photos": N_("Clinical photos"),
        "radiograph": N_("Radiograph"),
        "files": N_("Files to manufacture from"),
        "impression_type": N_("Impression type"),
    },
    ArchPlausibility: {
        "plausible": N_("Plausible size"),
        "looks_like_inches": N_("Looks like inches, not millimetres"),
        "looks_like_metres": N_("Looks like metres, not millimetres"),
        "too_small": N_("Too small for a dental arch"),
        "too_large": N_("Too large for a dental arch"),
    },
    ToothState: {
        "none": N_("No finding"),
        "missing": N_("Missing"),
        "planned_extraction": N_("Planned extraction"),
        "inlay_onlay_filling": N_("Inlay, onlay or filling"),
        "crown": N_("Crown"),
        "bridge": N_("Bridge"),
        "implant": N_("Implant"),
        "retained_deciduous": N_("Retained primary tooth"),
        "do_not_move": N_("Do not move"),
    },
    Notation: {
        "fdi": N_("FDI (two digits)"),
        "universal": N_("Universal (1-32, A-T)"),
        "palmer": N_("Palmer (quadrant and position)"),
    },
    Arch: {
        "upper": N_("Upper jaw"),
        "lower": N_("Lower jaw"),
    },
    Side: {
        "right": N_("Right"),
        "left": N_("Left"),
    },
    Arches: {
        "both": N_("Both jaws"),
        "upper": N_("Upper jaw only"),
        "lower": N_("Lower jaw only"),
    },
    TreatmentScope: {
        "3-3": N_("Canine to canine (3-3)"),
        "5-5": N_("Premolar to premolar (5-5)"),
        "7-7": N_("Full arch (7-7)"),
        "as_recommended": N_("As recommended by the lab"),
    },
    Adjustment: {
        "maintain": N_("Maintain"),
        "improve": N_("Improve"),
    },
    Choice: {
        "yes": N_("Yes"),
        "no": N_("No"),
        "as_recommended": N_("As recommended by the lab"),
    },
    Design: {
        "standard": N_("Standard"),
        "express": N_("Express"),
    },
    Shade: {
        "A1": N_("A1"),
        "A2": N_("A2"),
        "A3": N_("A3"),
    },
    Dentition: {
        "permanent": N_("Permanent dentition"),
        "mixed": N_("Mixed dentition"),
    },
    Approach: {
        "aesthetic": N_("Aesthetic alignment"),
        "full_arch_correction": N_("Full arch correction"),
    },
    WearSchedule: {
        7: N_("7 days per aligner"),
        10: N_("10 days per aligner"),
        14: N_("14 days per aligner"),
        21: N_("21 days per aligner"),
    },
    RetainerType: {
        "removable": N_("Removable retainer"),
        "fixed_lingual": N_("Fixed lingual retainer"),
    },
    LingualRange: {
        "2-2": N_("Incisor to incisor (2-2)"),
        "3-3": N_("Canine to canine (3-3)"),
        "4-4": N_("First premolar to first premolar (4-4)"),
    },
    ReplacementReason: {
        "broken": N_("Broken"),
        "lost": N_("Lost"),
        "lack_of_fit": N_("Does not fit"),
        "sharp_edges": N_("Sharp edges"),
        "other": N_("Other reason"),
    },
    ClinicalFeature: {
        "engagers": N_("Engagers (attachments)"),
        "elastic_cutouts": N_("Cutouts for elastics"),
        "bite_ramps": N_("Bite ramps"),
    },
    NameMatch: {
        "prefix": N_("Name starts with"),
        "substring": N_("Name contains"),
    },
    SortKey: {
        "number": N_("Case number"),
        "created_at": N_("Created"),
        "updated_at": N_("Last change"),
        "status": N_("Status"),
        "patient_name": N_("Patient name"),
    },
    # -- money (issue 16, domain) --------------------------------------------------------------
    ItemKind: {
        "product": N_("Product"),
        "package": N_("Package"),
        "add_on": N_("Add-on"),
        "replacement_aligner": N_("Replacement aligner"),
        "retainer_set": N_("Retainer set"),
        "follow_up": N_("Follow-up order"),
        "upgrade": N_("Package upgrade"),
        "shipping": N_("Shipping"),
    },
    FollowUpKind: {
        "refinement": N_("Refinement"),
        "revision": N_("Revision"),
        "retainer": N_("Retainer"),
    },
    PaymentKind: {
        "on_account": N_("On account"),
        "invoice": N_("Invoice"),
        "card_on_file": N_("Card on file"),
    },
    InvoiceKind: {
        "charge": N_("Invoice"),
        "credit_note": N_("Credit note"),
    },
}

#: Message parameters whose values are enum members (shown by their labels when translated).
ENUM_PARAMS: Final[Mapping[str, tuple[type[Enum], ...]]] = {
    "state": (CaseStatus,),
    "allowed": (CaseStatus,),
    "kind": (CaseKind, FileKind),
    "verdict": (ArchPlausibility,),
    "arch": (Arch,),
    "needed": (Relation,),
    "held": (Relation,),
    "action": (Action,),
}

#: Words that join or stand in for enum labels in a message.
WORDS: Final[Mapping[str, str]] = {
    "or": N_("or"),
    "none": N_("none"),
}
