"""/account/connected-apps/: which applications reach which of my sites, and disconnecting."""

from urllib.parse import urlsplit

import pytest
from django.test import Client

from oauth_provider.models import AccessToken, Connection, Grant, RefreshToken
from subscriptions.models import Subscription
from subscriptions.services import subscription_put
from tests.factories import ApplicationFactory, SiteFactory, UserFactory
from tests.oauth_provider.flow import (
    CONNECTED_APPS,
    LOGIN,
    approve,
    exchange_code,
    page_text,
    query_of,
    refresh,
    signed_in,
    tags,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def connect(browser: Client, application, site) -> dict:
    """Approve `site` for `application` and exchange the code, as PieSync would."""
    code = approve(browser, application, site)["code"]
    response = exchange_code(Client(), application, code)
    assert response.status_code == 200, response.content
    return response.json()


def disconnect_url(connection: Connection) -> str:
    return f"{CONNECTED_APPS}{connection.pk}/disconnect/"


@pytest.fixture
def browser(user) -> Client:
    return signed_in(user)


def test_anonymous_user_is_sent_to_login(db):
    response = Client().get(CONNECTED_APPS)

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == LOGIN
    assert query_of(response["Location"])["next"] == CONNECTED_APPS


def test_connected_apps_page_cannot_be_framed(browser, site):
    response = browser.get(CONNECTED_APPS)

    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Security-Policy"] == "frame-ancestors 'none'"


def test_no_connection_says_so(browser, site):
    response = browser.get(CONNECTED_APPS)

    assert response.status_code == 200
    assert "No application is connected to your sites." in page_text(response)
    assert not tags(response, "table")


def test_lists_the_application_and_site_after_a_code_exchange(browser, site, application):
    connect(browser, application, site)

    response = browser.get(CONNECTED_APPS)

    text = page_text(response)
    assert application.name in text
    assert site.domain in text
    assert "No application is connected" not in text


def test_lists_each_connected_site(browser, user, application):
    first, second = SiteFactory.create(owner=user), SiteFactory.create(owner=user)
    connect(browser, application, first)
    connect(browser, application, second)

    response = browser.get(CONNECTED_APPS)

    assert first.domain in page_text(response)
    assert second.domain in page_text(response)
    # Each row's Disconnect leads to its confirmation.
    links = {link.get("href", "") for link in tags(response, "a")}
    assert {disconnect_url(connection) for connection in Connection.objects.all()} <= links


def test_does_not_list_other_users_connections(browser, site, application):
    stranger = UserFactory.create()
    stranger_site = SiteFactory.create(owner=stranger)
    connect(signed_in(stranger), application, stranger_site)

    response = browser.get(CONNECTED_APPS)

    assert stranger_site.domain not in page_text(response)
    assert "No application is connected to your sites." in page_text(response)


def test_an_approved_but_unexchanged_code_is_not_yet_a_connection(browser, site, application):
    approve(browser, application, site)

    response = browser.get(CONNECTED_APPS)

    assert "No application is connected to your sites." in page_text(response)


def test_disconnect_returns_to_the_list_without_the_application(browser, site, application):
    connect(browser, application, site)
    connection = Connection.objects.get()

    response = browser.post(disconnect_url(connection))

    assert response.status_code == 302
    assert response["Location"] == CONNECTED_APPS
    assert "No application is connected to your sites." in page_text(browser.get(CONNECTED_APPS))


def test_disconnect_removes_the_connection_row(browser, site, application):
    connect(browser, application, site)

    browser.post(disconnect_url(Connection.objects.get()))

    assert not Connection.objects.exists()


def test_disconnect_deletes_the_access_tokens(browser, site, application):
    connect(browser, application, site)

    browser.post(disconnect_url(Connection.objects.get()))

    assert not AccessToken.objects.filter(site=site, application=application).exists()


def test_disconnect_revokes_the_refresh_token(browser, site, application):
    connect(browser, application, site)

    browser.post(disconnect_url(Connection.objects.get()))

    refresh_token = RefreshToken.objects.get(site=site, application=application)
    assert refresh_token.revoked is not None


def test_refresh_after_disconnect_is_invalid_grant(browser, site, application):
    tokens = connect(browser, application, site)

    browser.post(disconnect_url(Connection.objects.get()))
    response = refresh(Client(), application, tokens["refresh_token"])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_refreshed_tokens_are_revoked_too(browser, site, application):
    first = connect(browser, application, site)
    rotated = refresh(Client(), application, first["refresh_token"]).json()

    browser.post(disconnect_url(Connection.objects.get()))

    assert refresh(Client(), application, rotated["refresh_token"]).json()["error"] == (
        "invalid_grant"
    )
    assert not AccessToken.objects.exists()


def test_disconnect_voids_an_unexchanged_code(browser, site, application):
    connect(browser, application, site)
    code = approve(browser, application, site)["code"]

    browser.post(disconnect_url(Connection.objects.get()))
    response = exchange_code(Client(), application, code)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert not Grant.objects.filter(code=code).exists()


def test_disconnect_leaves_the_users_other_site_connected(browser, user, application):
    kept, dropped = SiteFactory.create(owner=user), SiteFactory.create(owner=user)
    kept_tokens = connect(browser, application, kept)
    connect(browser, application, dropped)

    browser.post(disconnect_url(Connection.objects.get(site=dropped)))

    assert Connection.objects.filter(site=kept).exists()
    response = refresh(Client(), application, kept_tokens["refresh_token"])
    assert response.status_code == 200
    assert response.json()["site_uuid"] == str(kept.uuid)


def test_disconnect_leaves_other_applications_on_the_site(browser, site, application):
    other_application = ApplicationFactory.create(name="Other CRM")
    other_tokens = connect(browser, other_application, site)
    connect(browser, application, site)

    browser.post(disconnect_url(Connection.objects.get(application=application)))

    assert Connection.objects.filter(application=other_application).exists()
    assert refresh(Client(), other_application, other_tokens["refresh_token"]).status_code == 200


def test_another_user_cannot_disconnect_my_connection(browser, site, application):
    tokens = connect(browser, application, site)
    connection = Connection.objects.get()
    stranger = signed_in(UserFactory.create())

    stranger.post(disconnect_url(connection))

    assert Connection.objects.filter(pk=connection.pk).exists()
    assert AccessToken.objects.filter(site=site).exists()
    assert refresh(Client(), application, tokens["refresh_token"]).status_code == 200


def test_another_user_sees_nothing_to_disconnect(browser, site, application):
    connect(browser, application, site)
    stranger = signed_in(UserFactory.create())

    response = stranger.post(disconnect_url(Connection.objects.get()), follow=True)

    assert response.status_code == 200
    assert site.domain not in page_text(response)


def test_anonymous_disconnect_is_sent_to_login_and_changes_nothing(browser, site, application):
    connect(browser, application, site)
    connection = Connection.objects.get()

    response = Client().post(disconnect_url(connection))

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == LOGIN
    assert Connection.objects.filter(pk=connection.pk).exists()
    assert AccessToken.objects.exists()


def test_disconnect_without_csrf_token_is_refused(user, site, application):
    connect(signed_in(user), application, site)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)

    response = browser.post(disconnect_url(Connection.objects.get()))

    assert response.status_code == 403
    assert Connection.objects.exists()


def test_disconnect_by_get_only_asks_for_confirmation(browser, site, application):
    connect(browser, application, site)

    response = browser.get(disconnect_url(Connection.objects.get()))

    assert response.status_code == 200
    assert Connection.objects.exists()


def test_disconnecting_twice_is_harmless(browser, site, application):
    connect(browser, application, site)
    url = disconnect_url(Connection.objects.get())
    browser.post(url)

    response = browser.post(url)

    assert response.status_code == 302
    assert response["Location"] == CONNECTED_APPS


def test_reconnecting_after_disconnect_lists_the_application_again(browser, site, application):
    connect(browser, application, site)
    browser.post(disconnect_url(Connection.objects.get()))

    tokens = connect(browser, application, site)

    assert application.name in page_text(browser.get(CONNECTED_APPS))
    assert refresh(Client(), application, tokens["refresh_token"]).status_code == 200


def test_disconnect_deletes_the_applications_subscription_for_the_site(user, site, application):
    connection = Connection.objects.create(site=site, application=application, connected_by=user)
    subscription_put(
        site=site, application=application, url="https://hooks.example.com/x", secret="s"
    )
    browser = signed_in(user)

    response = browser.post(f"/account/connected-apps/{connection.pk}/disconnect/")

    assert response.status_code == 302
    assert not Subscription.objects.filter(site=site, application=application).exists()
    assert not Connection.objects.filter(pk=connection.pk).exists()


# Disconnect asks first, then says what happened


def test_confirmation_names_the_application_and_site_and_posts_back(browser, site, application):
    connect(browser, application, site)
    url = disconnect_url(Connection.objects.get())

    response = browser.get(url)

    text = page_text(response)
    assert f"Disconnect {application.name} from {site.domain}?" in text
    assert "no more of its leads are sent to it" in text
    (form,) = tags(response, "form", action=url)
    assert form["method"] == "post"
    assert tags(response, "input", form={"action": url}, name="csrfmiddlewaretoken")
    assert CONNECTED_APPS in {link.get("href") for link in tags(response, "a")}  # Cancel


def test_confirmation_page_cannot_be_framed(browser, site, application):
    connect(browser, application, site)

    response = browser.get(disconnect_url(Connection.objects.get()))

    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Security-Policy"] == "frame-ancestors 'none'"


def test_confirmation_escapes_the_application_name(browser, site):
    application = ApplicationFactory.create(name="<b>Evil CRM</b>")
    connect(browser, application, site)

    response = browser.get(disconnect_url(Connection.objects.get()))

    assert "<b>Evil CRM</b>" not in response.content.decode()
    assert "&lt;b&gt;Evil CRM&lt;/b&gt;" in response.content.decode()


def test_confirmation_of_another_users_connection_reveals_nothing(browser, application):
    stranger_site = SiteFactory.create()
    connection = Connection.objects.create(site=stranger_site, application=application)

    response = browser.get(disconnect_url(connection), follow=True)

    assert response.redirect_chain == [(CONNECTED_APPS, 302)]
    assert stranger_site.domain not in page_text(response)
    assert "That application is no longer connected" in page_text(response)


def test_disconnect_says_what_happened(browser, site, application):
    connect(browser, application, site)

    response = browser.post(disconnect_url(Connection.objects.get()), follow=True)

    assert (
        f"Disconnected {application.name} from {site.domain}: it can no longer reach this "
        "site, and no more of its leads are sent to it." in page_text(response)
    )
    assert tags(response, "div", role="status")


def test_disconnecting_again_says_there_is_nothing_to_do(browser, site, application):
    connect(browser, application, site)
    url = disconnect_url(Connection.objects.get())
    browser.post(url, follow=True)

    response = browser.post(url, follow=True)

    assert "That application is no longer connected: nothing to do." in page_text(response)
    assert "Disconnected" not in page_text(response)
