from django.apps import AppConfig
from django.core import checks

from subscriptions.signals import subscription_deleting

from .checks import check_settings


class LeadsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "leads"

    def ready(self) -> None:
        # Imported once the models are, as Django's signals documentation advises.
        from oauth_provider.health import register_health_provider

        # `metrics` registers the delivery metrics (and the queue gauges' collector) in
        # every process, the web's included, which may never record a delivery itself.
        from . import metrics  # noqa: F401
        from .connection_health import connections_health
        from .receivers import cancel_deliveries_of_deleted_subscription

        subscription_deleting.connect(
            cancel_deliveries_of_deleted_subscription, dispatch_uid="leads-subscription-deleted"
        )
        # The connected-apps page (oauth_provider) shows whether leads flow to each app.
        register_health_provider(connections_health)
        checks.register(check_settings)
