"""The library's errors: one tree, each error carrying data, not only a message.

::

    AlignerError
    ├── ValidationError          every bad field as ``msg @ $.path``
    ├── NotFoundError            what was looked for (kind, key)
    ├── PermissionDeniedError    who, which action, on what, and why
    ├── InvalidTransitionError   case, state, action, and every unmet precondition
    ├── ConcurrencyConflictError a stale version (another writer got there first)
    ├── RejectedFileError        a file refused by content checks, with every reason
    ├── StorageError             a storage driver failed (the driver error is ``__cause__``)
    │   └── SchemaVersionError   the database was written by a newer or unknown schema
    └── NotificationError        delivery of a message failed
        ├── TemporaryDeliveryError   retry later (4xx, connection refused, timeout)
        └── PermanentDeliveryError   do not retry (5xx)

Adapters convert driver errors at the port boundary (``raise StorageError(...) from e``);
no ``sqlite3``, ``psycopg`` or ``smtplib`` exception escapes a port.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "AlignerError",
    "ConcurrencyConflictError",
    "FieldError",
    "InvalidTransitionError",
    "NotFoundError",
    "NotificationError",
    "PermanentDeliveryError",
    "PermissionDeniedError",
    "RejectedFileError",
    "SchemaVersionError",
    "StorageError",
    "TemporaryDeliveryError",
    "ValidationError",
]


class AlignerError(Exception):
    """Root of every error the library raises on purpose."""


class FieldError:
    """One bad field: a message and a JSON-path-like location (``$.patient.last_name``)."""

    __slots__ = ("message", "path")

    def __init__(self, message: str, path: str = "$") -> None:
        self.message = message
        self.path = path

    def __str__(self) -> str:
        return f"{self.message} @ {self.path}"

    def __repr__(self) -> str:
        return f"FieldError({self.message!r}, {self.path!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldError):
            return NotImplemented
        return (self.message, self.path) == (other.message, other.path)

    def __hash__(self) -> int:
        return hash((self.message, self.path))


class ValidationError(AlignerError, ValueError):
    """Input that does not fit the model; ``errors`` names every bad field."""

    def __init__(self, errors: Iterable[FieldError | str], *, subject: str = "input") -> None:
        self.errors: tuple[FieldError, ...] = tuple(
            e if isinstance(e, FieldError) else FieldError(e) for e in errors
        )
        if not self.errors:
            self.errors = (FieldError("invalid"),)
        self.subject = subject
        super().__init__(f"invalid {subject}: " + "; ".join(str(e) for e in self.errors))

    @property
    def messages(self) -> list[str]:
        """The errors as ``msg @ $.path`` strings (the cattrs ``transform_error`` form)."""
        return [str(e) for e in self.errors]

    @property
    def paths(self) -> list[str]:
        return [e.path for e in self.errors]

    @classmethod
    def single(cls, message: str, path: str = "$", *, subject: str = "input") -> ValidationError:
        return cls([FieldError(message, path)], subject=subject)


class NotFoundError(AlignerError, LookupError):
    """Nothing of that kind with that key, or nothing the caller may see."""

    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key} not found")


class PermissionDeniedError(AlignerError):
    """The acting user may not take this action here."""

    def __init__(
        self, actor: object, action: str, target: object = None, reason: str = "not permitted"
    ) -> None:
        self.actor = actor
        self.action = action
        self.target = target
        self.reason = reason
        where = f" on {target}" if target is not None else ""
        super().__init__(f"user {actor} may not {action}{where}: {reason}")


class InvalidTransitionError(AlignerError):
    """The action is not possible for the case now; ``reasons`` names every unmet precondition."""

    def __init__(self, case: object, state: str, action: str, reasons: Sequence[str] = ()) -> None:
        self.case = case
        self.state = state
        self.action = action
        self.reasons: tuple[str, ...] = tuple(reasons) or (f"not possible in state {state}",)
        super().__init__(
            f"cannot {action} case {case} in state {state}: " + "; ".join(self.reasons)
        )


class ConcurrencyConflictError(AlignerError):
    """Another writer changed the record first; reload and try again."""

    def __init__(self, kind: str, key: object, expected: int, actual: int | None = None) -> None:
        self.kind = kind
        self.key = key
        self.expected = expected
        self.actual = actual
        found = "missing" if actual is None else f"version {actual}"
        super().__init__(f"{kind} {key} changed concurrently: expected version {expected}, {found}")


class RejectedFileError(AlignerError):
    """A file refused by its content checks; ``reasons`` lists every problem found."""

    def __init__(self, name: str, reasons: Sequence[str]) -> None:
        self.name = name
        self.reasons: tuple[str, ...] = tuple(reasons) or ("rejected",)
        super().__init__(f"file {name!r} rejected: " + "; ".join(self.reasons))


class StorageError(AlignerError):
    """A storage backend failed; the driver's exception is chained as ``__cause__``."""


class SchemaVersionError(StorageError):
    """The database was written by a newer (or foreign) schema; it was not modified."""

    def __init__(self, found: Any, supported: int, where: str = "database") -> None:
        self.found = found
        self.supported = supported
        super().__init__(
            f"{where} has schema version {found}; this library supports up to {supported} "
            "and will not modify it"
        )


class NotificationError(AlignerError):
    """Sending a notification failed."""


class TemporaryDeliveryError(NotificationError):
    """Delivery failed for now (connection, timeout, 4xx): retry later."""


class PermanentDeliveryError(NotificationError):
    """Delivery can never succeed as is (5xx, bad address): do not retry."""
