"""subscriptions' system checks: its settings (subscriptions/conf.py) parse, and
production has a key for the secrets at rest."""

from typing import Any

from django.core import checks

from .conf import app_settings


def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = [*app_settings.errors(check_id="subscriptions.E001")]
    if not errors and not app_settings.SUBSCRIPTION_SECRET_KEYS:
        errors.append(
            checks.Error(
                "SUBSCRIPTION_SECRET_KEYS must be set in the environment when REALGEEKS_MODE "
                "is production (the default): comma-separated Fernet keys, the first one "
                "encrypts. Generate one with: python -c 'from cryptography.fernet import "
                "Fernet; print(Fernet.generate_key().decode())'",
                id="subscriptions.E002",
            )
        )
    return errors
