"""A patient's data can be exported and erased, on every storage; every read is audited.

After erasure no name, birth date, e-mail or file of the patient is anywhere: not
in a table, a document, an outbox entry or the blob store (the SQLite file's
bytes are read, WAL included; PostgreSQL's tables are read back), and the audit
log says who erased what and when.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest

import aligner_core
from aligner_core import (
    CaseKind,
    FileKind,
    Gender,
    ImpressionType,
    NotFoundError,
    PatientDetails,
    PermissionDeniedError,
)
from aligner_core.domain.audit import AuditAction, AuditFilter
from aligner_core.service.core import Core
from aligner_core.testing.factories import Lab, arch_stl, plan_summary, set_up_lab

DSN = os.environ.get("ALIGNER_CORE_TEST_POSTGRES_DSN")
LAST, FIRST, EMAIL, BORN = (
    "Quellenwasser",
    "Ottilie",
    "ottilie.q@patient.example",
    date(1983, 7, 19),
)
SCAN = arch_stl(6, 10)
SECRETS = (LAST, FIRST, EMAIL, BORN.isoformat())


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Core, Path]]:
    if request.param == "memory":
        core = aligner_core.connect("memory://")
    elif request.param == "sqlite":
        core = aligner_core.connect(f"sqlite:///{tmp_path / 'lab.db'}")
    else:
        if not DSN:
            if os.environ.get("ALIGNER_CORE_CI"):
                pytest.fail("ALIGNER_CORE_TEST_POSTGRES_DSN must be set under CI")
            pytest.skip("ALIGNER_CORE_TEST_POSTGRES_DSN is not set")
        schema = f"aligner_rights_{os.getpid()}_{secrets.token_hex(4)}"
        core = aligner_core.connect(DSN, schema=schema, blob_root=str(tmp_path / "blobs"))
    try:
        yield request.param, core, tmp_path
    finally:
        schema_name = getattr(core.storage, "schema", None)
        core.shutdown()
        if request.param == "postgres" and schema_name:
            import psycopg
            from psycopg import sql

            assert DSN is not None
            with psycopg.connect(DSN, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema_name))
                )


def _patient_case(core: Core, lab: Lab) -> UUID:
    details = PatientDetails(LAST, Gender.FEMALE, FIRST, BORN, "DE", EMAIL)
    case = core.create_case(
        lab.doctor, CaseKind.TREATMENT, details, impression_type=ImpressionType.INTRAORAL_SCAN
    )
    for kind in (FileKind.UPPER_SCAN, FileKind.LOWER_SCAN):
        core.attach_file(lab.doctor, case.case_id, kind, SCAN, f"{LAST}-{kind.value}.stl")
    core.confirm(lab.doctor, case.case_id, complete=True, privacy=True)
    core.submit(lab.doctor, case.case_id)
    core.comment(lab.doctor, case.case_id, f"{FIRST} {LAST} grinds her teeth")
    core.upload_plan(lab.planner, case.case_id, plan_summary(), notes=f"for {LAST}")
    core.request_modification(lab.doctor, case.case_id, f"{FIRST} wants less IPR")
    core.upload_plan(lab.planner, case.case_id, plan_summary(ipr=0.2))
    core.accept_plan(lab.doctor, case.case_id, 2)
    return case.case_id


def _everything_stored(kind: str, core: Core, tmp: Path) -> bytes:
    """Every byte the storage keeps (files, WAL) or every row it holds, as one blob."""
    if kind == "sqlite":
        return b"".join(p.read_bytes() for p in sorted(tmp.glob("lab.db*")) if p.is_file())
    if kind == "postgres":
        import psycopg
        from psycopg import sql

        assert DSN is not None
        schema = core.storage.schema
        dump = []
        with psycopg.connect(DSN, autocommit=True) as conn:
            tables = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            ).fetchall()
            for (table,) in tables:
                rows = conn.execute(
                    sql.SQL("SELECT * FROM {}.{}").format(
                        sql.Identifier(schema), sql.Identifier(table)
                    )
                ).fetchall()
                dump.append(repr(rows))
        return "\n".join(dump).encode()
    storage = core.storage._state  # memory: the committed state itself
    return repr(storage).encode()


def test_export_holds_everything_and_is_audited(where: tuple[str, Core, Path]) -> None:
    _, core, _ = where
    lab = set_up_lab(core, f"EXP-{secrets.token_hex(2)}")
    case_id = _patient_case(core, lab)
    follow = core.order_follow_up(lab.doctor, case_id, aligner_core.RevisionOrder("more torque"))
    bundle = io.BytesIO()
    report = core.export_patient(lab.doctor, case_id, bundle)
    with zipfile.ZipFile(bundle) as z:
        data = json.loads(z.read("export.json"))
        names = z.namelist()
        scans = [n for n in names if n.startswith("files/")]
        assert all(z.read(n) == SCAN for n in scans)
    assert data["patient"]["last_name"] == LAST and data["patient"]["email"] == EMAIL
    assert [c["number"] for c in data["cases"]] == list(report.case_numbers)
    assert follow.number in report.case_numbers and report.files == len(scans) == 2
    assert any(h["action"] == "request_modification" for h in data["cases"][0]["history"])
    log = core.audit_log(lab.admin, AuditFilter(action=AuditAction.EXPORT_PATIENT))
    assert [(e.actor_id, e.case_number) for e in log.items] == [
        (lab.doctor, report.case_numbers[0])
    ]
    with pytest.raises(PermissionDeniedError):
        core.export_patient(lab.planner, case_id, io.BytesIO())


def test_erasure_leaves_nothing_of_the_patient_anywhere(where: tuple[str, Core, Path]) -> None:
    kind, core, tmp = where
    lab = set_up_lab(core, f"ERA-{secrets.token_hex(2)}")
    case_id = _patient_case(core, lab)
    core.order_follow_up(lab.doctor, case_id, aligner_core.RevisionOrder(f"{LAST}: more torque"))
    digests = {f.sha256 for f in core.get_case(lab.doctor, case_id).case.records.files}
    core.dispatcher().run_until_idle()
    assert any(s.encode() in _everything_stored(kind, core, tmp) for s in SECRETS)

    report = core.erase_patient(lab.admin, case_id)

    assert report.files_removed == 2 and report.blobs_deleted == len(digests)
    for digest in digests:
        assert not core.blobs.exists(digest)
    stored = _everything_stored(kind, core, tmp)
    for secret in SECRETS:
        assert secret.encode() not in stored, secret
    case = core.get_case(lab.admin, case_id).case
    assert case.patient.last_name == report.pseudonym and case.records.files == ()
    assert case.history[-1].action == "erase_patient" and case.history[-1].actor_id == lab.admin
    log = core.audit_log(lab.admin, AuditFilter(action=AuditAction.ERASE_PATIENT))
    assert {e.case_number for e in log.items} == set(report.case_numbers)
    assert all(e.actor_id == lab.admin for e in log.items)


def test_a_deleted_draft_keeps_no_patient_data_or_files(where: tuple[str, Core, Path]) -> None:
    kind, core, tmp = where
    lab = set_up_lab(core, f"DEL-{secrets.token_hex(2)}")
    details = PatientDetails(LAST, Gender.FEMALE, FIRST, BORN, "DE", EMAIL)
    draft = core.create_case(
        lab.doctor, CaseKind.TREATMENT, details, impression_type=ImpressionType.INTRAORAL_SCAN
    ).case_id
    core.attach_file(lab.doctor, draft, FileKind.UPPER_SCAN, SCAN, f"{LAST}.stl")
    digest = core.get_case(lab.doctor, draft).case.records.files[0].sha256
    core.delete_draft(lab.doctor, draft)
    core.storage.scrub()
    stored = _everything_stored(kind, core, tmp)
    for secret in SECRETS:
        assert secret.encode() not in stored, secret
    assert not core.blobs.exists(digest)
    with pytest.raises(NotFoundError):
        core.get_case(lab.doctor, draft)


def test_every_read_is_in_the_audit_log(where: tuple[str, Core, Path]) -> None:
    _, core, _ = where
    lab = set_up_lab(core, f"AUD-{secrets.token_hex(2)}")
    case_id = _patient_case(core, lab)
    case = core.get_case(lab.planner, case_id).case
    core.get_case_by_number(lab.doctor, case.number)
    with core.open_file(lab.production, case_id, case.records.files[0].file_id) as f:
        f.read()
    core.list_cases(lab.doctor, aligner_core.CaseFilter(patient_name=LAST))
    token = core.share_plan(lab.doctor, case_id, 2)
    core.resolve_share(token)
    log = core.audit_log(lab.admin).items
    seen = [(e.action, e.actor_id) for e in log]
    assert (AuditAction.VIEW_CASE, lab.planner) in seen
    assert (AuditAction.VIEW_CASE, lab.doctor) in seen
    assert (AuditAction.OPEN_FILE, lab.production) in seen
    assert (AuditAction.LIST_CASES, lab.doctor) in seen
    assert (AuditAction.OPEN_SHARE_LINK, None) in seen
    assert all(LAST not in e.subject for e in log)  # filters are named, never their values
    with pytest.raises(PermissionDeniedError):
        core.audit_log(lab.doctor)
