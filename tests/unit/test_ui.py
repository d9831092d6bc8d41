"""aligner_core.ui: forms read back by load_form, errors under their fields, buttons, steps."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from uuid import UUID

import attrs
import pytest

import aligner_core
from aligner_core import ui
from aligner_core.commands import (
    AcceptPlan,
    Block,
    CreateCase,
    OrderFollowUp,
    Register,
    RequestModification,
    Ship,
    UploadPlan,
)
from aligner_core.domain.actions import Action
from aligner_core.domain.cases import CaseKind, CaseStatus
from aligner_core.domain.orders import LingualRange, RetainerOrder, RetainerType
from aligner_core.domain.plans import IprContact, PlanStep
from aligner_core.domain.prescriptions import Adjustment, Pontic, Shade, TreatmentRequest
from aligner_core.domain.records import FileKind
from aligner_core.domain.teeth import Tooth, ToothChart
from aligner_core.errors import InvalidTransitionError, RejectedFileError, ValidationError
from aligner_core.serialization import make_converter
from aligner_core.testing.factories import (
    arch_stl,
    patient_details,
    plan_summary,
    registration,
    set_up_lab,
)

CASE = UUID("00000000-0000-4000-8000-000000000001")
convert = make_converter()
t = Tooth.from_palmer


def round_trip(command: object, notation: str = "palmer") -> object:
    """The command through the fields a form sends for it and back through load_form."""
    fields = ui.form_values(command, notation=notation)
    return convert.load_form(fields, type(command), notation=notation)


def names(form: ui.Form) -> set[str]:
    return {f.name for top in form.fields for f in top.walk()}


# -- forms -----------------------------------------------------------------------------------
@pytest.mark.parametrize("notation", ["palmer", "fdi", "universal"])
def test_a_new_case_survives_its_form(notation: str) -> None:
    request = TreatmentRequest(
        overjet=Adjustment.IMPROVE,
        instructions="Close the gap.\nKeep 31.",
        pontics=(Pontic(t("UR2"), Shade.A3),),
        step_limit=30,
        teeth_not_to_move=(t("LL1"), t("LR1")),
    )
    command = CreateCase(
        kind=CaseKind.TREATMENT,
        patient=patient_details("Muster", "Erika"),
        request=request,
        teeth=ToothChart.from_mapping({12: "crown", 36: "implant"}),
    )
    assert round_trip(command, notation) == command


def test_plans_follow_ups_and_accounts_survive_their_forms() -> None:
    steps = (
        PlanStep(
            number=1, ipr=(IprContact(t("UR1"), t("UL1"), 0.2),), attachments_placed=(t("UR3"),)
        ),
        PlanStep(number=2, checkpoint=True, note="check"),
    )
    plan = UploadPlan(
        case_id=CASE,
        summary=plan_summary(upper=2, lower=2, ipr=0.2, attachments=1),
        steps=steps,
        simulation_url="https://sim.example/1",
    )
    retainer = RetainerOrder(type=RetainerType.FIXED_LINGUAL, upper_range=LingualRange.R3_3)
    follow_up = OrderFollowUp(parent_case_id=CASE, order=retainer)
    for command in (
        plan,
        follow_up,
        Ship(case_id=CASE, carrier="DHL", tracking_number="1", final=False),
        Register(registration=registration("dana")),
        AcceptPlan(case_id=CASE, plan_version=2),
    ):
        assert round_trip(command) == command


def test_a_fresh_form_holds_the_defaults_and_loads_as_they_are() -> None:
    form = ui.form_for(TreatmentRequest)
    assert form["arches"].value == "both" and form["arches"].widget == "radio"
    assert form["wear_schedule"].value == "14"
    fields = {f.name: f.value for f in form.fields if f.widget not in ("list",) and f.value}
    assert convert.load_form(fields, TreatmentRequest) == TreatmentRequest()


def test_fields_describe_what_the_declaration_says() -> None:
    form = ui.form_for(CreateCase, variants={"order": "retainer"})
    assert {"patient.last_name", "teeth", "teeth.UR7", "request.pontics[0].tooth"} <= names(form)
    assert "case_id" not in names(form)
    last = form["patient.last_name"]
    assert (last.widget, last.required, last.max_length, last.label) == (
        "text",
        True,
        100,
        "Last name",
    )
    assert form["patient.first_name"].required is False
    assert form["patient.date_of_birth"].widget == "date"
    assert form["patient.email"].widget == "email"
    assert form["request.instructions"].widget == "textarea"
    assert form["request.teeth_not_to_move"].widget == "teeth"
    step = form["request.step_limit"]
    assert (step.widget, step.minimum, step.maximum) == ("number", "1", "200")
    assert (
        form["order.order_type"].widget == "hidden" and form["order.order_type"].value == "retainer"
    )
    chart = form["teeth"]
    assert chart.widget == "chart" and "<svg" in chart.svg and len(chart.fields) == 32
    assert [c.value for c in form["kind"].choices][:2] == ["clear_aligners", "direct_manufacturing"]


def test_choices_limit_an_enum_and_fill_an_identifier() -> None:
    form = ui.form_for(CreateCase, choices={"kind": [("clear_aligners", ""), ("retainer", "")]})
    assert form["kind"].widget == "radio"
    assert [c.value for c in form["kind"].choices] == ["clear_aligners", "retainer"]


def test_texts_translate_labels_and_form_ids_keep_ids_apart() -> None:
    form = ui.form_for(RequestModification, texts={"Reason": "Begründung"}, form_id="Mod:1")
    assert form["reason"].label == "Begründung"
    assert form["reason"].id == "f-Mod-1-reason"


def test_posted_values_are_shown_again_as_typed() -> None:
    posted = {"patient.last_name": "  Mus", "teeth.UR2": "crown", "request.pontics[1].tooth": "UL2"}
    form = ui.form_for(CreateCase, values=posted)
    assert form["patient.last_name"].value == "  Mus"
    assert form["teeth.UR2"].value == "crown"
    assert len(form["request.pontics"].rows) == 2
    assert form["request.arches"].value == ""  # what was sent, not the default


# -- errors ----------------------------------------------------------------------------------
def test_every_field_error_lands_under_its_field() -> None:
    posted = {
        "kind": "clear_aligners",
        "patient.last_name": "",
        "patient.date_of_birth": "2999-01-01",
        "teeth.UR2": "bogus",
        "request.pontics[0].shade": "A9",
    }
    with pytest.raises(ValidationError) as caught:
        convert.load_form(posted, CreateCase, notation="palmer")
    form = ui.form_for(CreateCase, values=posted, error=caught.value)
    assert form["patient.last_name"].errors == ("must not be blank",)
    assert form["patient.gender"].errors == ("required field missing",)
    assert form["patient.date_of_birth"].errors == ("must not be in the future",)
    assert form["request.pontics[0].shade"].errors
    assert form["teeth"].errors  # a chart mark's error goes to the chart
    assert form["request.pontics"].has_errors and form.has_errors and not form.errors


def test_refusals_name_their_inputs_or_the_form() -> None:
    refused = InvalidTransitionError(
        7,
        "waiting_for_approval",
        "request_modification",
        [
            aligner_core.Reason("reason_required", kind="input", path="$.reason"),
            aligner_core.Reason("wrong_state", {"state": "draft"}),
        ],
    )
    form = ui.form_for(RequestModification).with_error(refused)
    assert form["reason"].errors == ("a reason is required",)
    assert form.errors == ("not possible in state draft",)
    rejected = RejectedFileError("x.stl", ["content is application/pdf"])
    attach = ui.form_for(aligner_core.AttachFile).with_error(rejected, "content")
    assert attach["content"].errors == ("content is application/pdf",)
    assert ui.form_for(Ship).with_error(RuntimeError("boom")).errors == ("boom",)


def test_trailing_blank_rows_are_dropped_inner_ones_kept() -> None:
    fields = {
        "steps[0].number": "1",
        "steps[1].number": "",
        "steps[2].number": "3",
        "steps[3].number": "",
        "steps[3].checkpoint": "off",
        "steps[3].ipr[0].first": "",
        "steps[0].ipr[0].first": "UR1",
        "steps[0].ipr[1].first": "",
        "summary.upper_steps": "",
    }
    kept = ui.drop_blank_rows(fields)
    assert set(kept) == {
        "steps[0].number",
        "steps[1].number",
        "steps[2].number",
        "steps[0].ipr[0].first",
        "summary.upper_steps",
    }


# -- buttons, review, progress, list query -----------------------------------------------------
@pytest.fixture
def lab() -> aligner_core.Core:
    return set_up_lab(aligner_core.connect("memory://"))  # type: ignore[return-value]


def test_buttons_come_from_the_available_actions(lab: object) -> None:
    core = lab.core  # type: ignore[attr-defined]
    doctor = lab.doctor  # type: ignore[attr-defined]
    case_id = lab.ready_case()  # type: ignore[attr-defined]
    case = core.get_case(doctor, case_id).case
    options = core.available_actions(doctor, case_id)
    made = ui.buttons(options, case=case, people=core.directory(doctor, case_id))
    by_name = {b.command: b for b in made}
    submit = by_name["Submit"]
    assert submit.confirm and submit.primary and not submit.has_inputs
    assert any("bite scan" in w for w in submit.warnings)
    assert by_name["DeleteDraft"].destructive and by_name["DeleteDraft"].confirm
    assert "RevokeCollaborator" not in by_name  # nobody to remove
    assert by_name["Confirm"].form["complete"].checked
    assert by_name["UpdateDraft"].form["patient.last_name"].value == "Doe"
    assert not any(b.command.startswith("OrderFollowUp") for b in made)


def test_follow_ups_per_kind_and_a_failed_form_shown_again(lab: object) -> None:
    core, doctor = lab.core, lab.doctor  # type: ignore[attr-defined]
    case_id = lab.ready_case()  # type: ignore[attr-defined]
    core.submit(doctor, case_id)
    core.upload_plan(lab.planner, case_id, plan_summary(2, 2))  # type: ignore[attr-defined]
    core.accept_plan(doctor, case_id, 1)
    core.ship(lab.production, case_id, carrier="DHL", tracking_number="1")  # type: ignore[attr-defined]
    case = core.get_case(doctor, case_id).case
    failure = InvalidTransitionError(
        case.number, "shipped", "order_follow_up", [aligner_core.Reason("parent_missing")]
    )
    posted = {"order.order_type": "refinement", "order.instructions": "phase 2"}
    made = ui.buttons(
        core.available_actions(doctor, case_id),
        case=case,
        failed=("OrderFollowUp:refinement", posted, failure),
    )
    follow_ups = [b for b in made if b.action is Action.ORDER_FOLLOW_UP]
    assert [b.label for b in follow_ups] == [
        "Add refinement",
        "Add retainer",
        "Order replacement",
        "Request revision",
    ]
    refinement = follow_ups[0]
    assert refinement.form["order.instructions"].value == "phase 2"
    assert refinement.form.errors == ("parent case not found",)
    assert "request" not in {f.name for f in refinement.form.fields}


def test_review_and_progress(lab: object) -> None:
    core, doctor = lab.core, lab.doctor  # type: ignore[attr-defined]
    case = core.create_case(doctor, CaseKind.TREATMENT, patient_details())
    core.attach_file(doctor, case.case_id, FileKind.BITE_SCAN, arch_stl(), "bite.stl")
    case = core.get_case(doctor, case.case_id).case
    warnings = ui.review(
        case, texts={"Clinical photos are helpful for optimal planning.": "Fotos!"}
    )
    assert "Fotos!" in warnings and not any("bite scan" in w for w in warnings)
    states = [(s.status, s.state) for s in ui.progress(case)]
    assert states[0] == (CaseStatus.DRAFT, "current") and states[-1][1] == "todo"
    case_id = lab.ready_case()  # type: ignore[attr-defined]
    core.submit(doctor, case_id)
    core.hold(lab.planner, case_id, "records unusable")  # type: ignore[attr-defined]
    held = core.get_case(doctor, case_id).case
    assert [s.state for s in ui.progress(held)][:3] == ["done", "current", "todo"]
    made = core.create_case(doctor, CaseKind.DIRECT_MANUFACTURING, patient_details())
    assert [s.status for s in ui.progress(made)] == [
        CaseStatus.DRAFT,
        CaseStatus.IN_PRODUCTION,
        CaseStatus.SHIPPED,
    ]


def test_the_case_list_query_from_request_parameters() -> None:
    query = ui.case_filter(
        {
            "q": "  Mus ",
            "kind": "retainer",
            "status": "nonsense",
            "created_from": "2024-05-01",
            "created_to": "2024-05-31",
            "updated_from": "31.05.2024",
            "sort": "number",
            "order": "asc",
            "page": "3",
        },
        page_size=10,
    )
    assert query.search == "Mus" and query.patient_name is None
    assert query.kinds == (CaseKind.RETAINER,) and query.statuses == ()
    assert query.created_from == datetime(2024, 5, 1, tzinfo=UTC)
    assert query.created_to is not None and query.created_to.date() == date(2024, 5, 31)
    assert query.updated_from is None
    assert (query.sort.value, query.descending, query.offset, query.limit) == (
        "number",
        False,
        20,
        10,
    )
    by_number = ui.case_filter({"q": "123", "page": ["x"]})
    assert by_number.search == "123" and by_number.offset == 0  # matched as a number too


def test_ui_imports_no_web_framework() -> None:
    code = (
        "import sys, aligner_core.ui; "
        "web = {'fastapi', 'starlette', 'flask', 'django', 'jinja2', 'werkzeug'}; "
        "bad = web & set(sys.modules); "
        "print(sorted(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# -- reading what a form sent ------------------------------------------------------------------
class _Upload:
    def __init__(self, filename: str, data: bytes) -> None:
        import io

        self.filename = filename
        self.file = io.BytesIO(data)


def test_form_data_keeps_lists_and_uploads_as_they_came() -> None:
    scan = _Upload("upper.stl", b"solid")
    fields = ui.form_data(
        [
            ("kind", "clear_aligners"),
            ("features", "engagers"),
            ("features", "bite_ramps"),
            ("upper_scan", scan),
            ("lower_scan", _Upload("", b"")),
        ]
    )
    assert fields["kind"] == "clear_aligners"
    assert fields["features"] == ["engagers", "bite_ramps"]
    assert fields["upper_scan"] == [("upper.stl", scan.file)]
    assert fields["lower_scan"] == []


def test_read_command_adds_what_the_shell_knows_and_streams_an_upload() -> None:
    scan = _Upload("up.stl", arch_stl())
    fields = {"kind": "upper_scan", "content": [("up.stl", scan.file)], "expected_version": "3"}
    command = ui.read_command(aligner_core.AttachFile, fields, case_id=CASE, parent_case_id=CASE)
    assert (command.case_id, command.name, command.expected_version) == (CASE, "up.stl", 3)
    assert command.content is scan.file
    follow_up = ui.read_command(
        OrderFollowUp,
        {"order.order_type": "refinement", "expected_version": "3", "steps[0].x": ""},
        case_id=CASE,
        parent_case_id=CASE,
    )
    assert follow_up.parent_case_id == CASE  # expected_version and case_id are not its fields
    with pytest.raises(ValidationError) as caught:
        ui.read_command(
            aligner_core.AttachFile, {"kind": "upper_scan", "content": []}, case_id=CASE
        )
    assert set(caught.value.paths) == {"$.content", "$.name"}


def test_api_paths_post_each_command_with_its_schema() -> None:
    from aligner_core.commands import COMMANDS

    paths = ui.api_paths(COMMANDS)
    ship = paths["/api/cases/{case_id}/commands/Ship"]["post"]
    assert ship["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Ship"
    }
    assert ship["parameters"][0]["name"] == "case_id"
    attach = paths["/api/cases/{case_id}/commands/AttachFile"]["post"]
    assert "multipart/form-data" in attach["requestBody"]["content"]
    assert "parameters" not in paths["/api/commands/CreateCase"]["post"]
    assert len(paths) == len(COMMANDS)


def test_labels_and_errors_in_the_users_language() -> None:
    with pytest.raises(ValidationError) as caught:
        convert.load_form({"kind": "clear_aligners"}, CreateCase)
    form = ui.form_for(
        CreateCase, values={}, error=caught.value, language="de", texts={"Last name": "Nachname"}
    )
    assert form["patient.last_name"].label == "Nachname"
    assert form["patient"].errors == ("Pflichtfeld fehlt",)
    assert [c.label for c in form["patient.gender"].choices][:2] == ["Männlich", "Weiblich"]
    assert ui.label(CaseStatus.SHIPPED, "de") == "Versandt"
    assert ui.label(CaseStatus.SHIPPED) == "Shipped"


def test_a_new_orders_choices_are_the_doctors_practices_and_the_networks_products() -> None:
    from aligner_core.domain.products import DEFAULT_PRODUCTS, Catalogue
    from aligner_core.testing.factories import address

    core = aligner_core.connect("memory://")
    lab = set_up_lab(core)
    bare = ui.order_choices(core.get_account(lab.doctor, lab.doctor), core.catalogue(lab.doctor))
    assert bare["practice_id"] == []
    assert bare["product"] == [(p.code, p.name) for p in DEFAULT_PRODUCTS]
    doctor = core.add_practice(lab.doctor, lab.doctor, "Praxis Süd", address())
    one = Catalogue(products=DEFAULT_PRODUCTS[:1])
    chosen = ui.order_choices(doctor, one)
    assert chosen == {
        "practice_id": [(str(doctor.practices[0].practice_id), "Praxis Süd")],
        "product": [(DEFAULT_PRODUCTS[0].code, DEFAULT_PRODUCTS[0].name)],
        "payment_method_id": [],  # none kept yet
        "payment.owner_id": [
            (str(lab.doctor), doctor.display_name),
            (str(doctor.practices[0].practice_id), "Praxis Süd"),
        ],
    }
    form = ui.form_for(CreateCase, choices=chosen)
    assert [c.label for c in form["practice_id"].choices] == ["Praxis Süd"]


def test_commands_on_an_account_or_an_invoice_leave_case_commands_out() -> None:
    on_accounts = ui.commands_on("account_id")
    assert {"Activate", "Block", "AddPractice", "RemovePractice", "UpdateProfile"} <= set(
        on_accounts
    )
    assert "Comment" not in on_accounts and "CreateCase" not in on_accounts
    assert all("account_id" in attrs.fields_dict(c) for c in on_accounts.values())
    assert set(ui.commands_on("invoice_id")) == {"IssueCreditNote"}
    assert "AcceptPlan" not in ui.commands_on("case_id")  # a case command: the case's route
    assert ui.commands_on("no_such_field") == {}
    assert ui.commands_on("account_id", {"Block": Block, "Ship": Ship}) == {"Block": Block}


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/profile?saved=1&account=x", "/profile?saved=1&account=x"),
        ("/admin/users", "/admin/users"),
        ("//evil.example/", "/"),
        ("/\\evil.example/", "/"),
        ("/\t/evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/a b", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_a_way_back_stays_on_the_site(target: str | None, expected: str) -> None:
    assert ui.local_path(target) == expected
    assert ui.local_path(target, "/invoices") == (expected if expected != "/" else "/invoices")


def test_uploads_named_by_file_kind_are_attached_and_refusals_kept_by_input() -> None:
    import io
    from functools import partial

    core = aligner_core.connect("memory://")
    lab = set_up_lab(core)
    case = core.create_case(lab.doctor, CaseKind.TREATMENT, patient_details())
    fields = {
        "upper_scan": [("upper.stl", io.BytesIO(arch_stl()))],
        "lower_scan": [("lower.stl", io.BytesIO(b"%PDF-1.4 not a mesh"))],
        "photo_frontal": [],  # an input left empty
        "notes": "not an upload",
    }
    refused = ui.attach_uploads(partial(core.execute, lab.doctor), fields, case.case_id)
    assert set(refused) == {"lower_scan"} and isinstance(refused["lower_scan"], RejectedFileError)
    files = core.get_case(lab.doctor, case.case_id).case.records.files
    assert [(f.kind, f.name) for f in files] == [(FileKind.UPPER_SCAN, "upper.stl")]
