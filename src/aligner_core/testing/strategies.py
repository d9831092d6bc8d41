"""Hypothesis strategies for every model of the library, for its own tests and portal suites.

One public strategy per model, composed from the smaller ones, each producing only values the
model accepts (its validators and cross-field rules hold), so a portal's test suite can feed
them to its forms, API and storage::

    from hypothesis import given
    from aligner_core.testing.strategies import cases

    @given(cases())
    def test_case_page_renders(case): ...

Text is realistic but wide: names with apostrophes, accents and non-Latin scripts, plus
arbitrary unicode (no surrogates and no NUL, which no text column stores). Datetimes are
timezone-aware UTC between 1990 and 2100. :func:`cases` keeps its tuples small so that a
few hundred examples take a second or two.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from hypothesis import strategies as st

from aligner_core.domain.accounts import (
    Account,
    AccountStatus,
    Address,
    CollaboratorGrant,
    CollaboratorPermission,
    GrantStatus,
    Network,
    ProfileChanges,
    Registration,
    Role,
    is_valid_email,
    is_valid_username,
)
from aligner_core.domain.cases import (
    ACTIVE_STATUSES,
    Case,
    CaseKind,
    CaseStatus,
    Comment,
    Deadline,
    HistoryEntry,
    Hold,
    ShareLink,
    Shipment,
)
from aligner_core.domain.deadlines import Stage
from aligner_core.domain.events import DomainEvent, EventType
from aligner_core.domain.orders import (
    ClinicalFeature,
    LingualRange,
    OrderDetails,
    RefinementOrder,
    ReplacementOrder,
    ReplacementReason,
    RetainerOrder,
    RetainerType,
    RevisionOrder,
)
from aligner_core.domain.patients import Gender, Patient, PatientDetails
from aligner_core.domain.plans import (
    MAX_IPR_PER_CONTACT_MM,
    IprContact,
    PlanStep,
    PlanSummary,
    PlanVersion,
)
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
from aligner_core.domain.queries import CaseFilter, CaseSummary, NameMatch, SortKey
from aligner_core.domain.records import (
    ArchPlausibility,
    FileKind,
    FileRef,
    FileReport,
    ImpressionType,
    MediaType,
    MeshReport,
    Records,
)
from aligner_core.domain.teeth import ALL_TEETH, PERMANENT_TEETH, Arch, Tooth
from aligner_core.notifications.outbox import DeliveryState, OutboxEntry
from aligner_core.testing._teeth_strategies import teeth, tooth_charts

__all__ = [
    "accounts",
    "addresses",
    "aware_datetimes",
    "case_filters",
    "case_summaries",
    "cases",
    "collaborator_grants",
    "comments",
    "dates",
    "deadlines",
    "domain_events",
    "emails",
    "file_refs",
    "file_reports",
    "history_entries",
    "holds",
    "ipr_contacts",
    "mesh_reports",
    "networks",
    "order_details",
    "outbox_entries",
    "patient_details",
    "patients",
    "plan_steps",
    "plan_summaries",
    "plan_versions",
    "pontics",
    "profile_changes",
    "records",
    "refinement_orders",
    "registrations",
    "replacement_orders",
    "retainer_orders",
    "revision_orders",
    "share_links",
    "shipments",
    "teeth",
    "text",
    "tooth_charts",
    "treatment_requests",
]

T = TypeVar("T")

_MIN_DT = datetime(1990, 1, 1)
_MAX_DT = datetime(2100, 1, 1)

# Realistic names first: apostrophes, hyphens, accents, other scripts, right-to-left text.
_NAMES = (
    "O'Brien",
    "D'Angelo",
    "Müller-Lüdenscheidt",
    "Zoë",
    "José María",
    "Łukasz",
    "Ødegård",
    "Nguyễn",
    "渡辺",
    "Σωκράτης",
    "Иванова",
    "محمد",
    "Smith",
    "van der Berg",
    "Dr. Ann-Kathrin",
)
# What text fields take: any character but controls (C0, C1, DEL) and unpaired surrogates.
_UNICODE = st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"])


def text(max_size: int, *, blank: bool = True) -> st.SearchStrategy[str]:
    """Realistic names, arbitrary unicode, or text exactly ``max_size`` characters long.

    With ``blank=False`` the text holds something other than white space (mandatory fields).
    Arbitrary text stays short (at most 200 characters) to keep generation fast; the limit
    itself is exercised by the full-length texts.
    """
    realistic = st.sampled_from([n for n in _NAMES if len(n) <= max_size])
    wide = st.text(_UNICODE, min_size=0 if blank else 1, max_size=min(max_size, 200))
    if not blank:
        wide = wide.filter(lambda t: bool(t.strip()))
    full = st.sampled_from(["x", "é", "'", "漢", "🦷"]).map(lambda c: c * max_size)
    return st.one_of(realistic, wide, full)


def _optional(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.none() | strategy


def _small_tuples(
    strategy: st.SearchStrategy[T], max_size: int
) -> st.SearchStrategy[tuple[T, ...]]:
    return st.lists(strategy, max_size=max_size).map(tuple)


def aware_datetimes(
    min_value: datetime = _MIN_DT, max_value: datetime = _MAX_DT
) -> st.SearchStrategy[datetime]:
    """Timezone-aware UTC datetimes (bounds are naive, read as UTC)."""
    return st.datetimes(min_value=min_value, max_value=max_value, timezones=st.just(UTC))


def dates(
    min_value: date = date(1990, 1, 1), max_value: date = date(2100, 1, 1)
) -> st.SearchStrategy[date]:
    return st.dates(min_value=min_value, max_value=max_value)


def _after(start: datetime, max_days: int = 60) -> st.SearchStrategy[datetime]:
    """A datetime at or after ``start`` (within ``max_days``)."""
    return st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=max_days)).map(
        lambda d: start + d
    )


_LOCAL = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789.'_+-") | st.sampled_from("éøüß漢"),
    min_size=1,
    max_size=30,
)
_DOMAIN = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-"), min_size=1, max_size=20)
_TLD = st.sampled_from(["org", "com", "de", "co.uk", "dental", "xn--p1ai"])


def emails() -> st.SearchStrategy[str]:
    """E-mail addresses the library accepts, apostrophes and non-ASCII local parts included."""
    return st.builds(
        lambda local, domain, tld: f"{local}@{domain}.{tld}", _LOCAL, _DOMAIN, _TLD
    ).filter(is_valid_email)


_USERNAME_CHARS = st.sampled_from(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-'_@éØß"
)
_USERNAMES = st.text(_USERNAME_CHARS, min_size=1, max_size=60).filter(is_valid_username)
_REFERENCE_CODES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9\-]{2,31}", fullmatch=True)
_TELEPHONES = st.from_regex(r"\+?[0-9 ()./\-]{4,30}", fullmatch=True)
_LANGUAGES = st.sampled_from(["en", "de", "fr", "es", "it", "pt-BR", "en-GB", "zh", "ast"])
_SHA256 = st.binary(min_size=32, max_size=32).map(bytes.hex)
_NON_NEGATIVE = st.integers(min_value=0, max_value=10**12)
_POSITIVE = st.integers(min_value=1, max_value=10**6)
_FINITE = st.floats(allow_nan=False, allow_infinity=False)
_DETAILS = st.dictionaries(text(30, blank=False), text(200), max_size=3)


# -- accounts -------------------------------------------------------------------------------


def addresses() -> st.SearchStrategy[Address]:
    return st.builds(
        Address,
        country=text(80, blank=False),
        city=text(120, blank=False),
        postal_code=text(20, blank=False),
        street=text(200, blank=False),
        state_province=_optional(text(120)),
    )


def networks() -> st.SearchStrategy[Network]:
    return st.builds(
        Network, network_id=st.uuids(), name=text(200, blank=False), reference_code=_REFERENCE_CODES
    )


def accounts() -> st.SearchStrategy[Account]:
    return st.builds(
        Account,
        account_id=st.uuids(),
        network_id=st.uuids(),
        role=st.sampled_from(Role),
        username=_USERNAMES,
        email=emails(),
        first_name=text(100, blank=False),
        last_name=text(100, blank=False),
        clinic_name=text(200, blank=False),
        shipping_address=addresses(),
        created_at=aware_datetimes(),
        status=st.sampled_from(AccountStatus),
        telephone=_optional(_TELEPHONES),
        language=_LANGUAGES,
        muted_notifications=_small_tuples(st.sampled_from([e.value for e in EventType]), 3),
        version=_POSITIVE,
    )


def collaborator_grants() -> st.SearchStrategy[CollaboratorGrant]:
    return st.builds(
        CollaboratorGrant,
        account_id=st.uuids(),
        invited_by=st.uuids(),
        invited_at=aware_datetimes(),
        permissions=st.lists(st.sampled_from(CollaboratorPermission), min_size=1, unique=True).map(
            tuple
        ),
        status=st.sampled_from(GrantStatus),
    )


# -- patients and prescriptions -------------------------------------------------------------


def patients() -> st.SearchStrategy[Patient]:
    return st.builds(
        Patient,
        patient_id=st.uuids(),
        last_name=text(100, blank=False),
        gender=st.sampled_from(Gender),
        first_name=_optional(text(100)),
        date_of_birth=_optional(dates(date(1900, 1, 1), date(2025, 12, 31))),
        country=_optional(text(80)),
        email=_optional(emails()),
    )


def patient_details() -> st.SearchStrategy[PatientDetails]:
    return st.builds(
        PatientDetails,
        last_name=text(100, blank=False),
        gender=st.sampled_from(Gender),
        first_name=_optional(text(100)),
        date_of_birth=_optional(dates(date(1900, 1, 1), date(2025, 12, 31))),
        country=_optional(text(80)),
        email=_optional(emails()),
    )


def pontics(*, primary: bool | None = None) -> st.SearchStrategy[Pontic]:
    return st.builds(Pontic, tooth=teeth(primary=primary), shade=st.sampled_from(Shade))


@st.composite
def treatment_requests(draw: st.DrawFn) -> TreatmentRequest:
    """A request whose tooth lists fit its dentition and never both extract and keep a tooth."""
    dentition = draw(st.sampled_from(Dentition))
    pool = PERMANENT_TEETH if dentition is Dentition.PERMANENT else ALL_TEETH
    tooth_sets = st.frozensets(st.sampled_from(pool), max_size=4)
    not_to_move = draw(tooth_sets)
    to_extract = draw(tooth_sets) - not_to_move
    pontic_list = draw(st.lists(pontics(), max_size=3, unique_by=lambda p: p.tooth))
    return TreatmentRequest(
        arches=draw(st.sampled_from(Arches)),
        scope=draw(st.sampled_from(TreatmentScope)),
        overjet=draw(st.sampled_from(Adjustment)),
        overbite=draw(st.sampled_from(Adjustment)),
        midline=draw(st.sampled_from(Adjustment)),
        ipr=draw(st.sampled_from(Choice)),
        attachments=draw(st.sampled_from(Choice)),
        design=draw(st.sampled_from(Design)),
        instructions=draw(text(5000)),
        pontics=tuple(pontic_list),
        dentition=dentition,
        approach=draw(st.sampled_from(Approach)),
        wear_schedule=draw(st.sampled_from(WearSchedule)),
        step_limit=draw(_optional(st.integers(min_value=1, max_value=80))),
        teeth_not_to_move=tuple(not_to_move),
        teeth_to_extract=tuple(to_extract),
        teeth_without_attachments=tuple(draw(tooth_sets)),
        chief_complaint=draw(text(2000)),
    )


# -- records ---------------------------------------------------------------------------------


def _vec3() -> st.SearchStrategy[tuple[float, float, float]]:
    return st.tuples(_FINITE, _FINITE, _FINITE)


def mesh_reports() -> st.SearchStrategy[MeshReport]:
    return st.builds(
        MeshReport,
        format=st.sampled_from(["binary", "ascii"]),
        triangles=_NON_NEGATIVE,
        vertices=_NON_NEGATIVE,
        degenerate_triangles=_NON_NEGATIVE,
        nonfinite_values=_NON_NEGATIVE,
        bbox_min=_vec3(),
        bbox_max=_vec3(),
        size_mm=_vec3(),
        plausibility=st.sampled_from(ArchPlausibility),
        surface_area_mm2=st.floats(min_value=0, allow_nan=False, allow_infinity=False),
        boundary_edges=_NON_NEGATIVE,
        non_manifold_edges=_NON_NEGATIVE,
        inconsistent_winding_edges=_NON_NEGATIVE,
    )


@st.composite
def file_reports(draw: st.DrawFn, media_type: MediaType | None = None) -> FileReport:
    """A content report; STL files carry a mesh report, archives an entry count."""
    kind = media_type or draw(st.sampled_from(MediaType))
    return FileReport(
        media_type=kind,
        size=draw(_NON_NEGATIVE),
        sha256=draw(_SHA256),
        warnings=draw(_small_tuples(text(200), 2)),
        mesh=draw(_optional(mesh_reports())) if kind is MediaType.STL else None,
        archive_entries=(
            draw(_optional(st.integers(0, 10_000)))
            if kind in (MediaType.ZIP, MediaType.TAR)
            else None
        ),
    )


_MEDIA_OF_KIND = {
    FileKind.UPPER_SCAN: (MediaType.STL, MediaType.ZIP),
    FileKind.LOWER_SCAN: (MediaType.STL, MediaType.ZIP),
    FileKind.BITE_SCAN: (MediaType.STL, MediaType.ZIP),
    FileKind.RADIOGRAPH: (MediaType.PNG, MediaType.JPEG, MediaType.PDF),
    FileKind.OTHER: tuple(MediaType),
}


@st.composite
def file_refs(draw: st.DrawFn) -> FileRef:
    kind = draw(st.sampled_from(FileKind))
    media = draw(st.sampled_from(_MEDIA_OF_KIND.get(kind, (MediaType.PNG, MediaType.JPEG))))
    return FileRef(
        file_id=draw(st.uuids()),
        kind=kind,
        name=draw(text(120, blank=False)),
        report=draw(file_reports(media)),
        uploaded_at=draw(aware_datetimes()),
        uploaded_by=draw(st.uuids()),
    )


def records(*, max_files: int = 4) -> st.SearchStrategy[Records]:
    return st.builds(
        Records,
        impression_type=_optional(st.sampled_from(ImpressionType)),
        files=st.lists(file_refs(), max_size=max_files, unique_by=lambda f: f.file_id).map(tuple),
        confirmed_complete=st.booleans(),
        privacy_accepted=st.booleans(),
    )


# -- plans -----------------------------------------------------------------------------------

_UPPER = tuple(t for t in ALL_TEETH if t.arch is Arch.UPPER)
_LOWER = tuple(t for t in ALL_TEETH if t.arch is Arch.LOWER)
_IPR_AMOUNTS = st.sampled_from([0.1, 0.2, 0.25, 0.3, 0.4, 0.5]) | st.floats(
    min_value=0.0, max_value=MAX_IPR_PER_CONTACT_MM, exclude_min=True
)


@st.composite
def ipr_contacts(draw: st.DrawFn) -> IprContact:
    """IPR between two different teeth of one arch, amount in (0, 0.5] mm."""
    arch = draw(st.sampled_from([_UPPER, _LOWER]))
    first, second = draw(st.lists(st.sampled_from(arch), min_size=2, max_size=2, unique=True))
    return IprContact(first=first, second=second, amount_mm=draw(_IPR_AMOUNTS))


def _teeth_tuples(max_size: int) -> st.SearchStrategy[tuple[Tooth, ...]]:
    return st.frozensets(teeth(), max_size=max_size).map(tuple)


def plan_steps(number: int | None = None) -> st.SearchStrategy[PlanStep]:
    return st.builds(
        PlanStep,
        number=st.just(number) if number is not None else st.integers(1, 80),
        ipr=_small_tuples(ipr_contacts(), 2),
        attachments_placed=_teeth_tuples(3),
        attachments_removed=_teeth_tuples(2),
        checkpoint=st.booleans(),
        note=text(1000),
    )


@st.composite
def plan_summaries(draw: st.DrawFn) -> PlanSummary:
    upper, lower = draw(st.tuples(st.integers(0, 80), st.integers(0, 80)).filter(any))
    return PlanSummary(
        upper_steps=upper,
        lower_steps=lower,
        total_ipr_mm=draw(st.floats(min_value=0, max_value=20, allow_nan=False)),
        attachment_count=draw(st.integers(0, 40)),
        wear_schedule=draw(st.sampled_from(WearSchedule)),
    )


@st.composite
def plan_versions(draw: st.DrawFn, number: int | None = None, *, max_steps: int = 8) -> PlanVersion:
    """A plan version whose schedule (when it has one) agrees with its summary.

    Steps are drawn first and the summary derived from them: step count on the longer arch,
    the exact IPR total and the attachments placed.
    """
    count = draw(st.integers(0, max_steps))
    steps = tuple(draw(plan_steps(i)) for i in range(1, count + 1))
    if steps:
        longer, shorter = count, draw(st.integers(0, count))
        upper, lower = draw(st.sampled_from([(longer, shorter), (shorter, longer)]))
        summary = PlanSummary(
            upper_steps=upper,
            lower_steps=lower,
            total_ipr_mm=sum(s.ipr_mm for s in steps),
            attachment_count=sum(len(s.attachments_placed) for s in steps),
            wear_schedule=draw(st.sampled_from(WearSchedule)),
        )
    else:
        summary = draw(plan_summaries())
    return PlanVersion(
        number=number if number is not None else draw(st.integers(1, 20)),
        uploaded_at=draw(aware_datetimes()),
        uploaded_by=draw(st.uuids()),
        summary=summary,
        steps=steps,
        simulation_url=draw(
            _optional(st.builds(lambda s: f"https://sim.example.org/{s}", st.uuids()))
        ),
        notes=draw(text(5000)),
    )


# -- orders ----------------------------------------------------------------------------------


def refinement_orders() -> st.SearchStrategy[RefinementOrder]:
    return st.builds(
        RefinementOrder,
        keep_attachments=st.booleans(),
        instructions=text(5000),
        best_fitting_aligner=_optional(st.integers(1, 80)),
    )


@st.composite
def retainer_orders(draw: st.DrawFn) -> RetainerOrder:
    """Removable (maybe from a model step) or fixed lingual (with at least one range)."""
    kind = draw(st.sampled_from(RetainerType))
    if kind is RetainerType.FIXED_LINGUAL:
        upper, lower = draw(
            st.tuples(
                _optional(st.sampled_from(LingualRange)), _optional(st.sampled_from(LingualRange))
            ).filter(lambda r: r != (None, None))
        )
        model_step = None
    else:
        upper = lower = None
        model_step = draw(_optional(st.integers(1, 80)))
    treated = {(True, False): Arches.UPPER, (False, True): Arches.LOWER}  # a range needs its arch
    arches = treated.get((upper is not None, lower is not None)) or draw(st.sampled_from(Arches))
    if upper is not None and lower is not None:
        arches = Arches.BOTH
    return RetainerOrder(
        type=kind,
        sets=draw(st.integers(1, 10)),
        upper_range=upper,
        lower_range=lower,
        model_step=model_step,
        arches=draw(st.sampled_from([arches, Arches.BOTH])),
        chief_complaint=draw(text(2000)),
    )


@st.composite
def replacement_orders(draw: st.DrawFn) -> ReplacementOrder:
    first = draw(st.integers(1, 60))
    reason = draw(st.sampled_from(ReplacementReason))
    return ReplacementOrder(
        arches=draw(st.sampled_from(Arches)),
        first_step=first,
        last_step=draw(st.integers(first, first + 20)),
        current_aligner=draw(st.integers(1, 80)),
        reason=reason,
        reason_detail=draw(text(2000, blank=reason is not ReplacementReason.OTHER)),
        not_quality_complaint=draw(st.booleans()),
    )


def revision_orders() -> st.SearchStrategy[RevisionOrder]:
    return st.builds(
        RevisionOrder,
        instructions=text(5000, blank=False),
        features=st.lists(st.sampled_from(ClinicalFeature), unique=True).map(tuple),
    )


def order_details() -> st.SearchStrategy[OrderDetails]:
    """Any follow-up order (the tagged union)."""
    return st.one_of(
        refinement_orders(), retainer_orders(), replacement_orders(), revision_orders()
    )


_ORDERS_OF_KIND: dict[CaseKind, st.SearchStrategy[OrderDetails]] = {
    CaseKind.REFINEMENT: refinement_orders(),
    CaseKind.RETAINER: retainer_orders(),
    CaseKind.REPLACEMENT: replacement_orders(),
    CaseKind.REVISION: revision_orders(),
}


# -- case parts ------------------------------------------------------------------------------


def comments() -> st.SearchStrategy[Comment]:
    return st.builds(
        Comment,
        comment_id=st.uuids(),
        author_id=st.uuids(),
        at=aware_datetimes(),
        text=text(10_000, blank=False),
        from_lab=st.booleans(),
    )


@st.composite
def shipments(draw: st.DrawFn) -> Shipment:
    shipped = draw(aware_datetimes())
    return Shipment(
        shipment_id=draw(st.uuids()),
        carrier=draw(st.sampled_from(["DHL", "UPS", "FedEx", "La Poste"]) | text(80, blank=False)),
        tracking_number=draw(
            st.text(st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"), min_size=8, max_size=30)
            | text(80, blank=False)
        ),
        phase=draw(st.integers(1, 10)),
        final=draw(st.booleans()),
        shipped_at=shipped,
        delivered_at=draw(_optional(_after(shipped, 30))),
    )


@st.composite
def share_links(draw: st.DrawFn, plan_version: int | None = None) -> ShareLink:
    created = draw(aware_datetimes())
    return ShareLink(
        share_id=draw(st.uuids()),
        plan_version=plan_version if plan_version is not None else draw(st.integers(1, 20)),
        created_by=draw(st.uuids()),
        created_at=created,
        expires_at=draw(_after(created + timedelta(hours=1), 90)),
        revoked_at=draw(_optional(_after(created, 30))),
    )


def history_entries() -> st.SearchStrategy[HistoryEntry]:
    return st.builds(
        HistoryEntry,
        at=aware_datetimes(),
        actor_id=st.uuids(),
        action=st.sampled_from(["create", "submit", "accept", "upload_plan", "hold"]) | text(60),
        from_status=_optional(st.sampled_from(CaseStatus)),
        to_status=st.sampled_from(CaseStatus),
        details=_DETAILS,
    )


def holds() -> st.SearchStrategy[Hold]:
    return st.builds(
        Hold,
        reason=text(2000, blank=False),
        left_status=st.sampled_from(sorted(ACTIVE_STATUSES)),
        since=aware_datetimes(),
    )


@st.composite
def deadlines(draw: st.DrawFn) -> Deadline:
    due = draw(dates())
    return Deadline(
        stage=draw(st.sampled_from([s.value for s in Stage])),
        due=due,
        paused_since=draw(_optional(dates(max_value=due))),
    )


# -- events and outbox -----------------------------------------------------------------------


def domain_events() -> st.SearchStrategy[DomainEvent]:
    return st.builds(
        DomainEvent,
        type=st.sampled_from(EventType),
        at=aware_datetimes(),
        actor_id=st.uuids(),
        network_id=st.uuids(),
        case_id=_optional(st.uuids()),
        case_number=_optional(_POSITIVE),
        account_id=_optional(st.uuids()),
        data=_DETAILS,
    )


@st.composite
def outbox_entries(draw: st.DrawFn) -> OutboxEntry:
    created = draw(aware_datetimes())
    state = draw(st.sampled_from(DeliveryState))
    attempts = draw(st.integers(0, 20))
    return OutboxEntry(
        entry_id=draw(st.uuids()),
        event=draw(domain_events()),
        recipient_id=draw(st.uuids()),
        recipient_email=draw(emails()),
        language=draw(_LANGUAGES),
        created_at=created,
        next_attempt_at=draw(_after(created, 7)),
        message_id=draw(st.builds(lambda u: f"<{u}@aligner.example.org>", st.uuids())),
        state=state,
        attempts=attempts,
        last_error=draw(_optional(text(500))) if attempts else None,
        sent_at=draw(_after(created, 7)) if state is DeliveryState.SENT else None,
        lease_until=draw(_optional(_after(created, 1))),
    )


# -- the case --------------------------------------------------------------------------------


@st.composite
def cases(
    draw: st.DrawFn,
    *,
    kinds: Sequence[CaseKind] = tuple(CaseKind),
    statuses: Sequence[CaseStatus] = tuple(CaseStatus),
    max_items: int = 2,
) -> Case:
    """A whole case respecting its invariants, with at most ``max_items`` of each collection.

    Plans are numbered 1..N, a hold is recorded exactly when the status is ``on_hold``, the
    order details (if any) fit the case kind, follow-ups name a parent case, and timestamps
    run forward from ``created_at``.
    """
    kind = draw(st.sampled_from(kinds))
    status = draw(st.sampled_from(statuses))
    created = draw(aware_datetimes(max_value=datetime(2099, 1, 1)))
    updated = draw(_after(created, 300))
    plans = (
        tuple(
            draw(plan_versions(n, max_steps=3))
            for n in range(1, draw(st.integers(0, max_items)) + 1)
        )
        if kind.is_planned
        else ()
    )
    order_strategy = _ORDERS_OF_KIND.get(kind)
    items = max_items
    return Case(
        case_id=draw(st.uuids()),
        number=draw(st.integers(1, 10**9)),
        kind=kind,
        network_id=draw(st.uuids()),
        owner_id=draw(st.uuids()),
        patient=draw(patients()),
        created_at=created,
        updated_at=updated,
        status=status,
        request=draw(_optional(treatment_requests())) if order_strategy is None else None,
        chart=draw(tooth_charts(max_marks=4)),
        records=draw(records(max_files=items)),
        order=draw(_optional(order_strategy)) if order_strategy is not None else None,
        parent_id=draw(st.uuids()) if order_strategy is not None else None,
        plans=plans,
        comments=draw(_small_tuples(comments(), items)),
        shipments=draw(_small_tuples(shipments(), items)),
        collaborators=draw(
            st.lists(collaborator_grants(), max_size=items, unique_by=lambda g: g.account_id).map(
                tuple
            )
        ),
        shares=(
            draw(_small_tuples(st.integers(1, len(plans)).flatmap(share_links), items))
            if plans
            else ()
        ),
        history=draw(_small_tuples(history_entries(), items)),
        hold=draw(holds()) if status is CaseStatus.ON_HOLD else None,
        deadline=draw(_optional(deadlines())),
        assigned_planner_id=draw(_optional(st.uuids())),
        submitted_at=draw(_optional(_after(created, 30))),
        accepted_at=draw(_optional(_after(created, 60))),
        version=draw(st.integers(1, 1000)),
    )


# -- queries and inputs ----------------------------------------------------------------------


def case_filters() -> st.SearchStrategy[CaseFilter]:
    return st.builds(
        CaseFilter,
        patient_name=_optional(text(100)),
        name_match=st.sampled_from(NameMatch),
        kinds=st.lists(st.sampled_from(CaseKind), max_size=3).map(tuple),
        statuses=st.lists(st.sampled_from(CaseStatus), max_size=3).map(tuple),
        created_from=_optional(aware_datetimes()),
        created_to=_optional(aware_datetimes()),
        updated_from=_optional(aware_datetimes()),
        updated_to=_optional(aware_datetimes()),
        number=_optional(_POSITIVE),
        owner_id=_optional(st.uuids()),
        sort=st.sampled_from(SortKey),
        descending=st.booleans(),
        offset=st.integers(0, 10_000),
        limit=st.integers(1, 500),
    )


def case_summaries() -> st.SearchStrategy[CaseSummary]:
    return st.builds(
        CaseSummary,
        case_id=st.uuids(),
        number=_POSITIVE,
        kind=st.sampled_from(CaseKind),
        status=st.sampled_from(CaseStatus),
        patient_name=text(201, blank=False),
        owner_id=st.uuids(),
        network_id=st.uuids(),
        created_at=aware_datetimes(),
        updated_at=aware_datetimes(),
        accepted_at=_optional(aware_datetimes()),
        version=_POSITIVE,
    )


def registrations() -> st.SearchStrategy[Registration]:
    return st.builds(
        Registration,
        clinic_name=text(200, blank=False),
        first_name=text(100, blank=False),
        last_name=text(100, blank=False),
        email=emails(),
        username=_USERNAMES,
        shipping_address=addresses(),
        telephone=_optional(_TELEPHONES),
        reference_code=_optional(_REFERENCE_CODES),
        language=_LANGUAGES,
    )


def profile_changes() -> st.SearchStrategy[ProfileChanges]:
    return st.builds(
        ProfileChanges,
        clinic_name=_optional(text(200, blank=False)),
        first_name=_optional(text(100, blank=False)),
        last_name=_optional(text(100, blank=False)),
        email=_optional(emails()),
        telephone=_optional(_TELEPHONES),
        shipping_address=_optional(addresses()),
        language=_optional(_LANGUAGES),
    )
