"""Application redirect URI rules (RFC 8252 §7.3, RFC 9700 §2.1) and model details."""

import hashlib

import pytest
from django.core.exceptions import ValidationError

from oauth_provider.models import AccessToken, Application, Grant, RefreshToken
from tests.factories import ApplicationFactory
from tests.oauth_provider.flow import obtain_tokens

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def new_application(redirect_uris: str) -> Application:
    return Application(
        name="PieSync",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uris,
    )


def redirect_uri_errors(redirect_uris: str) -> list[str]:
    try:
        new_application(redirect_uris).full_clean()
    except ValidationError as exc:
        return exc.message_dict.get("redirect_uris", [])
    return []


def test_production_refuses_an_http_redirect_uri_on_a_public_host(db, production_mode):
    errors = redirect_uri_errors("http://example.com/cb")

    assert errors == [
        "http redirect URIs are allowed only on loopback (127.0.0.1 or ::1); use https."
    ]


def test_production_refuses_http_among_several_redirect_uris(db, production_mode):
    assert redirect_uri_errors("https://example.com/cb http://example.com/cb")


def test_production_refuses_http_on_localhost_by_name(db, production_mode):
    # RFC 8252 §8.3: loopback redirect URIs use the IP literal, not "localhost".
    assert redirect_uri_errors("http://localhost:8765/cb")


def test_production_accepts_an_http_loopback_redirect_uri(db, production_mode):
    assert redirect_uri_errors("http://127.0.0.1:8765/cb") == []


def test_production_accepts_an_ipv6_loopback_redirect_uri(db, production_mode):
    assert redirect_uri_errors("http://[::1]:8765/cb") == []


def test_production_accepts_an_https_redirect_uri(db, production_mode):
    assert redirect_uri_errors("https://api.piesync.com/v1/realgeeks/callback") == []


def test_local_mode_accepts_an_http_redirect_uri_on_any_host(db, settings):
    settings.LOCAL_MODE = True

    assert redirect_uri_errors("http://example.com/cb") == []


def test_a_scheme_other_than_http_or_https_is_refused(db):
    assert redirect_uri_errors("ftp://example.com/cb")


def test_a_redirect_uri_with_a_fragment_is_refused(db):
    # RFC 6749 §3.1.2: the redirection endpoint URI MUST NOT include a fragment.
    assert redirect_uri_errors("https://example.com/cb#frag")


def test_a_confidential_code_client_needs_a_redirect_uri(db):
    assert redirect_uri_errors("")


def test_redirect_uri_allowed_refuses_a_stored_insecure_uri_in_production(db, production_mode):
    # A row written before the rule applied (or in local mode) is refused at request time.
    application = ApplicationFactory.create(redirect_uris="http://example.com/cb")

    assert application.redirect_uri_allowed("http://example.com/cb") is False


def test_redirect_uri_allowed_accepts_a_stored_insecure_uri_in_local_mode(db, settings):
    settings.LOCAL_MODE = True
    application = ApplicationFactory.create(redirect_uris="http://example.com/cb")

    assert application.redirect_uri_allowed("http://example.com/cb") is True


def test_redirect_uri_allowed_accepts_loopback_in_production(db, production_mode):
    application = ApplicationFactory.create(redirect_uris="http://127.0.0.1:8765/cb")

    assert application.redirect_uri_allowed("http://127.0.0.1:8765/cb") is True


def test_redirect_uris_match_exactly(db):
    # RFC 9700 §4.1.3: exact string matching, no prefix or subpath.
    application = ApplicationFactory.create(redirect_uris="https://api.piesync.test/cb")

    assert application.redirect_uri_allowed("https://api.piesync.test/cb") is True
    assert application.redirect_uri_allowed("https://api.piesync.test/cb/more") is False
    assert application.redirect_uri_allowed("https://api.piesync.test/cb?x=1") is False
    assert application.redirect_uri_allowed("https://evil.test/cb") is False


def test_http_is_an_allowed_scheme_only_for_loopback_use(db, production_mode):
    # The model allows the http scheme (for loopback), clean() restricts the host.
    application = new_application("https://example.com/cb")

    assert "http" in application.get_allowed_schemes()
    assert "https" in application.get_allowed_schemes()


def test_string_forms_never_show_tokens_or_codes(site, application):
    body = obtain_tokens(application, site)
    rendered = " ".join(
        str(row)
        for row in [*AccessToken.objects.all(), *RefreshToken.objects.all(), *Grant.objects.all()]
    )

    assert body["access_token"] not in rendered
    assert body["refresh_token"] not in rendered
    assert all(grant.code not in rendered for grant in Grant.objects.all())


def test_tokens_and_grants_carry_the_site(site, application):
    obtain_tokens(application, site)

    assert {token.site for token in AccessToken.objects.all()} == {site}
    assert {token.site for token in RefreshToken.objects.all()} == {site}
    assert {grant.site for grant in Grant.objects.all()} == {site}


def test_consumed_code_is_kept_with_its_token_family(site, application):
    # Kept, so that a replay can be recognised and its tokens revoked (RFC 6749 §4.1.2).
    obtain_tokens(application, site)

    grant = Grant.objects.get()
    assert grant.consumed is not None
    assert grant.token_family == RefreshToken.objects.get().token_family


@pytest.fixture
def https_only_setting(settings, production_mode):
    """Production's OAUTH2_PROVIDER: https is the only scheme the setting allows."""
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    }


def test_https_only_setting_still_accepts_loopback_http(db, https_only_setting):
    # RFC 8252 §7.3: native apps' loopback redirect URIs are http.
    assert redirect_uri_errors("http://127.0.0.1:8765/cb") == []


def test_https_only_setting_refuses_http_on_a_public_host(db, https_only_setting):
    assert redirect_uri_errors("http://example.com/cb")


# RefreshToken.revoke: DOT's, in one statement


def live_refresh_token() -> RefreshToken:
    return RefreshToken.objects.select_related("access_token").get(revoked__isnull=True)


def test_revoke_retires_the_refresh_token_and_deletes_its_access_token(site, application):
    obtain_tokens(application, site)
    refresh_token = live_refresh_token()

    refresh_token.revoke()

    stored = RefreshToken.objects.get(pk=refresh_token.pk)
    assert stored.revoked is not None and stored.access_token_id is None
    assert not AccessToken.objects.exists()
    assert (refresh_token.revoked, refresh_token.access_token) == (stored.revoked, None)


def test_revoke_is_one_statement(site, application, django_assert_num_queries):
    obtain_tokens(application, site)
    refresh_token = live_refresh_token()

    with django_assert_num_queries(1):
        refresh_token.revoke()


def test_revoke_leaves_other_tokens_alone(site, application):
    obtain_tokens(application, site)
    refresh_token = live_refresh_token()
    other = obtain_tokens(application, site)

    refresh_token.revoke()

    others = hashlib.sha256(other["access_token"].encode()).hexdigest()
    assert list(AccessToken.objects.values_list("token_checksum", flat=True)) == [others]
    assert RefreshToken.objects.filter(revoked__isnull=True).count() == 1


def test_revoke_of_a_revoked_token_changes_nothing(site, application):
    obtain_tokens(application, site)
    refresh_token = live_refresh_token()
    refresh_token.revoke()
    revoked = RefreshToken.objects.get(pk=refresh_token.pk).revoked

    RefreshToken.objects.get(pk=refresh_token.pk).revoke()

    assert RefreshToken.objects.get(pk=refresh_token.pk).revoked == revoked
