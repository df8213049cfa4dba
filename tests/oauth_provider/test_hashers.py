"""Client secrets are hashed with a fast hasher fit for long random secrets."""

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from oauth2_provider.settings import oauth2_settings

from oauth_provider.hashers import ClientSecretHasher
from oauth_provider.models import Application
from tests.factories import CLIENT_SECRET, ApplicationFactory
from tests.oauth_provider.flow import obtain_tokens

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def test_client_secrets_are_stored_with_the_client_secret_hasher(application):
    stored = Application.objects.get(pk=application.pk).client_secret

    assert stored.startswith("client_secret_sha256$")
    assert CLIENT_SECRET not in stored


def test_the_configured_hasher_is_not_pbkdf2(db):
    # ~0.2 s of CPU per wrong guess at the token endpoint is what this avoids.
    hasher = identify_hasher(
        make_password(CLIENT_SECRET, hasher=oauth2_settings.CLIENT_SECRET_HASHER)
    )

    assert isinstance(hasher, ClientSecretHasher)
    assert "pbkdf2" not in hasher.algorithm
    assert not hasattr(hasher, "iterations")


def test_generated_secrets_are_hashed_too(db):
    # The default secret DOT generates for a new application is hashed on save.
    app = Application.objects.create(
        name="Generated",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://example.com/cb",
    )

    assert app.client_secret.startswith("client_secret_sha256$")


def test_right_secret_checks(application):
    assert check_password(CLIENT_SECRET, application.client_secret)


def test_wrong_secret_does_not_check(application):
    assert not check_password("wrong-secret", application.client_secret)


def test_secret_differing_in_one_character_does_not_check(application):
    assert not check_password(CLIENT_SECRET[:-1] + "x", application.client_secret)


def test_empty_secret_does_not_check(application):
    assert not check_password("", application.client_secret)


def test_hashes_are_salted():
    hasher = ClientSecretHasher()

    first = hasher.encode(CLIENT_SECRET, hasher.salt())
    second = hasher.encode(CLIENT_SECRET, hasher.salt())

    assert first != second
    assert hasher.verify(CLIENT_SECRET, first)
    assert hasher.verify(CLIENT_SECRET, second)


def test_safe_summary_masks_the_hash():
    hasher = ClientSecretHasher()
    encoded = hasher.encode(CLIENT_SECRET, "abcdefghijkl")

    summary = hasher.safe_summary(encoded)

    assert summary["algorithm"] == "client_secret_sha256"
    assert encoded.rsplit("$", 1)[1] not in summary["hash"]


def test_token_endpoint_authenticates_with_the_hashed_secret(site, application):
    assert Application.objects.get(pk=application.pk).client_secret.startswith(
        "client_secret_sha256$"
    )

    body = obtain_tokens(application, site)

    assert body["token_type"] == "Bearer"


def test_users_keep_djangos_default_password_hasher(settings):
    # Only client secrets use the fast hasher; it is never the default for passwords.
    assert settings.PASSWORD_HASHERS[0] != "oauth_provider.hashers.ClientSecretHasher"


def test_unhashed_secret_is_hashed_when_hash_client_secret_is_on(db):
    app = ApplicationFactory.create(client_secret="plain-secret-" + "p" * 40)

    assert app.client_secret.startswith("client_secret_sha256$")
    assert check_password("plain-secret-" + "p" * 40, app.client_secret)
