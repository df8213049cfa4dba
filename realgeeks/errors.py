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
