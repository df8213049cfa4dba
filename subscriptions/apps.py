from django.apps import AppConfig
from django.core import checks

from oauth_provider.signals import connection_disconnecting

from .checks import check_settings


class SubscriptionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "subscriptions"

    def ready(self) -> None:
        # Imported once the models are, as Django's signals documentation advises.
        from .receivers import delete_subscription_of_disconnected_app

        connection_disconnecting.connect(
            delete_subscription_of_disconnected_app, dispatch_uid="subscriptions-disconnect"
        )
        checks.register(check_settings)
