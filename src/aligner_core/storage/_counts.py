"""Dashboard counts kept per (network, owner, status), written with the cases they count.

Every store keeps one number per key and changes it in the same transaction
(or under the same lock) as the case, so ``count_by_status`` reads a few
numbers instead of every case. A doctor's scope adds the cases they
collaborate on, which each store finds through its members index.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from aligner_core.domain.cases import Case, CaseStatus

__all__ = ["CountKey", "count_changes", "count_key", "tally"]

#: (network id, owner id, status value), as text.
CountKey = tuple[str, str, str]


def count_key(case: Case) -> CountKey:
    return (str(case.network_id), str(case.owner_id), case.status.value)


def count_changes(changes: Iterable[tuple[CountKey | None, CountKey]]) -> dict[CountKey, int]:
    """What (before, after) pairs of keys do to the counts (``None``: a new case); no zeros."""
    deltas: Counter[CountKey] = Counter()
    for before, after in changes:
        if before == after:
            continue
        if before is not None:
            deltas[before] -= 1
        deltas[after] += 1
    return {key: n for key, n in deltas.items() if n}


def tally(rows: Iterable[tuple[str, object]]) -> Mapping[CaseStatus, int]:
    """Counts per status from (status, number) rows; deleted drafts and zeros left out."""
    counts: dict[CaseStatus, int] = {}
    for status, n in rows:
        number = int(n)  # type: ignore[call-overload]
        if number and status != CaseStatus.DELETED.value:
            key = CaseStatus(status)
            counts[key] = counts.get(key, 0) + number
    return counts
