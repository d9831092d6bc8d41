"""The storage contract: one pytest suite every ``Storage`` adapter passes.

A test module joins it by subclassing and providing a factory fixture and the
capability fixtures (fsspec style: ``None`` says the adapter lacks the capability,
and the tests needing it are skipped)::

    class TestSqliteStorage(StorageContract):
        @pytest.fixture
        def make_storage(self, tmp_path):
            paths = (tmp_path / f"db{i}.sqlite" for i in itertools.count())
            return lambda: SqliteStorage(next(paths))

        @pytest.fixture                      # a second handle on the same database, or None
        def reopen_storage(self):
            return lambda storage: SqliteStorage(storage.path)

        @pytest.fixture                      # a bulk import of new cases, or None
        def import_cases(self):
            return lambda storage, cases: storage.import_cases(cases)

``make_storage()`` returns a FRESH, EMPTY storage each call. ``reopen_storage(s)``
returns another storage on the database of ``s``. ``import_cases(s, cases)``
stores new cases at once (all or nothing) and returns how many. The suite
closes every storage it makes.

The list and dashboard tests compare the adapter with the reference functions
of :mod:`aligner_core.domain.queries` on a generated population; the builders
(:func:`population`, :func:`populate`) are public so benchmarks and portal
suites can reuse them.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aligner_core.domain.accounts import (
    Account,
    AccountStatus,
    Address,
    CollaboratorGrant,
    CollaboratorPermission,
    GrantStatus,
    Network,
    Practice,
    Role,
)
from aligner_core.domain.audit import AuditAction, AuditEntry, AuditFilter
from aligner_core.domain.cases import Case, CaseKind, CaseStatus, Hold, RecordsRequest, Shipment
from aligner_core.domain.deadlines import Stage
from aligner_core.domain.events import DomainEvent, EventType
from aligner_core.domain.invoices import Invoice, InvoiceLine, InvoiceNumber, TaxRate
from aligner_core.domain.ledger import IssuedInvoice
from aligner_core.domain.metrics import CaseMoments, moments_of
from aligner_core.domain.money import Money
from aligner_core.domain.patients import Gender, Patient
from aligner_core.domain.prices import Item
from aligner_core.domain.products import Catalogue, Product, Requirement, Turnaround
from aligner_core.domain.queries import (
    MAX_OFFSET,
    CaseFilter,
    NameMatch,
    Scope,
    SortKey,
    matches,
    paginate,
    storable_text,
    summarize,
    visible,
)
from aligner_core.domain.records import FileKind, FileRef, FileReport, MediaType
from aligner_core.errors import (
    ConcurrencyConflictError,
    NotFoundError,
    StorageError,
    ValidationError,
)
from aligner_core.notifications.outbox import DeliveryState, OutboxEntry
from aligner_core.ports import Storage, UnitOfWork

__all__ = [
    "HOSTILE_NUMBERS",
    "HOSTILE_TEXT",
    "NAMES",
    "Population",
    "StorageContract",
    "account",
    "case",
    "case_filters",
    "enrol",
    "expected_moments",
    "network",
    "outbox_entry",
    "populate",
    "population",
]

T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)

#: Patient names for populations: non-ASCII, apostrophes, casefold traps (ß, İ), shared prefixes.
NAMES: tuple[tuple[str | None, str], ...] = (
    ("Hans", "Ørsted"),
    ("Anna", "Müller"),
    ("Jürgen", "MÜLLER"),
    ("Sean", "O'Brien"),
    (None, "Straße"),
    ("Tom", "Strasse"),
    ("Zoë", "Ångström"),
    ("José", "García"),
    ("Ölmez", "Öztürk"),
    ("Li", "李"),
    ("Jan", "van der Berg"),
    ("jan", "Vandenberg"),
    ("Mary", "Smith"),
    ("Ma", "Smithson"),
    ("Ίρις", "Παπαδοπούλου"),
    (None, "Doe"),
    ("Jane", "Doe"),
    ("Émile", "Zola"),
)


def _address() -> Address:
    return Address(country="Germany", city="Berlin", postal_code="10115", street="Invalidenstr. 1")


def network(code: str = "LAB-1", network_id: UUID | None = None) -> Network:
    """A network with a fresh id."""
    return Network(network_id or uuid4(), f"Lab {code}", code)


def account(
    net: Network,
    username: str,
    *,
    role: Role = Role.DOCTOR,
    email: str | None = None,
    created_at: datetime = T0,
) -> Account:
    """An active account of ``net``."""
    return Account(
        account_id=uuid4(),
        network_id=net.network_id,
        role=role,
        username=username,
        email=email or f"{username.replace(' ', '.')}@example.org",
        first_name="Alex",
        last_name="Tester",
        clinic_name="Smile Clinic",
        shipping_address=_address(),
        created_at=created_at,
        status=AccountStatus.ACTIVE,
    )


def case(
    number: int,
    owner: Account,
    *,
    name: tuple[str | None, str] = ("Jane", "Doe"),
    status: CaseStatus = CaseStatus.DRAFT,
    kind: CaseKind = CaseKind.TREATMENT,
    created_at: datetime = T0,
    updated_at: datetime | None = None,
    collaborators: tuple[CollaboratorGrant, ...] = (),
    label: str = "",
    assigned_to: UUID | None = None,
    practice: Practice | None = None,
) -> Case:
    """A case built directly (no service): fast, any status; ``label`` is its own name."""
    hold = (
        Hold("waiting", CaseStatus.IN_PLANNING, created_at)
        if status is CaseStatus.ON_HOLD
        else None
    )
    return Case(
        case_id=uuid4(),
        number=number,
        kind=kind,
        network_id=owner.network_id,
        owner_id=owner.account_id,
        patient=Patient(uuid4(), name[1], Gender.FEMALE, name[0]),
        created_at=created_at,
        updated_at=updated_at or created_at,
        status=status,
        hold=hold,
        records_request=(
            RecordsRequest(
                (FileKind.UPPER_SCAN,),
                "blurred",
                owner.account_id,
                created_at,
                CaseStatus.IN_PLANNING,
            )
            if status is CaseStatus.AWAITING_RECORDS
            else None
        ),
        collaborators=collaborators,
        accepted_at=created_at if status not in (CaseStatus.DRAFT, CaseStatus.DELETED) else None,
        name=label,
        assigned_to=assigned_to,
        practice=practice,
    )


def issued_invoice(
    network_id: UUID,
    number: InvoiceNumber,
    doctor_id: UUID,
    issued_at: datetime = datetime(2026, 3, 1, 9, tzinfo=UTC),
    *,
    unit: str = "12.50",
    case_number: int | None = 101,
) -> IssuedInvoice:
    """A stored-to-be invoice of one line (two aligner sets at ``unit`` euros, 19 % tax)."""
    invoice = Invoice(
        number=number,
        kind="charge",
        issued_at=issued_at,
        doctor_id=doctor_id,
        practice_id=doctor_id,
        currency="EUR",
        tax_rate=TaxRate("19"),
        lines=(InvoiceLine(Item.product("aligners"), 2, Money(unit, "EUR"), case_number),),
    )
    return IssuedInvoice(uuid4(), network_id, invoice)


def grant(
    who: Account, by: Account, status: GrantStatus = GrantStatus.ACCEPTED
) -> CollaboratorGrant:
    return CollaboratorGrant(
        who.account_id, by.account_id, T0, (CollaboratorPermission.COMMENT,), status
    )


def outbox_entry(
    recipient: Account, *, at: datetime = T0, next_attempt_at: datetime | None = None
) -> OutboxEntry:
    """A pending notification to ``recipient``."""
    entry_id = uuid4()
    event = DomainEvent(EventType.COMMENT_ADDED, at, recipient.account_id, recipient.network_id)
    return OutboxEntry(
        entry_id=entry_id,
        event=event,
        recipient_id=recipient.account_id,
        recipient_email=recipient.email,
        language="en",
        created_at=at,
        next_attempt_at=next_attempt_at or at,
        message_id=f"<{entry_id}@aligner-core>",
    )


@attrs.frozen
class Population:
    """Two networks, their doctors, and cases of every status, kind and many names."""

    networks: tuple[Network, ...]
    doctors: tuple[Account, ...]
    cases: tuple[Case, ...]
    #: lab staff ids cases are assigned to, practices they ship to (not stored as accounts)
    assignees: tuple[UUID, ...] = ()
    practices: tuple[Practice, ...] = ()

    def scopes(self) -> list[Scope]:
        """Every kind of scope over this population."""
        return [
            Scope(everything=True),
            *(Scope(network_id=n.network_id) for n in self.networks),
            *(Scope(member_id=d.account_id) for d in self.doctors),
            Scope(network_id=self.networks[0].network_id, member_id=self.doctors[-1].account_id),
        ]


def population(n: int, seed: int = 0, *, first_number: int = 1000) -> Population:
    """``n`` generated cases (deterministic for a seed), not stored."""
    rnd = random.Random(seed)
    nets = (network("NET-A"), network("NET-B"))
    doctors = (
        account(nets[0], f"doc-a1-{seed}"),
        account(nets[0], f"doc-a2-{seed}"),
        account(nets[1], f"doc-b1-{seed}"),
    )
    statuses, kinds = (
        list(CaseStatus),
        [CaseKind.TREATMENT, CaseKind.RETAINER, CaseKind.DIRECT_MANUFACTURING],
    )
    assignees = (uuid4(), uuid4())
    practices = (
        Practice(uuid4(), "Praxis Mitte", _address()),
        Practice(uuid4(), "Süd", _address()),
    )
    cases = []
    for i in range(n):
        owner = rnd.choice(doctors)
        others = [d for d in doctors if d is not owner]
        grants: tuple[CollaboratorGrant, ...] = ()
        if rnd.random() < 0.2:
            grants = (grant(rnd.choice(others), owner, rnd.choice(list(GrantStatus))),)
        created = T0 + timedelta(hours=rnd.randrange(0, 24 * 365))
        updated = created + timedelta(minutes=rnd.choice([0, 0, 5, 60, 24 * 60 * 30]))
        cases.append(
            case(
                first_number + i,
                owner,
                name=rnd.choice(NAMES),
                status=rnd.choice(statuses),
                kind=rnd.choice(kinds),
                created_at=created,
                updated_at=updated,
                collaborators=grants,
                label=("", "", "", "Second phase", "Zoë: upper only")[i % 5],
                assigned_to=(None, *assignees)[i % 3],
                practice=(None, *practices)[i % 3 if i % 2 else 0],
            )
        )
    return Population(nets, doctors, tuple(cases), assignees, practices)


def enrol(uow: UnitOfWork, pop: Population) -> None:
    """Queue the networks and doctors of ``pop`` (not its cases) in ``uow``."""
    for net in pop.networks:
        uow.accounts.add_network(net)
    for doctor in pop.doctors:
        uow.accounts.add(doctor)


def populate(storage: Storage, n: int, seed: int = 0) -> Population:
    """Store a generated population (case numbers from the storage) and return it."""
    pop = population(n, seed)
    with storage.unit_of_work() as uow:
        enrol(uow, pop)
        numbered = tuple(attrs.evolve(c, number=uow.cases.next_number()) for c in pop.cases)
        for c in numbered:
            uow.cases.add(c)
        uow.commit()
    return attrs.evolve(pop, cases=numbered)


_PREFIXES = ("m", "mü", "mu", "ø", "o'", "st", "strass", "jan", "jane d", "李", "zz", "\U0010ffff")
_SUBSTRINGS = ("er", "üll", "ss", "an ", "o", "berg", "李", "doe", "ßt", "xyz", "n d")
#: Search boxes: name words (any word, any case), numbers, products, and mixes of them.
_SEARCHES = (
    "müller",
    "MU",
    "jane",
    "d",
    "retainer",
    "aligner",
    "100",
    "#101",
    "101 re",
    "zz",
    "o'",
    "a_%",
)


def case_filters(pop: Population) -> st.SearchStrategy[CaseFilter]:
    """Case filters over ``pop``: names, kinds, statuses, date ranges, numbers, sorts and pages."""
    times = st.sampled_from([c.created_at for c in pop.cases] + [T0, T0 + timedelta(days=200)])
    zones = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])
    moment = st.builds(lambda t, z: t.astimezone(z), times, zones)
    name = st.one_of(
        st.none(),
        st.builds(lambda p: (p, NameMatch.PREFIX), st.sampled_from(_PREFIXES)),
        st.builds(lambda s: (s, NameMatch.SUBSTRING), st.sampled_from(_SUBSTRINGS)),
    )
    numbers = st.sampled_from([None, None, None, pop.cases[0].number, pop.cases[-1].number, 1])
    searches = st.sampled_from([None, None, None, *_SEARCHES, str(pop.cases[-1].number)])
    owners = st.sampled_from([None, None, *(d.account_id for d in pop.doctors)])
    assignees = st.sampled_from([None, None, *pop.assignees])
    practices = st.sampled_from([None, None, None, *(p.practice_id for p in pop.practices)])

    def build(
        nm: tuple[str, NameMatch] | None,
        kinds: Any,
        statuses: Any,
        created: Any,
        updated: Any,
        **kw: Any,
    ) -> CaseFilter:
        name_args: dict[str, Any] = {"patient_name": nm[0], "name_match": nm[1]} if nm else {}
        return CaseFilter(
            **name_args,
            kinds=kinds,
            statuses=statuses,
            created_from=created[0],
            created_to=created[1],
            updated_from=updated[0],
            updated_to=updated[1],
            **kw,
        )

    optional = st.one_of(st.none(), moment)
    return st.builds(
        build,
        name,
        st.lists(st.sampled_from(list(CaseKind)), max_size=2),
        st.lists(st.sampled_from(list(CaseStatus)), max_size=3),
        st.tuples(optional, optional),
        st.tuples(optional, optional),
        number=numbers,
        owner_id=owners,
        assigned_to=assignees,
        practice_id=practices,
        search=searches,
        sort=st.sampled_from(list(SortKey)),
        descending=st.booleans(),
        offset=st.sampled_from([0, 0, 3, 20, 100]),
        limit=st.sampled_from([1, 7, 50, 500]),
    )


def expected_page(pop: Population, scope: Scope, query: CaseFilter) -> Any:
    """The reference answer for ``list``."""
    rows = [summarize(c) for c in pop.cases if visible(c, scope) and matches(c, query)]
    return paginate(rows, query)


def expected_counts(
    pop: Population, scope: Scope, query: CaseFilter | None = None
) -> dict[CaseStatus, int]:
    """The reference answer for ``count_by_status``."""
    counts: dict[CaseStatus, int] = {}
    for c in pop.cases:
        if visible(c, scope) and (query is None or matches(c, query)):
            counts[c.status] = counts.get(c.status, 0) + 1
    return counts


#: Text no store can hold: lone surrogates and NUL, alone and inside names.
HOSTILE_TEXT = ("Doe\ud800", "Doe\x00", "\x00", "\udfff", "jane d\x00")
#: Integers beyond 64 bits, both ways.
HOSTILE_NUMBERS = (2**63, 2**64, -(2**63) - 1, 2**100)


def _changed(c: Case, pop: Population, rnd: random.Random) -> Case:
    """``c`` one version on, with a random change that moves counts or members."""
    what = rnd.choice(["status", "owner", "grant", "revoke", "delete", "comment-like", "assign"])
    changes: dict[str, Any] = {"version": c.version + 1, "updated_at": c.updated_at + timedelta(1)}
    if what == "status":
        waiting = (CaseStatus.ON_HOLD, CaseStatus.AWAITING_RECORDS)  # they hold more
        status = rnd.choice([s for s in CaseStatus if s not in waiting])
        changes.update(status=status, hold=None, records_request=None)
    elif what == "delete":
        changes.update(status=CaseStatus.DELETED, hold=None, records_request=None)
    elif what == "owner":
        owner = rnd.choice(pop.doctors)
        changes.update(owner_id=owner.account_id, network_id=owner.network_id)
    elif what == "grant":
        guest = rnd.choice([d for d in pop.doctors if d.account_id != c.owner_id])
        others = tuple(g for g in c.collaborators if g.account_id != guest.account_id)
        owner = next(d for d in pop.doctors if d.account_id == c.owner_id)
        changes.update(collaborators=(*others, grant(guest, owner)))
    elif what == "revoke":
        changes.update(collaborators=())
    elif what == "assign":
        changes.update(assigned_to=rnd.choice([None, *pop.assignees]))
    return attrs.evolve(c, **changes)


def _shipment(phase: int, at: datetime) -> Shipment:
    return Shipment(uuid4(), "DHL", f"TRACK{phase}", phase, False, at)


def _with_moments(cases: Iterable[Case]) -> tuple[Case, ...]:
    """``cases`` submitted, approved and shipped at random times (some not, some in other
    zones, shipments out of order), each updated at or after its moments."""
    rnd = random.Random(3)
    zones = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
    changed = []
    for c in cases:
        at = c.created_at

        def later(at: datetime) -> datetime:
            step = timedelta(hours=rnd.randrange(0, 24 * 60), microseconds=rnd.choice([0, 7]))
            return (at + step).astimezone(rnd.choice(zones))

        submitted = later(at) if rnd.random() < 0.8 else None
        accepted = later(submitted) if submitted and rnd.random() < 0.7 else None
        times = [later(accepted) for _ in range(rnd.choice([0, 1, 3]))] if accepted else []
        rnd.shuffle(times)
        shipments = tuple(_shipment(i + 1, t) for i, t in enumerate(times))
        last = max([c.updated_at, *(t for t in (submitted, accepted, *times) if t)])
        changed.append(
            attrs.evolve(
                c,
                submitted_at=submitted,
                accepted_at=accepted,
                shipments=shipments,
                updated_at=last + timedelta(minutes=rnd.choice([0, 5])),
            )
        )
    return tuple(changed)


def expected_moments(
    cases: Iterable[Case], network_id: UUID, since: datetime, owner_id: UUID | None = None
) -> list[CaseMoments]:
    """The reference answer for ``CaseRepository.moments``."""
    return [
        moments_of(c)
        for c in sorted(cases, key=lambda c: c.number)
        if c.network_id == network_id
        and (owner_id is None or c.owner_id == owner_id)
        and c.status is not CaseStatus.DELETED
        and c.updated_at >= since
    ]


class StorageContract:
    """What every ``Storage`` must do (ports.py docstrings), checked against the reference.

    Joining modules provide ``make_storage``, ``reopen_storage`` and ``import_cases``.
    """

    # ------------------------------------------------------------------ fixtures
    @pytest.fixture
    def fresh(self, make_storage: Callable[[], Storage]) -> Iterator[Callable[[], Storage]]:
        """Make storages and close them all at the end of the test."""
        made: list[Storage] = []

        def new() -> Storage:
            made.append(make_storage())
            return made[-1]

        yield new
        for s in made:
            s.close()

    @pytest.fixture
    def storage(self, fresh: Callable[[], Storage]) -> Storage:
        return fresh()

    @pytest.fixture
    def reopen(
        self, reopen_storage: Callable[[Storage], Storage] | None
    ) -> Iterator[Callable[[Storage], Storage]]:
        """A second handle on a storage's database, or skip when the adapter has none."""
        if reopen_storage is None:
            pytest.skip("reopen_storage is None: the adapter has no shared database")
        opener = reopen_storage
        made: list[Storage] = []

        def again(storage: Storage) -> Storage:
            made.append(opener(storage))
            return made[-1]

        yield again
        for s in made:
            s.close()

    @pytest.fixture
    def cast(self, storage: Storage) -> tuple[Network, Account, Account]:
        """A stored network with a doctor and a planner."""
        net = network()
        doctor, planner = account(net, "doctor"), account(net, "planner", role=Role.PLANNER)
        with storage.unit_of_work() as uow:
            uow.accounts.add_network(net)
            uow.accounts.add(doctor)
            uow.accounts.add(planner)
            uow.commit()
        return net, doctor, planner

    def _store(self, storage: Storage, *cases: Case) -> None:
        with storage.unit_of_work() as uow:
            for c in cases:
                uow.cases.add(c)
            uow.commit()

    def _new_case(self, storage: Storage, owner: Account, **kw: Any) -> Case:
        with storage.unit_of_work() as uow:
            c = case(uow.cases.next_number(), owner, **kw)
            uow.cases.add(c)
            uow.commit()
        return c

    # ------------------------------------------------------------------ cases
    def test_add_then_get_by_id_and_number(self, storage: Storage, cast: Any) -> None:
        c = self._new_case(storage, cast[1], name=("Hans", "Ørsted"))
        with storage.unit_of_work() as uow:
            assert uow.cases.get(c.case_id) == c
            assert uow.cases.get_by_number(c.number) == c

    def test_a_unit_of_work_reads_its_own_writes(self, storage: Storage, cast: Any) -> None:
        with storage.unit_of_work() as uow:
            c = case(uow.cases.next_number(), cast[1])
            uow.cases.add(c)
            assert uow.cases.get(c.case_id) == c
            assert uow.cases.get_by_number(c.number) == c

    def test_missing_things_raise_not_found(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            for call in (
                lambda: uow.cases.get(uuid4()),
                lambda: uow.cases.get_by_number(424242),
                lambda: uow.accounts.get(uuid4()),
                lambda: uow.accounts.by_username("nobody"),
                lambda: uow.accounts.get_network(uuid4()),
                lambda: uow.accounts.network_by_code("NOPE-1"),
            ):
                with pytest.raises(NotFoundError):
                    call()

    def test_a_new_case_has_version_one(self, storage: Storage, cast: Any) -> None:
        with storage.unit_of_work() as uow, pytest.raises(ValidationError):
            uow.cases.add(attrs.evolve(case(1, cast[1]), version=2))

    def test_a_taken_case_number_is_refused(self, storage: Storage, cast: Any) -> None:
        c = self._new_case(storage, cast[1])
        with pytest.raises(ValidationError):
            self._store(storage, case(c.number, cast[1]))

    def test_update_with_the_next_version(self, storage: Storage, cast: Any) -> None:
        c = self._new_case(storage, cast[1])
        changed = attrs.evolve(c, status=CaseStatus.LAB_REVIEW, version=2, accepted_at=T0)
        with storage.unit_of_work() as uow:
            uow.cases.update(changed)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.cases.get(c.case_id) == changed

    def test_two_changes_in_one_unit_of_work_are_one_version_step(
        self, storage: Storage, cast: Any
    ) -> None:
        c = self._new_case(storage, cast[1])
        with storage.unit_of_work() as uow:
            first = attrs.evolve(uow.cases.get(c.case_id), status=CaseStatus.LAB_REVIEW, version=2)
            uow.cases.update(first)
            second = attrs.evolve(uow.cases.get(c.case_id), status=CaseStatus.IN_PLANNING)
            uow.cases.update(attrs.evolve(second, version=second.version + 1))
            uow.commit()
        with storage.unit_of_work() as uow:
            stored = uow.cases.get(c.case_id)
        assert (stored.version, stored.status) == (2, CaseStatus.IN_PLANNING)

    def test_stale_writer_conflicts_and_nothing_of_its_unit_is_written(
        self, storage: Storage, cast: Any
    ) -> None:
        net, doctor, planner = cast
        c = self._new_case(storage, doctor)
        late = storage.unit_of_work()
        with late:
            stale = late.cases.get(c.case_id)
            with storage.unit_of_work() as early:
                early.cases.update(attrs.evolve(early.cases.get(c.case_id), version=2))
                early.commit()
            other = case(99_999, doctor)
            with pytest.raises(ConcurrencyConflictError):
                late.cases.add(other)
                late.outbox.add(outbox_entry(planner))
                late.accounts.add(account(net, "newcomer"))
                late.cases.update(attrs.evolve(stale, status=CaseStatus.CANCELLED, version=2))
                late.commit()
        with storage.unit_of_work() as uow:
            assert uow.cases.get(c.case_id).status is CaseStatus.DRAFT
            with pytest.raises(NotFoundError):
                uow.cases.get(other.case_id)
            with pytest.raises(NotFoundError):
                uow.accounts.by_username("newcomer")
            assert list(uow.outbox.pending()) == []

    def test_updating_a_case_that_does_not_exist_fails(self, storage: Storage, cast: Any) -> None:
        with (
            storage.unit_of_work() as uow,
            pytest.raises((NotFoundError, ConcurrencyConflictError)),
        ):
            uow.cases.update(attrs.evolve(case(5, cast[1]), version=2))
            uow.commit()

    def test_leaving_without_commit_rolls_back(self, storage: Storage, cast: Any) -> None:
        with storage.unit_of_work() as uow:
            c = case(uow.cases.next_number(), cast[1])
            uow.cases.add(c)
            uow.outbox.add(outbox_entry(cast[1]))
        with storage.unit_of_work() as uow:
            with pytest.raises(NotFoundError):
                uow.cases.get(c.case_id)
            assert list(uow.outbox.pending()) == []

    def test_an_exception_rolls_back(self, storage: Storage, cast: Any) -> None:
        c = case(7, cast[1])
        with pytest.raises(RuntimeError), storage.unit_of_work() as uow:
            uow.cases.add(c)
            raise RuntimeError("boom")
        with storage.unit_of_work() as uow, pytest.raises(NotFoundError):
            uow.cases.get(c.case_id)

    def test_rollback_then_commit_writes_nothing_and_a_second_commit_fails(
        self, storage: Storage, cast: Any
    ) -> None:
        c = case(8, cast[1])
        uow = storage.unit_of_work()
        with uow:
            uow.cases.add(c)
            uow.rollback()
            with pytest.raises(StorageError):
                uow.commit()
        with storage.unit_of_work() as again:
            with pytest.raises(NotFoundError):
                again.cases.get(c.case_id)
            again.commit()
            with pytest.raises(StorageError):
                again.commit()

    def test_next_number_is_unique_and_increasing(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            numbers = [uow.cases.next_number() for _ in range(20)]
        assert numbers == sorted(set(numbers)) and numbers[0] > 0
        with storage.unit_of_work() as uow:
            assert uow.cases.next_number() > numbers[-1]  # a rolled back unit never reuses one

    def test_next_number_is_unique_across_threads(self, storage: Storage) -> None:
        taken: list[list[int]] = [[] for _ in range(6)]
        errors: list[BaseException] = []

        def take(mine: list[int]) -> None:
            try:
                with storage.unit_of_work() as uow:
                    mine.extend(uow.cases.next_number() for _ in range(25))
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=take, args=(t,)) for t in taken]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        every = [n for mine in taken for n in mine]
        assert len(set(every)) == len(every) == 150
        assert all(mine == sorted(mine) for mine in taken)

    def test_concurrent_writers_of_one_case_never_lose_an_update(
        self, storage: Storage, cast: Any
    ) -> None:
        c = self._new_case(storage, cast[1])
        results: list[str] = []
        barrier = threading.Barrier(4)

        def write(i: int) -> None:
            with storage.unit_of_work() as uow:
                current = uow.cases.get(c.case_id)
                barrier.wait()
                try:
                    uow.cases.update(attrs.evolve(current, version=current.version + 1))
                    uow.commit()
                    results.append("ok")
                except ConcurrencyConflictError:
                    results.append("conflict")

        threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["conflict"] * 3 + ["ok"]
        with storage.unit_of_work() as uow:
            assert uow.cases.get(c.case_id).version == 2

    # ------------------------------------------------------------------ accounts
    def test_accounts_and_networks_round_trip(self, storage: Storage, cast: Any) -> None:
        net, doctor, planner = cast
        with storage.unit_of_work() as uow:
            assert uow.accounts.get(doctor.account_id) == doctor
            assert uow.accounts.by_username("DOCTOR") == doctor
            assert uow.accounts.get_network(net.network_id) == net
            assert uow.accounts.network_by_code(net.reference_code.lower()) == net
            assert list(uow.accounts.in_network(net.network_id)) == [doctor, planner]
            assert list(uow.accounts.in_network(uuid4())) == []

    def test_a_network_is_updated_but_keeps_its_reference_code(
        self, storage: Storage, cast: Any
    ) -> None:
        net = cast[0]
        changed = attrs.evolve(net, consent_version="2026-01", terms_version="v3")
        with storage.unit_of_work() as uow:
            uow.accounts.get_network(net.network_id)  # read first: a memo must not keep it
            uow.accounts.update_network(changed)
            assert uow.accounts.get_network(net.network_id) == changed  # its own write
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.accounts.get_network(net.network_id) == changed
            assert uow.accounts.network_by_code(net.reference_code) == changed
        with storage.unit_of_work() as uow, pytest.raises(ValidationError) as info:
            uow.accounts.update_network(attrs.evolve(changed, reference_code="OTHER-CODE"))
            uow.commit()
        assert info.value.paths == ["$.reference_code"]
        with storage.unit_of_work() as uow, pytest.raises(NotFoundError):
            uow.accounts.update_network(attrs.evolve(changed, network_id=uuid4()))
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.accounts.get_network(net.network_id) == changed

    def test_a_network_keeps_its_catalogue_and_a_case_its_product(
        self, storage: Storage, cast: Any
    ) -> None:
        net, doctor, _ = cast
        premium = Product(
            "premium",
            "Premium Aligners",
            CaseKind.TREATMENT,
            (Requirement.PHOTOS,),
            (Turnaround(Stage.PLANNING, 10, 4),),
        )
        changed = attrs.evolve(net, catalogue=Catalogue((premium,)))
        ordered = attrs.evolve(case(1, doctor), product="premium")
        with storage.unit_of_work() as uow:
            uow.accounts.update_network(changed)
            uow.cases.add(ordered)
            uow.commit()
        with storage.unit_of_work() as uow:
            stored = uow.accounts.get_network(net.network_id)
            assert stored == changed and stored.products.product("premium") == premium
            assert uow.cases.get(ordered.case_id).product == "premium"
        with storage.unit_of_work() as uow:  # back to the default catalogue
            uow.accounts.update_network(attrs.evolve(changed, catalogue=None))
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.accounts.get_network(net.network_id).products == Catalogue()

    @pytest.mark.parametrize("field", ["username", "email"])
    def test_usernames_and_emails_are_unique_ignoring_case(
        self, storage: Storage, cast: Any, field: str
    ) -> None:
        net, doctor, _ = cast
        clash = (
            account(net, "Doctor", email="other@example.org")
            if field == "username"
            else account(net, "someone", email=doctor.email.upper())
        )
        bystander = account(net, "bystander")
        with pytest.raises(ValidationError) as caught, storage.unit_of_work() as uow:
            uow.accounts.add(bystander)
            uow.accounts.add(clash)
            uow.commit()
        assert caught.value.paths == [f"$.{field}"]
        with storage.unit_of_work() as uow, pytest.raises(NotFoundError):
            uow.accounts.get(bystander.account_id)

    def test_two_new_accounts_with_one_username_in_one_unit(
        self, storage: Storage, cast: Any
    ) -> None:
        net = cast[0]
        with pytest.raises(ValidationError), storage.unit_of_work() as uow:
            uow.accounts.add(account(net, "twin", email="a@example.org"))
            uow.accounts.add(account(net, "TWIN", email="b@example.org"))
            uow.commit()

    def test_reference_codes_are_unique_ignoring_case(self, storage: Storage, cast: Any) -> None:
        with pytest.raises(ValidationError) as caught, storage.unit_of_work() as uow:
            uow.accounts.add_network(network(cast[0].reference_code.lower()))
            uow.commit()
        assert caught.value.paths == ["$.reference_code"]

    def test_accounts_are_versioned(self, storage: Storage, cast: Any) -> None:
        doctor = cast[1]
        with storage.unit_of_work() as uow:
            stale = uow.accounts.get(doctor.account_id)
            with storage.unit_of_work() as other:
                other.accounts.update(attrs.evolve(doctor, language="de", version=2))
                other.commit()
            with pytest.raises(ConcurrencyConflictError):
                uow.accounts.update(attrs.evolve(stale, language="fr", version=2))
                uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.accounts.get(doctor.account_id).language == "de"

    def test_an_email_change_to_a_taken_address_is_refused(
        self, storage: Storage, cast: Any
    ) -> None:
        _, doctor, planner = cast
        with pytest.raises(ValidationError), storage.unit_of_work() as uow:
            uow.accounts.update(attrs.evolve(doctor, email=planner.email, version=2))
            uow.commit()
        with storage.unit_of_work() as uow:
            moved = attrs.evolve(doctor, email="new@example.org", version=2)
            uow.accounts.update(moved)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.accounts.get(doctor.account_id) == moved
            uow.accounts.add(account(cast[0], "taker", email=doctor.email))  # the old one is free
            uow.commit()

    # ------------------------------------------------------------------ queries
    def test_deleted_drafts_are_kept_but_never_listed_nor_counted(
        self, storage: Storage, cast: Any
    ) -> None:
        net, doctor, _ = cast
        gone = self._new_case(storage, doctor, status=CaseStatus.DELETED)
        kept = self._new_case(storage, doctor)
        with storage.unit_of_work() as uow:
            assert uow.cases.get(gone.case_id) == gone
            with pytest.raises(NotFoundError):
                uow.cases.get_by_number(gone.number)
            for scope in (Scope(everything=True), Scope(network_id=net.network_id)):
                page = uow.cases.list(scope, CaseFilter())
                assert [s.case_id for s in page.items] == [kept.case_id] and page.total == 1
                assert dict(uow.cases.count_by_status(scope)) == {CaseStatus.DRAFT: 1}
            everything = CaseFilter(statuses=(CaseStatus.DELETED,))
            assert uow.cases.list(Scope(everything=True), everything).total == 0

    def test_doctors_see_their_own_and_accepted_shared_cases(
        self, storage: Storage, cast: Any
    ) -> None:
        doctor = cast[1]
        outsider_net = network("OTHER-1")
        guest, invited = account(outsider_net, "guest"), account(outsider_net, "invited")
        with storage.unit_of_work() as uow:
            uow.accounts.add_network(outsider_net)
            uow.accounts.add(guest)
            uow.accounts.add(invited)
            uow.commit()
        shared = self._new_case(
            storage,
            doctor,
            collaborators=(grant(guest, doctor), grant(invited, doctor, GrantStatus.INVITED)),
        )
        own = self._new_case(storage, doctor)
        with storage.unit_of_work() as uow:
            assert {
                s.case_id
                for s in uow.cases.list(Scope(member_id=doctor.account_id), CaseFilter()).items
            } == {
                shared.case_id,
                own.case_id,
            }
            assert [
                s.case_id
                for s in uow.cases.list(Scope(member_id=guest.account_id), CaseFilter()).items
            ] == [shared.case_id]
            assert uow.cases.list(Scope(member_id=invited.account_id), CaseFilter()).total == 0
            assert (
                uow.cases.list(Scope(network_id=outsider_net.network_id), CaseFilter()).total == 0
            )
            # revoking the grant takes the case out of the guest's list
            revoked = attrs.evolve(shared, collaborators=(), version=2)
            uow.cases.update(revoked)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.cases.list(Scope(member_id=guest.account_id), CaseFilter()).total == 0
            assert uow.cases.count_by_status(Scope(member_id=guest.account_id)) == {}

    def test_list_and_counts_agree_with_the_reference_on_a_population(
        self, storage: Storage
    ) -> None:
        pop = populate(storage, 60, seed=7)
        rnd = random.Random(11)
        with storage.unit_of_work() as uow:
            for scope in pop.scopes():
                assert dict(uow.cases.count_by_status(scope)) == expected_counts(pop, scope)
                for sort in SortKey:
                    for descending in (True, False):
                        q = CaseFilter(sort=sort, descending=descending, limit=rnd.choice([5, 60]))
                        assert uow.cases.list(scope, q) == expected_page(pop, scope, q), q
                for text in _PREFIXES:
                    q = CaseFilter(patient_name=text, sort=SortKey.PATIENT, descending=False)
                    assert uow.cases.list(scope, q) == expected_page(pop, scope, q), q
                for text in _SUBSTRINGS:
                    q = CaseFilter(patient_name=text, name_match=NameMatch.SUBSTRING)
                    assert uow.cases.list(scope, q) == expected_page(pop, scope, q), q
                for text in (*_SEARCHES, str(pop.cases[3].number)):
                    q = CaseFilter(search=text)
                    assert uow.cases.list(scope, q) == expected_page(pop, scope, q), q
                    counted = dict(uow.cases.count_by_status(scope, q))
                    assert counted == expected_counts(pop, scope, q), q

    def test_the_search_box_matches_name_words_numbers_and_products(self, storage: Storage) -> None:
        pop = populate(storage, 40, seed=5)
        everything = Scope(everything=True)
        some = pop.cases[7]
        last_word = some.patient.full_name.split()[-1].upper()
        with storage.unit_of_work() as uow:

            def found(text: str) -> set[int]:
                return {
                    s.number
                    for s in uow.cases.list(everything, CaseFilter(search=text, limit=500)).items
                }

            assert some.number in found(last_word)  # any word of the name, any case
            assert found(str(some.number)) >= {some.number}
            retainers = {
                c.number
                for c in pop.cases
                if c.kind is CaseKind.RETAINER and c.status is not CaseStatus.DELETED
            }
            assert retainers
            assert retainers <= found("retainer")
            assert found(f"{some.number} {last_word}") == {some.number}
            assert found("%") == found("_") == set()  # LIKE's own characters match themselves
            statuses = dict(uow.cases.count_by_status(everything, CaseFilter(search=last_word)))
            assert statuses == expected_counts(pop, everything, CaseFilter(search=last_word))

    def test_list_agrees_with_the_reference_for_generated_filters(
        self, make_storage: Callable[[], Storage]
    ) -> None:
        storage = make_storage()
        try:
            pop = populate(storage, 60, seed=3)

            @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
            @given(query=case_filters(pop), scope=st.sampled_from(pop.scopes()))
            def check(query: CaseFilter, scope: Scope) -> None:
                with storage.unit_of_work() as uow:
                    page = uow.cases.list(scope, query)
                    assert page == expected_page(pop, scope, query)
                    if page.next_cursor is not None:  # and the page after it, by cursor
                        following = attrs.evolve(query, after=page.next_cursor)
                        assert uow.cases.list(scope, following) == expected_page(
                            pop, scope, following
                        )

            check()
        finally:
            storage.close()

    def test_a_page_past_the_end_is_empty_with_the_total(self, storage: Storage) -> None:
        pop = populate(storage, 12, seed=1)
        q = CaseFilter(offset=400, limit=10)
        with storage.unit_of_work() as uow:
            page = uow.cases.list(Scope(everything=True), q)
        assert (
            page.items == () and page.total == expected_page(pop, Scope(everything=True), q).total
        )

    # ------------------------------------------------------------------ outbox
    def test_outbox_entries_are_written_with_the_unit_of_work(
        self, storage: Storage, cast: Any
    ) -> None:
        entry = outbox_entry(cast[1])
        with storage.unit_of_work() as uow:
            uow.outbox.add(entry)
            assert list(uow.outbox.pending()) == []  # not before commit
            uow.commit()
        with storage.unit_of_work() as uow:
            assert list(uow.outbox.pending()) == [entry]
            assert list(uow.outbox.sent()) == list(uow.outbox.dead()) == []

    def test_claim_leases_due_entries_in_order(self, storage: Storage, cast: Any) -> None:
        doctor = cast[1]
        first = outbox_entry(doctor, at=T0)
        second = outbox_entry(doctor, at=T0 + timedelta(seconds=1))
        later = outbox_entry(doctor, at=T0, next_attempt_at=T0 + timedelta(hours=1))
        with storage.unit_of_work() as uow:
            for e in (later, second, first):
                uow.outbox.add(e)
            uow.commit()
        now, lease = T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)
        with storage.unit_of_work() as uow:
            claimed = uow.outbox.claim(now, lease, 10)
            assert [e.entry_id for e in claimed] == [first.entry_id, second.entry_id]
            assert all(e.lease_until == lease for e in claimed)
            assert list(uow.outbox.claim(now, lease, 10)) == []  # leased: not claimed again
            assert [
                e.entry_id for e in uow.outbox.claim(lease, lease + timedelta(minutes=1), 1)
            ] == [first.entry_id]  # the lease expired
        with storage.unit_of_work() as uow:
            assert len(uow.outbox.claim(T0 + timedelta(hours=2), T0 + timedelta(hours=3), 10)) == 3

    def test_mark_sent_reschedule_and_mark_dead_take_effect_at_commit(
        self, storage: Storage, cast: Any
    ) -> None:
        doctor = cast[1]
        a, b, c = (outbox_entry(doctor, at=T0 + timedelta(seconds=i)) for i in range(3))
        with storage.unit_of_work() as uow:
            for e in (a, b, c):
                uow.outbox.add(e)
            uow.commit()
        now, lease = T0 + timedelta(minutes=1), T0 + timedelta(minutes=5)
        with storage.unit_of_work() as uow:
            uow.outbox.claim(now, lease, 10)
            uow.outbox.mark_sent(a.entry_id, now)
            uow.outbox.reschedule(b.entry_id, 1, now + timedelta(minutes=10), "421 try later")
            uow.outbox.mark_dead(c.entry_id, 3, "550 no such user")
            uow.rollback()
        with storage.unit_of_work() as uow:
            assert len(uow.outbox.pending()) == 3
            uow.outbox.mark_sent(a.entry_id, now)
            uow.outbox.reschedule(b.entry_id, 1, now + timedelta(minutes=10), "421 try later")
            uow.outbox.mark_dead(c.entry_id, 3, "550 no such user")
            uow.commit()
        with storage.unit_of_work() as uow:
            (sent,) = uow.outbox.sent()
            assert (sent.entry_id, sent.state, sent.sent_at, sent.lease_until) == (
                a.entry_id, DeliveryState.SENT, now, None,
            )  # fmt: skip
            (waiting,) = uow.outbox.pending()
            assert (waiting.entry_id, waiting.attempts, waiting.last_error) == (
                b.entry_id, 1, "421 try later",
            )  # fmt: skip
            assert waiting.lease_until is None
            assert waiting.next_attempt_at == now + timedelta(minutes=10)
            (dead,) = uow.outbox.dead()
            assert (dead.entry_id, dead.attempts, dead.last_error) == (
                c.entry_id,
                3,
                "550 no such user",
            )
            # rescheduled: not due before its time, due after
            assert (
                list(uow.outbox.claim(now + timedelta(minutes=6), lease + timedelta(hours=1), 10))
                == []
            )
            assert (
                len(uow.outbox.claim(now + timedelta(minutes=10), lease + timedelta(hours=1), 10))
                == 1
            )

    def test_marking_an_unknown_entry_fails_at_commit(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            uow.outbox.mark_sent(uuid4(), T0)
            with pytest.raises(NotFoundError):
                uow.commit()

    def test_concurrent_claimers_never_hold_the_same_entry(
        self, storage: Storage, cast: Any
    ) -> None:
        with storage.unit_of_work() as uow:
            for i in range(60):
                uow.outbox.add(outbox_entry(cast[1], at=T0 + timedelta(milliseconds=i)))
            uow.commit()
        got: list[list[UUID]] = [[] for _ in range(4)]
        barrier = threading.Barrier(4)

        def claim(mine: list[UUID]) -> None:
            barrier.wait()
            for _ in range(10):
                with storage.unit_of_work() as uow:
                    now = T0 + timedelta(minutes=1)
                    mine.extend(
                        e.entry_id for e in uow.outbox.claim(now, now + timedelta(hours=1), 3)
                    )

        threads = [threading.Thread(target=claim, args=(g,)) for g in got]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        every = [e for mine in got for e in mine]
        assert len(every) == len(set(every)) == 60

    # ------------------------------------------------------------------ outbox: leases, states
    def _queued(self, storage: Storage, *entries: OutboxEntry) -> None:
        with storage.unit_of_work() as uow:
            for e in entries:
                uow.outbox.add(e)
            uow.commit()

    def test_an_outbox_entry_is_stored_once(self, storage: Storage, cast: Any) -> None:
        entry = outbox_entry(cast[1])
        self._queued(storage, entry)
        other = outbox_entry(cast[1])
        for twice in ([entry], [other, attrs.evolve(entry, language="de")], [other, other]):
            with pytest.raises(ValidationError) as caught, storage.unit_of_work() as uow:
                for e in twice:
                    uow.outbox.add(e)
                uow.commit()
            assert caught.value.paths == ["$.entry_id"]
        with storage.unit_of_work() as uow:
            assert list(uow.outbox.pending()) == [entry]

    def test_each_claim_carries_its_own_lease_token(self, storage: Storage, cast: Any) -> None:
        a, b = outbox_entry(cast[1]), outbox_entry(cast[1], at=T0 + timedelta(seconds=1))
        self._queued(storage, a, b)
        lease = T0 + timedelta(minutes=5)
        with storage.unit_of_work() as uow:
            first = uow.outbox.claim(T0 + timedelta(seconds=1), lease, 10)
            assert [e.lease_token is not None for e in first] == [True, True]
            again = uow.outbox.claim(lease, lease + timedelta(minutes=5), 1)  # a's lease expired
            assert [e.entry_id for e in again] == [a.entry_id]
            assert again[0].lease_token not in (None, first[0].lease_token)
            assert uow.outbox.get(a.entry_id).lease_token == again[0].lease_token

    def test_renew_extends_a_lease_only_while_its_token_holds_it(
        self, storage: Storage, cast: Any
    ) -> None:
        entry = outbox_entry(cast[1])
        self._queued(storage, entry)
        lease = T0 + timedelta(minutes=5)
        with storage.unit_of_work() as uow:
            (mine,) = uow.outbox.claim(T0, lease, 1)
            token = mine.lease_token
            assert token is not None
            assert uow.outbox.renew(entry.entry_id, token, lease + timedelta(minutes=5))
            assert list(uow.outbox.claim(lease, lease, 1)) == []  # renewed: still held
            assert uow.outbox.get(entry.entry_id).lease_until == lease + timedelta(minutes=5)
            assert not uow.outbox.renew(entry.entry_id, uuid4(), lease + timedelta(hours=1))
            assert not uow.outbox.renew(uuid4(), token, lease + timedelta(hours=1))
            later = lease + timedelta(minutes=5)
            (theirs,) = uow.outbox.claim(later, later + timedelta(minutes=5), 1)
            assert theirs.lease_token != token
            assert not uow.outbox.renew(entry.entry_id, token, later + timedelta(hours=1))
            assert uow.outbox.get(entry.entry_id).lease_until == later + timedelta(minutes=5)

    def test_a_fenced_save_after_another_claim_writes_nothing(
        self, storage: Storage, cast: Any
    ) -> None:
        doctor = cast[1]
        entry = outbox_entry(doctor)
        self._queued(storage, entry)
        lease = T0 + timedelta(minutes=5)
        with storage.unit_of_work() as uow:
            (late,) = uow.outbox.claim(T0, lease, 1)
            (current,) = uow.outbox.claim(lease, lease + timedelta(minutes=5), 1)
        writes: list[Callable[[Any], None]] = [
            lambda outbox: outbox.save(late.delivered(lease), token=late.lease_token),
            lambda outbox: outbox.mark_sent(late.entry_id, lease, token=late.lease_token),
            lambda outbox: outbox.mark_dead(late.entry_id, 1, "550", token=late.lease_token),
        ]
        for write in writes:
            with pytest.raises(ConcurrencyConflictError), storage.unit_of_work() as uow:
                uow.outbox.add(outbox_entry(doctor))  # an innocent write of the same unit
                write(uow.outbox)
                uow.commit()
        with storage.unit_of_work() as uow:
            assert [e.entry_id for e in uow.outbox.pending()] == [entry.entry_id]
            assert uow.outbox.get(entry.entry_id).lease_token == current.lease_token
            uow.outbox.save(current.delivered(lease), token=current.lease_token)
            uow.commit()
        with storage.unit_of_work() as uow:
            (sent,) = uow.outbox.sent()
            assert (sent.sent_at, sent.lease_token, sent.lease_until) == (lease, None, None)

    def test_save_stores_every_delivery_field_and_ends_the_lease(
        self, storage: Storage, cast: Any
    ) -> None:
        doctor = cast[1]
        entries = [outbox_entry(doctor, at=T0 + timedelta(seconds=i)) for i in range(5)]
        self._queued(storage, *entries)
        now = T0 + timedelta(minutes=1)
        later = now + timedelta(minutes=10)
        with storage.unit_of_work() as uow:
            claimed = list(uow.outbox.claim(now, now + timedelta(minutes=5), 10))
        a, b, c, d, e = claimed
        failing = b.deferred(now - timedelta(days=1), "421 earlier", now)
        outcomes = [
            a.delivered(now),
            failing.deferred(now, "421 busy", later),
            c.unconfirmed(now, "no answer after the message", later),
            d.stalled(now, "421 still busy", later),
            e.given_up("550 no such user"),
        ]
        with storage.unit_of_work() as uow:
            for held, outcome in zip(claimed, outcomes, strict=True):
                uow.outbox.save(outcome, token=held.lease_token)
            uow.commit()
        with storage.unit_of_work() as uow:
            for outcome in outcomes:
                assert uow.outbox.get(outcome.entry_id) == outcome
            stored_b = uow.outbox.get(b.entry_id)
            assert (stored_b.attempts, stored_b.failing_since) == (2, now - timedelta(days=1))
            assert uow.outbox.get(c.entry_id).unconfirmed_sends == 1
            assert dict(uow.outbox.counts()) == {
                DeliveryState.SENT: 1, DeliveryState.PENDING: 2,
                DeliveryState.STALLED: 1, DeliveryState.DEAD: 1,
            }  # fmt: skip
            hostile = [
                attrs.evolve(a, attempts=2**63),
                attrs.evolve(a, unconfirmed_sends=2**63),
                attrs.evolve(a, last_error="421 \x00"),
            ]
        for bad in hostile:
            with pytest.raises(ValidationError), storage.unit_of_work() as uow:
                uow.outbox.save(bad)
                uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.outbox.get(a.entry_id) == outcomes[0]

    def test_stalled_entries_are_claimed_only_for_a_probe(
        self, storage: Storage, cast: Any
    ) -> None:
        entry = outbox_entry(cast[1])
        self._queued(storage, entry)
        probe_at = T0 + timedelta(hours=6)
        with storage.unit_of_work() as uow:
            (claimed,) = uow.outbox.claim(T0, T0 + timedelta(minutes=5), 1)
            uow.outbox.save(claimed.stalled(T0, "421 busy", probe_at), token=claimed.lease_token)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.outbox.pending() == [] and len(uow.outbox.stalled()) == 1
            assert list(uow.outbox.claim(probe_at, probe_at + timedelta(hours=1), 10)) == []
            stalled = DeliveryState.STALLED
            assert list(uow.outbox.claim(T0, probe_at, 10, state=stalled)) == []  # not yet
            (probe,) = uow.outbox.claim(probe_at, probe_at + timedelta(minutes=5), 1, state=stalled)
            assert probe.state is stalled and probe.lease_token is not None
            assert list(uow.outbox.claim(probe_at, probe_at, 1, state=stalled)) == []  # leased
            for refused in (DeliveryState.DEAD, DeliveryState.SENT):
                with pytest.raises(ValidationError):
                    uow.outbox.claim(probe_at, probe_at, 1, state=refused)

    def test_retry_makes_stalled_and_waiting_entries_due_with_a_fresh_period(
        self, storage: Storage, cast: Any
    ) -> None:
        doctor = cast[1]
        names = ("stalled", "waiting", "due", "dead", "leased", "sent")
        made = {n: outbox_entry(doctor, at=T0 + timedelta(seconds=i)) for i, n in enumerate(names)}
        self._queued(storage, *made.values())
        now, later = T0 + timedelta(minutes=1), T0 + timedelta(hours=1)
        with storage.unit_of_work() as uow:
            held = {e.entry_id: e for e in uow.outbox.claim(now, now + timedelta(minutes=5), 10)}
            c = {n: held[e.entry_id] for n, e in made.items()}
            outcomes = {
                "stalled": c["stalled"].stalled(now, "421", later),
                "waiting": c["waiting"].deferred(now, "421", later),
                "due": c["due"].deferred(now, "421", now),
                "dead": c["dead"].given_up("550"),
                "leased": c["leased"].stalled(now, "421", now),
                "sent": c["sent"].delivered(now),
            }
            for name, outcome in outcomes.items():
                uow.outbox.save(outcome, token=c[name].lease_token)
            uow.commit()
        stalled = DeliveryState.STALLED
        with storage.unit_of_work() as uow:  # a probe holds "leased"
            (probe,) = uow.outbox.claim(now, now + timedelta(hours=2), 1, state=stalled)
            assert probe.entry_id == made["leased"].entry_id
        at = now + timedelta(minutes=2)
        with storage.unit_of_work() as uow:
            assert list(uow.outbox.retry(at, stalled_only=True)) == [made["stalled"].entry_id]
            assert list(uow.outbox.retry(at)) == [made["waiting"].entry_id]
            for name in ("stalled", "waiting"):
                retried = uow.outbox.get(made[name].entry_id)
                assert retried.state is DeliveryState.PENDING
                assert (retried.next_attempt_at, retried.failing_since) == (at, None)
                assert retried.attempts == 1 and retried.last_error == "421"
            assert uow.outbox.get(made["dead"].entry_id).state is DeliveryState.DEAD
            assert uow.outbox.get(made["leased"].entry_id).lease_token == probe.lease_token
            ids = [made[n].entry_id for n in ("due", "dead", "sent")] + [uuid4()]
            assert list(uow.outbox.retry(at, ids)) == [made["due"].entry_id]  # asked: due now
            assert list(uow.outbox.retry(at, [])) == []
            due = [e.entry_id for e in uow.outbox.claim(at, at + timedelta(minutes=5), 10)]
            assert sorted(due, key=str) == sorted(
                (made[n].entry_id for n in ("stalled", "waiting", "due")), key=str
            )

    def test_requeue_makes_dead_entries_due_with_no_attempts(
        self, storage: Storage, cast: Any
    ) -> None:
        doctor = cast[1]
        dead, alive = outbox_entry(doctor), outbox_entry(doctor, at=T0 + timedelta(seconds=1))
        self._queued(storage, dead, alive)
        with storage.unit_of_work() as uow:
            claimed = {e.entry_id: e for e in uow.outbox.claim(T0, T0 + timedelta(minutes=5), 2)}
            held = claimed[dead.entry_id]
            uow.outbox.save(held.given_up("550 refused"), token=held.lease_token)
            uow.commit()
        at = T0 + timedelta(days=3)
        with storage.unit_of_work() as uow:
            asked = [alive.entry_id, dead.entry_id, uuid4()]
            assert list(uow.outbox.requeue(at, asked)) == [dead.entry_id]
            assert list(uow.outbox.requeue(at, asked)) == []  # no longer dead
            back = uow.outbox.get(dead.entry_id)
            assert (back.state, back.attempts, back.next_attempt_at) == (
                DeliveryState.PENDING, 0, at,
            )  # fmt: skip
            assert back.last_error == "550 refused"  # the reason stays until the next attempt
            assert uow.outbox.dead() == []
            claimed_again = uow.outbox.claim(at, at + timedelta(minutes=5), 10)
            assert {e.entry_id for e in claimed_again} == {dead.entry_id, alive.entry_id}

    def test_entries_are_listed_per_state_oldest_first_and_found_by_id(
        self, storage: Storage, cast: Any
    ) -> None:
        made = [outbox_entry(cast[1], at=T0 + timedelta(seconds=9 - i)) for i in range(4)]
        self._queued(storage, *made)
        oldest_first = sorted(made, key=lambda e: e.created_at)
        with storage.unit_of_work() as uow:
            assert list(uow.outbox.entries(DeliveryState.PENDING)) == oldest_first
            assert list(uow.outbox.entries(DeliveryState.PENDING, limit=2)) == oldest_first[:2]
            assert list(uow.outbox.entries(DeliveryState.STALLED)) == []
            assert dict(uow.outbox.counts()) == {DeliveryState.PENDING: 4}
            assert uow.outbox.get(made[2].entry_id) == made[2]
            with pytest.raises(NotFoundError):
                uow.outbox.get(uuid4())
            with pytest.raises(ValidationError):
                uow.outbox.entries(DeliveryState.PENDING, limit=-1)

    # ------------------------------------------------------------------ storage
    # ------------------------------------------------------------------ patients, audit
    def test_a_patients_cases_are_found_together(self, storage: Storage, cast: Any) -> None:
        first = self._new_case(storage, cast[1])
        other = self._new_case(storage, cast[1])
        with storage.unit_of_work() as uow:
            follow = attrs.evolve(
                case(uow.cases.next_number(), cast[1], kind=CaseKind.REFINEMENT),
                patient=first.patient,
                parent_id=first.case_id,
            )
            uow.cases.add(follow)
            assert [c.number for c in uow.cases.of_patient(first.patient.patient_id)] == [
                first.number,
                follow.number,
            ]
            uow.commit()
        with storage.unit_of_work() as uow:
            found = uow.cases.of_patient(first.patient.patient_id)
            assert [c.case_id for c in found] == [first.case_id, follow.case_id]
            assert [c.case_id for c in uow.cases.of_patient(other.patient.patient_id)] == [
                other.case_id
            ]
            assert uow.cases.of_patient(uuid4()) == []

    def test_file_digests_name_every_file_any_case_refers_to(
        self, storage: Storage, cast: Any
    ) -> None:
        digests = ["a" * 64, "b" * 64]
        c = self._new_case(storage, cast[1])
        files = tuple(
            FileRef(uuid4(), FileKind.OTHER, f"f{i}.pdf", FileReport(MediaType.PDF, 1, d), T0,
                    cast[1].account_id)
            for i, d in enumerate(digests)
        )  # fmt: skip
        with storage.unit_of_work() as uow:
            assert uow.cases.file_digests() == set()
            uow.cases.update(
                attrs.evolve(c, records=attrs.evolve(c.records, files=files), version=2)
            )
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.cases.file_digests() == set(digests)

    # ------------------------------------------------------------------ case moments (metrics)
    def test_moments_agree_with_the_cases_for_generated_periods(
        self, make_storage: Callable[[], Storage]
    ) -> None:
        """Networks, owners, period starts in several zones: the moments of exactly the
        cases updated since, read without whole documents, equal ``moments_of`` them."""
        storage = make_storage()
        try:
            pop = attrs.evolve(
                population(50, seed=9), cases=_with_moments(population(50, seed=9).cases)
            )
            with storage.unit_of_work() as uow:
                enrol(uow, pop)
                for c in pop.cases:
                    uow.cases.add(c)
                uow.commit()
            updated = sorted({c.updated_at for c in pop.cases})
            zones = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))]
            starts = st.builds(
                lambda t, nudge, zone: (t + nudge).astimezone(zone),
                st.sampled_from([T0 - timedelta(days=1), *updated]),
                st.sampled_from([timedelta(0), timedelta(microseconds=1), -timedelta(seconds=1)]),
                st.sampled_from(zones),
            )
            owners = st.sampled_from([None, *(d.account_id for d in pop.doctors), uuid4()])

            @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
            @given(
                net=st.sampled_from([*(n.network_id for n in pop.networks), uuid4()]),
                since=starts,
                owner=owners,
            )
            def check(net: UUID, since: datetime, owner: UUID | None) -> None:
                with storage.unit_of_work() as uow:
                    found = uow.cases.moments(net, since, owner_id=owner)
                assert list(found) == expected_moments(pop.cases, net, since, owner)

            check()
        finally:
            storage.close()

    def test_moments_leave_out_deleted_drafts_and_follow_updates(
        self, storage: Storage, cast: Any
    ) -> None:
        net, doctor, planner = cast
        start = datetime(2026, 1, 1, tzinfo=UTC)
        kept = self._new_case(storage, doctor, created_at=start + timedelta(days=3))
        gone = self._new_case(storage, doctor, created_at=start + timedelta(days=4))
        old = self._new_case(storage, doctor, created_at=start - timedelta(days=40))
        with storage.unit_of_work() as uow:
            assert [m.case_number for m in uow.cases.moments(net.network_id, start)] == [
                kept.number,
                gone.number,
            ]
            assert uow.cases.moments(net.network_id, start, owner_id=planner.account_id) == []
            assert uow.cases.moments(uuid4(), start) == []
            shipped = start + timedelta(days=20)
            uow.cases.update(
                attrs.evolve(
                    old,
                    status=CaseStatus.SHIPPED,
                    submitted_at=start - timedelta(days=39),
                    accepted_at=start + timedelta(days=10),
                    shipments=(_shipment(1, shipped + timedelta(days=30)), _shipment(2, shipped)),
                    updated_at=shipped + timedelta(days=30),
                    version=2,
                )
            )
            uow.cases.update(attrs.evolve(gone, status=CaseStatus.DELETED, version=2))
            assert len(uow.cases.moments(net.network_id, start)) == 2  # committed state only
            uow.commit()
        with storage.unit_of_work() as uow:
            found = uow.cases.moments(net.network_id, start, owner_id=doctor.account_id)
            assert found == [
                CaseMoments(kept.number, doctor.account_id),
                CaseMoments(
                    old.number,
                    doctor.account_id,
                    start - timedelta(days=39),
                    start + timedelta(days=10),
                    shipped,
                ),
            ]
            with pytest.raises(ValidationError):
                uow.cases.moments(net.network_id, datetime(2026, 1, 1))  # naive: no instant

    def test_the_audit_log_keeps_entries_per_network_newest_first(
        self, storage: Storage, cast: Any
    ) -> None:
        net, doctor, _ = cast
        other = uuid4()
        entries = [
            AuditEntry(uuid4(), T0 + timedelta(minutes=i), net.network_id, doctor.account_id,
                       AuditAction.VIEW_CASE, 100 + i % 2, "")
            for i in range(5)
        ]  # fmt: skip
        entries.append(AuditEntry(uuid4(), T0, other, None, AuditAction.OPEN_SHARE_LINK, 7, "x"))
        with storage.unit_of_work() as uow:
            for entry in entries:
                uow.audit.add(entry)
            uow.commit()
        with storage.unit_of_work() as uow:
            page = uow.audit.list(net.network_id, AuditFilter())
            assert [e.at for e in page.items] == sorted((e.at for e in entries[:5]), reverse=True)
            assert page.total == 5 and page.items[0] == entries[4]
            mine = uow.audit.list(net.network_id, AuditFilter(case_number=101, limit=1))
            assert mine.total == 2 and mine.items == (entries[3],)
            since = uow.audit.list(net.network_id, AuditFilter(since=T0 + timedelta(minutes=3)))
            assert since.total == 2
            theirs = uow.audit.list(other, AuditFilter(action=AuditAction.OPEN_SHARE_LINK))
            assert theirs.items == (entries[5],)
        with storage.unit_of_work() as uow:
            uow.audit.add(entries[0])  # not committed: nothing written
        with storage.unit_of_work() as uow:
            assert uow.audit.list(net.network_id, AuditFilter()).total == 5

    # ------------------------------------------------------------------ invoices
    def _issue(
        self, storage: Storage, network_id: UUID, doctor_id: UUID, year: int = 2026, **kw: Any
    ) -> IssuedInvoice:
        with storage.unit_of_work() as uow:
            number = uow.invoices.next_number(network_id, year)
            at = kw.pop("issued_at", datetime(year, 3, 1, 9, tzinfo=UTC))
            entry = issued_invoice(network_id, number, doctor_id, at, **kw)
            uow.invoices.add(entry)
            uow.commit()
        return entry

    def test_invoices_round_trip_exactly_and_list_in_number_order(self, storage: Storage) -> None:
        net, doctor, other = uuid4(), uuid4(), uuid4()
        march = datetime(2026, 3, 1, 9, tzinfo=UTC)
        first = self._issue(storage, net, doctor, unit="0.10", issued_at=march)
        second = self._issue(storage, net, other, unit="1234.50", issued_at=march + timedelta(1))
        third = self._issue(storage, net, doctor, unit="99.99", issued_at=march + timedelta(2))
        self._issue(storage, uuid4(), doctor)  # another network
        with storage.unit_of_work() as uow:
            got = uow.invoices.get(second.invoice_id)
            assert got == second and got.invoice.total == second.invoice.total
            assert got.invoice.lines[0].unit.amount == Decimal("1234.50")
            assert uow.invoices.list(net) == [first, second, third]
            assert uow.invoices.list(net, doctor_id=doctor) == [first, third]
            assert uow.invoices.list(net, since=march + timedelta(1)) == [second, third]
            assert uow.invoices.list(net, until=march + timedelta(1)) == [first, second]
            assert uow.invoices.list(uuid4()) == []
            with pytest.raises(NotFoundError):
                uow.invoices.get(uuid4())

    def test_invoice_numbers_run_one_to_n_per_network_and_year(self, storage: Storage) -> None:
        net, other, doctor = uuid4(), uuid4(), uuid4()
        for _ in range(3):
            self._issue(storage, net, doctor)
            self._issue(storage, other, doctor)
        self._issue(storage, net, doctor, year=2027)
        with storage.unit_of_work() as uow:
            numbers = [str(e.number) for e in uow.invoices.list(net)]
            assert [str(e.number) for e in uow.invoices.list(other)] == numbers[:3]
        assert numbers == [f"INV-2026-00000{i}" for i in (1, 2, 3)] + ["INV-2027-000001"]

    def test_a_rolled_back_unit_of_work_consumes_no_invoice_number(self, storage: Storage) -> None:
        net, doctor = uuid4(), uuid4()
        with storage.unit_of_work() as uow:
            entry = issued_invoice(net, uow.invoices.next_number(net, 2026), doctor)
            uow.invoices.add(entry)
            assert uow.invoices.list(net) == [entry]  # its own writes
            assert uow.invoices.next_number(net, 2026).sequence == 2
        with storage.unit_of_work() as uow:
            assert uow.invoices.list(net) == []
            with pytest.raises(NotFoundError):
                uow.invoices.get(entry.invoice_id)
        assert self._issue(storage, net, doctor).number.sequence == 1

    def test_an_invoice_must_carry_a_number_its_unit_allocated(self, storage: Storage) -> None:
        net, doctor = uuid4(), uuid4()
        with storage.unit_of_work() as uow:
            uow.invoices.add(issued_invoice(net, InvoiceNumber("INV", 2026, 5), doctor))
            with pytest.raises(ValidationError):
                uow.commit()
        assert self._issue(storage, net, doctor).number.sequence == 1

    def test_a_unit_that_lost_the_race_for_a_number_writes_nothing(
        self, storage: Storage, cast: Any
    ) -> None:
        net, doctor = uuid4(), uuid4()
        slow = storage.unit_of_work()
        with slow:
            late = issued_invoice(net, slow.invoices.next_number(net, 2026), doctor)
            slow.invoices.add(late)
            slow.cases.add(case(777, cast[1]))
            self._issue(storage, net, doctor)
            with pytest.raises(ConcurrencyConflictError):
                slow.commit()
        with storage.unit_of_work() as uow:
            assert [e.number.sequence for e in uow.invoices.list(net)] == [1]
            with pytest.raises(NotFoundError):
                uow.cases.get_by_number(777)

    def test_concurrent_invoice_numbers_have_no_gap_and_no_repeat(
        self, storage: Storage, reopen_storage: Callable[[Storage], Storage] | None
    ) -> None:
        """Writers on separate handles (connections) allocate at once; some roll back."""
        net, doctor = uuid4(), uuid4()
        others = [reopen_storage(storage) for _ in range(2)] if reopen_storage else []
        handles = [storage, *others] if others else [storage] * 3
        barrier = threading.Barrier(6)
        committed: list[InvoiceNumber] = []
        errors: list[BaseException] = []

        def write(worker: int) -> None:
            try:
                barrier.wait()
                for round_ in range(5):
                    keep = (worker + round_) % 3 != 0
                    while True:
                        try:
                            with handles[worker % 3].unit_of_work() as uow:
                                number = uow.invoices.next_number(net, 2026)
                                uow.invoices.add(issued_invoice(net, number, doctor))
                                if keep:
                                    uow.commit()
                            break
                        except ConcurrencyConflictError:
                            continue
                    if keep:
                        committed.append(number)
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for other in others:
            other.close()
        assert not errors
        with storage.unit_of_work() as uow:
            stored = [e.number.sequence for e in uow.invoices.list(net)]
        assert sorted(n.sequence for n in committed) == stored == list(range(1, 21))

    def test_scrub_keeps_everything_that_is_current(self, storage: Storage, cast: Any) -> None:
        c = self._new_case(storage, cast[1])
        storage.scrub()
        with storage.unit_of_work() as uow:
            assert uow.cases.get(c.case_id) == c

    def test_a_closed_storage_refuses_units_of_work(self, fresh: Callable[[], Storage]) -> None:
        s = fresh()
        s.close()
        with pytest.raises(StorageError):
            s.unit_of_work()

    def test_reopened_storage_keeps_everything(
        self, storage: Storage, cast: Any, reopen: Callable[[Storage], Storage]
    ) -> None:
        c = self._new_case(storage, cast[1])
        with storage.unit_of_work() as uow:
            uow.outbox.add(outbox_entry(cast[1]))
            uow.commit()
        again = reopen(storage)
        with again.unit_of_work() as uow:
            assert uow.cases.get(c.case_id) == c
            assert uow.accounts.by_username("doctor") == cast[1]
            assert len(uow.outbox.pending()) == 1
            assert uow.cases.next_number() > c.number

    def test_a_second_handle_sees_commits_and_conflicts(
        self, storage: Storage, cast: Any, reopen: Callable[[Storage], Storage]
    ) -> None:
        c = self._new_case(storage, cast[1])
        other = reopen(storage)
        with storage.unit_of_work() as mine, other.unit_of_work() as theirs:
            a, b = mine.cases.get(c.case_id), theirs.cases.get(c.case_id)
            theirs.cases.update(attrs.evolve(b, status=CaseStatus.CANCELLED, version=2))
            theirs.commit()
            with pytest.raises(ConcurrencyConflictError):
                mine.cases.update(attrs.evolve(a, version=2))
                mine.commit()
        with storage.unit_of_work() as uow:
            assert uow.cases.get(c.case_id).status is CaseStatus.CANCELLED
        with storage.unit_of_work() as n1, other.unit_of_work() as n2:
            assert len({n1.cases.next_number(), n2.cases.next_number()}) == 2

    # ------------------------------------------------------------------ e-mail lookups
    def test_accounts_are_found_by_email_ignoring_case(self, storage: Storage, cast: Any) -> None:
        net, doctor, planner = cast
        newcomer = account(net, "newcomer", email="New.Comer@Example.org")
        with storage.unit_of_work() as uow:
            assert uow.accounts.by_email(doctor.email.upper()) == doctor
            assert uow.accounts.by_email(planner.email) == planner
            with pytest.raises(NotFoundError):
                uow.accounts.by_email("nobody@example.org")
            uow.accounts.add(newcomer)
            assert uow.accounts.by_email("new.comer@example.org") == newcomer  # own writes first
            uow.commit()
        moved = attrs.evolve(doctor, email="Moved@example.org", version=2)
        with storage.unit_of_work() as uow:
            assert uow.accounts.by_email("NEW.COMER@EXAMPLE.ORG") == newcomer
            uow.accounts.update(moved)
            assert uow.accounts.by_email("moved@example.org") == moved
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.accounts.by_email("MOVED@EXAMPLE.ORG") == moved
            with pytest.raises(NotFoundError):
                uow.accounts.by_email(doctor.email)

    # ------------------------------------------------------------------ hostile values
    def test_hostile_values_find_nothing(self, storage: Storage, cast: Any) -> None:
        net, doctor, _ = cast
        stored = self._new_case(storage, doctor, name=("Jane", "Doe"))
        scopes = (Scope(everything=True), Scope(member_id=doctor.account_id),
                  Scope(network_id=net.network_id))  # fmt: skip
        with storage.unit_of_work() as uow:
            for text in HOSTILE_TEXT:
                for lookup in (
                    uow.accounts.by_username,
                    uow.accounts.by_email,
                    uow.accounts.network_by_code,
                ):
                    with pytest.raises(NotFoundError):
                        lookup(text)
                if not storable_text(text):  # a filter refuses what no store can hold
                    with pytest.raises(ValidationError):
                        CaseFilter(patient_name=text)
                    continue
                for scope in scopes:
                    for match in NameMatch:
                        page = uow.cases.list(
                            scope, CaseFilter(patient_name=text, name_match=match)
                        )
                        assert (page.items, page.total, page.next_cursor) == ((), 0, None), text
            for number in HOSTILE_NUMBERS:
                with pytest.raises(NotFoundError):
                    uow.cases.get_by_number(number)
                with pytest.raises(ValidationError):
                    CaseFilter(number=number)
                with pytest.raises(ValidationError):
                    CaseFilter(offset=number)
                with pytest.raises(ValidationError):
                    CaseFilter(limit=number)
            assert uow.cases.get_by_number(stored.number) == stored  # and the storage still works
            assert uow.cases.list(scopes[0], CaseFilter(patient_name="jane d")).total == 1

    def test_hostile_values_are_refused_on_write_and_nothing_is_written(
        self, storage: Storage, cast: Any
    ) -> None:
        net, doctor, planner = cast
        base = self._new_case(storage, doctor)

        def renamed(first: str | None, last: str) -> Case:
            patient = attrs.evolve(base.patient, first_name=first, last_name=last)
            return attrs.evolve(base, patient=patient, version=2)

        writes: list[Callable[[Any], None]] = [
            lambda uow: uow.cases.add(
                case(uow.cases.next_number(), doctor, name=("Jo", "Doe\ud800"))
            ),
            lambda uow: uow.cases.add(
                case(uow.cases.next_number(), doctor, name=("Jo\x00", "Doe"))
            ),
            lambda uow: uow.cases.add(case(2**63, doctor)),
            lambda uow: uow.cases.update(renamed("Jane", "Doe\x00")),
            lambda uow: uow.cases.update(renamed("\udfff", "Doe")),
            lambda uow: uow.cases.update(attrs.evolve(base, version=2**63)),
            lambda uow: uow.accounts.add(account(net, "hostile", email="host\x00ile@example.org")),
            lambda uow: uow.accounts.update(attrs.evolve(doctor, first_name="Al\ud800", version=2)),
            lambda uow: uow.accounts.add_network(Network(uuid4(), "Lab \ud800", "LAB-X")),
            lambda uow: uow.outbox.add(
                attrs.evolve(outbox_entry(doctor), recipient_email="x\x00@example.org")
            ),
        ]
        for write in writes:
            with pytest.raises(ValidationError), storage.unit_of_work() as uow:
                uow.outbox.add(outbox_entry(planner))  # an innocent write of the same unit
                write(uow)
                uow.commit()
        entry = outbox_entry(doctor)
        with storage.unit_of_work() as uow:
            assert uow.cases.get(base.case_id) == base
            assert uow.accounts.get(doctor.account_id) == doctor
            assert uow.cases.list(Scope(everything=True), CaseFilter()).total == 1
            assert list(uow.outbox.pending()) == []
            uow.outbox.add(entry)
            uow.commit()
        marks: list[Callable[[Any], None]] = [
            lambda outbox: outbox.reschedule(entry.entry_id, 1, T0, "421 \x00"),
            lambda outbox: outbox.reschedule(entry.entry_id, -1, T0, "421 later"),
            lambda outbox: outbox.mark_dead(entry.entry_id, 2**63, "550 gone"),
            lambda outbox: outbox.mark_dead(entry.entry_id, 1, "550 \ud800"),
        ]
        for mark in marks:
            with pytest.raises(ValidationError), storage.unit_of_work() as uow:
                mark(uow.outbox)
                uow.commit()
        with storage.unit_of_work() as uow:
            assert list(uow.outbox.pending()) == [entry]

    # ------------------------------------------------------------------ assignment, practices
    def test_lists_and_counts_filter_by_assignee_and_practice(self, storage: Storage) -> None:
        """Rows carry the assignee and the practice; "my cases" (``assigned_to``) and a
        practice's cases list and count as the reference does, after reassignments too."""
        pop = populate(storage, 45, seed=17)
        assert {c.assigned_to for c in pop.cases} >= {None, *pop.assignees}
        with storage.unit_of_work() as uow:
            moved = attrs.evolve(
                uow.cases.get(pop.cases[0].case_id),
                assigned_to=pop.assignees[1],
                version=pop.cases[0].version + 1,
            )
            uow.cases.update(moved)
            uow.commit()
        now = attrs.evolve(pop, cases=(moved, *pop.cases[1:]))
        queries = [
            *(CaseFilter(assigned_to=a, limit=500) for a in now.assignees),
            *(CaseFilter(practice_id=p.practice_id, limit=500) for p in now.practices),
            CaseFilter(assigned_to=now.assignees[0], statuses=(CaseStatus.IN_PLANNING,)),
            CaseFilter(assigned_to=uuid4()),
        ]
        with storage.unit_of_work() as uow:
            for scope in now.scopes():
                for q in queries:
                    assert uow.cases.list(scope, q) == expected_page(now, scope, q), (scope, q)
                    counted = dict(uow.cases.count_by_status(scope, q))
                    assert counted == expected_counts(now, scope, q), (scope, q)
            rows = uow.cases.list(Scope(everything=True), CaseFilter(limit=500)).items
        by_number = {c.number: c for c in now.cases}
        assert all(r.assigned_to == by_number[r.number].assigned_to for r in rows)
        assert {r.practice_id for r in rows} == {None, *(p.practice_id for p in now.practices)}

    # ------------------------------------------------------------------ kept counts, members
    def test_counts_and_members_follow_every_write(self, storage: Storage) -> None:
        """Status changes, new owners and networks, grants, revokes and deletes, with and
        without reading the case first: the dashboard and lists agree with the reference."""
        pop = populate(storage, 40, seed=13)
        rnd = random.Random(5)
        current = {c.case_id: c for c in pop.cases}
        for step in range(24):
            with storage.unit_of_work() as uow:
                for stale in rnd.sample(sorted(current.values(), key=lambda c: c.number), 3):
                    loaded = uow.cases.get(stale.case_id) if step % 2 else stale
                    changed = _changed(loaded, pop, rnd)
                    uow.cases.update(changed)
                    current[changed.case_id] = changed
                uow.commit()
        now = attrs.evolve(pop, cases=tuple(current.values()))
        with storage.unit_of_work() as uow:
            for scope in now.scopes():
                assert dict(uow.cases.count_by_status(scope)) == expected_counts(now, scope)
                for q in (CaseFilter(limit=500), CaseFilter(statuses=(CaseStatus.DRAFT,))):
                    assert uow.cases.list(scope, q) == expected_page(now, scope, q), (scope, q)

    # ------------------------------------------------------------------ cursors and offsets
    def test_cursors_walk_every_list_in_order(self, storage: Storage) -> None:
        pop = populate(storage, 30, seed=21)
        with storage.unit_of_work() as uow:
            for scope in pop.scopes():
                for sort in SortKey:
                    for descending in (True, False):
                        q = CaseFilter(sort=sort, descending=descending, limit=7)
                        walked: list[Any] = []
                        while True:
                            page = uow.cases.list(scope, q)
                            assert page == expected_page(pop, scope, q), q
                            walked.extend(page.items)
                            if page.next_cursor is None:
                                break
                            q = attrs.evolve(q, after=page.next_cursor)
                        whole = expected_page(pop, scope, attrs.evolve(q, after=None, limit=500))
                        assert walked == list(whole.items)

    def test_the_deepest_offset_pages_and_a_deeper_one_is_refused(self, storage: Storage) -> None:
        pop = populate(storage, 5, seed=4)
        with storage.unit_of_work() as uow:
            page = uow.cases.list(Scope(everything=True), CaseFilter(offset=MAX_OFFSET))
        assert page == expected_page(pop, Scope(everything=True), CaseFilter(offset=MAX_OFFSET))
        with pytest.raises(ValidationError):
            CaseFilter(offset=MAX_OFFSET + 1)

    # ------------------------------------------------------------------ bulk import
    def test_bulk_import_is_all_or_nothing_and_keeps_counts(
        self,
        fresh: Callable[[], Storage],
        import_cases: Callable[[Storage, Iterable[Case]], int] | None,
    ) -> None:
        if import_cases is None:
            pytest.skip("import_cases is None: the adapter has no bulk import")
        storage = fresh()
        pop = population(30, seed=17)
        with storage.unit_of_work() as uow:
            enrol(uow, pop)
            uow.commit()
        twins = [pop.cases[0], attrs.evolve(pop.cases[1], number=pop.cases[0].number)]
        for clashing in ([*pop.cases[:3], pop.cases[0]], twins):  # clashes within one import
            with pytest.raises(ValidationError):
                import_cases(storage, clashing)
        with storage.unit_of_work() as uow:
            assert uow.cases.count_by_status(Scope(everything=True)) == {}
            assert uow.cases.list(Scope(everything=True), CaseFilter()).total == 0
        assert import_cases(storage, pop.cases) == 30
        extra = population(3, seed=18, first_number=5000).cases
        for clash in (pop.cases[0], attrs.evolve(extra[2], number=pop.cases[1].number)):
            with pytest.raises(ValidationError):
                import_cases(storage, [*extra[:2], clash])
        with storage.unit_of_work() as uow:
            for scope in pop.scopes():
                assert dict(uow.cases.count_by_status(scope)) == expected_counts(pop, scope)
                q = CaseFilter(limit=500, sort=SortKey.NUMBER)
                assert uow.cases.list(scope, q) == expected_page(pop, scope, q)
            assert uow.cases.get(pop.cases[3].case_id) == pop.cases[3]
            with pytest.raises(NotFoundError):
                uow.cases.get(extra[0].case_id)
            assert uow.cases.next_number() > max(c.number for c in pop.cases)

    def test_the_service_runs_a_case_on_this_storage(self, storage: Storage) -> None:
        from aligner_core.bootstrap import connect
        from aligner_core.clock import ManualClock
        from aligner_core.ids import RandomIds
        from aligner_core.testing.factories import set_up_lab

        core = connect(storage=storage, clock=ManualClock(), ids=RandomIds())
        lab = set_up_lab(core)
        case_id = lab.ready_case(last_name="Ørsted")
        status = core.submit(lab.doctor, case_id).status
        commented = core.comment(lab.planner, case_id, "scans look fine")
        assert commented.comments[-1].text == "scans look fine"
        with storage.unit_of_work() as uow:
            pending = uow.outbox.pending()
        assert any(e.recipient_id == lab.doctor and e.event.case_id == case_id for e in pending)
        assert core.list_cases(lab.admin, CaseFilter(patient_name="JANE Ørs")).total == 1
        assert core.dashboard(lab.admin).counts == {status: 1}
