"""The application layer: the service (commands and queries), its inputs and read models."""

from aligner_core.service.core import Service
from aligner_core.service.inputs import PatientDetails, ProfileChanges, Registration
from aligner_core.service.views import CaseDetail, Dashboard, SharedPlan

__all__ = [
    "CaseDetail",
    "Dashboard",
    "PatientDetails",
    "ProfileChanges",
    "Registration",
    "Service",
    "SharedPlan",
]
