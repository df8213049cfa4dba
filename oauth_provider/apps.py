from django.apps import AppConfig
from oauth2_provider.signals import app_authorized


class OauthProviderConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "oauth_provider"
    verbose_name = "OAuth provider"

    def ready(self) -> None:
        # Imported once the models are: these modules register on import.
        from . import metrics, openapi  # noqa: F401 (openapi registers the security scheme)

        # Sent once per token the token endpoint issues (a 200), for either grant.
        app_authorized.connect(metrics.count_token_issued, dispatch_uid="metrics-tokens")
