"""Plumbing shared by the JSON APIs: body parsing and the one error format.

Every error is a JSON object with an `error` message (the partner contract, and the
`leadrouter` client reads `response.json()["error"]`). `DomainError` carries the
status and message; DRF's own exceptions are mapped to the same shape here.
"""

import json
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from oauth_provider.authentication import REALM, InsufficientScope

from .errors import DomainError

logger = logging.getLogger(__name__)


def _raw_body(request: Request) -> bytes:
    try:
        raw = request.body
    except RequestDataTooBig as exc:
        raise DomainError("Request body too large", status=413) from exc
    meta = request.META
    if raw or meta.get("CONTENT_LENGTH") or not meta.get("wsgi.input_terminated"):
        return raw
    # A chunked body (no Content-Length): Django reads none of it, but a server that
    # sets wsgi.input_terminated (gunicorn does) guarantees the stream ends.
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    raw = meta["wsgi.input"].read(-1 if limit is None else limit + 1)
    if limit is not None and len(raw) > limit:
        raise DomainError("Request body too large", status=413)
    return raw


def json_body(request: Request) -> Any:
    """The request body decoded as JSON, whatever Content-Type was sent with it."""
    raw = _raw_body(request)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise DomainError("Invalid JSON body", status=400) from exc


def json_object_body(request: Request) -> dict[str, Any]:
    body = json_body(request)
    if not isinstance(body, dict):
        raise DomainError("Invalid JSON body", status=400)
    return body


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(exc.as_body(), status=exc.status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unexpected: JsonErrorsMiddleware logs it and answers 500
    if isinstance(exc, exceptions.APIException):
        detail = exc.detail
        message = detail if isinstance(detail, str) else "Invalid request"
        response.data = {"error": str(message)}
    if isinstance(exc, InsufficientScope):
        # RFC 6750 §3.1
        response["WWW-Authenticate"] = (
            f'Bearer realm="{REALM}", error="insufficient_scope", scope="{exc.scope}"'
        )
    return response
