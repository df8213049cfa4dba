"""Bearer-token authentication for the partner APIs (RFC 6750).

A token authenticates as its user, and `request.auth` is the AccessToken with its
site loaded; `oauth_provider.permissions.PartnerCanReachSite` lets it reach only that
site.
"""

from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from ratelimits.limits import PerClientThrottle

from .models import AccessToken, Application
from .selectors import access_token_for_bearer

REALM = "Real Geeks"


class InvalidToken(exceptions.AuthenticationFailed):
    """A token was presented but cannot be used (RFC 6750 §3.1 `invalid_token`)."""

    default_detail = "Invalid access token"


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[object, AccessToken] | None:
        header = request.headers.get("Authorization", "")
        if not header:
            return None  # DRF answers 401 with authenticate_header() when a permission needs a user
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise InvalidToken("Malformed Authorization header; expected: Bearer <token>")
        access_token = access_token_for_bearer(token=token)
        if access_token is None or access_token.is_expired():
            raise InvalidToken("Invalid or expired access token")
        return access_token.user, access_token

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


def bearer_application(request: Request) -> Application:
    """The application the request's access token was issued to.

    Every token we issue has one; DOT's column is nullable for grants we do not serve.
    """
    if not isinstance(request.auth, AccessToken) or request.auth.application is None:
        raise InvalidToken("Invalid or expired access token")
    return request.auth.application


class IncomingClientThrottle(PerClientThrottle):
    """The Incoming Leads API's limit, counted per OAuth client: the application that
    authenticated with its id and secret, or the one the bearer token was issued to."""

    def client_id(self, request: Request) -> int | None:
        credentials = request.auth
        if isinstance(credentials, Application):
            return credentials.pk
        if isinstance(credentials, AccessToken):
            return credentials.application_id
        return None
