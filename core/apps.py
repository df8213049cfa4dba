from django.apps import AppConfig
from django.core import checks

from .checks import check_settings


class CoreConfig(AppConfig):
    """The ground every app stands on; installed for its management commands, templates,
    settings checks and the periodic task that prunes django-axes' login records."""

    name = "core"

    def ready(self) -> None:
        checks.register(check_settings)
