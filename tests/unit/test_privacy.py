"""Patient data never leaves through logs, share links, reprs or outbox events."""

from __future__ import annotations

import logging

import pytest

import aligner_core
from aligner_core.serialization import make_converter
from aligner_core.testing.factories import patient_details, plan_summary, set_up_lab

NAME = "Zyxquorblat"
FIRST = "Vendelinqa"


def test_no_patient_name_in_logs_links_or_events(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    core = aligner_core.connect("memory://")
    lab = set_up_lab(core)
    case_id = lab.ready_case(last_name=NAME)
    core.update_draft(lab.doctor, case_id, patient=patient_details(NAME, FIRST))
    core.submit(lab.doctor, case_id)
    core.comment(lab.planner, case_id, "scans look fine")
    core.upload_plan(lab.planner, case_id, plan_summary())
    token = core.share_plan(lab.doctor, case_id, 1)
    shared = core.resolve_share(token)

    assert caplog.records, "commands are logged"
    for record in caplog.records:
        text = record.getMessage()
        assert NAME not in text and FIRST not in text
    assert NAME not in token and FIRST not in token
    shown = make_converter().dumps(shared)
    assert NAME not in shown and FIRST not in shown
    with core.storage.unit_of_work() as uow:
        entries = list(uow.outbox.pending())
    assert entries
    converter = make_converter()
    for entry in entries:
        dumped = converter.dumps(entry)
        assert NAME not in dumped and FIRST not in dumped


def test_patient_repr_hides_personal_fields() -> None:
    core = aligner_core.connect("memory://")
    lab = set_up_lab(core)
    case_id = lab.ready_case(last_name=NAME)
    case = core.get_case(lab.doctor, case_id).case
    assert NAME not in repr(case.patient)
    assert NAME not in repr(case)
