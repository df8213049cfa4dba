"""Headers for the pages a person sees during the OAuth flow."""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponseBase

# RFC 9700 §4.16: the login, consent and connected-apps pages must not be framed
# (clickjacking). X-Frame-Options: DENY is sent everywhere; CSP says it for browsers that
# prefer it.
FRAME_ANCESTORS_NONE = "frame-ancestors 'none'"


def no_framing(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = FRAME_ANCESTORS_NONE
        response["X-Frame-Options"] = "DENY"
        return response

    return wrapped
