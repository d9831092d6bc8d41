"""Hostile values in every command, sent through ``execute`` on every storage.

For every command class, hypothesis replaces one to three fields of a valid
command with hostile values (wrong types, None, huge text, unpaired surrogates,
control characters, integers past 2**63, long and deep arrays), built both in
Python and from JSON through the converter. Whatever happens, only the
library's own errors come out, and every case stays readable afterwards.
"""

from __future__ import annotations

import os
import secrets
import types
import typing
from collections.abc import Callable, Iterator
from datetime import timedelta
from enum import Enum
from pathlib import Path
from typing import Any
from uuid import UUID

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aligner_core import (
    AlignerError,
    Case,
    CaseKind,
    ProfileChanges,
    RevisionOrder,
    ToothChart,
    TreatmentRequest,
    connect,
)
from aligner_core.commands import (
    COMMANDS,
    BillLine,
    CaseCommand,
    Command,
    InviteCollaborator,
    IssueInvoice,
)
from aligner_core.domain.accounts import Address, Registration
from aligner_core.domain.money import Currency
from aligner_core.domain.patients import PatientDetails
from aligner_core.domain.payments import PaymentMethod
from aligner_core.domain.plans import PlanStep, PlanSummary
from aligner_core.domain.products import Catalogue
from aligner_core.serialization import make_converter
from aligner_core.service.core import Core
from aligner_core.testing.factories import (
    Lab,
    address,
    arch_stl,
    patient_details,
    plan_summary,
    registration,
    set_up_lab,
)

CONVERTER = make_converter()
SCAN = arch_stl(4, 8)
DSN = os.environ.get("ALIGNER_CORE_TEST_POSTGRES_DSN")

HOSTILE: list[Any] = [
    None,
    True,
    0,
    -1,
    2**63,
    -(2**63) - 1,
    10**40,
    float("nan"),
    float("inf"),
    1.5,
    "",
    "   ",
    "Doe\ud800",
    "nul\x00byte",
    "bell\x07",
    "x" * 200_000,
    "not-a-uuid",
    "2090-01-01",
    [],
    [None] * 50,
    list(range(20_000)),
    {"a": 1},
    {"order_type": "revision", "instructions": "\ud800"},
    b"bytes",
    ("tuple",),
]


def _deep(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


HOSTILE.append(_deep(200))


def _valid(tp: Any, ids: dict[str, Any]) -> Any:
    """A valid value of type ``tp`` for a command field."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) > 1:  # the union of follow-up orders
            return RevisionOrder("x")
        return _valid(rest[0], ids)
    if origin is tuple:
        item = args[0]
        return (next(iter(item)),) if isinstance(item, type) and issubclass(item, Enum) else ()
    if tp is UUID:
        return ids["uuid"]
    if tp is str:
        return "fine"
    if tp is bool:
        return True
    if tp is int:
        return 1
    if tp is timedelta:
        return timedelta(days=1)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return next(iter(tp))
    known: dict[Any, Callable[[], Any]] = {
        PatientDetails: patient_details,
        TreatmentRequest: TreatmentRequest,
        ToothChart: ToothChart,
        PlanSummary: plan_summary,
        PlanStep: lambda: PlanStep(1),
        Registration: registration,
        ProfileChanges: ProfileChanges,
        Address: address,
        Catalogue: Catalogue,
        PaymentMethod: lambda: PaymentMethod.invoice(ids["uuid"]),
        Currency: lambda: Currency.of("EUR"),
    }
    if tp in known:
        return known[tp]()
    return SCAN  # AttachFile.content (typed Any)


def _base(cls: type[Command], ids: dict[str, Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    values = {
        a.name: _valid(hints[a.name], ids)
        for a in attrs.fields(cls)  # type: ignore[arg-type]
        if a.name != "expected_version"
    }
    for key in ("case_id", "parent_case_id"):
        if key in values:
            values[key] = ids["case"]
    if "simulation_url" in values:
        values["simulation_url"] = "https://simulation.example/1"
    if "order" in values:
        values["order"] = None if "kind" in values else RevisionOrder("more torque")
    if cls is InviteCollaborator:  # by account id (the e-mail address is the other way)
        values["email"] = None
    if "payment_method_id" in values:  # a way to pay given (a kept one is the other way)
        values["payment_method_id"] = None
    if cls is IssueInvoice:
        line = BillLine(item="product:aligners", quantity=1, unit="1.00")
        values.update(lines=(line,), currency="EUR", tax_percent="19", due_on=None)
    return values


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Core, Lab, list[UUID]]]:
    if request.param == "memory":
        core = connect("memory://")
    elif request.param == "sqlite":
        core = connect(f"sqlite:///{tmp_path / 'hostile.db'}")
    else:
        if not DSN:
            if os.environ.get("ALIGNER_CORE_CI"):
                pytest.fail("ALIGNER_CORE_TEST_POSTGRES_DSN must be set under CI")
            pytest.skip("ALIGNER_CORE_TEST_POSTGRES_DSN is not set")
        schema = f"aligner_hostile_{os.getpid()}_{secrets.token_hex(4)}"
        core = connect(DSN, schema=schema, blob_root=str(tmp_path / "blobs"))
    lab = set_up_lab(core, f"HOST-{secrets.token_hex(3)}")
    draft = core.create_case(lab.doctor, CaseKind.TREATMENT, patient_details()).case_id
    planning = lab.ready_case()
    core.submit(lab.doctor, planning)
    waiting = lab.ready_case()
    core.submit(lab.doctor, waiting)
    core.upload_plan(lab.planner, waiting, plan_summary())
    try:
        yield core, lab, [draft, planning, waiting]
    finally:
        if request.param == "postgres":
            storage = core.storage
            core.shutdown()
            import psycopg
            from psycopg import sql

            assert DSN is not None
            with psycopg.connect(DSN, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                        sql.Identifier(storage.schema)
                    )
                )
        else:
            core.shutdown()


def _readable(core: Core, lab: Lab, cases: list[UUID]) -> None:
    with core.storage.unit_of_work() as uow:
        for case_id in cases:
            assert isinstance(uow.cases.get(case_id), Case)
    assert core.list_cases(lab.admin).total >= len(cases)
    for case_id in cases:
        core.get_case(lab.admin, case_id)


FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(
    name=st.sampled_from(sorted(COMMANDS)),
    changes=st.lists(
        st.tuples(st.integers(0, 20), st.sampled_from(HOSTILE)), min_size=1, max_size=3
    ),
    who=st.sampled_from(["doctor", "planner", "production", "admin"]),
    which=st.integers(0, 2),
    as_json=st.booleans(),
)
def test_hostile_values_raise_only_library_errors_and_leave_cases_readable(
    world: tuple[Core, Lab, list[UUID]],
    name: str,
    changes: list[tuple[int, Any]],
    who: str,
    which: int,
    as_json: bool,
) -> None:
    core, lab, cases = world
    cls = COMMANDS[name]
    ids = {"case": cases[which], "uuid": lab.doctor}
    values = _base(cls, ids)
    fields = sorted(values)
    actor = getattr(lab, who)
    try:
        if as_json:
            data = CONVERTER.unstructure(cls(**values))
            data.pop("content", None)
            for index, hostile in changes:
                data[fields[index % len(fields)]] = hostile
            command = CONVERTER.structure_checked(data, cls)
            if "content" in values:
                command = attrs.evolve(command, content=SCAN)  # type: ignore[misc]
        else:
            for index, hostile in changes:
                values[fields[index % len(fields)]] = hostile
            command = cls(**values)
        actor_id = None if name in ("CreateNetwork", "Register") else actor
        core.execute(actor_id, command)
    except AlignerError:
        pass
    _readable(core, lab, cases)


def test_commands_are_all_covered() -> None:
    assert {c for c in COMMANDS.values() if issubclass(c, CaseCommand)}
    for cls in COMMANDS.values():
        ids = {"case": UUID(int=1), "uuid": UUID(int=2)}
        cls(**_base(cls, ids))  # a valid command of every class can be built


@pytest.mark.parametrize("content", [[None] * 50, ["text"], [b"solid", 7], (3.5,)])
def test_file_content_that_is_not_bytes_is_refused_with_a_code(
    world: tuple[Core, Lab, list[UUID]], content: Any
) -> None:
    from aligner_core.commands import AttachFile
    from aligner_core.domain.records import FileKind
    from aligner_core.errors import RejectedFileError

    core, lab, cases = world
    command = AttachFile(case_id=cases[0], kind=FileKind.UPPER_SCAN, name="u.stl", content=content)
    with pytest.raises(RejectedFileError) as caught:
        core.execute(lab.doctor, command)
    assert caught.value.code == "rejected_file"
    assert [r.code for r in caught.value.reasons] == ["file.not_regular"]
    _readable(core, lab, cases)
