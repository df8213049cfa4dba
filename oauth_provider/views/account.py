"""A person's own pages: logging in, and seeing and disconnecting the applications
connected to their sites."""

from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.generic import TemplateView, View

from core.errors import NotFound

from .. import presenters, selectors, services
from ..models import Application


class AuthenticatedHttpRequest(HttpRequest):
    """A request behind LoginRequiredMixin: its user is logged in (for the type checker)."""

    user: User


class LoginView(auth_views.LoginView):
    """Django's login page, which names the application asking when it stands in front
    of an authorization request."""

    template_name = "oauth_provider/login.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        # Django's own check of `next` first: only a URL on this site is looked at.
        context["asking_application"] = _asking_application(self.get_redirect_url())
        return context


def _asking_application(next_url: str) -> Application | None:
    """The registered application of an authorization URL; None for any other URL, an
    unknown or repeated client_id, or one no query can carry."""
    parts = urlsplit(next_url)
    if parts.path != reverse("oauth2_provider:authorize"):
        return None
    client_ids = parse_qs(parts.query).get("client_id", [])
    if len(client_ids) != 1:
        return None
    return selectors.application_for_client_id(client_id=client_ids[0])


class ConnectedAppsView(LoginRequiredMixin, TemplateView):
    template_name = "oauth_provider/connected_apps.html"
    request: AuthenticatedHttpRequest

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        rows = selectors.connected_apps_of_user(user=self.request.user)
        return super().get_context_data(
            connected_apps=[presenters.connected_app_row(row) for row in rows], **kwargs
        )


class DisconnectView(LoginRequiredMixin, View):
    """GET asks for confirmation; POST disconnects, and says so on the connected-apps page."""

    http_method_names = ["get", "post"]

    def get(self, request: AuthenticatedHttpRequest, connection_id: int) -> HttpResponse:
        connection = selectors.connection_of_user(user=request.user, connection_id=connection_id)
        if connection is None:
            return self._already_gone(request)
        return render(request, "oauth_provider/disconnect.html", {"connection": connection})

    def post(self, request: AuthenticatedHttpRequest, connection_id: int) -> HttpResponseBase:
        connection = selectors.connection_of_user(user=request.user, connection_id=connection_id)
        if connection is None:  # already disconnected, or not this user's
            return self._already_gone(request)
        try:
            services.connection_disconnect(user=request.user, connection_id=connection_id)
        except NotFound:  # disconnected meanwhile
            return self._already_gone(request)
        messages.success(
            request,
            f"Disconnected {connection.application.name} from {connection.site.domain}: it "
            "can no longer reach this site, and no more of its leads are sent to it.",
        )
        return redirect("oauth_provider:connected-apps")

    @staticmethod
    def _already_gone(request: HttpRequest) -> HttpResponse:
        messages.info(request, "That application is no longer connected: nothing to do.")
        return redirect("oauth_provider:connected-apps")
