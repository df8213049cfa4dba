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


def _raw_body(request: Request, max_bytes: int | None) -> bytes:
    """The body, refused with 413 past `max_bytes` (default: Django's upload limit)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE if max_bytes is None else max_bytes
    suffix = "" if max_bytes is None else f" (limit {max_bytes} bytes)"
    too_large = DomainError(f"Request body too large{suffix}", status=413)
    meta = request.META
    # Refuse by the declared length before reading the body into memory.
    declared = meta.get("CONTENT_LENGTH") or "0"
    if limit is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    try:
        raw = request.body
    except RequestDataTooBig:
        raise too_large from None
    if not raw and not meta.get("CONTENT_LENGTH") and meta.get("wsgi.input_terminated"):
        # A chunked body (no Content-Length): Django reads none of it, but a server that
        # sets wsgi.input_terminated (gunicorn does) guarantees the stream ends.
        raw = meta["wsgi.input"].read(-1 if limit is None else limit + 1)
    if limit is not None and len(raw) > limit:
        raise too_large
    return raw


def json_body(request: Request, *, max_bytes: int | None = None) -> Any:
    """The request body decoded as JSON, whatever Content-Type was sent with it."""
    raw = _raw_body(request, max_bytes)
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
