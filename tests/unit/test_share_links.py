"""Share links: one spelling, bound to the plan version, dead with what they showed; keys rotate."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import aligner_core
from aligner_core import NotFoundError, Role, ValidationError
from aligner_core.service.core import Core
from aligner_core.service.sharing import LinkKeys, sign, verify
from aligner_core.testing.factories import Lab, plan_summary, set_up_lab

KEYS = LinkKeys((b"k" * 32,))


def _waiting(core: Core, lab: Lab) -> object:
    case_id = lab.ready_case()
    core.submit(lab.doctor, case_id)
    core.upload_plan(lab.planner, case_id, plan_summary())
    return case_id


@pytest.fixture
def core() -> Core:
    return aligner_core.connect("memory://", link_secret=[b"new" * 8, b"old" * 8])


@pytest.fixture
def lab(core: Core) -> Lab:
    return set_up_lab(core)


def _token() -> str:
    from uuid import UUID

    return sign(KEYS, UUID(int=1), UUID(int=2))


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=.! \n%"


@settings(max_examples=300, deadline=None)
@given(
    where=st.integers(0, 64),
    insert=st.text(alphabet=ALPHABET, min_size=1, max_size=3),
    drop=st.booleans(),
)
def test_no_altered_spelling_of_a_token_resolves(where: int, insert: str, drop: bool) -> None:
    token = _token()
    assert verify(KEYS, token) is not None
    altered = token[:where] + insert + token[where + (1 if drop else 0) :]
    if altered == token:
        return
    assert verify(KEYS, altered) is None


@pytest.mark.parametrize(
    "spelling",
    [
        lambda t: t + "=",
        lambda t: t + "==",
        lambda t: t.replace("-", "+").replace("_", "/"),
        lambda t: t[:10] + "!" + t[10:],
        lambda t: t[:10] + "." + t[10:],
        lambda t: t[:10] + " " + t[10:],
        lambda t: " " + t,
        lambda t: t.upper(),
        lambda t: base64.b64encode(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))).decode(),
        lambda t: t + "\n",
        lambda t: t[:-1] + chr(ord(t[-1]) ^ 1),
    ],
)
def test_known_altered_spellings_are_refused(spelling: object) -> None:
    token = _token()
    altered = spelling(token)  # type: ignore[operator]
    if altered != token:
        assert verify(KEYS, altered) is None


def test_keys_rotate_old_ones_still_verify_the_newest_signs() -> None:
    from uuid import UUID

    old = LinkKeys((b"o" * 32,))
    token = sign(old, UUID(int=1), UUID(int=2))
    rotated = LinkKeys((b"n" * 32, b"o" * 32))
    assert verify(rotated, token) == (UUID(int=1), UUID(int=2))
    assert sign(rotated, UUID(int=1), UUID(int=2)) != token
    assert verify(LinkKeys((b"n" * 32,)), token) is None
    with pytest.raises(ValidationError):
        LinkKeys((b"short",))


def test_a_link_dies_when_a_new_plan_version_is_uploaded(core: Core, lab: Lab) -> None:
    case_id = _waiting(core, lab)
    token = core.share_plan(lab.doctor, case_id, 1)  # type: ignore[arg-type]
    assert core.resolve_share(token).plan.number == 1
    core.request_modification(lab.doctor, case_id, "less IPR")  # type: ignore[arg-type]
    core.upload_plan(lab.planner, case_id, plan_summary(ipr=0.2))  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        core.resolve_share(token)


def test_a_link_dies_when_the_case_is_cancelled(core: Core, lab: Lab) -> None:
    case_id = _waiting(core, lab)
    token = core.share_plan(lab.doctor, case_id, 1)  # type: ignore[arg-type]
    core.cancel(lab.doctor, case_id, "patient moved")  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        core.resolve_share(token)


def test_a_link_dies_when_the_case_is_reassigned(core: Core, lab: Lab) -> None:
    case_id = _waiting(core, lab)
    token = core.share_plan(lab.doctor, case_id, 1)  # type: ignore[arg-type]
    other = lab.add(Role.DOCTOR, "doctor-two")
    core.reassign(lab.admin, case_id, other)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        core.resolve_share(token)


def test_a_link_dies_when_the_sharer_is_blocked(core: Core, lab: Lab) -> None:
    case_id = _waiting(core, lab)
    token = core.share_plan(lab.doctor, case_id, 1)  # type: ignore[arg-type]
    core.block(lab.admin, lab.doctor)
    with pytest.raises(NotFoundError):
        core.resolve_share(token)
    core.activate(lab.admin, lab.doctor)
    assert core.resolve_share(token).plan.number == 1


def test_the_signing_key_is_never_in_the_database(tmp_path: Path) -> None:
    db = tmp_path / "lab.db"
    core = aligner_core.connect(f"sqlite:///{db}")
    key = (tmp_path / "lab.db.key").read_bytes()
    assert len(key) == 32 and oct(os.stat(tmp_path / "lab.db.key").st_mode & 0o777) == "0o600"
    lab = set_up_lab(core)
    token = core.share_plan(lab.doctor, _waiting(core, lab), 1)  # type: ignore[arg-type]
    core.shutdown()
    for name in os.listdir(tmp_path):
        if name.startswith("lab.db") and not name.endswith(".key") and (tmp_path / name).is_file():
            assert key not in (tmp_path / name).read_bytes()
    again = aligner_core.connect(f"sqlite:///{db}")
    assert again.resolve_share(token).plan.number == 1  # the same key after a restart
    again.shutdown()
    moved = aligner_core.connect(f"sqlite:///{db}", link_secret=b"x" * 32)
    with pytest.raises(NotFoundError):
        moved.resolve_share(token)
    moved.shutdown()


def test_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ALIGNER_CORE_LINK_SECRETS", "n" * 32 + "," + "o" * 32)
    core = aligner_core.connect(f"sqlite:///{tmp_path / 'env.db'}")
    assert core.deps.link_keys.keys == (b"n" * 32, b"o" * 32)
    assert not (tmp_path / "env.db.key").exists()
    core.shutdown()
