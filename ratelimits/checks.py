"""ratelimits' system check: every rate (ratelimits/conf.py) parses."""

from typing import Any

from django.core import checks

from .conf import app_settings


def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    return [*app_settings.errors(check_id="ratelimits.E001")]
