"""The pages where a person sees and disconnects the applications connected to their sites."""

import contextlib

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.views.generic import ListView, View

from core.errors import NotFound

from .. import selectors, services
from ..models import Connection


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
