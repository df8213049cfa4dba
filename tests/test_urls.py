"""The root URLconf (realgeeks/urls.py): every path reaches its own route, and the
partners' busiest requests are resolved trying few other patterns."""

import pytest
from django.urls import resolve

SITE = "0f8fad5b-d9cb-469f-a165-70867728950e"
LEAD = "7c9e6679742540de944be07fc1f90ae7"


@pytest.mark.parametrize(
    ("path", "route"),
    [
        (f"/rest/sites/{SITE}/leads", "leads"),
        (f"/rest/sites/{SITE}/leads/{LEAD}", "lead"),
        (f"/rest/sites/{SITE}/leads/{LEAD}/activities", "lead-activities"),
        (f"/rest/sites/{SITE}/potential-seller-leads", "potential-seller-leads"),
        (f"/piesync/subscription/{SITE}/", "subscription"),
        (f"/piesync/subscription/{SITE}", "subscription"),
        ("/piesync/oauth/authorize/", "oauth2_provider:authorize"),
        ("/piesync/oauth/token/", "oauth2_provider:token"),
        ("/piesync/oauth/revoke_token/", "oauth2_provider:revoke-token"),
        ("/piesync/oauth/introspect/", "oauth2_provider:introspect"),
        ("/.well-known/oauth-authorization-server", "oauth2_provider:oauth-server-metadata"),
        ("/account/login/", "login"),
        ("/account/logout/", "logout"),
        ("/account/connected-apps/", "oauth_provider:connected-apps"),
        ("/account/connected-apps/3/disconnect/", "oauth_provider:disconnect"),
        ("/piesync/schema/", "schema"),
        ("/piesync/docs/", "docs"),
        ("/admin/", "admin:index"),
        ("/healthz", "healthz"),
        ("/readyz", "readyz"),
        ("/metrics", "metrics"),
    ],
)
def test_each_path_reaches_its_own_route(path: str, route: str) -> None:
    assert resolve(path).view_name == route


def test_a_lead_is_routed_by_the_first_pattern_tried() -> None:
    # ResolverMatch.tried ends with the pattern that matched.
    assert len(resolve(f"/rest/sites/{SITE}/leads").tried or []) == 1


def test_a_subscription_is_routed_past_the_leads_prefix_alone() -> None:
    assert len(resolve(f"/piesync/subscription/{SITE}/").tried or []) == 2
