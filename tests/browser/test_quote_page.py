"""The case page shows the latest plan's quote (package, lines, total) before approval, and
the approved quote after it (#16), in a network of its own so the others keep no prices."""

from __future__ import annotations

import urllib.request
from typing import Any
from uuid import UUID

import pytest

from aligner_core.commands import SetPackages, SetPriceBook
from aligner_core.domain.money import Currency, Money
from aligner_core.domain.packages import Package
from aligner_core.domain.prices import Item, PriceEntry
from aligner_core.testing.factories import plan_summary, set_up_lab

pytestmark = pytest.mark.browser


def page(portal: Any, user: UUID, path: str) -> str:
    request = urllib.request.Request(portal.url + path, headers={"Cookie": f"user={user}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return str(answer.read().decode())


def test_the_case_page_shows_the_quote_before_and_after_approval(portal: Any) -> None:
    core = portal.core
    lab = set_up_lab(core, "QUOTE-LAB")
    network_id = lab.network.network_id
    entries = (
        PriceEntry(Item.package("lite"), Money("990.00", "EUR")),
        PriceEntry(Item.package("full"), Money("1890.00", "EUR")),
    )
    book = SetPriceBook(network_id=network_id, currency=Currency.of("EUR"), entries=entries)
    core.execute(lab.admin, book)
    packages = (Package("lite", "Lite", 14), Package("full", "Full", None))
    core.execute(lab.admin, SetPackages(network_id=network_id, packages=packages))
    case_id = lab.ready_case()
    core.submit(lab.doctor, case_id)
    number = core.upload_plan(lab.planner, case_id, plan_summary(12, 10)).number
    before = page(portal, lab.doctor, f"/cases/{number}")
    assert 'id="quote"' in before and "Package: Lite" in before and "€990.00" in before
    core.accept_plan(lab.doctor, case_id, 1, package="full")
    after = page(portal, lab.doctor, f"/cases/{number}")
    assert "Package: Full" in after and "€1,890.00" in after
