"""The OAuth admin: applications, grants and tokens visible, secrets and tokens masked."""

import pytest
from django.test import Client

from oauth_provider.models import AccessToken, Application, Connection, Grant, RefreshToken
from tests.factories import CLIENT_SECRET
from tests.oauth_provider.flow import obtain_tokens

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

ADMIN = "/admin/oauth_provider"


@pytest.fixture
def tokens(site, application) -> dict:
    body = obtain_tokens(application, site)
    body["code"] = Grant.objects.get().code
    return body


def assert_no_credentials(page: str, tokens: dict) -> None:
    assert tokens["access_token"] not in page
    assert tokens["refresh_token"] not in page
    assert tokens["code"] not in page
    assert CLIENT_SECRET not in page


@pytest.mark.parametrize(
    "model", ["application", "accesstoken", "refreshtoken", "grant", "connection"]
)
def test_changelist_renders_without_credentials(admin_client, tokens, model):
    response = admin_client.get(f"{ADMIN}/{model}/")

    assert response.status_code == 200
    assert_no_credentials(response.content.decode(), tokens)


@pytest.mark.parametrize(
    ("model", "row"),
    [
        ("application", lambda: Application.objects.get()),
        ("accesstoken", lambda: AccessToken.objects.get()),
        ("refreshtoken", lambda: RefreshToken.objects.get()),
        ("grant", lambda: Grant.objects.get()),
        ("connection", lambda: Connection.objects.get()),
    ],
)
def test_change_page_renders_without_credentials(admin_client, tokens, model, row):
    response = admin_client.get(f"{ADMIN}/{model}/{row().pk}/change/")

    assert response.status_code == 200
    assert_no_credentials(response.content.decode(), tokens)


def test_grant_changelist_shows_only_a_masked_code(admin_client, tokens):
    page = admin_client.get(f"{ADMIN}/grant/").content.decode()

    assert f"…{tokens['code'][-4:]}" in page


def test_changelists_show_the_site(admin_client, site, tokens):
    for model in ("accesstoken", "refreshtoken", "grant", "connection"):
        page = admin_client.get(f"{ADMIN}/{model}/").content.decode()
        assert site.domain in page, model


def test_tokens_are_searchable_by_site_domain(admin_client, site, tokens):
    response = admin_client.get(f"{ADMIN}/accesstoken/", {"q": site.domain})

    assert response.status_code == 200
    assert "1 access token" in response.content.decode()


def test_tokens_are_not_searchable_by_their_value(admin_client, tokens):
    response = admin_client.get(f"{ADMIN}/accesstoken/", {"q": tokens["access_token"]})

    assert response.status_code == 200
    assert "0 access tokens" in response.content.decode()


def test_application_is_searchable_by_client_id(admin_client, application, tokens):
    response = admin_client.get(f"{ADMIN}/application/", {"q": application.client_id})

    assert "1 application" in response.content.decode()


def test_revoke_action_revokes_the_access_token_and_its_refresh_token(
    admin_client, application, tokens
):
    token = AccessToken.objects.get()

    response = admin_client.post(
        f"{ADMIN}/accesstoken/",
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
    )

    assert response.status_code == 302
    assert not AccessToken.objects.exists()
    assert RefreshToken.objects.get().revoked is not None


def test_non_staff_users_cannot_see_tokens(site, tokens):
    client = Client()
    client.force_login(site.owner)

    response = client.get(f"{ADMIN}/accesstoken/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
