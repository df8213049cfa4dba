"""Bearer-token authentication for the partner APIs (RFC 6750).

A token authenticates as its user (loaded only if something reads `request.user`), and
`request.auth` is the token as a BearerToken, its site included;
`oauth_provider.permissions.PartnerCanReachSite` lets it reach only that site.
"""

import functools

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from ratelimits.limits import PerClientThrottle, client_authentication_failures
from ratelimits.rates import Rate

from .models import Application
from .selectors import BearerToken, bearer_token

REALM = "Real Geeks"


class InvalidToken(exceptions.AuthenticationFailed):
    """A token was presented but cannot be used (RFC 6750 §3.1 `invalid_token`)."""

    default_detail = "Invalid access token"


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[object, BearerToken] | None:
        header = request.headers.get("Authorization", "")
        if not header:
            return None  # DRF answers 401 with authenticate_header() when a permission needs a user
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise InvalidToken("Malformed Authorization header; expected: Bearer <token>")
        bearer = self.bearer_token(request, token)
        if bearer is None or bearer.is_expired():
            raise InvalidToken("Invalid or expired access token")
        return _user(bearer.user_id), bearer

    def bearer_token(self, request: Request, token: str) -> BearerToken | None:
        """The token's row (one query); a subclass may read what the request needs
        with it, in the same query."""
        return bearer_token(token=token)

    def authenticate_header(self, request: HttpRequest) -> str:
        # RFC 6750 §3: no error code when the request carried no credentials.
        if request.headers.get("Authorization"):
            return f'Bearer realm="{REALM}", error="invalid_token"'
        return f'Bearer realm="{REALM}"'


class InsufficientScope(exceptions.PermissionDenied):
    def __init__(self, scope: str) -> None:
        super().__init__(f"The access token lacks the {scope} scope")
        self.scope = scope
        # RFC 6750 §3.1; DRF's exception handler sends it as WWW-Authenticate.
        self.auth_header = f'Bearer realm="{REALM}", error="insufficient_scope", scope="{scope}"'


def _user(user_id: int | None) -> object:
    """The token's user, read from the database only if something asks for it (as
    Django's own `request.user`): no API view does."""
    if user_id is None:
        return None
    return SimpleLazyObject(functools.partial(get_user_model().objects.get, pk=user_id))


def bearer_application(request: Request) -> Application:
    """The application the request's access token was issued to, with only its id
    loaded (as `.only("id")` loads it, without the query): what services filter by.

    Every token we issue has one; DOT's column is nullable for grants we do not serve.
    """
    credentials = request.auth
    if not isinstance(credentials, BearerToken) or credentials.application_id is None:
        raise InvalidToken("Invalid or expired access token")
    return Application.from_db(DEFAULT_DB_ALIAS, ["id"], [credentials.application_id])


class IncomingClientThrottle(PerClientThrottle):
    """The Incoming Leads API's limit, counted per OAuth client: the application that
    authenticated with its id and secret, or the one the bearer token was issued to.

    A client that authenticated with its secret is refused too while its address is over
    its failed client authentications (oauth_provider.client_authentication).
    """

    def checked_limits(self, request: Request) -> dict[str, Rate]:
        if isinstance(request.auth, Application):
            return client_authentication_failures(request._request)
        return {}

    def client_id(self, request: Request) -> int | None:
        credentials = request.auth
        if isinstance(credentials, Application):
            return credentials.pk
        if isinstance(credentials, BearerToken):
            return credentials.application_id
        return None
