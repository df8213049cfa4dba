"""The Real Geeks login page that stands in front of the authorization endpoint."""

from urllib.parse import urlencode, urlsplit

import pytest
from django.http import HttpResponseBase
from django.test import Client

from tests.factories import PASSWORD, ApplicationFactory
from tests.oauth_provider.flow import AUTHORIZE, LOGIN, authorize_url, page_text, query_of, tags


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


# Which application is asking


def login_page_for(next_url: str):
    return Client().get(LOGIN, {"next": next_url})


def test_login_page_from_an_authorize_link_names_the_application(application):
    _, _, response = login_page(application)

    assert (
        f"<strong>{application.name}</strong> is asking to connect to your Real Geeks website."
        in page_text(response)
    )


def test_login_page_keeps_naming_the_application_after_a_wrong_password(user, application):
    authorize, browser, _ = login_page(application)

    response = browser.post(
        LOGIN, {"username": user.username, "password": "not the password", "next": authorize}
    )

    assert f"<strong>{application.name}</strong> is asking" in page_text(response)


def test_login_page_without_an_authorize_link_names_no_application(application):
    response = login_page_for("/account/connected-apps/")

    assert response.status_code == 200
    assert "Use your Real Geeks account." in page_text(response)
    assert "is asking" not in page_text(response)


@pytest.mark.parametrize(
    "client_id",
    [
        "unknown-client",
        "<script>alert(1)</script>",
        "nul\x00byte",
        "lone\ud800surrogate",
        "x" * 5000,
        "",
    ],
)
def test_login_page_for_an_unknown_or_malformed_client_says_nothing_special(db, client_id):
    response = login_page_for(
        f"{AUTHORIZE}?{urlencode({'client_id': client_id}, errors='surrogatepass')}"
    )

    assert response.status_code == 200
    assert "is asking" not in page_text(response)
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_login_page_names_no_application_for_a_repeated_client_id(application):
    other = ApplicationFactory.create(name="Other CRM")
    query = urlencode([("client_id", application.client_id), ("client_id", other.client_id)])

    response = login_page_for(f"{AUTHORIZE}?{query}")

    assert "is asking" not in page_text(response)


def test_login_page_names_no_application_for_another_hosts_authorize_link(application):
    response = login_page_for(f"https://evil.example{authorize_url(application)}")

    assert "is asking" not in page_text(response)


def test_login_page_escapes_the_application_name(db):
    application = ApplicationFactory.create(name="<img src=x onerror=alert(1)>")

    response = login_page_for(authorize_url(application))

    markup = response.content.decode()
    assert "<img src=x" not in markup
    assert "<strong>&lt;img src=x onerror=alert(1)&gt;</strong> is asking" in markup
