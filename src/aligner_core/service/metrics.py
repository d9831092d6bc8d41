"""Practice metrics (#16): cases started, approved and shipped, and net revenue, per month
of a year and year to date; a network's admin reads the network's figures (or one
doctor's), a doctor their own.

No whole case is loaded: the storage hands over the moments of the cases updated in
the year (``CaseRepository.moments``; a case submitted, approved or shipped in the year
was updated in it) and the year's invoices; :mod:`aligner_core.domain.metrics` counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from uuid import UUID

from aligner_core.domain.accounts import Account, Network, Role
from aligner_core.domain.ledger import IssuedInvoice
from aligner_core.domain.metrics import PracticeMetrics, practice_metrics
from aligner_core.domain.money import Currency
from aligner_core.errors import PermissionDeniedError, Reason, ValidationError
from aligner_core.ports import UnitOfWork
from aligner_core.service import pipeline
from aligner_core.service.deps import Deps
from aligner_core.service.handlers.accounts import account_for

__all__ = ["metrics_of", "period_end"]

_ACTION = "read practice metrics"
#: The currency of a network that prices nothing and has no invoice in the period.
_DEFAULT_CURRENCY = "EUR"


def _reader(uow: UnitOfWork, actor_id: UUID, doctor_id: UUID | None) -> tuple[Account, UUID | None]:
    """Who reads, and whose figures: an admin the network's or one doctor's of it (another
    network's doctor is not found), a doctor their own; nobody else."""
    actor = pipeline.actor_of(uow, actor_id, _ACTION)
    if actor.role is Role.ADMIN:
        if doctor_id is not None:
            account_for(uow, actor, doctor_id, _ACTION)
        return actor, doctor_id
    if actor.role is Role.DOCTOR and doctor_id in (None, actor.account_id):
        return actor, actor.account_id
    raise PermissionDeniedError(
        actor_id, _ACTION, doctor_id, Reason("not_network_admin", kind="permission")
    )


def period_end(today: date, year: int | None, until: date | None) -> date:
    """The last day counted: ``until``, else today in this year, else 31 December of a past
    ``year``. ``until`` must fall in ``year``; a future year has no figures yet."""
    if year is not None and (type(year) is not int):
        raise ValidationError.of("wrong_type", "$.year", expected="integer")
    if until is not None:
        if isinstance(until, datetime) or not isinstance(until, date):
            raise ValidationError.of("wrong_type", "$.until", expected="date")
        if year is not None and until.year != year:
            raise ValidationError.of(
                "out_of_range", "$.until", min=f"{year:04}-01-01", max=f"{year:04}-12-31"
            )
        return until
    if year is None or year == today.year:
        return today
    if not 1 <= year < today.year:
        raise ValidationError.of("out_of_range", "$.year", min=1, max=today.year)
    return date(year, 12, 31)


def _currency(network: Network, found: Sequence[IssuedInvoice]) -> Currency | str:
    """The network's price book's currency; without one, its invoices' (else EUR)."""
    book = network.price_book
    if book is not None:
        return book.currency
    return found[0].invoice.currency if found else _DEFAULT_CURRENCY


def metrics_of(
    deps: Deps,
    actor_id: UUID,
    *,
    year: int | None = None,
    until: date | None = None,
    doctor_id: UUID | None = None,
) -> PracticeMetrics:
    """The figures of ``year`` up to ``until`` (defaults: see :func:`period_end`), of the
    actor's network or of one doctor; revenue is the invoices' net, credit notes negative."""
    end = period_end(deps.clock.now().astimezone(UTC).date(), year, until)
    since = datetime(end.year, 1, 1, tzinfo=UTC)
    with deps.storage.unit_of_work() as uow:
        actor, whose = _reader(uow, actor_id, doctor_id)
        network = uow.accounts.get_network(actor.network_id)
        moments = uow.cases.moments(actor.network_id, since, owner_id=whose)
        found = uow.invoices.list(
            actor.network_id,
            doctor_id=whose,
            since=since,
            until=datetime.combine(end, time.max, UTC),
        )
    return practice_metrics(
        moments,
        (e.invoice for e in found),
        until=end,
        currency=_currency(network, found),
        doctor_id=whose,
    )
