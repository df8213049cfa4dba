"""leads' system check: its settings (leads/conf.py) parse."""

from typing import Any

from django.core import checks

from .conf import app_settings


def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    return [*app_settings.errors(check_id="leads.E001")]
