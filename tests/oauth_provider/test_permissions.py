"""PartnerCanReachSite: the one way a partner request is accepted for the site in its path,
on a view that takes bearer tokens only (as the Subscription API does) and on one that
also takes client credentials (as the Incoming Leads API does)."""

import uuid

import pytest
from django.test import RequestFactory
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import JsonAPIView
from oauth_provider.authentication import BearerTokenAuthentication
from oauth_provider.client_authentication import ClientCredentialsAuthentication
from oauth_provider.models import Connection
from oauth_provider.permissions import PartnerCanReachSite, partner_site
from oauth_provider.selectors import BearerToken
from tests.factories import SiteFactory, issue_access_token
from tests.oauth_provider.flow import basic_auth

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


class TokenView(JsonAPIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [PartnerCanReachSite]
    required_scope = "leadrouter:connect"

    def get(self, request: Request, site_uuid: str) -> Response:
        return Response({"site": str(partner_site(request).uuid)})


class TokenOrClientView(TokenView):
    authentication_classes = [ClientCredentialsAuthentication, BearerTokenAuthentication]
    required_scope = "leadrouter:send"


def get(view, site_uuid, authorization: str | None = None):
    headers = {"Authorization": authorization} if authorization else {}
    return view.as_view()(RequestFactory().get("/", headers=headers), site_uuid=str(site_uuid))


def bearer(site, application, scope: str = "leadrouter:connect leadrouter:send") -> str:
    return f"Bearer {issue_access_token(site=site, application=application, scope=scope)}"


@pytest.fixture
def connected(site, application):
    Connection.objects.create(site=site, application=application, connected_by=site.owner)
    return application


def assert_site_not_found(response) -> None:
    assert (response.status_code, response.data) == (404, {"error": "Site not found"})


# --- bearer tokens ------------------------------------------------------------------------


@pytest.mark.parametrize("view", [TokenView, TokenOrClientView])
def test_a_token_reaches_its_own_site_without_looking_it_up(
    view, site, application, django_assert_num_queries
):
    authorization = bearer(site, application)

    with django_assert_num_queries(1):  # the token, its site joined
        response = get(view, site.uuid, authorization)

    assert (response.status_code, response.data) == (200, {"site": str(site.uuid)})


def test_a_token_is_a_bearer_token_with_its_site_and_a_user_read_only_when_asked_for(
    site, application, django_assert_num_queries
):
    token = issue_access_token(site=site, application=application, scope="leadrouter:connect")
    request = Request(
        RequestFactory().get("/", headers={"Authorization": f"Bearer {token}"}),
        authenticators=[BearerTokenAuthentication()],
    )
    view = TokenView(kwargs={"site_uuid": str(site.uuid)})
    owner = site.owner.username

    with django_assert_num_queries(1):  # the token and its site
        assert PartnerCanReachSite().has_permission(request, view)
        auth, user = request.auth, request.user

    assert isinstance(auth, BearerToken)
    assert (auth.application_id, auth.scope) == (application.pk, "leadrouter:connect")
    assert (auth.site.pk, auth.site.uuid, auth.site.domain) == (site.pk, site.uuid, site.domain)
    assert partner_site(request) is auth.site
    with django_assert_num_queries(1):
        assert user.username == owner


def test_the_site_uuid_may_be_written_in_uppercase(site, application):
    response = get(TokenView, str(site.uuid).upper(), bearer(site, application))

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("view", "scope"), [(TokenView, "leadrouter:send"), (TokenOrClientView, "leadrouter:connect")]
)
@pytest.mark.parametrize("path_site", ["own", "other", "malformed"])
def test_a_token_without_the_views_scope_is_403_whatever_the_site(
    view, scope, path_site, user, site, application
):
    other = SiteFactory.create(owner=user)
    site_uuid = {"own": site.uuid, "other": other.uuid, "malformed": "not-a-uuid"}[path_site]
    missing = view.required_scope

    response = get(view, site_uuid, bearer(site, application, scope=scope))

    assert response.status_code == 403
    assert response.data == {"error": f"The access token lacks the {missing} scope"}
    assert response["WWW-Authenticate"] == (
        f'Bearer realm="Real Geeks", error="insufficient_scope", scope="{missing}"'
    )


@pytest.mark.parametrize("view", [TokenView, TokenOrClientView])
def test_a_token_for_another_site_is_404(view, user, site, application):
    other = SiteFactory.create(owner=user)

    assert_site_not_found(get(view, other.uuid, bearer(site, application)))


@pytest.mark.parametrize("view", [TokenView, TokenOrClientView])
@pytest.mark.parametrize("site_uuid", ["not-a-uuid", "123", str(uuid.uuid4())[:-1]])
def test_a_malformed_site_uuid_is_the_same_404(view, site_uuid, site, application):
    assert_site_not_found(get(view, site_uuid, bearer(site, application)))


def test_no_token_is_401_with_a_bare_bearer_challenge(site):
    response = get(TokenView, site.uuid)

    assert (response.status_code, response.data) == (401, {"error": "Missing access token"})
    assert response["WWW-Authenticate"] == 'Bearer realm="Real Geeks"'


def test_client_credentials_are_not_a_token(site, connected):
    response = get(TokenView, site.uuid, basic_auth(connected.client_id))

    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


# --- client credentials -------------------------------------------------------------------


def test_client_credentials_reach_a_connected_site(site, connected):
    response = get(TokenOrClientView, site.uuid, basic_auth(connected.client_id))

    assert (response.status_code, response.data) == (200, {"site": str(site.uuid)})


def test_client_credentials_for_a_site_not_connected_to_the_client_are_404(user, connected):
    unconnected = SiteFactory.create(owner=user)

    assert_site_not_found(get(TokenOrClientView, unconnected.uuid, basic_auth(connected.client_id)))


def test_client_credentials_with_a_malformed_site_uuid_are_404(connected):
    assert_site_not_found(get(TokenOrClientView, "not-a-uuid", basic_auth(connected.client_id)))


def test_no_credentials_is_401_with_the_basic_challenge(site):
    response = get(TokenOrClientView, site.uuid)

    assert response.status_code == 401
    assert response.data == {"error": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == 'Basic realm="Real Geeks"'


def test_options_is_answered_after_the_same_checks_as_the_other_methods(user, site, application):
    other = SiteFactory.create(owner=user)
    headers = {"Authorization": bearer(site, application)}

    def options(site_uuid):
        request = RequestFactory().options("/", headers=headers)
        return TokenView.as_view()(request, site_uuid=str(site_uuid))

    assert options(site.uuid).status_code == 200
    assert_site_not_found(options(other.uuid))


# --- the site left for the view -----------------------------------------------------------


def test_partner_site_refuses_a_request_the_permission_did_not_accept():
    request = Request(RequestFactory().get("/"))

    with pytest.raises(TypeError):
        partner_site(request)
