"""A network's catalogue of products (#15 item 10): each product a case kind, the records it
needs and its turnaround; the seeds' products are the default catalogue."""

from __future__ import annotations

from datetime import date

import pytest

from aligner_core.bootstrap import Core
from aligner_core.commands import SetCatalogue
from aligner_core.domain.cases import CaseKind, CaseStatus
from aligner_core.domain.deadlines import Stage, add_business_days
from aligner_core.domain.orders import LingualRange, RetainerOrder, RetainerType
from aligner_core.domain.products import (
    DEFAULT_PRODUCTS,
    Catalogue,
    Product,
    Requirement,
    Turnaround,
)
from aligner_core.domain.records import FileKind, ImpressionType
from aligner_core.errors import InvalidTransitionError, PermissionDeniedError, ValidationError
from aligner_core.serialization import make_converter
from aligner_core.testing.contracts.files import pdf_bytes, png_bytes
from aligner_core.testing.factories import (
    Lab,
    arch_stl,
    patient_details,
    plan_summary,
    set_up_lab,
)


@pytest.fixture
def lab(core_on_each_storage: Core) -> Lab:
    """A network on the memory storage, then on SQLite."""
    return set_up_lab(core_on_each_storage)


@pytest.fixture
def core(lab: Lab) -> Core:
    return lab.core


ALIGNERS = Product("clear_aligners", "Clear Aligners", CaseKind.TREATMENT, (Requirement.SCANS,))
#: a product that needs photos and a bite scan, planned in 10 business days (express 4)
PREMIUM = Product(
    "premium",
    "Premium Aligners",
    CaseKind.TREATMENT,
    (Requirement.SCANS, Requirement.PHOTOS, Requirement.BITE_SCAN),
    (Turnaround(Stage.PLANNING, 10, 4),),
)
METAL = Product("metal_retainer", "Metal Retainer", CaseKind.RETAINER, (Requirement.SCANS,))


def submit_refused(core: Core, lab: Lab, case_id: object) -> list[tuple[str, object]]:
    with pytest.raises(InvalidTransitionError) as info:
        core.submit(lab.doctor, case_id)  # type: ignore[arg-type]
    return [(r.code, r.params.get("record")) for r in info.value.reasons]


def test_the_default_catalogue_holds_the_seeds_products(core: Core, lab: Lab) -> None:
    offered = lab.network.products
    assert lab.network.catalogue is None and offered.products == DEFAULT_PRODUCTS
    names = {p.name for p in offered.products}
    assert {"Clear Aligners", "Metal Retainer", "Replacement Aligners"} <= names
    assert all(offered.default_for(kind) is not None for kind in CaseKind)
    case = core.create_case(lab.doctor, CaseKind.TREATMENT, patient_details())
    assert case.product == "clear_aligners"  # the first of its kind
    retainer = core.create_case(
        lab.doctor,
        CaseKind.RETAINER,
        patient_details(),
        order=RetainerOrder(RetainerType.FIXED_LINGUAL, upper_range=LingualRange.R3_3),
        product="metal_retainer",
    )
    assert retainer.product == "metal_retainer"
    assert core.get_case(lab.doctor, retainer.case_id).case.product == "metal_retainer"


def test_a_case_names_a_product_of_the_catalogue_and_of_its_kind(core: Core, lab: Lab) -> None:
    with pytest.raises(ValidationError) as unknown:
        core.create_case(lab.doctor, CaseKind.TREATMENT, patient_details(), product="gold")
    assert [(e.code, e.path) for e in unknown.value.errors] == [
        ("product_not_offered", "$.product")
    ]
    with pytest.raises(ValidationError) as other_kind:
        core.create_case(
            lab.doctor, CaseKind.TREATMENT, patient_details(), product="metal_retainer"
        )
    assert [(e.code, dict(e.params)) for e in other_kind.value.errors] == [
        ("product_kind_mismatch", {"product": "metal_retainer", "kind": "retainer"})
    ]
    core.set_catalogue(lab.admin, lab.network.network_id, Catalogue((PREMIUM, METAL)))
    with pytest.raises(ValidationError) as not_offered:
        core.create_case(lab.doctor, CaseKind.DIRECT_MANUFACTURING, patient_details())
    assert [e.code for e in not_offered.value.errors] == ["kind_not_offered"]
    assert core.list_cases(lab.doctor).total == 0  # refusals take no case number


def test_only_the_networks_admin_sets_the_catalogue(core: Core, lab: Lab) -> None:
    network = lab.network.network_id
    with pytest.raises(PermissionDeniedError):
        core.set_catalogue(lab.doctor, network, Catalogue((ALIGNERS,)))
    other = set_up_lab(core, "OTHER-LAB")
    with pytest.raises(PermissionDeniedError):
        core.set_catalogue(other.admin, network, Catalogue((ALIGNERS,)))
    changed = core.set_catalogue(lab.admin, network, Catalogue((PREMIUM, ALIGNERS)))
    assert changed.products.default_for(CaseKind.TREATMENT) == PREMIUM
    case = core.create_case(lab.doctor, CaseKind.TREATMENT, patient_details())
    assert case.product == "premium"
    back = core.execute(lab.admin, SetCatalogue(network_id=network))
    assert back.catalogue is None and back.products == Catalogue()


def test_a_catalogue_is_bounded_and_its_codes_unique() -> None:
    with pytest.raises(ValidationError) as again:
        Catalogue((ALIGNERS, PREMIUM, ALIGNERS))
    assert [(e.code, e.path) for e in again.value.errors] == [
        ("product_code_again", "$.products[2].code")
    ]
    with pytest.raises(ValidationError) as empty:
        Catalogue(())
    assert [e.code for e in empty.value.errors] == ["too_few"]
    with pytest.raises(ValidationError) as bad:
        Product("Gold Aligners", "Gold", CaseKind.TREATMENT)
    assert [(e.code, e.path) for e in bad.value.errors] == [("invalid_product_code", "$.code")]
    twice = (Turnaround(Stage.PLANNING, 5, 2), Turnaround(Stage.PLANNING, 6, 2))
    with pytest.raises(ValidationError) as stage:
        Product("p", "P", CaseKind.TREATMENT, turnaround=twice)
    assert [e.code for e in stage.value.errors] == ["turnaround_stage_again"]


def test_the_set_catalogue_command_reads_from_json() -> None:
    text = (
        '{"network_id": "00000000-0000-4000-8000-000000000001", "catalogue": {"products": ['
        '{"code": "premium", "name": "Premium Aligners", "kind": "clear_aligners",'
        ' "requires": ["photos", "scans", "photos"],'
        ' "turnaround": [{"stage": "planning", "standard": 10, "express": 4}]}]}}'
    )
    command = make_converter().load(text, SetCatalogue)
    assert command.catalogue is not None
    assert command.catalogue.products[0].requires == (Requirement.PHOTOS, Requirement.SCANS)
    assert make_converter().load(make_converter().dumps(command), SetCatalogue) == command


def test_submission_needs_the_products_records(core: Core, lab: Lab) -> None:
    core.set_catalogue(lab.admin, lab.network.network_id, Catalogue((PREMIUM, ALIGNERS)))
    case_id = lab.ready_case()  # scans and confirmations: what clear aligners need
    assert submit_refused(core, lab, case_id) == [
        ("product_record_missing", "bite_scan"),
        ("product_record_missing", "photos"),
    ]
    blockers = core.blockers(lab.doctor, case_id, "submit")
    assert [r.code for r in blockers.state] == ["product_record_missing"] * 2
    core.attach_file(lab.doctor, case_id, FileKind.BITE_SCAN, arch_stl(), "bite.stl")
    assert submit_refused(core, lab, case_id) == [("product_record_missing", "photos")]
    photo = core.attach_file(lab.doctor, case_id, FileKind.RADIOGRAPH, pdf_bytes(), "x.pdf")
    assert photo.records.has(FileKind.RADIOGRAPH)  # a radiograph is no clinical photo
    assert submit_refused(core, lab, case_id) == [("product_record_missing", "photos")]


def test_a_product_may_need_records_its_kind_does_not(core: Core, lab: Lab) -> None:
    strict = Product(
        "strict_retainer",
        "Retainer from scans",
        CaseKind.RETAINER,
        (Requirement.SCANS, Requirement.IMPRESSION_TYPE),
    )
    core.set_catalogue(lab.admin, lab.network.network_id, Catalogue((ALIGNERS, strict)))
    parent = lab.ready_case()
    core.submit(lab.doctor, parent)
    core.upload_plan(lab.planner, parent, plan_summary())
    core.accept_plan(lab.doctor, parent, 1)
    core.ship(lab.production, parent, carrier="DHL", tracking_number="JD1")
    # a removable retainer from a model step of the parent's plan needs no scans for its
    # kind; this network's retainer product asks for them and for the impression type
    order = RetainerOrder(RetainerType.REMOVABLE, model_step=10)
    case = core.order_follow_up(lab.doctor, parent, order)
    assert case.product == "strict_retainer"  # the catalogue's retainer
    core.confirm(lab.doctor, case.case_id, complete=True, privacy=True)
    # the follow-up takes its parent's impression type: only the scans are missing
    assert submit_refused(core, lab, case.case_id) == [("scan_missing", None)] * 2

    core.update_draft(lab.doctor, case.case_id, impression_type=ImpressionType.INTRAORAL_SCAN)
    core.attach_file(lab.doctor, case.case_id, FileKind.UPPER_SCAN, arch_stl(), "u.stl")
    core.attach_file(lab.doctor, case.case_id, FileKind.LOWER_SCAN, arch_stl(), "l.stl")
    assert core.submit(lab.doctor, case.case_id).status is CaseStatus.IN_PRODUCTION
    # the default catalogue's retainer adds nothing to its kind: the same order submits bare
    core.set_catalogue(lab.admin, lab.network.network_id, None)
    bare = core.order_follow_up(lab.doctor, parent, order)
    assert bare.product == "retainer"
    core.confirm(lab.doctor, bare.case_id, complete=True, privacy=True)
    assert core.submit(lab.doctor, bare.case_id).status is CaseStatus.IN_PRODUCTION


def test_deadlines_follow_the_products_turnaround(core: Core, lab: Lab) -> None:
    core.set_catalogue(lab.admin, lab.network.network_id, Catalogue((ALIGNERS, PREMIUM)))
    standard = lab.ready_case()
    premium = core.create_case(
        lab.doctor,
        CaseKind.TREATMENT,
        patient_details(),
        product="premium",
        impression_type=ImpressionType.INTRAORAL_SCAN,
    )
    core.attach_file(lab.doctor, premium.case_id, FileKind.UPPER_SCAN, arch_stl(), "u.stl")
    core.attach_file(lab.doctor, premium.case_id, FileKind.LOWER_SCAN, arch_stl(), "l.stl")
    core.attach_file(lab.doctor, premium.case_id, FileKind.BITE_SCAN, arch_stl(), "b.stl")
    core.attach_file(lab.doctor, premium.case_id, FileKind.PHOTO_FRONTAL_BITE, png_bytes(), "f.png")
    core.confirm(lab.doctor, premium.case_id, complete=True, privacy=True)
    today: date = core.clock.now().date()
    planned = core.submit(lab.doctor, standard).deadline
    assert planned is not None and planned.due == add_business_days(today, 5)  # the lab's table
    own = core.submit(lab.doctor, premium.case_id).deadline
    assert own is not None and (own.stage, own.due) == ("planning", add_business_days(today, 10))
