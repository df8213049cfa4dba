"""The token endpoint, POST /piesync/oauth/token/ (RFC 6749 §3.2, §4.1.3, §5, §6)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from oauthlib.common import Request as OauthlibRequest

from oauth_provider import selectors
from oauth_provider.models import AccessToken, Application, Grant, RefreshToken
from oauth_provider.validators import SiteOAuth2Validator
from tests.factories import (
    CLIENT_SECRET,
    PASSWORD,
    REDIRECT_URI,
    ApplicationFactory,
    SiteFactory,
)
from tests.oauth_provider.flow import (
    TOKEN,
    Pkce,
    approve,
    authorize_url,
    basic_auth,
    exchange_code,
    introspect,
    obtain_tokens,
    query_of,
    refresh,
    signed_in,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

TOKEN_KEYS = {
    "access_token",
    "refresh_token",
    "token_type",
    "expires_in",
    "scope",
    "site_uuid",
    "site_domain",
}


@pytest.fixture
def code(user, site, application) -> str:
    """A fresh authorization code for `site`, as PieSync's redirect URI receives it."""
    return approve(signed_in(user), application, site)["code"]


@pytest.fixture
def public_application(db) -> Application:
    return ApplicationFactory.create(client_type=Application.CLIENT_PUBLIC)


def assert_json_error(response, status: int, error: str) -> None:
    """RFC 6749 §5.2: errors are a JSON object with an `error` code, never HTML, and a
    readable `error_description` (client libraries show it)."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == error
    assert body.get("error_description"), body


def access_token_is_active(application: Application, access_token: str) -> bool:
    return introspect(application, access_token).json()["active"]


# --- Successful exchange (RFC 6749 §4.1.3, §4.1.4, §5.1) ---------------------------------


def test_code_exchange_with_basic_auth_returns_the_documented_keys(site, application, code):
    response = exchange_code(Client(), application, code)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == TOKEN_KEYS
    assert body["token_type"] == "Bearer"
    assert body["site_uuid"] == str(site.uuid)
    assert body["site_domain"] == site.domain


def test_code_exchange_with_client_credentials_in_the_body(site, application, code):
    # RFC 6749 §2.3.1: client_id and client_secret in the request body are allowed.
    response = Client().post(
        TOKEN,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": application.client_id,
            "client_secret": CLIENT_SECRET,
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == TOKEN_KEYS
    assert body["site_uuid"] == str(site.uuid)


def test_token_response_is_not_cacheable(application, code):
    # RFC 6749 §5.1: Cache-Control: no-store and Pragma: no-cache.
    response = exchange_code(Client(), application, code)

    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def test_expires_in_is_the_configured_access_token_lifetime(application, code):
    body = exchange_code(Client(), application, code).json()

    assert body["expires_in"] == 3600


def test_issued_tokens_are_stored_bound_to_the_site(site, application, code):
    body = exchange_code(Client(), application, code).json()

    token = selectors.access_token_for_bearer(token=body["access_token"])
    assert token is not None
    assert token.site == site
    assert RefreshToken.objects.get(access_token=token).site == site


def test_tokens_are_not_stored_in_plaintext(application, code):
    # RFC 9700 §4: tokens are stored hashed (only their checksum is kept).
    body = exchange_code(Client(), application, code).json()

    assert not AccessToken.objects.filter(token=body["access_token"]).exists()
    assert not RefreshToken.objects.filter(token=body["refresh_token"]).exists()
    assert AccessToken.objects.get().token == ""


# --- Client authentication errors (RFC 6749 §5.2 invalid_client) --------------------------


def test_wrong_secret_with_basic_auth_is_401_invalid_client(application, code):
    response = Client().post(
        TOKEN,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, "wrong-secret"),
    )

    assert_json_error(response, 401, "invalid_client")


def test_wrong_secret_with_basic_auth_challenges_with_basic(application, code):
    # RFC 6749 §5.2: a client that used the Authorization header gets a WWW-Authenticate
    # header "matching the authentication scheme used by the client".
    response = Client().post(
        TOKEN,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, "wrong-secret"),
    )

    assert response["WWW-Authenticate"].startswith("Basic ")


def test_wrong_secret_in_the_body_is_401_invalid_client(application, code):
    response = Client().post(
        TOKEN,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": application.client_id,
            "client_secret": "wrong-secret",
        },
    )

    assert_json_error(response, 401, "invalid_client")


@pytest.mark.parametrize("value", ["x", "1", "True"])
def test_body_parameters_cannot_stand_in_for_client_authentication(application, code, value):
    # oauthlib answers body parameters as attributes of its request: the validator's note
    # that the client is authenticated must not be one of them.
    response = Client().post(
        TOKEN,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": application.client_id,
            "client_secret": "wrong-secret",
            "client": value,
            "authenticated_client": value,
        },
    )

    assert_json_error(response, 401, "invalid_client")


def test_unknown_client_is_401_invalid_client(code):
    response = Client().post(
        TOKEN,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        HTTP_AUTHORIZATION=basic_auth("no-such-client"),
    )

    assert_json_error(response, 401, "invalid_client")


def test_no_client_authentication_is_401_invalid_client(code):
    response = Client().post(
        TOKEN, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    )

    assert_json_error(response, 401, "invalid_client")


def test_malformed_basic_header_is_401_invalid_client(code):
    response = Client().post(
        TOKEN,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        HTTP_AUTHORIZATION="Basic !!!not-base64!!!",
    )

    assert_json_error(response, 401, "invalid_client")


def test_code_issued_to_another_client_is_invalid_grant(code):
    # RFC 6749 §4.1.3: the code must have been issued to the authenticated client.
    other = ApplicationFactory.create()

    response = exchange_code(Client(), other, code)

    assert_json_error(response, 400, "invalid_grant")


# --- Grant errors (RFC 6749 §5.2 invalid_grant, invalid_request, ...) ----------------------


def test_unknown_code_is_invalid_grant(application, code):
    response = exchange_code(Client(), application, "not-a-code")

    assert_json_error(response, 400, "invalid_grant")


def test_wrong_redirect_uri_is_invalid_grant(application, code):
    # RFC 6749 §5.2: a grant that "does not match the redirection URI used in the
    # authorization request" is invalid_grant.
    response = exchange_code(
        Client(), application, code, redirect_uri="https://api.piesync.test/other"
    )

    assert_json_error(response, 400, "invalid_grant")


def test_missing_redirect_uri_is_invalid_request(application, code):
    # RFC 6749 §4.1.3: redirect_uri is REQUIRED when the authorization request had one,
    # and the contract's token request always sends it.
    response = Client().post(
        TOKEN,
        {"grant_type": "authorization_code", "code": code},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )

    assert_json_error(response, 400, "invalid_request")


def test_missing_redirect_uri_issues_no_token(application, code):
    Client().post(
        TOKEN,
        {"grant_type": "authorization_code", "code": code},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )

    assert not AccessToken.objects.exists()


def test_missing_code_is_invalid_request(application, code):
    response = Client().post(
        TOKEN,
        {"grant_type": "authorization_code", "redirect_uri": REDIRECT_URI},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )

    assert_json_error(response, 400, "invalid_request")


def test_missing_grant_type_is_invalid_request(application, code):
    # RFC 6749 §5.2 invalid_request: "The request is missing a required parameter".
    response = Client().post(
        TOKEN,
        {"code": code, "redirect_uri": REDIRECT_URI},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )

    assert_json_error(response, 400, "invalid_request")


def test_unknown_grant_type_is_unsupported_grant_type(application):
    response = Client().post(
        TOKEN, {"grant_type": "magic"}, HTTP_AUTHORIZATION=basic_auth(application.client_id)
    )

    assert_json_error(response, 400, "unsupported_grant_type")


def test_password_grant_is_refused(user, application):
    # RFC 9700 §2.4: the resource owner password credentials grant MUST NOT be used.
    response = Client().post(
        TOKEN,
        {"grant_type": "password", "username": user.username, "password": PASSWORD},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )

    assert_json_error(response, 400, "unsupported_grant_type")
    assert not AccessToken.objects.exists()


def test_client_credentials_grant_is_refused(application):
    # We serve only authorization_code and refresh_token (RFC 8414 metadata says so).
    response = Client().post(
        TOKEN,
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )

    assert_json_error(response, 400, "unsupported_grant_type")
    assert not AccessToken.objects.exists()


def test_device_code_grant_is_unsupported_not_a_server_error(application):
    response = Client().post(
        TOKEN,
        {"grant_type": "urn:ietf:params:oauth:grant-type:device_code"},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )

    assert_json_error(response, 400, "unsupported_grant_type")


def test_get_is_not_allowed(application):
    response = Client().get(TOKEN, HTTP_AUTHORIZATION=basic_auth(application.client_id))

    assert response.status_code == 405


def test_token_endpoint_never_returns_html_on_a_garbage_body(application):
    response = Client().post(
        TOKEN,
        "\x00garbage",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )

    assert 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json")


def test_nul_byte_in_the_code_is_invalid_grant_not_a_server_error(application, code):
    # PostgreSQL text cannot hold NUL; a query with one must not become a 500.
    response = exchange_code(Client(), application, "a\x00b")

    assert_json_error(response, 400, "invalid_grant")


def test_nul_byte_in_a_basic_client_id_is_invalid_client_not_a_server_error(code):
    response = Client().post(
        TOKEN,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        HTTP_AUTHORIZATION=basic_auth("a\x00b"),
    )

    assert_json_error(response, 401, "invalid_client")


def test_nul_byte_in_a_body_client_id_is_invalid_client_not_a_server_error(code):
    response = Client().post(
        TOKEN,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": "a\x00b",
            "client_secret": CLIENT_SECRET,
        },
    )

    assert_json_error(response, 401, "invalid_client")


def test_malformed_resource_indicator_is_invalid_target(application, code):
    # RFC 8707 §2: a resource is an absolute URI, without a fragment.
    response = exchange_code(Client(), application, code, resource="not-a-uri")

    assert_json_error(response, 400, "invalid_target")


def test_malformed_resource_indicator_on_refresh_is_invalid_target(site, application):
    first = obtain_tokens(application, site)

    response = Client().post(
        TOKEN,
        {
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "resource": "https://api.example.com/#fragment",
        },
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )

    assert_json_error(response, 400, "invalid_target")


def test_a_resource_indicator_issues_tokens_as_without_one(site, application, code):
    body = exchange_code(Client(), application, code, resource="https://api.example.com").json()

    response = Client().post(
        TOKEN,
        {
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "resource": "https://other.example.com",
        },
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )

    assert response.status_code == 200, response.content
    assert access_token_is_active(application, response.json()["access_token"])


# --- The code is single use and short-lived (RFC 6749 §4.1.2, §10.5) -----------------------


def test_code_replay_is_invalid_grant(application, code):
    assert exchange_code(Client(), application, code).status_code == 200

    response = exchange_code(Client(), application, code)

    assert_json_error(response, 400, "invalid_grant")


def test_code_replay_says_the_code_was_already_used(application, code):
    exchange_code(Client(), application, code)

    response = exchange_code(Client(), application, code)

    assert "already used" in response.json()["error_description"]


def test_code_replay_revokes_the_access_token_issued_from_it(application, code):
    # RFC 6749 §4.1.2: "If an authorization code is used more than once, the authorization
    # server ... SHOULD revoke (when possible) all tokens previously issued based on that
    # authorization code."
    first = exchange_code(Client(), application, code).json()

    exchange_code(Client(), application, code)

    assert not access_token_is_active(application, first["access_token"])
    assert not AccessToken.objects.exists()


def test_code_replay_revokes_the_refresh_token_issued_from_it(application, code):
    first = exchange_code(Client(), application, code).json()

    exchange_code(Client(), application, code)

    assert_json_error(refresh(Client(), application, first["refresh_token"]), 400, "invalid_grant")


def test_code_replay_revokes_tokens_refreshed_since(application, code):
    first = exchange_code(Client(), application, code).json()
    refreshed = refresh(Client(), application, first["refresh_token"]).json()

    exchange_code(Client(), application, code)

    assert not access_token_is_active(application, refreshed["access_token"])
    assert_json_error(
        refresh(Client(), application, refreshed["refresh_token"]), 400, "invalid_grant"
    )


def test_code_replay_does_not_touch_other_connections(user, site, application, code):
    other = obtain_tokens(application, site)
    exchange_code(Client(), application, code)

    exchange_code(Client(), application, code)

    assert access_token_is_active(application, other["access_token"])


def test_expired_code_is_invalid_grant(application, code):
    Grant.objects.filter(code=code).update(expires=timezone.now() - timedelta(seconds=1))

    response = exchange_code(Client(), application, code)

    assert_json_error(response, 400, "invalid_grant")
    assert not AccessToken.objects.exists()


def test_code_lifetime_is_short(application, code):
    # RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes is RECOMMENDED."
    grant = Grant.objects.get(code=code)

    assert grant.expires - grant.created <= timedelta(minutes=10)


def test_failed_exchange_leaves_the_code_usable(application, code):
    # A wrong redirect_uri is the client's mistake, not a replay: nothing is revoked.
    exchange_code(Client(), application, code, redirect_uri="https://api.piesync.test/other")

    response = exchange_code(Client(), application, code)

    assert response.status_code == 200


# --- Refresh (RFC 6749 §6, RFC 9700 §4.14.2) ----------------------------------------------


def test_refresh_returns_the_documented_keys_for_the_same_site(site, application):
    first = obtain_tokens(application, site)

    response = refresh(Client(), application, first["refresh_token"])

    assert response.status_code == 200
    body = response.json()
    assert set(body) == TOKEN_KEYS
    assert body["token_type"] == "Bearer"
    assert (body["site_uuid"], body["site_domain"]) == (str(site.uuid), site.domain)


def test_refreshed_tokens_are_stored_bound_to_the_site(site, application):
    first = obtain_tokens(application, site)

    body = refresh(Client(), application, first["refresh_token"]).json()

    token = selectors.access_token_for_bearer(token=body["access_token"])
    assert token is not None
    assert token.site == site
    assert RefreshToken.objects.get(access_token=token).site == site


def test_refresh_rotates_the_refresh_token(site, application):
    first = obtain_tokens(application, site)

    body = refresh(Client(), application, first["refresh_token"]).json()

    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]


def test_refresh_retires_the_previous_access_token(site, application):
    first = obtain_tokens(application, site)

    refresh(Client(), application, first["refresh_token"])

    assert not access_token_is_active(application, first["access_token"])


def test_new_refresh_token_works(site, application):
    first = obtain_tokens(application, site)
    second = refresh(Client(), application, first["refresh_token"]).json()

    response = refresh(Client(), application, second["refresh_token"])

    assert response.status_code == 200


def test_rotated_refresh_token_is_refused(site, application):
    first = obtain_tokens(application, site)
    refresh(Client(), application, first["refresh_token"])

    response = refresh(Client(), application, first["refresh_token"])

    assert_json_error(response, 400, "invalid_grant")


def test_rotated_refresh_token_refusal_says_it_was_already_used(site, application):
    first = obtain_tokens(application, site)
    refresh(Client(), application, first["refresh_token"])

    response = refresh(Client(), application, first["refresh_token"])

    assert "already used" in response.json()["error_description"]


def test_reusing_a_rotated_refresh_token_revokes_the_newest_refresh_token(site, application):
    # RFC 9700 §4.14.2: on reuse of an invalidated refresh token, revoke the active one.
    first = obtain_tokens(application, site)
    second = refresh(Client(), application, first["refresh_token"]).json()

    refresh(Client(), application, first["refresh_token"])

    assert_json_error(refresh(Client(), application, second["refresh_token"]), 400, "invalid_grant")


def test_reusing_a_rotated_refresh_token_revokes_the_newest_access_token(site, application):
    first = obtain_tokens(application, site)
    second = refresh(Client(), application, first["refresh_token"]).json()

    refresh(Client(), application, first["refresh_token"])

    assert not access_token_is_active(application, second["access_token"])


def test_refresh_token_reuse_leaves_other_families_alone(site, application):
    first = obtain_tokens(application, site)
    unrelated = obtain_tokens(application, site)
    refresh(Client(), application, first["refresh_token"])

    refresh(Client(), application, first["refresh_token"])

    assert access_token_is_active(application, unrelated["access_token"])
    assert refresh(Client(), application, unrelated["refresh_token"]).status_code == 200


def test_refresh_token_of_another_client_is_invalid_grant(site, application):
    first = obtain_tokens(application, site)
    other = ApplicationFactory.create()

    response = refresh(Client(), other, first["refresh_token"])

    assert_json_error(response, 400, "invalid_grant")


def test_unknown_refresh_token_is_invalid_grant(application):
    response = refresh(Client(), application, "not-a-refresh-token")

    assert_json_error(response, 400, "invalid_grant")


def test_missing_refresh_token_is_invalid_request(application):
    response = Client().post(
        TOKEN,
        {"grant_type": "refresh_token"},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )

    assert_json_error(response, 400, "invalid_request")


def test_refresh_with_wrong_secret_is_401_invalid_client(site, application):
    first = obtain_tokens(application, site)

    response = Client().post(
        TOKEN,
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth(application.client_id, "wrong-secret"),
    )

    assert_json_error(response, 401, "invalid_client")


def test_refresh_cannot_widen_the_scope(site, application):
    # RFC 6749 §6: the requested scope MUST NOT include any scope not originally granted.
    first = obtain_tokens(application, site, scope="leadrouter:send")

    response = Client().post(
        TOKEN,
        {
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "scope": "leadrouter:connect leadrouter:send",
        },
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )

    assert_json_error(response, 400, "invalid_scope")


def test_wider_scope_on_refresh_says_it_exceeds_the_grant(site, application):
    first = obtain_tokens(application, site, scope="leadrouter:send")

    response = Client().post(
        TOKEN,
        {
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "scope": "leadrouter:connect leadrouter:send",
        },
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )

    assert "exceeds the scope originally granted" in response.json()["error_description"]


@pytest.fixture
def short_refresh_lifetime(settings):
    """REFRESH_TOKEN_EXPIRE_SECONDS of one minute.

    Changing settings.OAUTH2_PROVIDER fires setting_changed, on which DOT reloads its
    oauth2_settings (oauth2_provider.settings.reload_oauth2_settings), as DOT's own tests do.
    """
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "REFRESH_TOKEN_EXPIRE_SECONDS": 60}


def test_refresh_token_older_than_its_lifetime_is_refused(
    short_refresh_lifetime, site, application
):
    first = obtain_tokens(application, site)
    RefreshToken.objects.update(created=timezone.now() - timedelta(seconds=61))

    response = refresh(Client(), application, first["refresh_token"])

    assert_json_error(response, 400, "invalid_grant")


def test_refresh_token_past_its_lifetime_after_the_access_token_expired_is_refused(
    short_refresh_lifetime, site, application
):
    first = obtain_tokens(application, site)
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=61))

    response = refresh(Client(), application, first["refresh_token"])

    assert_json_error(response, 400, "invalid_grant")


def test_refresh_token_within_its_lifetime_works(short_refresh_lifetime, site, application):
    first = obtain_tokens(application, site)
    RefreshToken.objects.update(created=timezone.now() - timedelta(seconds=30))

    response = refresh(Client(), application, first["refresh_token"])

    assert response.status_code == 200


def test_expired_access_token_can_still_be_refreshed(site, application):
    first = obtain_tokens(application, site)
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))

    response = refresh(Client(), application, first["refresh_token"])

    assert response.status_code == 200


# --- PKCE (RFC 7636, RFC 9700 §2.1.1) -----------------------------------------------------


def code_for_s256_challenge(user, application, site) -> tuple[str, Pkce]:
    """A code issued against an S256 challenge, and the PKCE pair it was issued for."""
    pkce = Pkce.new()
    redirect = approve(
        signed_in(user),
        application,
        site,
        code_challenge=pkce.challenge,
        code_challenge_method="S256",
    )
    return redirect["code"], pkce


def exchange_public_code(application, code: str, verifier: str):
    """A public client's exchange: its client_id in the body, no secret."""
    return Client().post(
        TOKEN,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": application.client_id,
            "code_verifier": verifier,
        },
    )


def test_confidential_client_with_s256_and_the_right_verifier_gets_tokens(user, site, application):
    code, pkce = code_for_s256_challenge(user, application, site)

    response = exchange_code(Client(), application, code, code_verifier=pkce.verifier)

    assert response.status_code == 200


def test_confidential_client_with_s256_and_a_wrong_verifier_is_invalid_grant(
    user, site, application
):
    code, _ = code_for_s256_challenge(user, application, site)

    response = exchange_code(Client(), application, code, code_verifier=Pkce.new().verifier)

    assert_json_error(response, 400, "invalid_grant")


def test_wrong_verifier_says_it_does_not_match_the_challenge(user, site, application):
    code, _ = code_for_s256_challenge(user, application, site)

    response = exchange_code(Client(), application, code, code_verifier=Pkce.new().verifier)

    assert "does not match the code_challenge" in response.json()["error_description"]


def test_confidential_client_that_sent_a_challenge_must_send_the_verifier(user, site, application):
    # RFC 7636 §4.5/§4.6: once a challenge was sent, the token request needs the verifier.
    code, _ = code_for_s256_challenge(user, application, site)

    response = exchange_code(Client(), application, code)

    assert_json_error(response, 400, "invalid_request")


def test_confidential_client_without_pkce_gets_tokens(site, application):
    # PieSync's documented flow has no PKCE; RFC 9700 §2.1.1 lets confidential clients skip it.
    body = obtain_tokens(application, site)

    assert body["access_token"]


def test_verifier_without_a_challenge_is_refused(application, code):
    # RFC 9700 §2.1.1: a token request with a code_verifier is accepted only if a
    # code_challenge was present in the authorization request (PKCE downgrade attack).
    response = exchange_code(Client(), application, code, code_verifier=Pkce.new().verifier)

    assert_json_error(response, 400, "invalid_grant")


def test_plain_challenge_method_is_refused_at_authorize(user, site, application):
    # RFC 9700 §2.1.1: use S256; "plain" is refused, with a redirect carrying the error.
    url = authorize_url(application, code_challenge="x" * 43, code_challenge_method="plain")

    response = signed_in(user).get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI)
    assert query_of(response["Location"])["error"] == "invalid_request"


def test_challenge_without_a_method_is_refused_at_authorize(user, site, application):
    # RFC 7636 §4.3: a missing code_challenge_method means "plain", which we refuse.
    url = authorize_url(application, code_challenge=Pkce.new().challenge)

    response = signed_in(user).get(url)

    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "invalid_request"


@pytest.mark.parametrize(
    "challenge",
    ["A" * 200, "A" * 42, "not a valid challenge, it has spaces and commas" + "x" * 10],
)
def test_malformed_challenge_is_refused_at_authorize(user, site, application, challenge):
    # RFC 7636 §4.2: code_challenge is 43 to 128 unreserved characters.
    url = authorize_url(application, code_challenge=challenge, code_challenge_method="S256")

    response = signed_in(user).get(url)

    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "invalid_request"
    assert not Grant.objects.exists()


def test_public_client_without_pkce_is_refused_at_authorize(user, site, public_application):
    # RFC 9700 §2.1.1: PKCE is required for public clients.
    response = signed_in(user).get(authorize_url(public_application))

    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI)
    redirect = query_of(response["Location"])
    assert redirect["error"] == "invalid_request"
    assert redirect["state"] == "xyz-state"


def test_public_client_with_s256_gets_tokens_without_a_secret(user, site, public_application):
    code, pkce = code_for_s256_challenge(user, public_application, site)

    response = exchange_public_code(public_application, code, pkce.verifier)

    assert response.status_code == 200, response.content
    assert response.json()["site_uuid"] == str(site.uuid)


def test_public_client_with_a_wrong_verifier_is_invalid_grant(user, site, public_application):
    code, _ = code_for_s256_challenge(user, public_application, site)

    response = exchange_public_code(public_application, code, Pkce.new().verifier)

    assert_json_error(response, 400, "invalid_grant")


# --- Authenticating a bearer token (one indexed query, site joined) -----------------------


def test_access_token_for_bearer_is_one_query_with_the_site(
    site, application, django_assert_num_queries
):
    body = obtain_tokens(application, site)

    with django_assert_num_queries(1):
        token = selectors.access_token_for_bearer(token=body["access_token"])
        assert token is not None and token.application is not None
        assert (token.site.uuid, token.site.domain) == (site.uuid, site.domain)
        assert token.application.client_id == application.client_id


def test_access_token_for_bearer_unknown_token_is_none(db, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert selectors.access_token_for_bearer(token="not-a-token") is None


def test_validate_bearer_token_is_one_query_with_the_site(
    site, application, django_assert_num_queries
):
    body = obtain_tokens(application, site)
    request = OauthlibRequest("https://rg.example.com/piesync/subscription/")

    with django_assert_num_queries(1):
        valid = SiteOAuth2Validator().validate_bearer_token(
            body["access_token"], ["leadrouter:connect"], request
        )
        assert valid is True
        assert request.access_token.site.uuid == site.uuid
        assert request.client.client_id == application.client_id


def test_validate_bearer_token_refuses_an_expired_token(site, application):
    body = obtain_tokens(application, site)
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    request = OauthlibRequest("https://rg.example.com/piesync/subscription/")

    valid = SiteOAuth2Validator().validate_bearer_token(body["access_token"], [], request)

    assert valid is False
    assert request.oauth2_error["error"] == "invalid_token"


def test_validate_bearer_token_refuses_a_missing_scope(site, application):
    body = obtain_tokens(application, site, scope="leadrouter:send")
    request = OauthlibRequest("https://rg.example.com/piesync/subscription/")

    valid = SiteOAuth2Validator().validate_bearer_token(
        body["access_token"], ["leadrouter:connect"], request
    )

    assert valid is False
    assert request.oauth2_error["error"] == "insufficient_scope"


def test_second_site_tokens_stay_on_the_second_site(user, application):
    SiteFactory.create(owner=user)
    second = SiteFactory.create(owner=user)

    body = obtain_tokens(application, second)

    token = selectors.access_token_for_bearer(token=body["access_token"])
    assert token is not None
    assert token.site == second
