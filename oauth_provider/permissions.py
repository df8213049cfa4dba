"""The one way a partner request is accepted: for the site in its path (`site_uuid`)."""

import uuid

from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from sites.models import Site

from .authentication import BearerTokenAuthentication, InsufficientScope
from .client_authentication import connected_site
from .models import Application
from .selectors import BearerToken

SITE_NOT_FOUND = "Site not found"


class PartnerCanReachSite(BasePermission):
    """The request's credentials reach the site in the path, which is left on the request
    for the view (`partner_site(request)`).

    A bearer token must carry the view's `required_scope` (403 `insufficient_scope`
    otherwise, whatever the path) and be bound to the site. Client id and secret (HTTP
    Basic), where the view's authentication classes take them, reach every site a user
    connected the client to. A malformed UUID, or a site the credentials do not reach,
    is the same 404: a partner cannot tell another's site from no site.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        credentials = request.auth
        if isinstance(credentials, BearerToken):
            scope: str = view.required_scope  # type: ignore[attr-defined]
            if not credentials.allows(scope):
                raise InsufficientScope(scope)
            site = credentials.site if credentials.site.uuid == _site_uuid(view) else None
        elif isinstance(credentials, Application):
            site = connected_site(request)  # looked up with the client (none: malformed)
        elif all(isinstance(a, BearerTokenAuthentication) for a in request.authenticators or ()):
            # No credentials where only a token is taken (the Subscription API, as documented).
            raise exceptions.NotAuthenticated("Missing access token")
        else:
            return False  # DRF's own 401, with the first authenticator's challenge
        if site is None:
            raise exceptions.NotFound(SITE_NOT_FOUND)
        request.partner_site = site  # type: ignore[attr-defined]  # read by partner_site()
        return True


def _site_uuid(view: APIView) -> uuid.UUID:
    try:
        return uuid.UUID(view.kwargs["site_uuid"])
    except ValueError:
        raise exceptions.NotFound(SITE_NOT_FOUND) from None


def partner_site(request: Request) -> Site:
    """The site PartnerCanReachSite accepted the request for."""
    site = getattr(request, "partner_site", None)
    if not isinstance(site, Site):
        raise TypeError("PartnerCanReachSite did not accept this request for a site")
    return site
