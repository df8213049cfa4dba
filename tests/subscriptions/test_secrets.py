"""Subscription secrets at rest: only ciphertext in the database, the plaintext still on
GET, key rotation with `rotate_subscription_secrets`, a clear answer when a key was
removed too early, and production refusing to start without keys."""

import json
import logging
from io import StringIO

import pytest
from cryptography.fernet import Fernet, MultiFernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from subscriptions.models import Subscription
from tests.factories import SiteFactory, SubscriptionFactory
from tests.subscriptions.test_api import get, put
from tests.test_deploy_check import manage, production_env

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

SECRET = "partner-sécret-🔑-0123456789"
BODY = {"url": "https://api.piesync.test/v1/realgeeks", "secret": SECRET}
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
LOCAL_KEY = "bG9jYWwtb25seS1pbnNlY3VyZS1zdWJzY3JpcHRpb24="  # local mode's (docs/configuration.md)
PRINT_KEYS = (
    "from subscriptions.conf import app_settings; print(app_settings.SUBSCRIPTION_SECRET_KEYS)"
)
UNAVAILABLE = {"error": "Subscription secret unavailable; PUT the subscription again to replace it"}


def stored_row(subscription_id: int) -> dict:
    """Every column of the row, read back with plain SQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT row_to_json(s)::text FROM subscriptions_subscription s WHERE id = %s",
            [subscription_id],
        )
        [text] = cursor.fetchone()
    return json.loads(text)


def rotate(**options: int) -> str:
    out = StringIO()
    call_command("rotate_subscription_secrets", stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def old_key(knobs):
    knobs.SUBSCRIPTION_SECRET_KEYS = [OLD_KEY]
    return knobs


# --- at rest ---------------------------------------------------------------------------


def test_the_database_row_holds_no_plaintext_secret(site, access_token):
    put(site.uuid, access_token, BODY)

    row = stored_row(Subscription.objects.get().pk)

    assert "secret" not in row
    assert SECRET not in str(row)
    assert row["secret_encrypted"].startswith("gAAAAA")  # a Fernet token (version 0x80)


def test_the_stored_token_decrypts_to_the_secret_with_the_configured_key(
    old_key, site, access_token
):
    put(site.uuid, access_token, BODY)

    token = stored_row(Subscription.objects.get().pk)["secret_encrypted"]

    assert Fernet(OLD_KEY).decrypt(token.encode()).decode() == SECRET


def test_equal_secrets_are_stored_as_different_tokens(user, application):
    """A random IV per encryption: equal secrets do not show as equal in the table."""
    first, second = (
        SubscriptionFactory.create(
            site=SiteFactory.create(owner=user),
            application=application,
            url=BODY["url"],
            secret=SECRET,
        )
        for _ in range(2)
    )

    assert stored_row(first.pk)["secret_encrypted"] != stored_row(second.pk)["secret_encrypted"]


# --- the API still answers with the plaintext ----------------------------------------------


def test_put_answers_with_the_plaintext_secret(site, access_token):
    response = put(site.uuid, access_token, BODY)

    assert (response.status_code, response.json()) == (200, BODY)


def test_put_answers_without_decrypting_what_it_just_encrypted(site, access_token, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("decrypted")

    monkeypatch.setattr(MultiFernet, "decrypt", refuse)

    response = put(site.uuid, access_token, BODY)

    assert (response.status_code, response.json()) == (200, BODY)


def test_get_returns_the_plaintext_secret_exactly_as_put(site, access_token):
    put(site.uuid, access_token, BODY)

    response = get(site.uuid, access_token)

    assert (response.status_code, response.json()) == (200, BODY)


# --- a key removed too early -----------------------------------------------------------------


def test_get_of_a_secret_no_key_decrypts_is_a_json_500(old_key, site, access_token):
    put(site.uuid, access_token, BODY)
    old_key.SUBSCRIPTION_SECRET_KEYS = [NEW_KEY]  # the old key removed before rotating

    response = get(site.uuid, access_token)

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == UNAVAILABLE


def test_an_unreadable_secret_is_logged_with_the_subscription_id_only(
    old_key, site, access_token, caplog
):
    put(site.uuid, access_token, BODY)
    subscription = Subscription.objects.get()
    token = subscription.secret_encrypted
    old_key.SUBSCRIPTION_SECRET_KEYS = [NEW_KEY]

    with caplog.at_level(logging.INFO):
        get(site.uuid, access_token)

    [record] = [r for r in caplog.records if r.name == "subscriptions.crypto"]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == (
        f"subscription {subscription.pk}: no key in SUBSCRIPTION_SECRET_KEYS decrypts its secret"
    )
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert SECRET not in logged
    assert token not in logged


def test_put_replaces_an_unreadable_secret(old_key, site, access_token):
    """The recovery the 500 names: the partner PUTs again, encrypted with today's key."""
    put(site.uuid, access_token, BODY)
    old_key.SUBSCRIPTION_SECRET_KEYS = [NEW_KEY]

    assert put(site.uuid, access_token, BODY).status_code == 200

    assert (get(site.uuid, access_token).json()) == BODY


# --- rotation --------------------------------------------------------------------------------


def test_rotation_lets_the_old_key_be_removed(old_key, site, access_token):
    put(site.uuid, access_token, BODY)
    before = Subscription.objects.get().secret_encrypted
    old_key.SUBSCRIPTION_SECRET_KEYS = [NEW_KEY, OLD_KEY]  # new key first, then deploy

    output = rotate()
    old_key.SUBSCRIPTION_SECRET_KEYS = [NEW_KEY]  # then the old key removed

    assert output.splitlines()[-1] == (
        "Done: 1 re-encrypted, 0 already on the first key, 0 unreadable."
    )
    after = Subscription.objects.get().secret_encrypted
    assert after != before
    assert Fernet(NEW_KEY).decrypt(after.encode()).decode() == SECRET
    assert (get(site.uuid, access_token).json()) == BODY


def test_secrets_keep_working_with_both_keys_before_rotation(old_key, site, access_token):
    put(site.uuid, access_token, BODY)
    old_key.SUBSCRIPTION_SECRET_KEYS = [NEW_KEY, OLD_KEY]

    assert (get(site.uuid, access_token).json()) == BODY


def test_a_put_during_the_transition_encrypts_with_the_first_key(old_key, site, access_token):
    old_key.SUBSCRIPTION_SECRET_KEYS = [NEW_KEY, OLD_KEY]

    put(site.uuid, access_token, BODY)

    token = Subscription.objects.get().secret_encrypted
    assert Fernet(NEW_KEY).decrypt(token.encode()).decode() == SECRET


def test_rotating_again_changes_nothing(old_key, site, access_token):
    put(site.uuid, access_token, BODY)
    old_key.SUBSCRIPTION_SECRET_KEYS = [NEW_KEY, OLD_KEY]
    rotate()
    rotated = Subscription.objects.get().secret_encrypted

    output = rotate()

    assert output.splitlines()[-1] == (
        "Done: 0 re-encrypted, 1 already on the first key, 0 unreadable."
    )
    assert Subscription.objects.get().secret_encrypted == rotated


def test_rotation_goes_in_batches_and_counts_each(old_key, user, application):
    ids = [
        SubscriptionFactory.create(
            site=SiteFactory.create(owner=user),
            application=application,
            url=BODY["url"],
            secret=f"s{n}",
        ).pk
        for n in range(5)
    ]
    old_key.SUBSCRIPTION_SECRET_KEYS = [NEW_KEY, OLD_KEY]

    output = rotate(batch_size=2)

    assert output.splitlines() == [
        f"up to subscription {ids[1]}: 2 re-encrypted, 0 already on the first key, 0 unreadable",
        f"up to subscription {ids[3]}: 2 re-encrypted, 0 already on the first key, 0 unreadable",
        f"up to subscription {ids[4]}: 1 re-encrypted, 0 already on the first key, 0 unreadable",
        "Done: 5 re-encrypted, 0 already on the first key, 0 unreadable.",
    ]
    old_key.SUBSCRIPTION_SECRET_KEYS = [NEW_KEY]
    assert [s.secret for s in Subscription.objects.order_by("pk")] == [f"s{n}" for n in range(5)]


def test_rotation_reports_unreadable_rows_and_fails_after_rotating_the_rest(
    old_key, user, application
):
    lost = SubscriptionFactory.create(
        site=SiteFactory.create(owner=user), application=application, url=BODY["url"], secret="lost"
    )
    old_key.SUBSCRIPTION_SECRET_KEYS = [NEW_KEY]
    kept = SubscriptionFactory.create(
        site=SiteFactory.create(owner=user), application=application, url=BODY["url"], secret="kept"
    )
    third_key = Fernet.generate_key().decode()
    old_key.SUBSCRIPTION_SECRET_KEYS = [third_key, NEW_KEY]

    with pytest.raises(CommandError) as failure:
        rotate()

    assert str(failure.value).startswith(
        f"No key in SUBSCRIPTION_SECRET_KEYS decrypts the secret of subscription(s) {lost.pk}:"
    )
    kept.refresh_from_db()
    assert Fernet(third_key).decrypt(kept.secret_encrypted.encode()) == b"kept"


def test_rotation_of_an_empty_table(db):
    assert rotate() == "Done: 0 re-encrypted, 0 already on the first key, 0 unreadable.\n"


# --- configuration ---------------------------------------------------------------------------


def test_production_mode_without_subscription_secret_keys_does_not_start():
    env = production_env()
    del env["SUBSCRIPTION_SECRET_KEYS"]

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "subscriptions.E002" in result.stderr
    assert "SUBSCRIPTION_SECRET_KEYS must be set" in result.stderr


def test_production_mode_with_a_malformed_key_does_not_start_nor_print_it():
    bad = "not-a-fernet-key-but-a-secret-all-the-same"

    result = manage("check", env=production_env(SUBSCRIPTION_SECRET_KEYS=f"{NEW_KEY},{bad}"))

    assert result.returncode != 0
    assert "SUBSCRIPTION_SECRET_KEYS: key 2 of 2 is not a Fernet key" in result.stderr
    assert bad not in result.stderr + result.stdout
    assert NEW_KEY not in result.stderr + result.stdout


def test_production_mode_reads_a_comma_separated_key_list():
    code = PRINT_KEYS

    result = manage(
        "shell", "-c", code, env=production_env(SUBSCRIPTION_SECRET_KEYS=f"{NEW_KEY}, {OLD_KEY}")
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str([NEW_KEY, OLD_KEY])


def test_local_mode_without_keys_uses_the_fixed_local_key():
    env = production_env(REALGEEKS_MODE="local")
    del env["SUBSCRIPTION_SECRET_KEYS"]
    code = PRINT_KEYS

    result = manage("shell", "-c", code, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str([LOCAL_KEY])
