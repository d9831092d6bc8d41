"""Properties of the e-mail and username rules (``domain.accounts``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aligner_core.domain.accounts import is_valid_email, is_valid_username

LATIN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=20
)
# Cyrillic letters that look Latin
CYRILLIC_LOOKALIKES = (
    "\u0430\u0435\u043e\u0440\u0441\u0445\u0410\u0412"
    "\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425"
)
LOCAL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20)
LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=15)


@given(LATIN, st.text(alphabet="0123456789._-", max_size=5))
def test_latin_usernames_with_digits_and_marks_are_accepted(name: str, tail: str) -> None:
    assert is_valid_username(name + tail)


@given(LATIN, st.integers(0, 19), st.sampled_from(CYRILLIC_LOOKALIKES))
def test_a_lookalike_letter_of_another_script_is_refused(name: str, at: int, other: str) -> None:
    at %= len(name)
    assert not is_valid_username(name[:at] + other + name[at:])
    assert is_valid_username(other * len(name))  # one script alone is fine


@given(st.text(max_size=3).filter(lambda s: not s.strip()))
def test_blank_usernames_are_refused(blank: str) -> None:
    assert not is_valid_username(blank)


@given(LOCAL, LABEL, LABEL)
def test_plain_addresses_are_accepted(local: str, host: str, tld: str) -> None:
    assert is_valid_email(f"{local}@{host}.{tld}x")


@given(LOCAL, LABEL, LABEL, st.sampled_from(["{a}, {a}", "Name <{a}>", "{a} ", "{a}@{a}"]))
def test_lists_display_names_and_spaces_are_refused(
    local: str, host: str, tld: str, shape: str
) -> None:
    address = f"{local}@{host}.{tld}x"
    assert not is_valid_email(shape.format(a=address))
