"""Practice metrics through the public API (#16): cases run over months on a manual clock,
counted per month and year to date, with net revenue; who may read whose figures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from test_quotes_workflow import priced_lab

import aligner_core
from aligner_core.bootstrap import Core
from aligner_core.clock import ManualClock
from aligner_core.commands import IssueCreditNote
from aligner_core.domain.accounts import Role
from aligner_core.domain.metrics import PracticeMetrics
from aligner_core.domain.money import Money
from aligner_core.errors import NotFoundError, PermissionDeniedError, ValidationError
from aligner_core.testing.factories import Lab, plan_summary, set_up_lab

START = datetime(2025, 12, 10, 9, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def timed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Core, ManualClock]]:
    """A core on each storage with a manual clock from 10 December 2025."""
    clock = ManualClock(START)
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'cases.db'}"
    made = aligner_core.connect(url, clock=clock)
    yield made, clock
    made.storage.close()


def _to(clock: ManualClock, day: date) -> None:
    """Move the clock to 10:00 UTC of ``day`` (forwards only)."""
    clock.advance(datetime(day.year, day.month, day.day, 10, tzinfo=UTC) - clock.now())


def _planned(core: Core, lab: Lab, doctor: UUID) -> UUID:
    case_id = lab.ready_case(doctor)
    core.submit(doctor, case_id)
    core.upload_plan(lab.planner, case_id, plan_summary(12, 10))
    return case_id


def _counts(figures: PracticeMetrics) -> list[tuple[int, int, int]]:
    return [(m.started, m.approved, m.shipped) for m in figures.months]


def _revenue(figures: PracticeMetrics) -> list[str]:
    return [str(m.revenue.amount) for m in figures.months]


@pytest.fixture
def story(timed: tuple[Core, ManualClock]) -> tuple[Core, Lab, UUID]:
    """Ann's case submitted in December 2025 and approved (Comprehensive) in January; her
    second submitted in January, approved (Lite) in February, shipped in March; Ben's
    submitted in March; in April the January invoice is credited. Today: 20 April 2026."""
    core, clock = timed
    lab = priced_lab(core)
    ben = lab.add(Role.DOCTOR, "ben")
    old = _planned(core, lab, lab.doctor)
    _to(clock, date(2026, 1, 12))
    core.accept_plan(lab.doctor, old, 1, package="comprehensive")
    second = _planned(core, lab, lab.doctor)
    _to(clock, date(2026, 2, 3))
    core.accept_plan(lab.doctor, second, 1, package="lite")
    _to(clock, date(2026, 3, 2))
    core.ship(lab.production, second, carrier="DHL", tracking_number="1")
    core.submit(ben, lab.ready_case(ben, "Roe"))
    _to(clock, date(2026, 4, 1))
    january = core.invoices(lab.admin)[0]
    core.execute(lab.admin, IssueCreditNote(invoice_id=january.invoice_id))
    lab.ready_case()  # a draft: started by nobody
    _to(clock, date(2026, 4, 20))
    return core, lab, ben


def test_a_network_s_cases_and_revenue_per_month_and_year_to_date(
    story: tuple[Core, Lab, UUID],
) -> None:
    core, lab, _ = story
    figures = core.practice_metrics(lab.admin)
    assert (figures.year, figures.until) == (2026, date(2026, 4, 20))
    assert _counts(figures) == [(1, 1, 0), (0, 1, 0), (1, 0, 1), (0, 0, 0)]
    assert _revenue(figures) == ["1890.00", "990.00", "0.00", "-1890.00"]
    ytd = figures.year_to_date
    assert (ytd.started, ytd.approved, ytd.shipped) == (2, 2, 1)
    assert ytd.revenue == Money("990.00", "EUR")  # net of tax and of the credit note
    assert core.practice_metrics(lab.admin, until=date(2026, 2, 28)).year_to_date.revenue == (
        Money("2880.00", "EUR")
    )


def test_a_past_year_runs_to_its_last_day(story: tuple[Core, Lab, UUID]) -> None:
    core, lab, _ = story
    last_year = core.practice_metrics(lab.admin, year=2025)
    assert last_year.until == date(2025, 12, 31) and len(last_year.months) == 12
    assert _counts(last_year)[11] == (1, 0, 0) and last_year.year_to_date.started == 1
    assert last_year.year_to_date.revenue == Money("0.00", "EUR")
    for wrong in ({"year": 2027}, {"year": 2026, "until": date(2025, 12, 31)}):
        with pytest.raises(ValidationError):
            core.practice_metrics(lab.admin, **wrong)


def test_each_doctor_s_figures_and_who_may_read_them(story: tuple[Core, Lab, UUID]) -> None:
    core, lab, ben = story
    ann = core.practice_metrics(lab.doctor)
    assert ann == core.practice_metrics(lab.admin, doctor_id=lab.doctor)
    assert ann == core.practice_metrics(lab.doctor, doctor_id=lab.doctor)
    assert _counts(ann) == [(1, 1, 0), (0, 1, 0), (0, 0, 1), (0, 0, 0)]
    theirs = core.practice_metrics(ben)
    assert _counts(theirs) == [(0, 0, 0), (0, 0, 0), (1, 0, 0), (0, 0, 0)]
    assert theirs.year_to_date.revenue.is_zero
    for reader, whose in ((ben, lab.doctor), (lab.planner, None), (lab.production, ben)):
        with pytest.raises(PermissionDeniedError) as refused:
            core.practice_metrics(reader, doctor_id=whose)
        assert refused.value.reason.code == "not_network_admin"
    other = set_up_lab(core, "LAB-2")
    with pytest.raises(NotFoundError):  # an admin reads only their own network's doctors
        core.practice_metrics(other.admin, doctor_id=lab.doctor)
    assert core.practice_metrics(other.admin).year_to_date.started == 0
    with pytest.raises(PermissionDeniedError):
        core.practice_metrics(uuid4())


def test_a_network_without_prices_counts_in_euros(timed: tuple[Core, ManualClock]) -> None:
    core, clock = timed
    lab = set_up_lab(core)
    case_id = _planned(core, lab, lab.doctor)
    clock.advance(timedelta(days=40))
    core.accept_plan(lab.doctor, case_id, 1)
    figures = core.practice_metrics(lab.admin)
    assert figures.year == 2026 and figures.year_to_date.approved == 1
    assert figures.year_to_date.revenue == Money("0", "EUR")
