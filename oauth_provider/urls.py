from django.contrib.auth import views as auth_views
from django.urls import path
from oauth2_provider import views as dot_views

from core.lockout import LoginForm
from ratelimits.limits import limit_failed_client_authentication

from .headers import no_framing
from .views import account, authorize, tokens

# In django-oauth-toolkit's namespace, so that its metadata view advertises them.
oauth2_provider_urlpatterns = [
    path(
        "piesync/oauth/authorize/",
        no_framing(authorize.SiteAuthorizationView.as_view()),
        name="authorize",
    ),
    path(
        "piesync/oauth/token/",
        limit_failed_client_authentication(tokens.TokenView.as_view()),
        name="token",
    ),
    path(
        "piesync/oauth/revoke_token/",
        limit_failed_client_authentication(tokens.RevokeTokenView.as_view()),
        name="revoke-token",
    ),
    path(
        "piesync/oauth/introspect/",
        limit_failed_client_authentication(tokens.IntrospectView.as_view()),
        name="introspect",
    ),
    path(
        ".well-known/oauth-authorization-server",
        dot_views.OAuthServerMetadataView.as_view(),
        name="oauth-server-metadata",
    ),
]

account_urlpatterns = [
    path("connected-apps/", no_framing(account.ConnectedAppsView.as_view()), name="connected-apps"),
    path(
        "connected-apps/<int:connection_id>/disconnect/",
        no_framing(account.DisconnectView.as_view()),
        name="disconnect",
    ),
]

login_urlpatterns = [
    path(
        "account/login/",
        no_framing(account.LoginView.as_view(authentication_form=LoginForm)),
        name="login",
    ),
    path("account/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
