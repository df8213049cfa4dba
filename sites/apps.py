from django.apps import AppConfig


class SitesConfig(AppConfig):
    """Labelled `customer_sites`: the package's own name would clash with
    `django.contrib.sites`, so no package needing that app could be installed beside it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "sites"
    label = "customer_sites"
    verbose_name = "Sites"
