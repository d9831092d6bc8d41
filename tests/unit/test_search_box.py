"""The search box and filtered dashboard counts, through the public API on memory and SQLite."""

from __future__ import annotations

import pytest

from aligner_core.bootstrap import Core
from aligner_core.domain.accounts import AccountStatus, Role
from aligner_core.domain.cases import CaseKind, CaseStatus
from aligner_core.domain.orders import RetainerOrder, RetainerType
from aligner_core.domain.queries import CaseFilter
from aligner_core.errors import ValidationError
from aligner_core.testing.factories import Lab, patient_details


def _numbers(core: Core, lab: Lab, text: str) -> set[int]:
    return {s.number for s in core.list_cases(lab.planner, CaseFilter(search=text)).items}


def test_one_box_finds_any_name_word_a_number_or_a_product(core: Core, lab: Lab) -> None:
    mueller = core.get_case(lab.planner, lab.ready_case(last_name="Müller-Lüdenscheidt")).case
    core.submit(lab.doctor, mueller.case_id)
    doe = lab.ready_case(last_name="Doe")
    core.submit(lab.doctor, doe)
    order = RetainerOrder(RetainerType.REMOVABLE)
    retainer = core.create_case(
        lab.doctor, CaseKind.RETAINER, patient_details("Smith", "Anna"), order=order
    )
    # a last name alone: the old default (prefix of "first last") found nothing
    assert _numbers(core, lab, "müller-lüdenscheidt") == {mueller.number}
    assert _numbers(core, lab, "MÜLLER") == {mueller.number}
    assert _numbers(core, lab, "jane") >= {mueller.number}
    assert _numbers(core, lab, str(retainer.number)) == {retainer.number}
    assert _numbers(core, lab, "retainer") == {retainer.number}
    assert _numbers(core, lab, "anna retainer") == {retainer.number}
    assert _numbers(core, lab, "anna aligners") == set()
    assert _numbers(core, lab, "metal") == {retainer.number}  # a product's name: Metal Retainer
    assert _numbers(core, lab, "üller") == set()  # words start where the name's words do


def test_dashboard_counts_take_the_lists_filters(core: Core, lab: Lab) -> None:
    submitted = lab.ready_case(last_name="Okafor")
    core.submit(lab.doctor, submitted)
    lab.ready_case(last_name="Okafor")
    lab.ready_case(last_name="Berg")
    everything = core.dashboard(lab.doctor)
    assert (everything[CaseStatus.DRAFT], everything[CaseStatus.IN_PLANNING]) == (2, 1)
    okafor = core.dashboard(lab.doctor, CaseFilter(search="okafor"))
    assert dict(okafor.counts) == {CaseStatus.DRAFT: 1, CaseStatus.IN_PLANNING: 1}
    drafts = core.dashboard(lab.doctor, CaseFilter(statuses=(CaseStatus.DRAFT,)))
    assert dict(drafts.counts) == {CaseStatus.DRAFT: 2}
    page = core.list_cases(lab.doctor, CaseFilter(search="okafor"))
    assert page.total == okafor.total == 2


def test_list_rows_carry_the_doctors_and_the_labs_names(core: Core, lab: Lab) -> None:
    lab.ready_case()
    row = core.list_cases(lab.planner).items[0]
    doctor = next(a for a in core.list_accounts(lab.admin) if a.account_id == lab.doctor)
    assert row.doctor_name == doctor.display_name
    assert row.lab_name == lab.network.name


def test_admins_find_accounts_by_name_username_e_mail_status_and_role(core: Core, lab: Lab) -> None:
    everyone = core.list_accounts(lab.admin)
    planner = next(a for a in everyone if a.account_id == lab.planner)
    first_word = planner.display_name.split()[0].upper()
    assert planner in core.list_accounts(lab.admin, search=first_word)
    assert [a.account_id for a in core.list_accounts(lab.admin, search=planner.username)] == [
        lab.planner
    ]
    domain = planner.email.split("@")[1].split(".")[0]
    assert planner in core.list_accounts(lab.admin, search=domain)
    assert core.list_accounts(lab.admin, search="nobody-by-that-name") == []
    core.block(lab.admin, lab.planner)
    blocked = core.list_accounts(lab.admin, status=AccountStatus.BLOCKED)
    assert [a.account_id for a in blocked] == [lab.planner]
    doctors = core.list_accounts(lab.admin, role=Role.DOCTOR, status=AccountStatus.ACTIVE)
    assert {a.account_id for a in doctors} == {lab.doctor}


def test_a_case_carries_the_practices_name_for_it(core: Core, lab: Lab) -> None:
    case = core.create_case(
        lab.doctor, CaseKind.TREATMENT, patient_details("Okafor"), name="Second opinion"
    )
    assert core.get_case(lab.doctor, case.case_id).case.name == "Second opinion"
    assert core.list_cases(lab.doctor).items[0].name == "Second opinion"
    core.update_draft(lab.doctor, case.case_id, name="Upper arch only")
    assert core.list_cases(lab.doctor).items[0].name == "Upper arch only"
    with pytest.raises(ValidationError) as info:
        core.update_draft(lab.doctor, case.case_id, name="x" * 121)
    assert info.value.paths == ["$.name"]
