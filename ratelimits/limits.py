"""What is limited, and the 429 a client gets over a limit.

Each check is one statement (`services.windows_hit`), made before the request's work.
"""

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from oauth_provider.models import AccessToken, Application
from realgeeks.client_ip import client_ip

from .services import windows_hit


def token_request_retry_after(
    *, request: HttpRequest, application: Application | None
) -> int | None:
    """Token endpoint: per address, and per client once it authenticated.

    Only an authenticated client is counted as itself: client ids are public (they are in
    every authorize URL), so counting requests that merely name one would let anyone use
    up a partner's allowance. Guessing at a client's secret is held back per address.
    """
    limits = {}
    if settings.RATE_LIMIT_TOKEN_PER_IP is not None:
        limits[f"token:ip:{client_ip(request)}"] = settings.RATE_LIMIT_TOKEN_PER_IP
    if settings.RATE_LIMIT_TOKEN_PER_CLIENT is not None and application is not None:
        limits[f"token:client:{application.pk}"] = settings.RATE_LIMIT_TOKEN_PER_CLIENT
    return windows_hit(limits=limits)


def too_many_requests(retry_after: int) -> JsonResponse:
    """RFC 6585 §4: 429, with `Retry-After` in seconds (RFC 9110 §10.2.3), and the body
    every other error has (the same message DRF's throttling gives)."""
    response = JsonResponse({"error": str(Throttled(wait=retry_after).detail)}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


class IncomingClientThrottle(BaseThrottle):
    """Incoming Leads API: per OAuth client, whether it sent its id and secret or a token.

    DRF runs throttles after authentication and permissions, before the view's work, and
    answers 429 with `Retry-After` from `wait()`.
    """

    def __init__(self) -> None:
        self.retry_after: int | None = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        rate = settings.RATE_LIMIT_INCOMING_API_PER_CLIENT
        client = _client_pk(request.auth)
        if rate is None or client is None:
            return True
        self.retry_after = windows_hit(limits={f"incoming:client:{client}": rate})
        return self.retry_after is None

    def wait(self) -> float | None:
        return self.retry_after


def _client_pk(credentials: object) -> int | None:
    if isinstance(credentials, Application):
        return credentials.pk
    if isinstance(credentials, AccessToken):
        return credentials.application_id
    return None
