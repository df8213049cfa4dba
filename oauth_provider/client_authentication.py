"""HTTP Basic with an OAuth client's id and secret, for the Incoming Leads API.

This is how Real Geeks' product credentials work: one username and password per
integrating product, valid for every site a user has connected it to. Which sites
those are is the permission's business (`oauth_provider.permissions`); the site in the
path is looked up here, with the client, to spare a query.

Failed client authentications are limited per address, as on the OAuth endpoints, and
past the limit even the right secret is refused: a wrong one here, by the statement
that counts it; a right one by `IncomingClientThrottle`, in the statement that counts
the request against its client's allowance (a round trip less on every request).
Views that take these credentials therefore throttle with it (a test walks the URLs).
"""

import base64
import binascii
import uuid

from django.contrib.auth.hashers import check_password
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import Throttled
from rest_framework.request import Request

from ratelimits.limits import client_authentication_failed
from sites.models import Site

from .authentication import REALM, InvalidToken
from .models import Application
from .selectors import client_with_connected_site


class ClientCredentialsAuthentication(BaseAuthentication):
    """`request.auth` is the Application; `connected_site(request)` the site in the path
    (`site_uuid`) when a user connected the application to it."""

    connected_site: Site | None = None

    def authenticate(self, request: Request) -> tuple[None, Application] | None:
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            client_id, _, secret = (
                base64.b64decode(credentials.strip(), validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            _failed(request)
            raise InvalidToken("Malformed Basic credentials") from None
        found = client_with_connected_site(client_id=client_id, site_uuid=_path_site_uuid(request))
        # check_password compares in constant time.
        if found is None or not check_password(secret, found[0].client_secret):
            _failed(request)
            raise InvalidToken("Invalid client credentials")
        application, self.connected_site = found
        return None, application

    def authenticate_header(self, request: Request) -> str:
        return f'Basic realm="{REALM}"'


def connected_site(request: Request) -> Site | None:
    """The site in the path, if the client that authenticated is connected to it."""
    authenticator = request.successful_authenticator
    if not isinstance(authenticator, ClientCredentialsAuthentication):
        raise TypeError("The request was not authenticated with client credentials")
    return authenticator.connected_site


def _failed(request: Request) -> None:
    """Counted against the address, in one statement that also says whether it was
    already over its failed authentications: then refused (429), as a right secret is."""
    retry_after = client_authentication_failed(request=request._request)
    if retry_after is not None:
        raise Throttled(wait=retry_after)


def _path_site_uuid(request: Request) -> uuid.UUID | None:
    """None when the path has none, or a malformed one (the permission answers 404)."""
    site_uuid = request.parser_context.get("kwargs", {}).get("site_uuid")
    try:
        return uuid.UUID(site_uuid) if isinstance(site_uuid, str) else None
    except ValueError:
        return None
