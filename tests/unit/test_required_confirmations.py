"""What a network requires: informed consent and terms in a version; shades its lab makes."""

from __future__ import annotations

import pytest

from aligner_core.bootstrap import Core
from aligner_core.domain.cases import CaseStatus
from aligner_core.domain.prescriptions import Pontic, Shade, TreatmentRequest
from aligner_core.domain.teeth import Tooth, ToothState
from aligner_core.errors import InvalidTransitionError, PermissionDeniedError, ValidationError
from aligner_core.testing.factories import Lab, set_up_lab


def test_a_network_asks_for_consent_and_terms_in_a_version(core: Core, lab: Lab) -> None:
    network = lab.network.network_id
    core.require_confirmations(lab.admin, network, consent_version="2026-01", terms_version="v3")
    case_id = lab.ready_case()  # completeness and privacy confirmed, not the network's two
    with pytest.raises(InvalidTransitionError) as missing:
        core.submit(lab.doctor, case_id)
    assert [(r.code, r.params) for r in missing.value.reasons] == [
        ("confirmation_missing", {"confirmation": "consent"}),
        ("confirmation_missing", {"confirmation": "terms"}),
    ]
    core.confirm(lab.doctor, case_id, complete=True, privacy=True, consent="2025-06", terms="v3")
    with pytest.raises(InvalidTransitionError) as outdated:
        core.submit(lab.doctor, case_id)
    assert [(r.code, r.params) for r in outdated.value.reasons] == [
        (
            "confirmation_outdated",
            {"confirmation": "consent", "version": "2025-06", "required": "2026-01"},
        )
    ]
    blockers = core.blockers(lab.doctor, case_id, "submit")
    assert [r.code for r in blockers.state] == ["confirmation_outdated"]
    core.confirm(lab.doctor, case_id, complete=True, privacy=True, consent="2026-01")
    case = core.submit(lab.doctor, case_id)
    assert case.status is CaseStatus.IN_PLANNING
    records = case.records
    assert records.consent is not None and records.terms is not None
    assert (records.consent.version, records.consent.by) == ("2026-01", lab.doctor)
    assert records.terms.version == "v3"
    assert case.history[-2].detail("consent") == "2026-01"  # the confirmation's line


def test_only_the_networks_admin_sets_them_and_its_code_stays(core: Core, lab: Lab) -> None:
    network = lab.network.network_id
    with pytest.raises(PermissionDeniedError):
        core.require_confirmations(lab.doctor, network, consent_version="1")
    other = set_up_lab(core, "OTHER-LAB")
    with pytest.raises(PermissionDeniedError):
        core.require_confirmations(other.admin, network, consent_version="1")
    with pytest.raises(ValidationError) as long:
        core.require_confirmations(lab.admin, network, terms_version="v" * 41)
    assert long.value.paths == ["$.terms_version"]
    changed = core.require_confirmations(lab.admin, network, terms_version="v4")
    assert (changed.reference_code, changed.terms_version) == (lab.network.reference_code, "v4")
    # no longer asked for: a case submits with the two usual confirmations
    core.require_confirmations(lab.admin, network)
    assert core.submit(lab.doctor, lab.ready_case()).status is CaseStatus.IN_PLANNING


def test_a_pontic_asks_for_a_shade_the_networks_lab_makes(core: Core, lab: Lab) -> None:
    network = lab.network.network_id
    assert set(core.offer_shades(lab.admin, network, [Shade.A2, Shade.A1]).shades) == {
        Shade.A1,
        Shade.A2,
    }
    case_id = lab.ready_case()
    core.set_tooth_states(lab.doctor, case_id, {22: ToothState.MISSING})
    pontic = TreatmentRequest(pontics=(Pontic(Tooth(22), Shade.A3),))
    core.update_draft(lab.doctor, case_id, request=pontic)
    with pytest.raises(InvalidTransitionError) as info:
        core.submit(lab.doctor, case_id)
    assert [(r.code, r.params, r.path) for r in info.value.reasons] == [
        (
            "pontic_shade_not_offered",
            {"tooth": 22, "shade": "A3", "offered": "A1, A2"},
            "$.pontics[0]",
        )
    ]
    with pytest.raises(ValidationError):
        core.offer_shades(lab.admin, network, [])  # at least one
    core.offer_shades(lab.admin, network, list(Shade))
    assert core.submit(lab.doctor, case_id).status is CaseStatus.IN_PLANNING
