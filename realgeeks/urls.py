from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path, reverse_lazy
from django.utils.functional import lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.health import healthz, readyz
from core.lockout import AdminLoginForm
from core.metrics import metrics_view
from oauth_provider import urls as oauth_urls

# The admin login says so when django-axes locked the account out (core.lockout).
admin.site.login_form = AdminLoginForm
admin.site.site_header = admin.site.site_title = "Real Geeks admin"
admin.site.index_title = "Leads, sites and partners"
# "View site": the service has no home page ("/" is a 404); the connected-apps page is
# where every Real Geeks user, admins too, lands after logging in. Lazy: resolved when
# rendered, once this URLconf has loaded.
admin.site.site_url = reverse_lazy("oauth_provider:connected-apps")  # type: ignore[assignment]
# The change lists get the whole width of a 1280 px screen; the breadcrumbs and the index
# still lead everywhere.
admin.site.enable_nav_sidebar = False

READ = ["get", "head"]

# Tried in order, and no two patterns match one path: the partners' APIs come first,
# busiest first (leads, then subscriptions, then tokens), so that resolving their
# requests tries few other patterns.
urlpatterns = [
    path("rest/", include("leads.urls")),
    path("", include("subscriptions.urls")),
    path("", include((oauth_urls.oauth2_provider_urlpatterns, "oauth2_provider"))),
    path("", include(oauth_urls.login_urlpatterns)),
    path("account/", include((oauth_urls.account_urlpatterns, "oauth_provider"))),
    # GET and HEAD only: DRF would answer OPTIONS by rendering empty metadata with these
    # views' YAML and HTML renderers (core/metadata.py).
    path("piesync/schema/", SpectacularAPIView.as_view(http_method_names=READ), name="schema"),
    path(
        "piesync/docs/",
        SpectacularSwaggerView.as_view(url_name="schema", http_method_names=READ),
        name="docs",
    ),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    # For what names no icon (the admin, a JSON error): the one our pages link to.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("core/favicon.svg"))),
]
