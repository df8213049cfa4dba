"""Domain errors: what went wrong, in words, never as an HTTP status.

Services, selectors and parsers raise these; the API layer (core.api.exception_handler)
chooses the status for each kind and answers `as_body()`.
"""

from typing import Any


class DomainError(Exception):
    """`message`, and after a colon the `reason` when there is one; `extra` goes into the
    body beside `error`."""

    def __init__(self, message: str, *, reason: str = "", **extra: Any) -> None:
        full = f"{message}: {reason}" if reason else message
        super().__init__(full)
        self.message = full
        self.title = message
        self.extra = extra

    def as_body(self, *, reason: bool = True) -> dict[str, Any]:
        return {"error": self.message if reason else self.title, **self.extra}


class InvalidInput(DomainError):
    """The input cannot be read at all (not JSON, for one)."""


class NotFound(DomainError):
    """What the request names does not exist, or is not the caller's to see."""


class Conflict(DomainError):
    """What the request would create exists already."""


class TooLarge(DomainError):
    """The input is larger than its limit."""


class Unprocessable(DomainError):
    """The input was read, and breaks a rule (a field's, or a limit on what it adds)."""


class ServerFault(DomainError):
    """Our side cannot do it (a stored value it cannot read); the caller did nothing wrong."""


class InvalidJson(InvalidInput):
    """A body that is not JSON, or not the JSON expected; the reason says why."""

    def __init__(self, reason: str = "") -> None:
        super().__init__("Invalid JSON body", reason=reason)


class InvalidFields(Unprocessable):
    """Fields that break their rules: `fields` maps each (`activities[0].type`) to what
    is wrong with it; the reason names them all."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        summary = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())
        super().__init__("Invalid fields", reason=summary, fields=fields)
