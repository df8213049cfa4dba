from django.test import Client

from tests.factories import SiteFactory
from tests.oauth_provider.flow import approve, exchange_code, logged_in_client, refresh


def test_code_exchange_returns_tokens_bound_to_the_chosen_site(user, application):
    SiteFactory.create(owner=user)
    second_site = SiteFactory.create(owner=user)
    browser = logged_in_client(user)

    redirect = approve(browser, application, second_site)
    response = exchange_code(Client(), application, redirect["code"])

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "leadrouter:connect leadrouter:send"
    assert body["site_uuid"] == str(second_site.uuid)
    assert body["site_domain"] == second_site.domain
    assert body["access_token"] and body["refresh_token"] and body["expires_in"] > 0


def test_refresh_keeps_the_site(user, site, application):
    redirect = approve(logged_in_client(user), application, site)
    first = exchange_code(Client(), application, redirect["code"]).json()

    response = refresh(Client(), application, first["refresh_token"])

    assert response.status_code == 200
    body = response.json()
    assert body["site_uuid"] == str(site.uuid)
    assert body["site_domain"] == site.domain
    assert body["refresh_token"] != first["refresh_token"]
