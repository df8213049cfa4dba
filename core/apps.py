from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The ground every app stands on; installed for its management commands, templates
    and the periodic task that prunes django-axes' login records."""

    name = "core"
