"""Case filters are bounded and cursors are validated: every refusal is a ``ValidationError``."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aligner_core.domain.queries import (
    MAX_LIMIT,
    MAX_NUMBER,
    MAX_OFFSET,
    CaseFilter,
    SortKey,
    paginate,
    summarize,
)
from aligner_core.errors import ValidationError
from aligner_core.testing.contracts.storage import population


def _cursor(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "fields",
    [
        {"number": 0},
        {"number": MAX_NUMBER + 1},
        {"number": True},
        {"number": "5"},
        {"offset": -1},
        {"offset": MAX_OFFSET + 1},
        {"limit": 0},
        {"limit": MAX_LIMIT + 1},
        {"patient_name": "x" * 201},
        {"patient_name": 5},
        {"kinds": "bogus"},
        {"kinds": [None]},
        {"statuses": ["draft", "nope"]},
        {"sort": "price"},
        {"name_match": "fuzzy"},
        {"descending": "yes"},
        {"owner_id": "not-a-uuid"},
        {"created_from": datetime(2025, 1, 1)},  # naive
        {"updated_to": datetime.max.replace(tzinfo=timezone(timedelta(hours=-5)))},
        {"after": "x" * 513},
        {"after": 5},
    ],
    ids=lambda f: ",".join(f"{k}={str(v)[:20]}" for k, v in f.items()),
)
def test_every_filter_field_is_bounded(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        CaseFilter(**fields)
    assert caught.value.paths == [f"$.{next(iter(fields))}"]


def test_the_bounds_themselves_are_accepted() -> None:
    q = CaseFilter(number=MAX_NUMBER, offset=MAX_OFFSET, limit=MAX_LIMIT, patient_name="x" * 200)
    assert (q.number, q.offset, q.limit) == (MAX_NUMBER, MAX_OFFSET, MAX_LIMIT)
    assert CaseFilter(kinds="retainer", statuses=["draft", "shipped", "draft"], sort="number")


ROWS = [summarize(c) for c in population(25, seed=3).cases]


def _pages(query: CaseFilter) -> list[Any]:
    pages = [paginate(ROWS, query)]
    while pages[-1].next_cursor:
        pages.append(paginate(ROWS, attrs.evolve(query, after=pages[-1].next_cursor)))
    return pages


@pytest.mark.parametrize("sort", list(SortKey))
@pytest.mark.parametrize("descending", [True, False])
def test_cursor_pages_cover_the_list_once_in_order(sort: SortKey, descending: bool) -> None:
    pages = _pages(CaseFilter(sort=sort, descending=descending, limit=4))
    whole = _pages(CaseFilter(sort=sort, descending=descending, limit=500))[0]
    assert [s for p in pages for s in p.items] == list(whole.items)
    assert all(p.has_more for p in pages[:-1]) and not pages[-1].has_more
    assert all(p.total == 25 for p in pages)


def test_a_cursor_belongs_to_one_sort_and_direction() -> None:
    cursor = _pages(CaseFilter(limit=3))[0].next_cursor
    assert cursor is not None
    CaseFilter(after=cursor)
    for other in ({"sort": SortKey.NUMBER}, {"descending": False}):
        with pytest.raises(ValidationError) as caught:
            CaseFilter(after=cursor, **other)
        assert caught.value.paths == ["$.after"]


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "bm90IGpzb24",  # "not json"
        _cursor({"sort": "number"}),
        _cursor(["number", True, None]),
        _cursor(["number", True, None, 0]),
        _cursor(["number", True, None, 2**63]),
        _cursor(["number", True, None, True]),
        _cursor(["number", True, "x", 5]),
        _cursor(["number", 1, None, 5]),
        _cursor(["patient_name", True, "\ud800", 5]),
        _cursor(["patient_name", True, "jane\x00", 5]),
        _cursor(["patient_name", True, 5, 5]),
        _cursor(["status", True, "lost", 5]),
        _cursor(["updated_at", True, "yesterday", 5]),
        _cursor(["updated_at", True, "2025-01-06T08:00:00", 5]),  # naive
        _cursor(["updated_at", True, "2025-01-06T09:00:00.000000+01:00", 5]),  # not UTC text
    ],
)
def test_malformed_cursors_are_refused(cursor: str) -> None:
    for key in SortKey:
        for descending in (True, False):
            with pytest.raises(ValidationError):
                CaseFilter(after=cursor, sort=key, descending=descending)


@given(st.text(max_size=600))
def test_any_text_is_a_cursor_or_a_validation_error(text: str) -> None:
    with contextlib.suppress(ValidationError):
        CaseFilter(after=text)


def test_a_time_cursor_names_the_instant_in_utc() -> None:
    at = datetime(2025, 3, 1, 12, 30, 0, 250, tzinfo=UTC)
    cursor = _cursor(["created_at", False, at.isoformat(timespec="microseconds"), 7])
    assert CaseFilter(after=cursor, sort=SortKey.CREATED, descending=False).position == (at, 7)
    assert CaseFilter(owner_id=uuid4()).position is None
