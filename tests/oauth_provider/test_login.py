"""The Real Geeks login page that stands in front of the authorization endpoint."""

from urllib.parse import urlsplit

from django.http import HttpResponseBase
from django.test import Client

from tests.factories import PASSWORD
from tests.oauth_provider.flow import LOGIN, authorize_url, query_of, tags


def login_page(application) -> tuple[str, Client, HttpResponseBase]:
    """An anonymous browser sent to the login page by an authorize request."""
    browser = Client()
    authorize = authorize_url(application)
    response = browser.get(authorize, follow=True)
    return authorize, browser, response


def test_anonymous_authorize_redirects_to_login_with_next(application):
    url = authorize_url(application)

    response = Client().get(url)

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == LOGIN
    assert query_of(response["Location"])["next"] == url


def test_login_page_carries_the_authorize_request_in_next(application):
    authorize, _, response = login_page(application)

    assert response.status_code == 200
    assert [field["value"] for field in tags(response, "input", name="next")] == [authorize]


def test_login_page_has_a_csrf_token(application):
    _, _, response = login_page(application)

    (token,) = tags(response, "input", name="csrfmiddlewaretoken")
    assert token["type"] == "hidden"
    assert len(token["value"]) >= 32


def test_login_without_csrf_token_is_refused(user):
    browser = Client(enforce_csrf_checks=True)

    response = browser.post(LOGIN, {"username": user.username, "password": PASSWORD})

    assert response.status_code == 403
    assert "_auth_user_id" not in browser.session


def test_login_page_uses_our_own_stylesheet_and_no_cdn(application):
    _, browser, response = login_page(application)

    stylesheets = [link["href"] for link in tags(response, "link", rel="stylesheet")]
    assert stylesheets, "the login page should be styled"
    for href in stylesheets:
        assert not href.startswith(("http:", "https:", "//")), href
        css = browser.get(href)
        assert css.status_code == 200
        assert css["Content-Type"].startswith("text/css")
        assert "@import" not in css.getvalue().decode()
        assert "url(http" not in css.getvalue().decode()
    scripts = [script.get("src", "") for script in tags(response, "script")]
    assert not [src for src in scripts if src.startswith(("http:", "https:", "//"))]


def test_wrong_password_shows_a_clear_message(user, application):
    authorize, browser, _ = login_page(application)

    response = browser.post(
        LOGIN, {"username": user.username, "password": "not the password", "next": authorize}
    )

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert tags(response, "div", role="alert")
    assert "_auth_user_id" not in browser.session


def test_wrong_password_keeps_the_authorize_request(user, application):
    authorize, browser, _ = login_page(application)

    response = browser.post(
        LOGIN, {"username": user.username, "password": "not the password", "next": authorize}
    )

    assert [field["value"] for field in tags(response, "input", name="next")] == [authorize]


def test_correct_login_returns_to_the_authorize_request(user, site, application):
    authorize, browser, _ = login_page(application)

    response = browser.post(
        LOGIN, {"username": user.username, "password": PASSWORD, "next": authorize}
    )

    assert response.status_code == 302
    assert response["Location"] == authorize
    consent = browser.get(response["Location"])
    assert consent.status_code == 200
    assert f"Connect {application.name}" in consent.content.decode()


def test_login_never_redirects_to_another_host(user):
    browser = Client()

    response = browser.post(
        LOGIN,
        {"username": user.username, "password": PASSWORD, "next": "https://evil.example/steal"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/account/connected-apps/"


def test_login_page_cannot_be_framed(client):
    response = client.get("/account/login/")

    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Security-Policy"] == "frame-ancestors 'none'"
