import base64
import binascii
import contextlib
from typing import Any
from urllib.parse import unquote_plus

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import ListView, View
from oauth2_provider import views as dot_views
from oauth2_provider.scopes import get_scopes_backend

from realgeeks.errors import DomainError
from sites.models import Site
from sites.selectors import sites_owned_by

from . import selectors, services
from .forms import SiteConsentForm
from .models import Application


class SiteAuthorizationView(dot_views.AuthorizationView):
    """The authorization endpoint (RFC 6749 §4.1.1), whose consent includes the site.

    Consent is always shown: choosing the site is part of it, so nothing is approved
    silently.
    """

    template_name = "oauth_provider/authorize.html"
    form_class = SiteConsentForm
    chosen_site: Site | None = None

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if self.request.user.is_authenticated:
            context["sites"] = list(sites_owned_by(user=self.request.user))
        return context

    def get_template_names(self) -> list[str]:
        if (
            self.request.user.is_authenticated
            and not sites_owned_by(user=self.request.user).exists()
        ):
            return ["oauth_provider/no_site.html"]
        return [self.template_name]

    def form_valid(self, form: SiteConsentForm) -> HttpResponse:
        self.chosen_site = form.chosen_site
        return super().form_valid(form)

    def form_invalid(self, form: SiteConsentForm) -> HttpResponse:
        application = Application.objects.filter(client_id=form.data.get("client_id")).first()
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
        with transaction.atomic():
            return super().post(request, *args, **kwargs)


class ConnectedAppsView(LoginRequiredMixin, ListView):
    template_name = "oauth_provider/connected_apps.html"
    context_object_name = "connections"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.connections_of_user(user=self.request.user)


class DisconnectView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, connection_id: int) -> HttpResponseBase:
        # Already disconnected, or not this user's: nothing to do either way.
        with contextlib.suppress(DomainError):
            services.connection_disconnect(user=request.user, connection_id=connection_id)
        return redirect("oauth_provider:connected-apps")


class IntrospectView(dot_views.IntrospectTokenView):
    """RFC 7662 introspection, answering only about the calling client's own tokens.

    §2.1 requires the request to be a POST; §4 lets us answer `active: false` for a
    token of another client, so clients cannot probe each other's tokens.
    """

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token_value = request.POST.get("token")
        if not token_value:
            return JsonResponse(
                {"error": "invalid_request", "error_description": "Token parameter is missing."},
                status=400,
            )
        client_id = authenticated_client_id(request)
        token = selectors.access_token_for_bearer(token=token_value)
        if token is None or token.application.client_id != client_id or not token.is_valid():
            return JsonResponse({"active": False})
        return JsonResponse(
            {
                "active": True,
                "scope": token.scope,
                "client_id": client_id,
                "username": token.user.get_username(),
                "token_type": "Bearer",
                "exp": int(token.expires.timestamp()),
                "site_uuid": str(token.site.uuid),
                "site_domain": token.site.domain,
            }
        )


def authenticated_client_id(request: HttpRequest) -> str | None:
    """The client id of a request DOT has already authenticated (RFC 6749 §2.3.1)."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return unquote_plus(decoded.partition(":")[0])
    return request.POST.get("client_id")
