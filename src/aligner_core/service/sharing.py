"""Share links: a signed token naming a case and one of its share links.

The token is ``base64url(case id + share id + HMAC-SHA256 truncated to 16 bytes)``;
it carries no patient data and resolves only while its link is valid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from uuid import UUID

__all__ = ["sign", "verify"]

_BODY = 32
_MAC = 16


def sign(secret: bytes, case_id: UUID, share_id: UUID) -> str:
    body = case_id.bytes + share_id.bytes
    mac = hmac.new(secret, body, hashlib.sha256).digest()[:_MAC]
    return base64.urlsafe_b64encode(body + mac).decode().rstrip("=")


def verify(secret: bytes, token: str) -> tuple[UUID, UUID] | None:
    """The (case id, share id) a genuine token names, or None."""
    if not isinstance(token, str) or len(token) > 128:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) != _BODY + _MAC:
        return None
    body, mac = raw[:_BODY], raw[_BODY:]
    if not secrets.compare_digest(mac, hmac.new(secret, body, hashlib.sha256).digest()[:_MAC]):
        return None
    return UUID(bytes=body[:16]), UUID(bytes=body[16:])
