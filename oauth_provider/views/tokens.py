"""The endpoints a client calls with its id and secret: token, revocation and
introspection, answering RFC 6749 §5.2 errors."""

import json
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import View
from oauth2_provider import views as dot_views
from oauth2_provider.signals import app_authorized
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.common import Request as OauthlibRequest
from oauthlib.oauth2 import OAuth2Error
from oauthlib.oauth2.rfc6749.utils import scope_to_list

from ratelimits.limits import token_request_retry_after, too_many_requests

from .. import selectors
from ..models import Application

# For the token and revocation endpoints' errors that oauthlib answers without a
# description (RFC 6749 §5.2, RFC 7009 §2.2.1); the validator describes the common ones.
_TOKEN_ERROR_DESCRIPTIONS = {
    "invalid_client": "Client authentication failed.",
    "invalid_grant": "The authorization code or refresh token is invalid, expired, revoked, "
    "or was issued to another client.",
    # Only a refresh asks for a scope at the token endpoint (RFC 6749 §6).
    "invalid_scope": "The requested scope exceeds the scope originally granted.",
    "unauthorized_client": "This client may not use this grant type.",
    "unsupported_token_type": "Only access and refresh tokens can be revoked.",
}


@method_decorator(
    sensitive_post_parameters("client_secret", "code", "refresh_token", "code_verifier"),
    name="post",
)
class TokenView(dot_views.TokenView):
    """The token endpoint, in one transaction so that a code is exchanged at most once."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        grant_type = request.POST.get("grant_type")
        if not grant_type:
            return oauth_error("invalid_request", "Missing grant_type parameter.", status=400)
        if grant_type not in SERVED_GRANT_TYPES:
            # RFC 6749 §5.2. Checked here: DOT would route the device code grant to its
            # own flow, which we do not serve.
            return oauth_error(
                "unsupported_grant_type",
                "Only authorization_code and refresh_token are supported.",
                status=400,
            )
        # Limits first, outside the transaction (the counters must not stay locked). The
        # client is authenticated once: oauthlib's grant is given the same request.
        core = self.get_oauthlib_core()
        token_request = oauthlib_request(core, request)
        application = authenticated_client(core, token_request)
        retry_after = token_request_retry_after(
            request=request, client_id=None if application is None else application.pk
        )
        if retry_after is not None:
            return too_many_requests(retry_after)
        with transaction.atomic():
            response = self.token_response(request, token_request)
        return with_basic_challenge(with_error_description(response))

    def token_response(self, request: HttpRequest, token_request: OauthlibRequest) -> HttpResponse:
        """DOT's `authorization_flow_token_response`, on the request the client was
        authenticated on, without DOT's re-read of the token it just issued.

        oauthlib's `TokenEndpoint.create_token_response` builds its own request from the
        HTTP one; this is that method on ours (no extra credentials, no claims).
        """
        server = self.get_oauthlib_core().server
        try:
            server.validate_token_request(token_request)  # the method; no query string
            token_request.scopes = scope_to_list(token_request.scope)
            token_request.extra_credentials = None
            grant = server.grant_types.get(
                token_request.grant_type, server.default_grant_type_handler
            )
            headers, body, status = grant.create_token_response(
                token_request, server.default_token_type
            )
        except OAuth2Error as error:
            headers, body, status = error.headers, error.json, error.status_code
        if status == 200:
            # Set by the validator's _save_bearer_token; the receivers count on commit.
            token = token_request.issued_access_token
            app_authorized.send(sender=self, request=request, token=token)
        response = HttpResponse(content=body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response


class RevokeTokenView(dot_views.RevokeTokenView):
    """RFC 7009 revocation (§2.2.1 answers errors as RFC 6749 §5.2 does), in one
    transaction: a refresh token stays locked until its family is revoked."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with transaction.atomic():
            response = super().post(request, *args, **kwargs)
        return with_basic_challenge(with_error_description(response))


@method_decorator(csrf_exempt, name="dispatch")
class IntrospectView(OAuthLibMixin, View):
    """RFC 7662 introspection, answering only about the calling client's own tokens.

    §2.1: the request is a POST from an authenticated client (HTTP Basic, or credentials
    in the body per RFC 6749 §2.3.1); §4 lets us answer `active: false` for a token of
    another client, so clients cannot probe each other's tokens.
    """

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        core = self.get_oauthlib_core()
        client = authenticated_client(core, oauthlib_request(core, request))
        if client is None:
            # RFC 7662 §2.3 answers a failed client authentication as RFC 6749 §5.2 does.
            return with_basic_challenge(
                oauth_error("invalid_client", "Client authentication failed.", status=401)
            )
        token_value = request.POST.get("token")
        if not token_value:
            return oauth_error("invalid_request", "Token parameter is missing.", status=400)
        token = selectors.access_token_for_bearer(token=token_value)
        if token is None or token.application_id != client.pk or not token.is_valid():
            return no_store(JsonResponse({"active": False}))
        return no_store(
            JsonResponse(
                {
                    "active": True,
                    "scope": token.scope,
                    "client_id": client.client_id,
                    "username": token.user.get_username() if token.user else None,
                    "token_type": "Bearer",
                    "exp": int(token.expires.timestamp()),
                    "site_uuid": str(token.site.uuid),
                    "site_domain": token.site.domain,
                }
            )
        )


SERVED_GRANT_TYPES = ("authorization_code", "refresh_token")
BASIC_CHALLENGE = 'Basic realm="Real Geeks", charset="UTF-8"'


def with_basic_challenge(response: HttpResponse) -> HttpResponse:
    """RFC 6749 §5.2: a 401 challenges with the scheme clients authenticate with (oauthlib
    sends a Bearer one, which is for resource servers)."""
    if response.status_code == 401:
        response["WWW-Authenticate"] = BASIC_CHALLENGE
    return response


def with_error_description(response: HttpResponse) -> HttpResponse:
    """RFC 6749 §5.2: an error answer says why in `error_description`; oauthlib leaves it
    out of some (client libraries would show an empty message)."""
    if response.status_code not in (400, 401) or not response["Content-Type"].startswith(
        "application/json"
    ):
        return response
    body = json.loads(response.content)
    if not body.get("error_description"):
        body["error_description"] = _TOKEN_ERROR_DESCRIPTIONS.get(body["error"], body["error"])
        response.content = json.dumps(body).encode()
    return response


def no_store(response: HttpResponse) -> HttpResponse:
    """RFC 6749 §5.1: responses carrying token information are not cached."""
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def oauth_error(error: str, description: str, *, status: int) -> HttpResponse:
    """An RFC 6749 §5.2 error response."""
    return no_store(JsonResponse({"error": error, "error_description": description}, status=status))


def oauthlib_request(core: Any, request: HttpRequest) -> OauthlibRequest:
    """The oauthlib request for an HTTP one, built as DOT's OAuthLibCore builds it."""
    uri, http_method, body, headers = core._extract_params(request)
    return OauthlibRequest(uri, http_method, body, headers)


def authenticated_client(core: Any, request: OauthlibRequest) -> Application | None:
    """The confidential client that authenticated this request (RFC 6749 §2.3.1), or None.

    The client is the one DOT's validator authenticated (HTTP Basic first, then the
    body), never one merely named in a header whose secret was wrong.
    """
    if not core.server.request_validator.authenticate_client(request):
        return None
    client = request.client
    # DOT lets a public client "authenticate" without a secret for the device code grant.
    if not isinstance(client, Application) or client.client_type != Application.CLIENT_CONFIDENTIAL:
        return None
    return client
