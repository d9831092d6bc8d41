"""Attached files come back byte for byte, to those who may see the case only."""

from __future__ import annotations

import pytest

import aligner_core
from aligner_core.domain.records import FileKind
from aligner_core.errors import NotFoundError
from aligner_core.testing.factories import arch_stl, set_up_lab


def test_an_attached_scan_reads_back_and_strangers_get_not_found() -> None:
    core = aligner_core.connect("memory://")
    lab = set_up_lab(core)
    other = set_up_lab(core, "OTHER")
    case_id = lab.ready_case()
    scan = arch_stl()
    ref = core.get_case(lab.doctor, case_id).case.records.latest(FileKind.UPPER_SCAN)
    assert ref is not None
    with core.open_file(lab.planner, case_id, ref.file_id) as stream:
        assert stream.read() == scan
    with pytest.raises(NotFoundError):
        core.open_file(other.doctor, case_id, ref.file_id)
    with pytest.raises(NotFoundError):
        core.open_file(lab.doctor, case_id, case_id)  # not a file of this case
