"""Hypothesis strategies for every model, one module per domain module; all importable here.

Portal test suites and third-party adapters reuse them. They import hypothesis.
"""

from __future__ import annotations

from aligner_core.testing.strategies._common import aware_datetimes, dates, emails, text
from aligner_core.testing.strategies.accounts import (
    accounts,
    addresses,
    collaborator_grants,
    email_invitations,
    networks,
    practices,
)
from aligner_core.testing.strategies.cases import (
    cases,
    comments,
    deadlines,
    history_entries,
    holds,
    share_links,
    shipments,
)
from aligner_core.testing.strategies.events import domain_events, outbox_entries
from aligner_core.testing.strategies.money import (
    amounts,
    card_tokens,
    currencies,
    invoice_lines,
    invoice_numbers,
    invoices,
    items,
    packages,
    payment_methods,
    price_books,
    saved_payment_methods,
    tax_rates,
)
from aligner_core.testing.strategies.orders import (
    order_details,
    refinement_orders,
    replacement_orders,
    retainer_orders,
    revision_orders,
    step_sets,
)
from aligner_core.testing.strategies.plans import (
    ipr_contacts,
    plan_steps,
    plan_summaries,
    plan_versions,
)
from aligner_core.testing.strategies.prescriptions import (
    patient_details,
    patients,
    pontics,
    treatment_requests,
)
from aligner_core.testing.strategies.products import catalogues, products, turnarounds
from aligner_core.testing.strategies.queries import (
    case_filters,
    case_summaries,
    profile_changes,
    registrations,
)
from aligner_core.testing.strategies.records import file_refs, file_reports, mesh_reports, records
from aligner_core.testing.strategies.teeth import teeth, tooth_charts

__all__ = [
    "accounts",
    "addresses",
    "amounts",
    "aware_datetimes",
    "card_tokens",
    "case_filters",
    "case_summaries",
    "cases",
    "catalogues",
    "collaborator_grants",
    "comments",
    "currencies",
    "dates",
    "deadlines",
    "domain_events",
    "email_invitations",
    "emails",
    "file_refs",
    "file_reports",
    "history_entries",
    "holds",
    "invoice_lines",
    "invoice_numbers",
    "invoices",
    "ipr_contacts",
    "items",
    "mesh_reports",
    "networks",
    "order_details",
    "outbox_entries",
    "packages",
    "patient_details",
    "patients",
    "payment_methods",
    "plan_steps",
    "plan_summaries",
    "plan_versions",
    "pontics",
    "practices",
    "price_books",
    "products",
    "profile_changes",
    "records",
    "refinement_orders",
    "registrations",
    "replacement_orders",
    "retainer_orders",
    "revision_orders",
    "saved_payment_methods",
    "share_links",
    "shipments",
    "step_sets",
    "tax_rates",
    "teeth",
    "text",
    "tooth_charts",
    "treatment_requests",
    "turnarounds",
]
