from django.db import models

from oauth_provider.models import Application
from sites.models import Site


class Subscription(models.Model):
    """Where a partner application wants a site's lead events delivered, and the signing secret."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="subscriptions")
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="subscriptions"
    )
    url = models.URLField(max_length=2048)
    secret = models.CharField(max_length=255)
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "application"], name="subscription_one_per_site_application"
            )
        ]

    def __str__(self) -> str:
        return f"{self.site} → {self.url}"
