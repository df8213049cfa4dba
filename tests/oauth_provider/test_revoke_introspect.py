"""Revocation (RFC 7009) and introspection (RFC 7662) for PieSync's own tokens."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from oauth_provider.models import AccessToken, Application, RefreshToken
from tests.factories import CLIENT_SECRET, ApplicationFactory
from tests.oauth_provider.flow import (
    INTROSPECT,
    REVOKE,
    basic_auth,
    introspect,
    obtain_tokens,
    refresh,
    revoke,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

OTHER_SECRET = "another-client-secret-" + "o" * 40


@pytest.fixture
def tokens(site, application) -> dict:
    return obtain_tokens(application, site)


@pytest.fixture
def other_application(db) -> Application:
    return ApplicationFactory.create(name="Other partner", client_secret=OTHER_SECRET)


# --- Revocation (RFC 7009) ------------------------------------------------------------


def test_revoking_an_access_token_returns_200(application, tokens):
    response = revoke(application, tokens["access_token"], token_type_hint="access_token")

    assert response.status_code == 200


def test_revoked_access_token_is_no_longer_active(application, tokens):
    revoke(application, tokens["access_token"], token_type_hint="access_token")

    assert introspect(application, tokens["access_token"]).json() == {"active": False}
    assert not AccessToken.objects.exists()


def test_revoking_an_access_token_also_revokes_its_refresh_token(application, tokens):
    # RFC 7009 §2.1: revoking an access token MAY revoke its refresh token; we do, so a
    # revoked connection cannot mint itself a new access token.
    revoke(application, tokens["access_token"])

    assert refresh(Client(), application, tokens["refresh_token"]).status_code == 400


def test_revoking_a_refresh_token_returns_200(application, tokens):
    response = revoke(application, tokens["refresh_token"], token_type_hint="refresh_token")

    assert response.status_code == 200


def test_revoked_refresh_token_cannot_be_used(application, tokens):
    revoke(application, tokens["refresh_token"], token_type_hint="refresh_token")

    response = refresh(Client(), application, tokens["refresh_token"])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_revoking_a_refresh_token_also_revokes_its_access_token(application, tokens):
    # RFC 7009 §2.1: revoking a refresh token SHOULD also invalidate its access tokens.
    revoke(application, tokens["refresh_token"], token_type_hint="refresh_token")

    assert introspect(application, tokens["access_token"]).json() == {"active": False}


def test_revoking_a_rotated_refresh_token_revokes_the_access_token_refreshed_from_it(
    application, tokens
):
    # RFC 7009 §2.1: revoking a refresh token SHOULD invalidate every access token "based
    # on the same authorization grant": the family, also what a refresh issued from it.
    refreshed = refresh(Client(), application, tokens["refresh_token"]).json()

    revoke(application, tokens["refresh_token"], token_type_hint="refresh_token")

    assert introspect(application, refreshed["access_token"]).json() == {"active": False}


def test_revoking_a_rotated_refresh_token_revokes_the_refresh_token_that_replaced_it(
    application, tokens
):
    refreshed = refresh(Client(), application, tokens["refresh_token"]).json()

    revoke(application, tokens["refresh_token"], token_type_hint="refresh_token")

    assert refresh(Client(), application, refreshed["refresh_token"]).status_code == 400


def test_revoking_a_refresh_token_without_a_family_revokes_it(application, tokens):
    # DOT's field allows a token outside any family (one written before families existed).
    RefreshToken.objects.update(token_family=None)

    revoke(application, tokens["refresh_token"], token_type_hint="refresh_token")

    assert refresh(Client(), application, tokens["refresh_token"]).status_code == 400


def test_revoking_without_a_hint_finds_the_refresh_token(application, tokens):
    # RFC 7009 §2.1: the server extends its search across all token types.
    revoke(application, tokens["refresh_token"])

    assert RefreshToken.objects.get().revoked is not None


def test_revoking_with_a_wrong_hint_still_finds_the_token(application, tokens):
    revoke(application, tokens["refresh_token"], token_type_hint="access_token")

    assert RefreshToken.objects.get().revoked is not None


def test_revoking_an_unknown_token_returns_200(application, tokens):
    # RFC 7009 §2.2: invalid tokens do not cause an error response.
    response = revoke(application, "no-such-token")

    assert response.status_code == 200


def test_another_client_cannot_revoke_the_token(application, other_application, tokens):
    # RFC 7009 §2.1: the server verifies the token was issued to the requesting client.
    response = Client().post(
        REVOKE,
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(other_application.client_id, OTHER_SECRET),
    )

    assert response.status_code == 200
    assert introspect(application, tokens["access_token"]).json()["active"] is True


def test_another_client_cannot_revoke_the_refresh_token(application, other_application, tokens):
    Client().post(
        REVOKE,
        {"token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth(other_application.client_id, OTHER_SECRET),
    )

    assert refresh(Client(), application, tokens["refresh_token"]).status_code == 200


def test_revocation_with_a_wrong_secret_is_401_invalid_client(application, tokens):
    response = Client().post(
        REVOKE,
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, "wrong-secret"),
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert introspect(application, tokens["access_token"]).json()["active"] is True


def test_revocation_with_a_wrong_secret_says_why(application, tokens):
    # RFC 7009 §2.2.1 answers errors as RFC 6749 §5.2 does, error_description included.
    response = Client().post(
        REVOKE,
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, "wrong-secret"),
    )

    assert response.json()["error_description"] == "Client authentication failed."


def test_revocation_without_client_authentication_is_refused(application, tokens):
    response = Client().post(REVOKE, {"token": tokens["access_token"]})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert introspect(application, tokens["access_token"]).json()["active"] is True


def test_revocation_with_body_credentials_works(application, tokens):
    # RFC 6749 §2.3.1, referenced by RFC 7009 §2.1.
    response = Client().post(
        REVOKE,
        {
            "token": tokens["access_token"],
            "client_id": application.client_id,
            "client_secret": CLIENT_SECRET,
        },
    )

    assert response.status_code == 200
    assert introspect(application, tokens["access_token"]).json() == {"active": False}


def test_revocation_without_a_token_is_invalid_request(application):
    response = Client().post(REVOKE, {}, HTTP_AUTHORIZATION=basic_auth(application.client_id))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_revocation_by_get_is_refused(application, tokens):
    # RFC 7009 §2.1: the client sends an HTTP POST.
    response = Client().get(
        REVOKE,
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )

    assert response.status_code == 405
    assert introspect(application, tokens["access_token"]).json()["active"] is True


# --- Introspection (RFC 7662) ---------------------------------------------------------


def test_introspecting_an_own_token_is_active_with_its_details(site, application, tokens):
    response = introspect(application, tokens["access_token"])

    assert response.status_code == 200
    body = response.json()
    assert body["active"] is True
    assert body["scope"] == "leadrouter:connect leadrouter:send"
    assert body["client_id"] == application.client_id
    assert body["token_type"] == "Bearer"
    assert (body["site_uuid"], body["site_domain"]) == (str(site.uuid), site.domain)


def test_introspection_exp_is_the_tokens_expiry_in_epoch_seconds(application, tokens):
    # RFC 7662 §2.2: exp is seconds since 1970-01-01T00:00:00Z UTC.
    body = introspect(application, tokens["access_token"]).json()

    assert body["exp"] == int(AccessToken.objects.get().expires.timestamp())
    assert body["exp"] > timezone.now().timestamp()


def test_introspection_with_body_credentials_works(application, tokens):
    response = Client().post(
        INTROSPECT,
        {
            "token": tokens["access_token"],
            "client_id": application.client_id,
            "client_secret": CLIENT_SECRET,
        },
    )

    assert response.status_code == 200
    assert response.json()["active"] is True


def test_introspection_response_is_not_cacheable(application, tokens):
    response = introspect(application, tokens["access_token"])

    assert response["Cache-Control"] == "no-store"


def test_another_clients_token_is_inactive(application, other_application, tokens):
    # RFC 7662 §4: clients must not learn about each other's tokens.
    response = introspect(other_application, tokens["access_token"], secret=OTHER_SECRET)

    assert response.status_code == 200
    assert response.json() == {"active": False}


def test_a_basic_header_for_another_client_does_not_borrow_its_identity(
    application, other_application, tokens
):
    # The other client's valid body credentials must not let it speak for the client
    # named, with a wrong secret, in the Basic header.
    response = Client().post(
        INTROSPECT,
        {
            "token": tokens["access_token"],
            "client_id": other_application.client_id,
            "client_secret": OTHER_SECRET,
        },
        HTTP_AUTHORIZATION=basic_auth(application.client_id, "wrong-secret"),
    )

    assert response.json() == {"active": False}


def test_unknown_token_is_inactive(application, tokens):
    response = introspect(application, "no-such-token")

    assert response.status_code == 200
    assert response.json() == {"active": False}


def test_expired_token_is_inactive(application, tokens):
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))

    assert introspect(application, tokens["access_token"]).json() == {"active": False}


def test_revoked_token_is_inactive(application, tokens):
    revoke(application, tokens["access_token"])

    assert introspect(application, tokens["access_token"]).json() == {"active": False}


def test_refresh_token_is_not_reported_as_an_active_access_token(application, tokens):
    assert introspect(application, tokens["refresh_token"]).json() == {"active": False}


def test_introspection_without_client_authentication_is_401(application, tokens):
    # RFC 7662 §2.1 requires authorization; §2.3 answers a bad client per RFC 6749 §5.2.
    response = Client().post(INTROSPECT, {"token": tokens["access_token"]})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"].startswith("Basic ")


def test_introspection_with_a_wrong_secret_is_401(application, tokens):
    response = introspect(application, tokens["access_token"], secret="wrong-secret")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_introspection_with_a_bearer_token_is_401(application, tokens):
    # Only client credentials authenticate here, not the token being asked about.
    response = Client().post(
        INTROSPECT,
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}",
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_introspection_by_a_public_client_is_401(site, tokens):
    # A public client has no secret, so it cannot authenticate (RFC 6749 §2.1).
    public = ApplicationFactory.create(client_type=Application.CLIENT_PUBLIC)

    response = Client().post(
        INTROSPECT,
        {
            "token": tokens["access_token"],
            "client_id": public.client_id,
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        },
    )

    assert response.status_code == 401


def test_introspection_without_a_token_is_invalid_request(application):
    response = Client().post(INTROSPECT, {}, HTTP_AUTHORIZATION=basic_auth(application.client_id))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_introspection_by_get_is_not_allowed(application, tokens):
    # RFC 7662 §2.1: the protected resource calls the endpoint with an HTTP POST.
    response = Client().get(
        INTROSPECT,
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )

    assert response.status_code == 405


def test_nul_byte_in_a_client_id_is_401_not_a_server_error(application, tokens):
    # PostgreSQL text cannot hold NUL; the client lookup must not become a 500.
    response = Client().post(
        INTROSPECT,
        {"token": tokens["access_token"], "client_id": "a\x00b", "client_secret": "x"},
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_revocation_with_a_nul_byte_in_the_client_id_is_401_not_a_server_error(tokens):
    response = Client().post(
        REVOKE, {"token": tokens["access_token"]}, HTTP_AUTHORIZATION=basic_auth("a\x00b")
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_revocation_with_a_wrong_secret_is_challenged_with_basic(client, application):
    response = client.post(
        "/piesync/oauth/revoke_token/",
        {"token": "whatever"},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, "wrong-secret"),
    )

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic ")
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "invalid_client"
