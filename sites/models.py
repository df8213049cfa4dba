import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


class Site(models.Model):
    """A Real Geeks customer website; `uuid` is the identifier partners see."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    domain = models.CharField(max_length=253)
    name = models.CharField(max_length=200, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sites"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["domain"]
        constraints = [
            models.UniqueConstraint(Lower("domain"), name="site_domain_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.domain
