"""What is limited, and the 429 a client gets over a limit.

Each check is one statement (`services.windows_hit`, or `services.windows_full` for a
limit on failures, which are counted once they happened), made before the request's work;
a request that is counted has the failure limits it must be under checked in its count's
statement.
"""

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase, JsonResponse
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from core.client_ip import client_ip

from .conf import app_settings
from .rates import Rate
from .services import Hit, hit_record, windows_full, windows_hit


def token_request_retry_after(*, request: HttpRequest, client_id: int | None) -> int | None:
    """Token endpoint: per address, and per client once it authenticated.

    Only an authenticated client is counted as itself: client ids are public (they are in
    every authorize URL), so counting requests that merely name one would let anyone use
    up a partner's allowance. Guessing at a client's secret is held back per address.
    """
    limits = {}
    if app_settings.RATE_LIMIT_TOKEN_PER_IP is not None:
        limits[f"token:ip:{client_ip(request)}"] = app_settings.RATE_LIMIT_TOKEN_PER_IP
    if app_settings.RATE_LIMIT_TOKEN_PER_CLIENT is not None and client_id is not None:
        limits[f"token:client:{client_id}"] = app_settings.RATE_LIMIT_TOKEN_PER_CLIENT
    return windows_hit(limits=limits)


def client_authentication_retry_after(*, request: HttpRequest) -> int | None:
    """The seconds to wait while the request's address is over its failed client
    authentications, else None.

    Asked whatever the secret turns out to be, before the answer says it, so that once
    over, a right guess is refused like a wrong one and guessing learns nothing more.
    """
    return windows_full(limits=client_authentication_failures(request))


def client_authentication_failed(*, request: HttpRequest) -> int | None:
    """Count a failed client authentication against the request's address: one count
    for every endpoint that takes a client's id and secret. The seconds to wait if the
    address was already over its limit (this failure past it), else None."""
    return windows_hit(limits=client_authentication_failures(request))


def client_authentication_failures(request: HttpRequest) -> dict[str, Rate]:
    """The limit on the address's failed client authentications, by its key."""
    rate = app_settings.RATE_LIMIT_CLIENT_AUTH_FAILURES_PER_IP
    return {} if rate is None else {f"client-auth-failures:ip:{client_ip(request)}": rate}


View = Callable[..., HttpResponseBase]


def limit_failed_client_authentication(view: View) -> View:
    """The OAuth endpoints' side of the failed client authentication limit (token,
    revocation, introspection): refused while the address is over it, and a 401 counted.

    Those endpoints answer 401 only for a failed client authentication (RFC 6749 §5.2
    `invalid_client`; RFC 7009 §2.2.1 and RFC 7662 §2.3 answer it the same way).
    """

    @functools.wraps(view)
    def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        retry_after = client_authentication_retry_after(request=request)
        if retry_after is not None:
            return too_many_requests(retry_after)
        response = view(request, *args, **kwargs)
        if response.status_code == 401:
            client_authentication_failed(request=request)
        return response

    return limited


def too_many_requests(retry_after: int) -> JsonResponse:
    """An OAuth endpoint's 429 (RFC 6585 §4) with `Retry-After` in seconds (RFC 9110
    §10.2.3), in those endpoints' error format (RFC 6749 §5.2). RFC 6749 has no code for
    it; `temporarily_unavailable` (§4.1.2.1) is the registered one that says "try again
    later". The description is the one DRF's throttling gives on the other APIs."""
    response = JsonResponse(
        {
            "error": "temporarily_unavailable",
            "error_description": str(Throttled(wait=retry_after).detail),
        },
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


class PerClientThrottle(BaseThrottle):
    """Incoming Leads API: per OAuth client, whether it sent its id and secret or a token.

    DRF runs throttles after authentication and permissions, before the view's work, and
    answers 429 with `Retry-After` from `wait()`. Subclasses say which client (its
    primary key) a request comes from: the credentials are the OAuth app's to read.
    """

    def __init__(self) -> None:
        self.retry_after: int | None = None

    def client_id(self, request: Request) -> int | None:
        raise NotImplementedError

    def checked_limits(self, request: Request) -> dict[str, Rate]:
        """Limits on failures the request must be under, checked (not counted) in the
        statement that counts it."""
        return {}

    def hit(self, request: Request) -> Hit:
        """The request's count against its client's allowance and check of
        `checked_limits`: on its own (`allow_request`), or carried by the statement of a
        view's write (leads' LeadCreateView)."""
        rate = app_settings.RATE_LIMIT_INCOMING_API_PER_CLIENT
        client = self.client_id(request)
        counted = {} if rate is None or client is None else {f"incoming:client:{client}": rate}
        return Hit.of(limits=counted, full=self.checked_limits(request))

    def allow_request(self, request: Request, view: APIView) -> bool:
        self.retry_after = hit_record(self.hit(request))
        return self.retry_after is None

    def wait(self) -> float | None:
        return self.retry_after
