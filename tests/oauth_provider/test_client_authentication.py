"""Client id and secret on the Incoming Leads API (oauth_provider.client_authentication)."""

from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from oauth_provider.authentication import IncomingClientThrottle
from oauth_provider.client_authentication import ClientCredentialsAuthentication


def api_views(patterns: list[URLPattern | URLResolver]) -> list[type[APIView]]:
    found = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += api_views(pattern.url_patterns)
        else:
            view = getattr(pattern.callback, "view_class", None)
            if isinstance(view, type) and issubclass(view, APIView):
                found.append(view)
    return found


def test_every_view_that_takes_a_clients_secret_checks_its_failures_in_its_throttle():
    """The right secret from an address past its failed authentications is refused by
    IncomingClientThrottle, not by the authentication: a view without it would let it in."""
    views = [
        view
        for view in api_views(get_resolver().url_patterns)
        if ClientCredentialsAuthentication in view.authentication_classes
    ]

    assert views, "the Incoming Leads API's views"
    assert [view for view in views if IncomingClientThrottle not in view.throttle_classes] == []
