from django.apps import AppConfig


class RealGeeksConfig(AppConfig):
    name = "realgeeks"

    def ready(self) -> None:
        from oauth2_provider.signals import app_authorized

        from . import metrics

        # Sent once per token the token endpoint issues (a 200), for either grant.
        app_authorized.connect(metrics.count_token_issued, dispatch_uid="metrics-tokens")
