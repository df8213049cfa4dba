from django.apps import AppConfig
from django.core import checks

from .checks import check_settings


class RatelimitsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ratelimits"

    def ready(self) -> None:
        checks.register(check_settings)
