"""Shared pieces of the strategies: text, dates, e-mail addresses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from hypothesis import strategies as st

from aligner_core.domain.accounts import (
    is_valid_email,
    is_valid_username,
)

T = TypeVar("T")

_MIN_DT = datetime(1990, 1, 1)
_MAX_DT = datetime(2100, 1, 1)

# Realistic names first: apostrophes, hyphens, accents, other scripts, right-to-left text.
_NAMES = (
    "O'Brien",
    "D'Angelo",
    "Müller-Lüdenscheidt",
    "Zoë",
    "José María",
    "Łukasz",
    "Ødegård",
    "Nguyễn",
    "渡辺",
    "Σωκράτης",
    "Иванова",
    "محمد",
    "Smith",
    "van der Berg",
    "Dr. Ann-Kathrin",
)
# What text fields take: any character but controls (C0, C1, DEL) and unpaired surrogates.
_UNICODE = st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"])


def text(max_size: int, *, blank: bool = True) -> st.SearchStrategy[str]:
    """Realistic names, arbitrary unicode, or text exactly ``max_size`` characters long.

    With ``blank=False`` the text holds something other than white space (mandatory fields).
    Arbitrary text stays short (at most 200 characters) to keep generation fast; the limit
    itself is exercised by the full-length texts.
    """
    realistic = st.sampled_from([n for n in _NAMES if len(n) <= max_size])
    wide = st.text(_UNICODE, min_size=0 if blank else 1, max_size=min(max_size, 200))
    if not blank:
        wide = wide.filter(lambda t: bool(t.strip()))
    full = st.sampled_from(["x", "é", "'", "漢", "🦷"]).map(lambda c: c * max_size)
    return st.one_of(realistic, wide, full)


def optional(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.none() | strategy


def small_tuples(strategy: st.SearchStrategy[T], max_size: int) -> st.SearchStrategy[tuple[T, ...]]:
    return st.lists(strategy, max_size=max_size).map(tuple)


def aware_datetimes(
    min_value: datetime = _MIN_DT, max_value: datetime = _MAX_DT
) -> st.SearchStrategy[datetime]:
    """Timezone-aware UTC datetimes (bounds are naive, read as UTC)."""
    return st.datetimes(min_value=min_value, max_value=max_value, timezones=st.just(UTC))


def dates(
    min_value: date = date(1990, 1, 1), max_value: date = date(2100, 1, 1)
) -> st.SearchStrategy[date]:
    return st.dates(min_value=min_value, max_value=max_value)


def after(start: datetime, max_days: int = 60) -> st.SearchStrategy[datetime]:
    """A datetime at or after ``start`` (within ``max_days``)."""
    return st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=max_days)).map(
        lambda d: start + d
    )


_LOCAL = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789.'_+-") | st.sampled_from("éøüß漢"),
    min_size=1,
    max_size=30,
)
_DOMAIN = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-"), min_size=1, max_size=20)
_TLD = st.sampled_from(["org", "com", "de", "co.uk", "dental", "xn--p1ai"])


def emails() -> st.SearchStrategy[str]:
    """E-mail addresses the library accepts, apostrophes and non-ASCII local parts included."""
    return st.builds(
        lambda local, domain, tld: f"{local}@{domain}.{tld}", _LOCAL, _DOMAIN, _TLD
    ).filter(is_valid_email)


_USERNAME_CHARS = st.sampled_from(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-'_@éØß"
)
USERNAMES = st.text(_USERNAME_CHARS, min_size=1, max_size=60).filter(is_valid_username)
REFERENCE_CODES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9\-]{2,31}", fullmatch=True)
TELEPHONES = st.from_regex(r"\+?[0-9 ()./\-]{4,30}", fullmatch=True)
LANGUAGES = st.sampled_from(["en", "de", "fr", "es", "it", "pt-BR", "en-GB", "zh", "ast"])
SHA256 = st.binary(min_size=32, max_size=32).map(bytes.hex)
NON_NEGATIVE = st.integers(min_value=0, max_value=10**12)
POSITIVE = st.integers(min_value=1, max_value=10**6)
FINITE = st.floats(allow_nan=False, allow_infinity=False)
DETAILS = st.dictionaries(text(30, blank=False), text(200), max_size=3)
