"""The OAuth endpoints on the published schema and its Swagger page (`/piesync/docs/`),
beside the subscription API (tests/subscriptions/test_openapi.py)."""

import pytest
from django.test import Client

from tests.oauth_provider.flow import authorize_url

pytestmark = pytest.mark.django_db

AUTHORIZE = "/piesync/oauth/authorize/"
TOKEN = "/piesync/oauth/token/"


@pytest.fixture
def schema() -> dict:
    response = Client().get("/piesync/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_the_authorize_endpoint_is_listed_before_the_token_endpoint(schema):
    paths = list(schema["paths"])

    assert paths.index(AUTHORIZE) == paths.index(TOKEN) - 1
    assert list(schema["paths"][AUTHORIZE]) == ["get"]


def test_authorize_documents_its_parameters(schema):
    parameters = {p["name"]: p for p in schema["paths"][AUTHORIZE]["get"]["parameters"]}

    assert set(parameters) == {
        "client_id",
        "response_type",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    }
    assert {name for name, p in parameters.items() if p["required"]} == {
        "client_id",
        "response_type",
        "redirect_uri",
    }
    assert parameters["code_challenge_method"]["schema"]["enum"] == ["S256"]


def test_authorize_documents_the_page_the_redirect_and_the_error_page(schema):
    responses = schema["paths"][AUTHORIZE]["get"]["responses"]

    assert set(responses) == {"200", "302", "400"}
    assert "iss" in responses["302"]["description"]


def test_a_logged_out_authorize_request_redirects_to_login_as_documented(application):
    response = Client().get(authorize_url(application))

    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/")


def test_an_unknown_client_gets_the_documented_400_page(user, application):
    browser = Client()
    browser.force_login(user)
    application.client_id = "someone-else"  # not saved: an unregistered client id

    response = browser.get(authorize_url(application))

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert not response.has_header("Location")


def test_the_docs_page_shows_the_authorize_endpoint():
    # Swagger UI draws the page from the schema it fetches: the page names that schema.
    page = Client().get("/piesync/docs/")

    assert page.status_code == 200
    assert b"/piesync/schema/" in page.content
