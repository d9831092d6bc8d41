"""Factories for portal test suites: registrations, patients, plans, and small real STL files."""

from __future__ import annotations

import itertools
import math
import struct
from uuid import UUID

from aligner_core.domain.accounts import Address, Registration, Role
from aligner_core.domain.patients import Gender, PatientDetails
from aligner_core.domain.plans import PlanSummary
from aligner_core.domain.prescriptions import WearSchedule
from aligner_core.domain.records import FileKind, ImpressionType
from aligner_core.service.core import Core

__all__ = [
    "Lab",
    "address",
    "arch_stl",
    "patient_details",
    "plan_summary",
    "registration",
    "set_up_lab",
]

_serial = itertools.count(1)


def address(country: str = "Germany") -> Address:
    return Address(country=country, city="Berlin", postal_code="10115", street="Invalidenstr. 1")


def registration(
    username: str | None = None, *, reference_code: str | None = None, clinic: str = "Smile Clinic"
) -> Registration:
    """A valid registration; usernames and e-mails are unique per process."""
    n = next(_serial)
    name = username or f"user{n}"
    return Registration(
        clinic_name=clinic,
        first_name="Alex",
        last_name=f"Tester{n}",
        email=f"{name.replace(' ', '.')}-{n}@example.org",
        username=name,
        shipping_address=address(),
        telephone="+49 30 1234567",
        reference_code=reference_code,
    )


def patient_details(last_name: str = "Doe", first_name: str | None = "Jane") -> PatientDetails:
    return PatientDetails(last_name=last_name, gender=Gender.FEMALE, first_name=first_name)


def plan_summary(
    upper: int = 20, lower: int = 18, ipr: float = 0.0, attachments: int = 0
) -> PlanSummary:
    return PlanSummary(
        upper_steps=upper,
        lower_steps=lower,
        total_ipr_mm=ipr,
        attachment_count=attachments,
        wear_schedule=WearSchedule.DAYS_14,
    )


def arch_stl(rows: int = 12, columns: int = 24, *, width_mm: float = 60.0) -> bytes:
    """A binary STL of an open, arch-shaped strip (a plausible scan of one dental arch, in mm)."""
    points: list[list[tuple[float, float, float]]] = []
    for i in range(rows + 1):
        ring = []
        for j in range(columns + 1):
            angle = math.pi * j / columns
            radius = width_mm / 2 - i * 0.8
            ring.append((radius * math.cos(angle), 45.0 * math.sin(angle), i * 1.5))
        points.append(ring)
    facets = []
    for i in range(rows):
        for j in range(columns):
            a, b = points[i][j], points[i][j + 1]
            c, d = points[i + 1][j], points[i + 1][j + 1]
            facets.append((a, b, d))
            facets.append((a, d, c))
    header = b"aligner_core test arch".ljust(80, b" ")
    body = bytearray(header + struct.pack("<I", len(facets)))
    for tri in facets:
        body += struct.pack("<3f", 0.0, 0.0, 0.0)
        for vertex in tri:
            body += struct.pack("<3f", *vertex)
        body += b"\x00\x00"
    return bytes(body)


class Lab:
    """A network with one account per role, all active: the usual cast of a test."""

    def __init__(self, core: Core, code: str = "LAB-1") -> None:
        self.core = core
        network, admin = core.create_network(f"Lab {code}", code, registration(f"admin-{code}"))
        self.network = network
        self.admin = admin.account_id
        self.doctor = self.add(Role.DOCTOR, f"doctor-{code}")
        self.planner = self.add(Role.PLANNER, f"planner-{code}")
        self.production = self.add(Role.PRODUCTION, f"production-{code}")

    def add(self, role: Role, username: str) -> UUID:
        account = self.core.register(
            registration(username, reference_code=self.network.reference_code), role
        )
        self.core.activate(self.admin, account.account_id)
        return account.account_id

    def ready_case(self, doctor: UUID | None = None, last_name: str = "Doe") -> UUID:
        """A treatment draft with both scans and both confirmations, ready to submit."""
        from aligner_core.domain.cases import CaseKind

        owner = doctor or self.doctor
        case = self.core.create_case(
            owner,
            CaseKind.TREATMENT,
            patient_details(last_name),
            impression_type=ImpressionType.INTRAORAL_SCAN,
        )
        scan = arch_stl()
        self.core.attach_file(owner, case.case_id, FileKind.UPPER_SCAN, scan, "upper.stl")
        self.core.attach_file(owner, case.case_id, FileKind.LOWER_SCAN, scan, "lower.stl")
        self.core.confirm(owner, case.case_id, complete=True, privacy=True)
        return case.case_id


def set_up_lab(core: Core, code: str = "LAB-1") -> Lab:
    return Lab(core, code)
