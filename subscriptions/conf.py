"""subscriptions' settings (core/conf.py): the keys of the secrets at rest, and the
webhook URL policy."""

import binascii

from cryptography.fernet import Fernet

from core.conf import AppSettings, Setting, by_mode, parse_bool, parse_list, parse_str

# Local mode's key: fixed and public (base64 of "local-only-insecure-subscription").
LOCAL_KEY = "bG9jYWwtb25seS1pbnNlY3VyZS1zdWJzY3JpcHRpb24="


def parse_fernet_keys(text: str) -> list[str]:
    """Comma-separated Fernet keys; an error never names the key itself."""
    keys = [key.strip() for key in parse_list(parse_str)(text)]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, binascii.Error):
            raise ValueError(
                f"key {position} of {len(keys)} is not a Fernet key "
                "(32 bytes, url-safe base64-encoded)."
            ) from None
    return keys


class SubscriptionsSettings(AppSettings):
    namespace = "SUBSCRIPTIONS"

    SUBSCRIPTION_SECRET_KEYS = Setting(
        parse_fernet_keys,
        default=by_mode(
            local=LOCAL_KEY,
            production="",
            shown="local: a fixed, public dev key (base64 of "
            "`local-only-insecure-subscription`); production: **required**",
        ),
        help="comma-separated Fernet keys for subscription secrets at rest: the first "
        "encrypts, all decrypt ([operations](operations.md#subscription-secrets-at-rest))",
    )
    WEBHOOK_ALLOW_PRIVATE_NETWORKS = Setting(
        parse_bool,
        default="false",
        help="allow subscription URLs on loopback/private/link-local addresses outside "
        "local mode, for deployments whose partners are on a private network "
        "([security](security.md#webhook-url-policy))",
    )


app_settings = SubscriptionsSettings()
