import contextlib
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import ListView, View
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.scopes import get_scopes_backend
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.common import Request as OauthlibRequest
from oauthlib.oauth2.rfc6749 import errors as oauthlib_errors

from core.errors import NotFound
from ratelimits.limits import token_request_retry_after, too_many_requests
from sites.models import Site
from sites.selectors import sites_owned_by

from . import selectors, services
from .forms import SiteConsentForm
from .models import Application, Connection


class _ConsentRequired(Exception):
    """Raised when django-oauth-toolkit would approve without the consent page."""


# Parameters that, repeated, make the request invalid but still let us trust the
# client and its redirect URI, so RFC 6749 §4.1.2.1 has us redirect with invalid_request.
_REDIRECTABLE_DUPLICATES = ("response_type", "scope", "state")

# For the errors oauthlib raises without a description (RFC 6749 §4.1.2.1).
_ERROR_DESCRIPTIONS = {
    "access_denied": "The user denied the request.",
    "login_required": "The user is not logged in.",
    "invalid_scope": "The requested scope is unknown; the supported scopes are "
    + " ".join(oauth2_settings.SCOPES)
    + ".",
    "unsupported_response_type": "Only response_type=code is supported.",
    "unauthorized_client": "This client may not use the authorization code grant.",
}

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


class SiteAuthorizationView(dot_views.AuthorizationView):
    """The authorization endpoint (RFC 6749 §4.1.1), whose consent includes the site.

    Consent is always shown: choosing the site is part of it, so nothing is approved
    silently, whatever `approval_prompt` or the application's `skip_authorization` say.
    """

    template_name = "oauth_provider/authorize.html"
    form_class = SiteConsentForm  # type: ignore[assignment]  # takes user=, see get_form_kwargs
    chosen_site: Site | None = None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().get(request, *args, **kwargs)
        except _ConsentRequired:
            # DOT had validated the request and built the consent context before trying
            # to approve silently; show that consent instead.
            return self.render_to_response(self.get_context_data(**self.oauth2_data))

    def validate_authorization_request(
        self, request: HttpRequest
    ) -> tuple[list[str], dict[str, Any]]:
        try:
            return super().validate_authorization_request(request)
        except FatalClientError:
            duplicate = self._duplicate_parameter_error(request)
            if duplicate is None:
                raise
            raise duplicate from None
        except OAuthToolkitError as error:
            oauthlib_error = error.oauthlib_error
            if oauthlib_error.error != "unauthorized_client" or oauthlib_error.response_type in (
                None,
                "code",
            ):
                raise
            # oauthlib calls "code token", "none"... unauthorized for this client; they are
            # unsupported for every client: we serve response_type=code only.
            raise OAuthToolkitError(
                error=oauthlib_errors.UnsupportedResponseTypeError(state=oauthlib_error.state),
                redirect_uri=oauthlib_error.redirect_uri,
            ) from None

    @staticmethod
    def _duplicate_parameter_error(request: HttpRequest) -> OAuthToolkitError | None:
        """invalid_request for a repeated parameter, when client and redirect URI are sound.

        oauthlib treats every repeated parameter as fatal; RFC 6749 §4.1.2.1 allows that
        only for a bad client id or redirect URI, and has the rest redirect.
        """
        duplicated = [
            name for name in _REDIRECTABLE_DUPLICATES if len(request.GET.getlist(name)) > 1
        ]
        client_ids = request.GET.getlist("client_id")
        redirect_uris = request.GET.getlist("redirect_uri")
        if not duplicated or len(client_ids) != 1 or len(redirect_uris) != 1:
            return None
        application = Application.objects.filter(client_id=client_ids[0]).first()
        if application is None or not application.redirect_uri_allowed(redirect_uris[0]):
            return None
        return OAuthToolkitError(
            error=oauthlib_errors.InvalidRequestError(
                description=f"Duplicate {duplicated[0]} parameter.",
                # A repeated state has no single value to echo.
                state=None if "state" in duplicated else request.GET.get("state"),
            ),
            redirect_uri=redirect_uris[0],
        )

    def redirect(self, redirect_to: str, application: Application | None) -> HttpResponse:
        """Every authorization response to the client, success or error, passes here.

        Errors get an `error_description` when oauthlib gives none, and every response
        carries `iss` (RFC 9207 §2: "including error responses").
        """
        parts = urlsplit(redirect_to)
        query = [
            (name, value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
            if name != "iss"
        ]
        names = {name for name, _ in query}
        if "error" in names and "error_description" not in names:
            error = dict(query)["error"]
            query.append(("error_description", _ERROR_DESCRIPTIONS.get(error, error)))
        if oauth2_settings.COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS:
            query.append(("iss", oauth2_settings.oauth2_authorization_server_issuer(self.request)))
        return super().redirect(urlunsplit(parts._replace(query=urlencode(query))), application)

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if self.request.user.is_authenticated:
            context["sites"] = list(sites_owned_by(user=self.request.user))
        return context

    def render_to_response(self, context: dict[str, Any], **response_kwargs: Any) -> HttpResponse:
        # An error page wins over the no-site page: the request itself is unsound.
        if "error" not in context and self.request.user.is_authenticated:
            sites = context.get("sites")  # listed by get_context_data; spare a second query
            if sites is None:
                sites = sites_owned_by(user=self.request.user).exists()
            if not sites:
                self.template_name = "oauth_provider/no_site.html"
        return super().render_to_response(context, **response_kwargs)

    def form_valid(self, form: SiteConsentForm) -> HttpResponse:
        self.chosen_site = form.chosen_site
        return super().form_valid(form)

    def form_invalid(self, form: SiteConsentForm) -> HttpResponse:
        application = form.application
        if application is None:
            return self.render_to_response(
                {"error": {"error": "invalid_request", "description": form.non_field_errors()[0]}},
                status=400,
            )
        all_scopes = get_scopes_backend().get_all_scopes()
        scopes = [scope for scope in form.data.get("scope", "").split() if scope in all_scopes]
        context = self.get_context_data(
            form=form,
            application=application,
            scopes=scopes,
            scopes_descriptions=[all_scopes[scope] for scope in scopes],
        )
        return self.render_to_response(context, status=400)

    def create_authorization_response(
        self, request: HttpRequest, scopes: str, credentials: dict[str, Any], allow: bool
    ) -> tuple[str, dict[str, str], str, int]:
        if allow and self.chosen_site is None:
            raise _ConsentRequired
        # oauthlib copies credentials onto its request; the validator stores the site on the grant.
        credentials["site"] = self.chosen_site
        return super().create_authorization_response(request, scopes, credentials, allow)


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
        # Limits first, outside the transaction (the counters must not stay locked).
        application = authenticated_client(self.get_oauthlib_core(), request)
        retry_after = token_request_retry_after(
            request=request, client_id=None if application is None else application.pk
        )
        if retry_after is not None:
            return too_many_requests(retry_after)
        with transaction.atomic():
            response = self.authorization_flow_token_response(request)
        return with_basic_challenge(with_error_description(response))


class RevokeTokenView(dot_views.RevokeTokenView):
    """RFC 7009 revocation (§2.2.1 answers errors as RFC 6749 §5.2 does), in one
    transaction: a refresh token stays locked until its family is revoked."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with transaction.atomic():
            response = super().post(request, *args, **kwargs)
        return with_basic_challenge(with_error_description(response))


class AuthenticatedHttpRequest(HttpRequest):
    """A request behind LoginRequiredMixin: its user is logged in (for the type checker)."""

    user: User


class ConnectedAppsView(LoginRequiredMixin, ListView):  # type: ignore[type-arg]  # generic only in the stubs
    template_name = "oauth_provider/connected_apps.html"
    context_object_name = "connections"
    request: AuthenticatedHttpRequest

    def get_queryset(self) -> QuerySet[Connection]:
        return selectors.connections_of_user(user=self.request.user)


class DisconnectView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request: AuthenticatedHttpRequest, connection_id: int) -> HttpResponseBase:
        # Already disconnected, or not this user's: nothing to do either way.
        with contextlib.suppress(NotFound):
            services.connection_disconnect(user=request.user, connection_id=connection_id)
        return redirect("oauth_provider:connected-apps")


@method_decorator(csrf_exempt, name="dispatch")
class IntrospectView(OAuthLibMixin, View):
    """RFC 7662 introspection, answering only about the calling client's own tokens.

    §2.1: the request is a POST from an authenticated client (HTTP Basic, or credentials
    in the body per RFC 6749 §2.3.1); §4 lets us answer `active: false` for a token of
    another client, so clients cannot probe each other's tokens.
    """

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        client = authenticated_client(self.get_oauthlib_core(), request)
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


def authenticated_client(core: Any, request: HttpRequest) -> Application | None:
    """The confidential client that authenticated this request (RFC 6749 §2.3.1), or None.

    The client is the one DOT's validator authenticated (HTTP Basic first, then the
    body), never one merely named in a header whose secret was wrong.
    """
    uri, http_method, body, headers = core._extract_params(request)
    oauthlib_request = OauthlibRequest(uri, http_method, body, headers)
    if not core.server.request_validator.authenticate_client(oauthlib_request):
        return None
    client = oauthlib_request.client
    # DOT lets a public client "authenticate" without a secret for the device code grant.
    if not isinstance(client, Application) or client.client_type != Application.CLIENT_CONFIDENTIAL:
        return None
    return client
