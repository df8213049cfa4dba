"""subscriptions' system checks (subscriptions.checks): keys for the secrets at rest."""

from cryptography.fernet import Fernet

from subscriptions.checks import check_settings

KEY = Fernet.generate_key().decode()


def test_local_mode_has_its_fixed_key():
    assert check_settings() == []


def test_production_without_keys(knobs):
    knobs.REALGEEKS_MODE = "production"

    [error] = check_settings()

    assert error.id == "subscriptions.E002"
    assert error.msg.startswith("SUBSCRIPTION_SECRET_KEYS must be set in the environment")


def test_a_malformed_key_is_named_by_its_position_never_by_its_value(knobs):
    bad = "not-a-fernet-key-but-a-secret-all-the-same"
    knobs.SUBSCRIPTION_SECRET_KEYS = f"{KEY}, {bad}"

    [error] = check_settings()

    assert error.id == "subscriptions.E001"
    assert error.msg == (
        "SUBSCRIPTION_SECRET_KEYS: key 2 of 2 is not a Fernet key "
        "(32 bytes, url-safe base64-encoded)."
    )


def test_keys_are_comma_separated_and_stripped(knobs):
    other = Fernet.generate_key().decode()
    knobs.SUBSCRIPTION_SECRET_KEYS = f"{KEY}, {other}"

    keys = knobs.SUBSCRIPTION_SECRET_KEYS

    assert check_settings() == []
    assert keys == [KEY, other]
