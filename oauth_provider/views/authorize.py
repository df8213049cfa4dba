"""The authorization endpoint: a person's consent, which includes the site."""

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.http import HttpRequest, HttpResponse
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.scopes import get_scopes_backend
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors as oauthlib_errors

from sites.models import Site
from sites.selectors import sites_owned_by

from ..forms import SiteConsentForm
from ..models import Application


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

# The error page leads with what a person can understand; the code stays for support.
_ERROR_SENTENCES: list[tuple[tuple[type[oauthlib_errors.OAuth2Error], ...], str]] = [
    (
        (oauthlib_errors.MissingClientIdError, oauthlib_errors.InvalidClientIdError),
        "The link that brought you here does not name an application registered with Real Geeks.",
    ),
    (
        (
            oauthlib_errors.MissingRedirectURIError,
            oauthlib_errors.InvalidRedirectURIError,
            oauthlib_errors.MismatchingRedirectURIError,
        ),
        "The application asked to send you back to an address it has not registered with "
        "Real Geeks, so Real Geeks will not send you there.",
    ),
]
_ERROR_SENTENCE_OTHERWISE = (
    "The link that brought you here is not a connection request Real Geeks can accept."
)


def _error_sentence(error: oauthlib_errors.OAuth2Error) -> str:
    for kinds, sentence in _ERROR_SENTENCES:
        if isinstance(error, kinds):
            return sentence
    return _ERROR_SENTENCE_OTHERWISE


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
        if "error" in context:
            context["error_message"] = _error_sentence(context["error"])
        elif self.request.user.is_authenticated:
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
            error = oauthlib_errors.InvalidClientIdError(description=form.non_field_errors()[0])
            return self.render_to_response({"error": error}, status=400)
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
