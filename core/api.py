"""Plumbing shared by the JSON APIs: their base view, and the one error format.

Every error is a JSON object with an `error` message (the partner contract, and the
`leadrouter` client reads `response.json()["error"]`). Domain errors say what went
wrong; the status each kind is answered with is chosen here. DRF's own exceptions are
mapped to the same shape.
"""

from typing import Any, TypeVar

from django.http import HttpRequest
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import (
    Conflict,
    DomainError,
    InvalidFields,
    InvalidInput,
    InvalidJson,
    NotFound,
    ServerFault,
    TooLarge,
    Unprocessable,
)
from .negotiation import JsonOnlyNegotiation

STATUSES: dict[type[DomainError], int] = {
    DomainError: 400,  # a refusal of no more precise kind
    InvalidInput: 400,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    Unprocessable: 422,
    ServerFault: 500,
}


def status_of(error: DomainError) -> int:
    """The HTTP status of a domain error: its nearest kind's."""
    return next(STATUSES[kind] for kind in type(error).__mro__ if kind in STATUSES)


class BodyRequest(Request):
    """DRF calls no parser for a body without Content-Length (`request.data` is then {}):
    an empty body, or a chunked one. Here every body goes to the parser
    (core.parsers.StrictJsonParser, which reads it from the request): a chunked one is
    read, an empty one refused as the invalid JSON it is."""

    @property
    def stream(self) -> HttpRequest:
        return self._request


class JsonAPIView(APIView):
    """A JSON API's view: JSON answers whatever `Accept` says, and `request.data` is the
    body as strict JSON, whatever its Content-Type (core.parsers)."""

    content_negotiation_class = JsonOnlyNegotiation
    # Whether an error's message gives its reason ("Invalid JSON body: not UTF-8",
    # "Invalid fields: source: This field is required."), or stops before it.
    error_reasons = True

    @property
    def max_body_bytes(self) -> int | None:
        """The largest body taken, in bytes (core.parsers); None: Django's
        DATA_UPLOAD_MAX_MEMORY_SIZE."""
        return None

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        return BodyRequest(
            request,
            parsers=self.get_parsers(),
            authenticators=self.get_authenticators(),
            negotiator=self.get_content_negotiator(),
            parser_context=self.get_parser_context(request),
        )


def json_object(request: Request) -> dict[str, Any]:
    """The body, which must be a JSON object."""
    body: object = request.data
    if not isinstance(body, dict):
        raise InvalidJson("expected a JSON object")
    return body


SerializerT = TypeVar("SerializerT", bound=serializers.BaseSerializer[Any])


def validated(serializer: SerializerT) -> SerializerT:
    """The serializer, validated; otherwise InvalidFields naming every problem."""
    if not serializer.is_valid():
        raise InvalidFields(flatten_errors(serializer.errors))
    return serializer


def flatten_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as {"activities[0].type": ["This field is required."]}."""
    if isinstance(errors, list) and all(isinstance(item, str) for item in errors):
        return {prefix or "body": [str(item) for item in errors]}
    flat: dict[str, list[str]] = {}
    items = errors.items() if isinstance(errors, dict) else enumerate(errors)
    for key, value in items:
        if isinstance(key, int):
            name = f"{prefix}[{key}]"
        elif key == "non_field_errors":
            name = prefix or "body"
        else:
            name = f"{prefix}.{key}" if prefix else key
        if value:
            flat.update(flatten_errors(value, name))
    return flat


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        view = context.get("view")
        reason = view.error_reasons if isinstance(view, JsonAPIView) else True
        return Response(exc.as_body(reason=reason), status=status_of(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unexpected: JsonErrorsMiddleware logs it and answers 500
    if isinstance(exc, exceptions.APIException):
        detail = exc.detail
        message = detail if isinstance(detail, str) else "Invalid request"
        response.data = {"error": str(message)}
    return response
