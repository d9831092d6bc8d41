"""What approval and paid follow-ups charge: a numbered invoice in the same unit of work."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from test_quotes_workflow import planned_case, priced_lab, prices

import aligner_core
from aligner_core.bootstrap import Core
from aligner_core.commands import SetPriceBook
from aligner_core.domain.money import Currency
from aligner_core.domain.orders import RefinementOrder
from aligner_core.domain.payments import PaymentMethod
from aligner_core.domain.records import FileKind
from aligner_core.errors import ConcurrencyConflictError, ValidationError
from aligner_core.testing.factories import Lab, arch_stl, set_up_lab

DSN = os.environ.get("ALIGNER_CORE_TEST_POSTGRES_DSN")


def taxed(core: Core, lab: Lab, percent: str) -> None:
    command = SetPriceBook(
        network_id=lab.network.network_id,
        currency=Currency.of("EUR"),
        entries=prices(),
        tax_percent=percent,
    )
    core.execute(lab.admin, command)


def test_approval_issues_the_invoice_of_the_approved_quote(core_on_each_storage: Core) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    taxed(core, lab, "19")
    case_id = planned_case(core, lab)
    assert not core.invoices(lab.admin)
    case = core.accept_plan(lab.doctor, case_id, 1, package="comprehensive")
    [issued] = core.invoices(lab.admin)
    invoice = issued.invoice
    assert str(invoice.number).endswith("-000001") and issued.case_id == case_id
    assert case.approved_quote is not None
    assert invoice.subtotal == case.approved_quote.total
    assert invoice.tax_rate.percent == Decimal("19") and str(invoice.total) == "EUR 2249.10"
    assert {line.case_number for line in invoice.lines} == {case.number}
    assert case.history[-1].detail("invoice") == str(invoice.number)
    assert [i.invoice.number for i in core.invoices(lab.doctor)] == [invoice.number]


def test_only_follow_ups_beyond_the_package_are_invoiced(core_on_each_storage: Core) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    case_id = planned_case(core, lab)
    core.accept_plan(lab.doctor, case_id, 1, package="lite")  # one refinement included
    core.ship(lab.production, case_id, carrier="DHL", tracking_number="1")

    def submitted_refinement() -> None:
        paid = PaymentMethod.on_account(lab.doctor)  # an order with a charge says how it is paid
        draft = core.order_follow_up(lab.doctor, case_id, RefinementOrder(), payment=paid)
        for kind in (FileKind.UPPER_SCAN, FileKind.LOWER_SCAN):
            core.attach_file(lab.doctor, draft.case_id, kind, arch_stl(), "scan.stl")
        core.confirm(lab.doctor, draft.case_id, complete=True, privacy=True)
        core.submit(lab.doctor, draft.case_id)

    submitted_refinement()  # within the package: no invoice
    assert len(core.invoices(lab.admin)) == 1
    submitted_refinement()  # beyond it: the book's amount, invoiced at submission
    last = core.invoices(lab.admin)[-1].invoice
    assert str(last.number).endswith("-000002") and str(last.subtotal) == "EUR 350.00"


def test_a_network_without_prices_invoices_nothing(core_on_each_storage: Core) -> None:
    core = core_on_each_storage
    lab = set_up_lab(core)
    case_id = planned_case(core, lab)
    core.accept_plan(lab.doctor, case_id, 1)
    assert not core.invoices(lab.admin)


def test_a_tax_rate_out_of_bounds_is_refused(core_on_each_storage: Core) -> None:
    core = core_on_each_storage
    lab = priced_lab(core)
    with pytest.raises(ValidationError) as info:
        taxed(core, lab, "120")
    assert [e.code for e in info.value.errors] == ["tax_rate"]


@pytest.fixture(params=["sqlite", "postgres"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A database URL (and options) several cores open at once."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}", {}
        return
    if not DSN:
        pytest.skip("ALIGNER_CORE_TEST_POSTGRES_DSN is not set: PostgreSQL tests skipped")
    import psycopg

    schema = f"charges_{os.getpid()}_{tmp_path.name[-8:]}".replace("-", "_").lower()
    yield DSN, {"schema": schema, "blob_root": str(tmp_path / "blobs")}  # never ./aligner-blobs
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_concurrent_approvals_number_their_invoices_without_gaps(
    shared: tuple[str, dict[str, str]],
) -> None:
    """Approvals in several threads, each through its own core: a lost race for a number is
    a conflict the user retries; the stored numbers are exactly 1..n."""
    url, options = shared
    first = aligner_core.connect(url, **options)
    lab = priced_lab(first)
    cases = [planned_case(first, lab) for _ in range(8)]
    cores = [aligner_core.connect(url, **options) for _ in range(4)]
    retries: list[int] = []
    kinds: list[str] = []  # what the user saw: never a lost invoice number (the core retries)

    def approve(core: Core, mine: list[UUID]) -> None:
        for case_id in mine:
            for attempt in range(50):
                try:
                    core.accept_plan(lab.doctor, case_id, 1)
                    break
                except ConcurrencyConflictError as conflict:
                    retries.append(attempt)
                    kinds.append(conflict.kind)
            else:
                raise AssertionError("an approval never got its number")

    threads = [
        threading.Thread(target=approve, args=(core, cases[i::4])) for i, core in enumerate(cores)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    numbers = sorted(
        int(str(i.invoice.number).rsplit("-", 1)[1]) for i in first.invoices(lab.admin)
    )
    assert numbers == list(range(1, len(cases) + 1))
    assert "invoice number" not in kinds
    for core in (first, *cores):
        core.shutdown()
