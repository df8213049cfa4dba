"""Authorization server metadata (RFC 8414) and the routes we do and do not serve."""

import pytest
from django.test import Client

from tests.oauth_provider.flow import METADATA

BASE = "http://testserver"


@pytest.fixture
def metadata(db) -> dict:
    response = Client().get(METADATA)
    assert response.status_code == 200
    return response.json()


def test_metadata_is_json(db):
    response = Client().get(METADATA)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_issuer_is_the_server_base_url(metadata):
    # RFC 8414 §2/§3.3: the issuer is the URL the metadata was retrieved under.
    assert metadata["issuer"] == BASE


def test_endpoints_are_under_piesync_oauth(metadata):
    assert metadata["authorization_endpoint"] == f"{BASE}/piesync/oauth/authorize/"
    assert metadata["token_endpoint"] == f"{BASE}/piesync/oauth/token/"
    assert metadata["revocation_endpoint"] == f"{BASE}/piesync/oauth/revoke_token/"
    assert metadata["introspection_endpoint"] == f"{BASE}/piesync/oauth/introspect/"


def test_only_the_grants_we_serve_are_advertised(metadata):
    assert metadata["grant_types_supported"] == ["authorization_code", "refresh_token"]


def test_only_the_code_response_type_is_advertised(metadata):
    assert metadata["response_types_supported"] == ["code"]


def test_scopes_are_advertised(metadata):
    assert metadata["scopes_supported"] == ["leadrouter:connect", "leadrouter:send"]


def test_only_s256_pkce_is_advertised(metadata):
    # RFC 9700 §2.1.1: "plain" is not offered.
    assert metadata["code_challenge_methods_supported"] == ["S256"]


def test_iss_authorization_response_parameter_is_advertised(metadata):
    # RFC 9207 §3: we send `iss` with every authorization response.
    assert metadata["authorization_response_iss_parameter_supported"] is True


def test_client_authentication_methods_are_advertised(metadata):
    # RFC 6749 §2.3.1: HTTP Basic, and credentials in the body.
    assert metadata["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]


def test_no_registration_endpoint_is_advertised(metadata):
    assert "registration_endpoint" not in metadata
    assert metadata["client_id_metadata_document_supported"] is False


def test_issuer_follows_the_requested_host(db, settings):
    settings.ALLOWED_HOSTS = ["rg.example.com"]

    body = Client().get(METADATA, HTTP_HOST="rg.example.com", secure=True).json()

    assert body["issuer"] == "https://rg.example.com"
    assert body["token_endpoint"] == "https://rg.example.com/piesync/oauth/token/"


@pytest.mark.parametrize(
    "path",
    [
        "/o/authorize/",
        "/o/token/",
        "/o/revoke_token/",
        "/o/introspect/",
        "/o/applications/",
        "/o/.well-known/openid-configuration",
        "/.well-known/openid-configuration",
    ],
)
def test_django_oauth_toolkit_default_routes_are_not_served(db, path):
    assert Client().get(path).status_code == 404
    assert Client().post(path).status_code == 404
