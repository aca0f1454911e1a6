"""Every error watchdepth raises on purpose, and the API error code it maps to.

Hierarchy (the one handler in ``api.errors`` turns these into responses)::

    WatchdepthError
    ├── InvalidInput            the caller's fault: 4xx, never logged as a fault
    │   ├── BadJSON             400101 body is not valid JSON
    │   ├── WrongType           400102 JSON value of the wrong type
    │   ├── ValidationFailed    400400 parameters or events did not validate
    │   ├── BadOrder            400216 ``order`` names a field that cannot be sorted
    │   ├── NotAuthenticated    100101 no Authorization header
    │   ├── BadToken            100102 unknown or revoked token
    │   ├── Forbidden           100103 token may not touch that project, or is read-only
    │   ├── NotFound            404404 no such entity
    │   ├── MethodNotAllowed    400405
    │   ├── TooLarge            413413 body too large
    │   ├── RateLimited         429429
    │   ├── Gone                410410 an expired download link
    │   └── Unavailable         503503 not now (disk under its reserve, the database catching
    │                           up), with Retry-After: the request was fine, nothing was stored
    └── ServiceError            our fault or the machine's: 5xx, logged with the request id
        └── StoreError          the database failed; raised from the engine's exception

docs/api.md lists the codes; ``InvalidParam`` is one entry of ``invalid_params``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InvalidParam:
    """One reason a parameter or an event was refused."""

    name: str
    reason: str  # a short machine word: "required", "invalid", "too_long", "unknown", ...
    message: str
    index: int | None = None  # the event's index in a batch, for /collect and imports

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name, "reason": self.reason, "message": self.message}
        if self.index is not None:
            out["index"] = self.index
        return out


class WatchdepthError(Exception):
    """Root of every deliberate error."""

    code: int = 500500
    status: int = 500

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class InvalidInput(WatchdepthError):
    """The request was wrong. Carries its API code and HTTP status; never a 500."""

    code = 400400
    status = 400

    def __init__(
        self,
        message: str,
        *,
        detail: str | None = None,
        invalid_params: list[InvalidParam] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, detail=detail)
        self.invalid_params = list(invalid_params or [])
        self.headers = dict(headers or {})


class BadJSON(InvalidInput):
    code, status = 400101, 400


class WrongType(InvalidInput):
    code, status = 400102, 400


class ValidationFailed(InvalidInput):
    code, status = 400400, 400


class BadOrder(InvalidInput):
    code, status = 400216, 400


class NotAuthenticated(InvalidInput):
    code, status = 100101, 401


class BadToken(InvalidInput):
    code, status = 100102, 401


class Forbidden(InvalidInput):
    code, status = 100103, 403


class NotFound(InvalidInput):
    code, status = 404404, 404


class MethodNotAllowed(InvalidInput):
    code, status = 400405, 405


class TooLarge(InvalidInput):
    code, status = 413413, 413


class RateLimited(InvalidInput):
    code, status = 429429, 429


class Gone(InvalidInput):
    code, status = 410410, 410


class Unavailable(InvalidInput):
    """Not now: nothing was stored or answered, try again after ``retry_after`` seconds.

    Under ``InvalidInput`` for how it is answered (its message and ``Retry-After`` shown, not
    logged per request as a fault): the condition itself is logged once where it is found.
    """

    code, status = 503503, 503

    def __init__(self, message: str, *, retry_after: int = 5, detail: str | None = None) -> None:
        super().__init__(message, detail=detail, headers={"Retry-After": str(retry_after)})


class ServiceError(WatchdepthError):
    """Something failed on our side. The body never shows a stack trace."""

    code, status = 500500, 500


class StoreError(ServiceError):
    """The database failed. Raised ``from`` the engine's own exception inside ``store/``."""
