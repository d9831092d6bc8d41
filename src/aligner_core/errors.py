"""The library's errors: one tree, each error carrying data, not only a message.

::

    AlignerError                 each with ``code``, ``http_status`` and ``to_dict()``
    ├── ValidationError          every bad field as ``msg @ $.path``, each with its code
    ├── NotFoundError            what was looked for (kind, key)
    ├── PermissionDeniedError    who, which action, on what, and why
    ├── InvalidTransitionError   case, state, action, and every unmet precondition
    ├── ConcurrencyConflictError a stale version (another writer got there first)
    ├── RejectedFileError        a file refused by content checks, with every reason
    ├── StorageError             a storage driver failed (the driver error is ``__cause__``)
    │   └── SchemaVersionError   the database was written by a newer or unknown schema
    └── NotificationError        delivery of a message failed
        ├── TemporaryDeliveryError   retry later (4xx, connection refused, timeout)
        │   ├── ServerUnavailableError   the server could not be reached: nothing was sent
        │   └── AmbiguousDeliveryError   the server may have it: no answer after the message
        └── PermanentDeliveryError   do not retry (5xx)

Adapters convert driver errors at the port boundary (``raise StorageError(...) from e``);
no ``sqlite3``, ``psycopg`` or ``smtplib`` exception escapes a port.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal

from aligner_core.codes import english

__all__ = [
    "AlignerError",
    "AmbiguousDeliveryError",
    "ConcurrencyConflictError",
    "FieldError",
    "InvalidTransitionError",
    "NotFoundError",
    "NotificationError",
    "PermanentDeliveryError",
    "PermissionDeniedError",
    "Reason",
    "RejectedFileError",
    "SchemaVersionError",
    "ServerUnavailableError",
    "StorageError",
    "TemporaryDeliveryError",
    "ValidationError",
]

#: Field errors listed in a message before "and N more" (the error keeps every one).
MAX_LISTED = 20
#: Field errors an error keeps at most; the rest are counted in ``omitted``.
MAX_KEPT = 200
_MAX_TEXT = 300

ReasonKind = Literal["state", "input", "permission", "warning"]


def _short(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 3] + "..."


def _plain(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Parameters as JSON values (enums by value, other objects as text)."""
    out: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if value is None or isinstance(value, bool | int | float):
            out[key] = value
        else:
            out[key] = _short(str(getattr(value, "value", value)))
    return out


class AlignerError(Exception):
    """Root of every error the library raises on purpose.

    ``code`` names the kind of refusal for programs (stable), ``http_status`` is
    what a web shell answers with, and :meth:`to_dict` is the JSON a shell returns.
    """

    code: ClassVar[str] = "error"
    #: The HTTP status a web shell answers with (see :attr:`http_status`).
    status: ClassVar[int] = 500

    @property
    def http_status(self) -> int:
        """What a web shell answers with: 422 bad input, 404, 403, 409 conflict, 503, ..."""
        return self.status

    def to_dict(self) -> dict[str, Any]:
        """The error as JSON-ready data: ``code``, ``message``, ``http_status`` and details."""
        return {"code": self.code, "message": str(self), "http_status": self.http_status}


class Reason(str):
    """Why something was refused: its English text, a stable ``code`` and ``params``.

    A ``str`` (the English text), so it prints and compares as before; ``kind`` says
    whether it comes from the case's state, from a given input, or from permissions,
    and ``path`` names the input it is about.
    """

    code: str
    params: dict[str, Any]
    kind: ReasonKind
    path: str | None

    def __new__(
        cls,
        code: str,
        params: Mapping[str, Any] | None = None,
        *,
        kind: ReasonKind = "state",
        path: str | None = None,
    ) -> Reason:
        plain = _plain(params)
        self = super().__new__(cls, _short(english(code, plain)))
        self.code = code
        self.params = plain
        self.kind = kind
        self.path = path
        return self

    @classmethod
    def coerce(cls, value: str, kind: ReasonKind = "state") -> Reason:
        """A reason as is, or free text (from an older adapter) under the code ``invalid``."""
        if isinstance(value, Reason):
            return value
        made = str.__new__(cls, _short(str(value)))
        code = getattr(value, "code", None)
        made.code = code if isinstance(code, str) else "invalid"
        made.params, made.kind, made.path = {}, kind, None
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles with its code, parameters, kind and path (and its text as made)."""
        return (_restore_reason, (str(self), self.code, self.params, self.kind, self.path))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "params": self.params, "message": str(self)}
        if self.kind != "state":
            data["kind"] = self.kind
        if self.path is not None:
            data["path"] = self.path
        return data


def _restore_reason(
    text: str, code: str, params: dict[str, Any], kind: ReasonKind, path: str | None
) -> Reason:
    made = str.__new__(Reason, text)
    made.code, made.params, made.kind, made.path = code, params, kind, path
    return made


def join_path(prefix: str, path: str) -> str:
    """``path`` (rooted at ``$``) placed under ``prefix``: ``$.a`` + ``$.b[1]`` -> ``$.a.b[1]``."""
    rest = path[1:] if path.startswith("$") else ("." + path if path else "")
    return prefix + rest


class FieldError:
    """One bad field: a code with parameters, its English message, and a JSON path."""

    __slots__ = ("code", "message", "params", "path")

    def __init__(
        self,
        message: str,
        path: str = "$",
        *,
        code: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.message = _short(message)
        self.path = path
        self.code = code or "invalid"
        self.params = _plain(params)

    @classmethod
    def of(cls, code: str, path: str = "$", **params: Any) -> FieldError:
        """The field error for ``code`` (its English text comes from :mod:`aligner_core.codes`)."""
        plain = _plain(params)
        return cls(english(code, plain), path, code=code, params=plain)

    def under(self, prefix: str) -> FieldError:
        """The same error with its path placed under ``prefix``."""
        made = FieldError(self.message, join_path(prefix, self.path), code=self.code)
        made.params = self.params
        return made

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "code": self.code,
            "params": self.params,
            "message": self.message,
        }

    def __str__(self) -> str:
        return f"{self.message} @ {self.path}"

    def __repr__(self) -> str:
        return f"FieldError({self.code!r}, {self.path!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldError):
            return NotImplemented
        return (self.message, self.path) == (other.message, other.path)

    def __hash__(self) -> int:
        return hash((self.message, self.path))


class ValidationError(AlignerError, ValueError):
    """Input that does not fit; ``errors`` names every bad field (each with a code and a path).

    At most :data:`MAX_KEPT` errors are kept (``omitted`` counts the rest) and the
    message lists :data:`MAX_LISTED`, so a hostile input never makes a huge error.
    """

    code = "invalid_input"
    status = 422

    def __init__(
        self, errors: Iterable[FieldError | str], *, subject: str = "input", omitted: int = 0
    ) -> None:
        kept: list[FieldError] = []
        for e in errors:
            if len(kept) >= MAX_KEPT:
                omitted += 1
                continue
            kept.append(e if isinstance(e, FieldError) else FieldError(str(e)))
        self.errors: tuple[FieldError, ...] = tuple(kept) or (FieldError.of("invalid"),)
        self.omitted = omitted
        self.subject = subject
        listed = "; ".join(str(e) for e in self.errors[:MAX_LISTED])
        more = len(self.errors) - MAX_LISTED + omitted
        if more > 0:
            listed += f"; {english('and_more', {'count': more})}"
        super().__init__(f"invalid {subject}: {listed}")

    @property
    def messages(self) -> list[str]:
        """The errors as ``msg @ $.path`` strings (the cattrs ``transform_error`` form)."""
        return [str(e) for e in self.errors]

    @property
    def paths(self) -> list[str]:
        return [e.path for e in self.errors]

    @property
    def codes(self) -> list[str]:
        return [e.code for e in self.errors]

    @classmethod
    def single(
        cls,
        message: str,
        path: str = "$",
        *,
        subject: str = "input",
        code: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> ValidationError:
        return cls([FieldError(message, path, code=code, params=params)], subject=subject)

    @classmethod
    def of(
        cls, code: str, path: str = "$", *, subject: str = "input", **params: Any
    ) -> ValidationError:
        """One coded field error (its text from :mod:`aligner_core.codes`)."""
        return cls([FieldError.of(code, path, **params)], subject=subject)

    def under(self, prefix: str, subject: str | None = None) -> ValidationError:
        """The same errors with their paths placed under ``prefix``."""
        return ValidationError(
            [e.under(prefix) for e in self.errors],
            subject=subject or self.subject,
            omitted=self.omitted,
        )

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["errors"] = [e.to_dict() for e in self.errors]
        if self.omitted:
            data["omitted"] = self.omitted
        return data


class NotFoundError(AlignerError, LookupError):
    """Nothing of that kind with that key, or nothing the caller may see."""

    code = "not_found"
    status = 404

    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key} not found")

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "kind": self.kind}


class PermissionDeniedError(AlignerError):
    """The acting user may not take this action here; ``reason`` says why (with a code)."""

    code = "permission_denied"
    status = 403

    def __init__(
        self,
        actor: object,
        action: str,
        target: object = None,
        reason: str | None = None,
    ) -> None:
        self.actor = actor
        self.action = action
        self.target = target
        self.reason: Reason = (
            Reason("not_permitted", kind="permission")
            if reason is None
            else Reason.coerce(reason, "permission")
        )
        where = f" on {target}" if target is not None else ""
        super().__init__(f"user {actor} may not {action}{where}: {self.reason}")

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "action": self.action, "reason": self.reason.to_dict()}


class InvalidTransitionError(AlignerError):
    """The action is not possible for the case now; ``reasons`` names every unmet precondition."""

    code = "invalid_transition"
    status = 409

    def __init__(self, case: object, state: str, action: str, reasons: Sequence[str] = ()) -> None:
        self.case = case
        self.state = state
        self.action = action
        self.reasons: tuple[Reason, ...] = tuple(Reason.coerce(r) for r in reasons) or (
            Reason("wrong_state", {"state": state}),
        )
        super().__init__(
            f"cannot {action} case {case} in state {state}: " + "; ".join(self.reasons)
        )

    @property
    def http_status(self) -> int:
        """409 when the case is not ready; 422 when only given inputs do not fit it."""
        return 422 if all(r.kind == "input" for r in self.reasons) else 409

    @property
    def field_errors(self) -> tuple[FieldError, ...]:
        """The reasons about given inputs, as field errors a form shows under each field."""
        return tuple(
            FieldError(str(r), r.path, code=r.code, params=r.params)
            for r in self.reasons
            if r.kind == "input" and r.path is not None
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "action": self.action,
            "state": self.state,
            "reasons": [r.to_dict() for r in self.reasons],
        }


class ConcurrencyConflictError(AlignerError):
    """Another writer changed the record first (or a stale tab); reload and try again."""

    code = "concurrency_conflict"
    status = 409

    def __init__(self, kind: str, key: object, expected: int, actual: int | None = None) -> None:
        self.kind = kind
        self.key = key
        self.expected = expected
        self.actual = actual
        found = "missing" if actual is None else f"version {actual}"
        super().__init__(f"{kind} {key} changed concurrently: expected version {expected}, {found}")

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "expected": self.expected, "actual": self.actual}


class RejectedFileError(AlignerError):
    """A file refused by its content checks; ``reasons`` lists every problem found.

    ``name`` is the uploaded name for the shell's own screen; the message never
    repeats it (file names may name patients).
    """

    code = "rejected_file"
    status = 422

    def __init__(self, name: str, reasons: Sequence[str]) -> None:
        self.name = name
        self.reasons: tuple[Reason, ...] = tuple(Reason.coerce(r, "input") for r in reasons) or (
            Reason("rejected", kind="input"),
        )
        super().__init__("file rejected: " + "; ".join(self.reasons))

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "reasons": [r.to_dict() for r in self.reasons]}


class StorageError(AlignerError):
    """A storage backend failed; the driver's exception is chained as ``__cause__``."""

    code = "storage_unavailable"
    status = 503


class SchemaVersionError(StorageError):
    """The database was written by a newer (or foreign) schema; it was not modified."""

    code = "schema_version"
    status = 500

    def __init__(self, found: Any, supported: int, where: str = "database") -> None:
        self.found = found
        self.supported = supported
        super().__init__(
            f"{where} has schema version {found}; this library supports up to {supported} "
            "and will not modify it"
        )


class NotificationError(AlignerError):
    """Sending a notification failed."""

    code = "notification_failed"
    status = 502


class TemporaryDeliveryError(NotificationError):
    """Delivery failed for now (connection, timeout, 4xx): retry later."""

    code = "delivery_deferred"


class ServerUnavailableError(TemporaryDeliveryError):
    """The mail server could not be reached or talked to (refused, no answer, TLS, login):
    nothing of the message was sent. When the server answers again, the dispatcher sends
    every waiting message at once instead of after its backoff.

    .. versionadded:: 0.2
    """

    code = "delivery_server_unavailable"


class AmbiguousDeliveryError(TemporaryDeliveryError):
    """The whole message went out but its reply never came (a timeout, a dropped connection):
    the server may have accepted it. The dispatcher resends it at most once.

    .. versionadded:: 0.2
    """

    code = "delivery_unconfirmed"


class PermanentDeliveryError(NotificationError):
    """Delivery can never succeed as is (5xx, bad address): do not retry."""

    code = "delivery_refused"
