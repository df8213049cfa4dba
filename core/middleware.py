import json
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.multipartparser import MultiPartParserError
from django.utils.deprecation import MiddlewareMixin

logger = logging.getLogger("core.errors")

# Machine-facing paths: every error there is JSON, never an HTML page.
API_PREFIXES = ("/piesync/", "/rest/")
# Pages under those prefixes that a person's browser shows.
HTML_PATHS = ("/piesync/oauth/authorize", "/piesync/docs")


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES) and not path.startswith(HTML_PATHS)


class PagesOnlyMiddleware(MiddlewareMixin):
    """Middleware that only the HTML pages use: on an API path the request passes
    straight through. No API view reads the session, `request.user` (DRF authenticates
    each request itself) or messages, and an API answer sets no cookie; building them
    cost each API request about 20 µs (docs/speed.md). Subclasses of Django's own, as the
    admin's checks require; CSRF and django-axes stay as they are, since the deploy
    checks look for their exact paths in MIDDLEWARE."""

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if is_api_path(request.path):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(PagesOnlyMiddleware, sessions.SessionMiddleware):
    """Django's, for the pages."""


class AuthenticationMiddleware(PagesOnlyMiddleware, auth.AuthenticationMiddleware):
    """Django's, for the pages."""


class MessageMiddleware(PagesOnlyMiddleware, messages.MessageMiddleware):
    """Django's, for the pages."""


class JsonErrorsMiddleware:
    """Turns any non-JSON error on an API path (404, 405, 500, ...) into `{"error": ...}`.

    It runs whatever DEBUG says, so local mode behaves like production for partners.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and is_api_path(request.path)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return self._json_error(response.status_code, response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_path(request.path):
            return None
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse({"error": "Request body too large"}, status=413)
        if isinstance(exception, MultiPartParserError):
            # A client error (Django answers 400 too). Only the OAuth endpoints read form
            # bodies here, so the answer is theirs: RFC 6749 §5.2 invalid_request, not
            # cached like their other answers (§5.1).
            response = JsonResponse(
                {
                    "error": "invalid_request",
                    "error_description": "Malformed multipart/form-data body (RFC 7578).",
                },
                status=400,
            )
            response["Cache-Control"] = "no-store"
            return response
        if isinstance(exception, Http404 | PermissionDenied | BadRequest | SuspiciousOperation):
            # Not server errors: Django answers 404/403/400 (and logs what it should),
            # and __call__ turns that answer into JSON.
            return None
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return JsonResponse({"error": "Internal server error"}, status=500)

    @staticmethod
    def _json_error(status: int, original: HttpResponse) -> HttpResponse:
        if _is_json_error_body(original):
            # e.g. django-oauth-toolkit's revocation errors: RFC 6749 JSON sent as text/html.
            original["Content-Type"] = "application/json"
            return original
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        response = JsonResponse({"error": phrase}, status=status)
        for header in ("Allow", "WWW-Authenticate", "Retry-After"):
            if header in original:
                response[header] = original[header]
        return response


def _is_json_error_body(response: HttpResponse) -> bool:
    if response.streaming:
        return False
    try:
        body = json.loads(response.content)
    except ValueError:
        return False
    return isinstance(body, dict) and "error" in body


class HeadWithoutBodyMiddleware:
    """RFC 9110 §9.3.2: the answer to HEAD has the header fields GET's would have, and no
    content.

    Django answers HEAD by running the GET view (or the error handling) and keeps the
    body; gunicorn writes it, since Content-Length says how long it is. First in
    MIDDLEWARE, so that it sees every answer, including the errors made on the way out.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if request.method != "HEAD":
            return response
        if isinstance(response, StreamingHttpResponse):
            response.streaming_content = []
        elif isinstance(response, HttpResponse):
            # §8.6: a HEAD answer may say how long GET's content would be.
            if not response.has_header("Content-Length"):
                response["Content-Length"] = str(len(response.content))
            response.content = b""
        return response
