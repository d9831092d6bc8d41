"""Share links: a signed token naming a case and one of its share links.

The token is ``base64url(case id + share id + HMAC-SHA256 truncated to 16 bytes)``
without padding: exactly 64 characters of ``A-Z a-z 0-9 - _``, and only that
spelling (another spelling of the same bytes is refused). It carries no patient
data. Keys come from configuration, never from the database: the first of
:class:`LinkKeys` signs, every one verifies (rotation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from typing import Final
from uuid import UUID

import attrs

from aligner_core.errors import ValidationError

__all__ = ["INVITATION", "SHARE", "LinkKeys", "sign", "verify"]

_BODY: Final = 32
_MAC: Final = 16
_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{64}")
_MIN_KEY: Final = 16


def _keys(value: Sequence[bytes]) -> tuple[bytes, ...]:
    return tuple(value)


@attrs.frozen
class LinkKeys:
    """The keys that sign share links: the first signs, all verify (newest first)."""

    keys: tuple[bytes, ...] = attrs.field(converter=_keys)

    def __attrs_post_init__(self) -> None:
        if not self.keys or any(not isinstance(k, bytes) or len(k) < _MIN_KEY for k in self.keys):
            raise ValidationError.single(
                f"link keys are bytes of at least {_MIN_KEY}", "$.link_secret", code="invalid"
            )

    @classmethod
    def parse(cls, value: bytes | str | Sequence[bytes | str]) -> LinkKeys:
        """Keys from bytes, text (UTF-8) or a list of either, newest first."""
        items = [value] if isinstance(value, bytes | str) else list(value)
        return cls(tuple(k.encode() if isinstance(k, str) else k for k in items))


#: What a token is for, signed with it: a share link's token opens no invitation.
SHARE: Final = b""
INVITATION: Final = b"invitation:"


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()[:_MAC]


def sign(keys: LinkKeys, case_id: UUID, share_id: UUID, purpose: bytes = SHARE) -> str:
    body = case_id.bytes + share_id.bytes
    mac = _mac(keys.keys[0], purpose + body)
    return base64.urlsafe_b64encode(body + mac).decode().rstrip("=")


def verify(keys: LinkKeys, token: str, purpose: bytes = SHARE) -> tuple[UUID, UUID] | None:
    """The (case id, share or invitation id) a genuine token for ``purpose`` names, or None
    (any other spelling, or a token made for another purpose, is None)."""
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        return None
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    if len(raw) != _BODY + _MAC or base64.urlsafe_b64encode(raw).decode().rstrip("=") != token:
        return None
    body, mac = raw[:_BODY], raw[_BODY:]
    if not any(hmac.compare_digest(mac, _mac(key, purpose + body)) for key in keys.keys):
        return None
    return UUID(bytes=body[:16]), UUID(bytes=body[16:])
