"""The one domain error type; API layers map it to the documented JSON error bodies."""

from typing import Any


class DomainError(Exception):
    def __init__(self, message: str, *, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.extra = extra

    def as_body(self) -> dict[str, Any]:
        return {"error": self.message, **self.extra}


class InvalidJson(DomainError):
    """A 400 for a body that is not JSON, or not the JSON expected; `reason` says why."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__("Invalid JSON body" + (f": {reason}" if reason else ""), status=400)
