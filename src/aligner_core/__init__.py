"""aligner_core: the clear-aligner case workflow between dental practices and an aligner lab.

Build a wired core with :func:`connect`; change state only through its commands
(:mod:`aligner_core.commands`, run with ``core.execute``). Everything a shell
needs is importable from here; :mod:`aligner_core.testing` has what its tests need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aligner_core import commands
from aligner_core.commands import (
    AcceptOrder,
    AcceptPlan,
    Activate,
    AddPractice,
    AssignCase,
    AttachFile,
    Block,
    Cancel,
    CaseCommand,
    Close,
    Command,
    Comment,
    CompleteDigitising,
    Confirm,
    ConfirmDelivery,
    CreateCase,
    CreateNetwork,
    DeleteDraft,
    Hold,
    InviteCollaborator,
    MuteNotifications,
    OfferShades,
    OrderFollowUp,
    Reassign,
    ReceiveImpressions,
    RefuseOrder,
    Register,
    RejectPlan,
    Release,
    RemovePaymentMethod,
    RemovePractice,
    Reopen,
    RequestModification,
    RequestRecords,
    RequireConfirmations,
    RespondToInvitation,
    RevokeCollaborator,
    RevokeShare,
    SavePaymentMethod,
    SetPackages,
    SetPriceBook,
    SetTeeth,
    SharePlan,
    Ship,
    ShipImpressions,
    Submit,
    TakeCase,
    UpdateDraft,
    UpdatePractice,
    UpdateProfile,
    UpgradePackage,
    UploadPlan,
)
from aligner_core.domain.accounts import (
    Account,
    AccountStatus,
    Address,
    CollaboratorPermission,
    Network,
    Practice,
    ProfileChanges,
    Registration,
    Role,
)
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import Case, CaseKind, CaseStatus
from aligner_core.domain.events import EventType
from aligner_core.domain.orders import (
    ClinicalFeature,
    LingualRange,
    RefinementOrder,
    ReplacementOrder,
    ReplacementReason,
    RetainerOrder,
    RetainerType,
    RevisionOrder,
)
from aligner_core.domain.patients import Gender, PatientDetails
from aligner_core.domain.payments import PaymentKind, PaymentMethod, SavedPaymentMethod
from aligner_core.domain.plans import IprContact, PlanStep, PlanSummary, PlanVersion
from aligner_core.domain.prescriptions import (
    Adjustment,
    Approach,
    Arches,
    Choice,
    Dentition,
    Design,
    Pontic,
    Shade,
    TreatmentRequest,
    TreatmentScope,
    WearSchedule,
)
from aligner_core.domain.queries import CaseFilter, CaseSummary, NameMatch, Page, SortKey
from aligner_core.domain.records import FileKind, ImpressionType, MediaType
from aligner_core.domain.teeth import Notation, Tooth, ToothChart, ToothMark, ToothState
from aligner_core.errors import (
    AlignerError,
    ConcurrencyConflictError,
    FieldError,
    InvalidTransitionError,
    NotFoundError,
    NotificationError,
    PermissionDeniedError,
    Reason,
    RejectedFileError,
    StorageError,
    ValidationError,
)

if TYPE_CHECKING:
    from aligner_core.bootstrap import connect as connect
    from aligner_core.service.core import Core as Core

__all__ = [
    "AcceptOrder",
    "AcceptPlan",
    "Account",
    "AccountStatus",
    "Action",
    "Activate",
    "AddPractice",
    "Address",
    "Adjustment",
    "AlignerError",
    "Approach",
    "Arches",
    "AssignCase",
    "AttachFile",
    "Block",
    "Cancel",
    "Case",
    "CaseCommand",
    "CaseFilter",
    "CaseKind",
    "CaseStatus",
    "CaseSummary",
    "Choice",
    "ClinicalFeature",
    "Close",
    "CollaboratorPermission",
    "Command",
    "Comment",
    "CompleteDigitising",
    "ConcurrencyConflictError",
    "Confirm",
    "ConfirmDelivery",
    "Core",
    "CreateCase",
    "CreateNetwork",
    "DeleteDraft",
    "Dentition",
    "Design",
    "EventType",
    "FieldError",
    "FileKind",
    "Gender",
    "Hold",
    "ImpressionType",
    "InvalidTransitionError",
    "InviteCollaborator",
    "IprContact",
    "LingualRange",
    "MediaType",
    "MuteNotifications",
    "NameMatch",
    "Network",
    "NotFoundError",
    "Notation",
    "NotificationError",
    "OfferShades",
    "OrderFollowUp",
    "Page",
    "PatientDetails",
    "PaymentKind",
    "PaymentMethod",
    "PermissionDeniedError",
    "PlanStep",
    "PlanSummary",
    "PlanVersion",
    "Pontic",
    "Practice",
    "ProfileChanges",
    "Reason",
    "Reassign",
    "ReceiveImpressions",
    "RefinementOrder",
    "RefuseOrder",
    "Register",
    "Registration",
    "RejectPlan",
    "RejectedFileError",
    "Release",
    "RemovePaymentMethod",
    "RemovePractice",
    "Reopen",
    "ReplacementOrder",
    "ReplacementReason",
    "RequestModification",
    "RequestRecords",
    "RequireConfirmations",
    "RespondToInvitation",
    "RetainerOrder",
    "RetainerType",
    "RevisionOrder",
    "RevokeCollaborator",
    "RevokeShare",
    "Role",
    "SavePaymentMethod",
    "SavedPaymentMethod",
    "SetPackages",
    "SetPriceBook",
    "SetTeeth",
    "Shade",
    "SharePlan",
    "Ship",
    "ShipImpressions",
    "SortKey",
    "StorageError",
    "Submit",
    "TakeCase",
    "Tooth",
    "ToothChart",
    "ToothMark",
    "ToothState",
    "TreatmentRequest",
    "TreatmentScope",
    "UpdateDraft",
    "UpdatePractice",
    "UpdateProfile",
    "UpgradePackage",
    "UploadPlan",
    "ValidationError",
    "WearSchedule",
    "__version__",
    "commands",
    "connect",
]

__version__ = "0.2.0.dev0"


def __getattr__(name: str) -> Any:
    # connect and Core wire the service and its adapters' registry; import them lazily
    # so `import aligner_core` stays cheap and does no work at import time.
    if name == "connect":
        from aligner_core.bootstrap import connect

        return connect
    if name == "Core":
        from aligner_core.service.core import Core

        return Core
    raise AttributeError(name)
