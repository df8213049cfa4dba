from django.db import models

from oauth_provider.models import Application
from sites.models import Site

from .crypto import decrypt_secret, encrypt_secret

# Why deliveries to a subscription stopped; GET shows it to the partner.
DEACTIVATED_BY_410 = "The webhook URL answered 410 Gone"
DEACTIVATED_BY_STAFF = "Deactivated by Real Geeks staff"

# The longest signing secret a partner may set (the column holds its encryption).
MAX_SECRET_LENGTH = 255


class Subscription(models.Model):
    """Where a partner application wants a site's lead events delivered, and the signing secret."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="subscriptions")
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="subscriptions"
    )
    url = models.URLField(max_length=2048)
    # A Fernet token of the signing secret (subscriptions/crypto.py), never the plaintext.
    secret_encrypted = models.TextField()
    active = models.BooleanField(default=True)
    # Set with `active = false`, cleared when it is reactivated (a PUT, or staff).
    deactivated_at = models.DateTimeField(null=True, blank=True)
    # A database default too, for rows inserted with plain SQL (bench/seed.py).
    deactivated_reason = models.CharField(max_length=255, blank=True, default="", db_default="")
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

    @property
    def secret(self) -> str:
        """The plaintext signing secret, decrypted on each read; SecretUnreadable (a JSON
        500 in the API) when no configured key decrypts it."""
        return decrypt_secret(self.secret_encrypted, subscription_id=self.pk)

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = encrypt_secret(value)
