"""core's system checks, run by `manage.py check` and before the web and the worker
start: its settings (core/conf.py), and the login lockout's."""

from typing import Any

from django.conf import settings
from django.core import checks

from .conf import app_settings


def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = [*app_settings.errors(check_id="core.E001")]
    metrics_open = app_settings.METRICS_ENABLED and not app_settings.METRICS_TOKEN
    if metrics_open and not settings.LOCAL_MODE:
        errors.append(
            checks.Error("METRICS_ENABLED in production needs METRICS_TOKEN.", id="core.E002")
        )
    if settings.AXES_FAILURE_LIMIT < 1 or settings.AXES_COOLOFF_TIME.total_seconds() < 60:
        errors.append(
            checks.Error(
                "LOGIN_FAILURE_LIMIT and LOGIN_COOLOFF_MINUTES must be positive.", id="core.E003"
            )
        )
    return errors
